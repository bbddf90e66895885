/// @file exact_sum.hpp
/// @brief Sums whose result does not depend on the order of their terms: exact_grid (terms with
/// a bound known in advance, four additions each) and long_sum (any doubles, Kulisch's long
/// accumulator). Training and evaluation add rows through them, so that a result is the same
/// bit for bit over one process's rows in order, over threads, or over the ranks of an MPI run.
#pragma once
#include "../config.hpp"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rvq::detail {

/**
 * @brief Order-independent sums of up to `terms` values of magnitude at most `bound`.
 *
 * Each value `x` is split as `x = q + r + e`: `q` on a grid of step `2^(k-52)` with
 * `2^k > 2 (terms + 1) bound`, `r` on a finer grid that covers `|x - q| <= step / 2` the same way,
 * and `e` (below the fine grid, about `terms^2 bound 2^-104`) dropped. The `q` parts and the `r`
 * parts are each summed in double without rounding, so any order gives the same two sums, and
 * their total is within `terms * 2^-104 * terms * bound` or so of the exact sum (far below the
 * rounding error of a plain double sum). Splitting costs four additions per term.
 */
struct exact_grid {
  double hi = 1.5;  ///< 1.5 * 2^k: adding and subtracting it rounds to the coarse grid
  double lo = 1.5;  ///< the same for the fine grid

  /// The grid for `terms` values with |x| <= bound (bound finite, >= 0).
  static exact_grid make(double bound, std::size_t terms) noexcept {
    const double b = bound > 0x1p-900 ? bound : 0x1p-900;  // keeps both grids normal
    const double n2 = 2.0 * (static_cast<double>(terms) + 1.0);
    int e = 0, e2 = 0;
    std::frexp(n2 * b, &e);  // n2 b < 2^e
    std::frexp(n2 * std::ldexp(1.0, e - 53), &e2);
    return exact_grid{std::ldexp(1.5, e), std::ldexp(1.5, e2)};
  }
  /// Adds `x` to the pair (a: coarse part, b: fine part).
  void add(double x, double& a, double& b) const noexcept {
    const double q = (x + hi) - hi;
    a += q;
    const double r = x - q;
    b += (r + lo) - lo;
  }
  /// Adds the row `x` (d values) to the pairs (a[t], b[t]) (arrays that do not overlap).
  void add_row(const float* RVQ_RESTRICT x, std::size_t d, double* RVQ_RESTRICT a,
               double* RVQ_RESTRICT b) const noexcept {
    const double h = hi, l = lo;
    for (std::size_t t = 0; t < d; ++t) {
      const double v = static_cast<double>(x[t]);
      const double q = (v + h) - h;
      a[t] += q;
      b[t] += ((v - q) + l) - l;
    }
  }
};

/// Largest |x| over n finite values (compared as the bits of |x|, which order finite floats as
/// their values do, and vectorize).
inline float max_abs(const float* x, std::size_t n) noexcept {
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t b;
    std::memcpy(&b, x + i, sizeof b);
    b &= 0x7fffffffu;
    m = b > m ? b : m;
  }
  float out;
  std::memcpy(&out, &m, sizeof out);
  return out;
}
/**
 * @brief The exact sum of any finite doubles, whatever their order: a fixed-point number of
 * 32-bit digits over the whole double range (2^-1074 to 2^1024 and 64 bits of headroom). Adding
 * a term costs a few integer operations; merge() adds two sums exactly, and the digits can be
 * summed elsewhere (digits(): an MPI_SUM over processes) and normalize()d. value() rounds the
 * exact sum to a double the same way every time.
 */
class long_sum {
 public:
  static constexpr std::size_t size = 70;  ///< digits, least significant first

  /// Adds `x` (finite).
  void add(double x) noexcept {
    if (x == 0.0) return;
    std::uint64_t bits = 0;
    std::memcpy(&bits, &x, sizeof bits);
    const bool negative = (bits >> 63) != 0;
    const int biased = static_cast<int>((bits >> 52) & 0x7ff);
    std::uint64_t m = bits & ((std::uint64_t{1} << 52) - 1);
    if (biased != 0) m |= std::uint64_t{1} << 52;
    const std::size_t p = static_cast<std::size_t>(biased == 0 ? 0 : biased - 1);  // x = m * 2^(p - 1074)
    const std::size_t j = p / 32, shift = p % 32;
    const std::uint64_t low = m << shift, high = shift ? m >> (64 - shift) : 0;
    const std::int64_t d0 = static_cast<std::int64_t>(low & 0xffffffffu), d1 = static_cast<std::int64_t>(low >> 32),
                       d2 = static_cast<std::int64_t>(high);
    if (negative) {
      d_[j] -= d0, d_[j + 1] -= d1, d_[j + 2] -= d2;
    } else {
      d_[j] += d0, d_[j + 1] += d1, d_[j + 2] += d2;
    }
    if (++adds_ == (std::uint64_t{1} << 30)) normalize();
  }
  /// Adds another sum.
  void merge(const long_sum& o) noexcept {
    long_sum b = o;
    b.normalize();
    normalize();
    for (std::size_t i = 0; i < size; ++i) d_[i] += b.d_[i];
    normalize();
  }
  /// Carries every digit into [0, 2^32) but the last, which keeps the sign: one representation
  /// per value.
  void normalize() noexcept {
    for (std::size_t i = 0; i + 1 < size; ++i) {
      const std::int64_t carry = d_[i] >= 0 ? d_[i] / 4294967296 : -((-d_[i] + 4294967295) / 4294967296);
      d_[i] -= carry * 4294967296;
      d_[i + 1] += carry;
    }
    adds_ = 0;
  }
  /// The digits, for summing over processes (normalize() before and after).
  std::int64_t* digits() noexcept { return d_; }
  /// The sum, rounded to a double (the same for the same exact sum).
  double value() const noexcept {
    long_sum c = *this;
    c.normalize();
    double v = 0.0;
    std::size_t top = size;
    while (top > 0 && c.d_[top - 1] == 0) --top;
    if (top == 0) return 0.0;
    if (c.d_[top - 1] < 0) {  // negative: the value of the negated digits, negated
      for (auto& d : c.d_) d = -d;
      c.normalize();
      return -c.value();
    }
    for (std::size_t i = top; i-- > (top > 3 ? top - 3 : 0);)
      v += std::ldexp(static_cast<double>(c.d_[i]), static_cast<int>(32 * i) - 1074);
    return v;
  }

 private:
  std::int64_t d_[size] = {};
  std::uint64_t adds_ = 0;
};

}  // namespace rvq::detail
