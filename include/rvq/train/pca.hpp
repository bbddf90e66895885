/// @file pca.hpp
/// @brief Principal components for training: covariance of (a sample of) the data and a symmetric
/// eigensolver (Householder tridiagonalization, then implicit QL), all in double.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "row_group.hpp"

namespace rvq {

/// An orthonormal basis ordered by decreasing variance.
struct pca_basis {
  std::size_t dim = 0;            ///< D
  std::vector<float> mean;        ///< dim values
  std::vector<float> components;  ///< dim x dim, row i = i-th principal direction
  std::vector<double> variances;  ///< eigenvalues, decreasing
};

namespace detail {

inline std::ptrdiff_t ptrdiff(std::size_t i) noexcept { return static_cast<std::ptrdiff_t>(i); }

/// Reduce the symmetric n x n matrix `v` to tridiagonal form: on return `d` is the diagonal,
/// `e[1..n-1]` the sub-diagonal and `v` the orthogonal transformation V, stored by columns
/// (v[c * n + r] is V(r, c)). The algorithm walks down columns of V's lower triangle, so storing
/// it by columns makes its O(n^3) loops run over consecutive memory (several times faster at
/// n = 784); the arithmetic, and so every bit of the result, is that of row-major storage.
///
/// The accumulation of the transformations (the second half) updates each column of V from the
/// Householder vectors alone, never from another updated column, so processes may share it: with
/// `parts` > 1 only the columns `c` with `c % parts == part` are accumulated (the others are left
/// part-way), with the same arithmetic; `d` and `e` are complete on every process.
inline void householder_tridiagonalize(std::vector<double>& v, std::size_t n, std::vector<double>& d,
                                       std::vector<double>& e, std::size_t part = 0, std::size_t parts = 1) {
  auto V = [&](std::size_t r, std::size_t c) -> double& { return v[c * n + r]; };
  d.assign(n, 0.0);
  e.assign(n, 0.0);
  for (std::size_t j = 0; j < n; ++j) d[j] = V(n - 1, j);
  for (std::size_t i = n - 1; i > 0; --i) {
    double scale = 0.0, h = 0.0;
    for (std::size_t k = 0; k < i; ++k) scale += std::fabs(d[k]);
    if (scale == 0.0) {
      e[i] = d[i - 1];
      for (std::size_t j = 0; j < i; ++j) {
        d[j] = V(i - 1, j);
        V(i, j) = 0.0;
        V(j, i) = 0.0;
      }
    } else {
      for (std::size_t k = 0; k < i; ++k) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      double f = d[i - 1];
      double g = std::sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (std::size_t j = 0; j < i; ++j) e[j] = 0.0;
      for (std::size_t j = 0; j < i; ++j) {
        f = d[j];
        V(j, i) = f;
        g = e[j] + V(j, j) * f;
        for (std::size_t k = j + 1; k < i; ++k) {
          g += V(k, j) * d[k];
          e[k] += V(k, j) * f;
        }
        e[j] = g;
      }
      f = 0.0;
      for (std::size_t j = 0; j < i; ++j) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const double hh = f / (h + h);
      for (std::size_t j = 0; j < i; ++j) e[j] -= hh * d[j];
      for (std::size_t j = 0; j < i; ++j) {
        f = d[j];
        g = e[j];
        for (std::size_t k = j; k < i; ++k) V(k, j) -= f * e[k] + g * d[k];
        d[j] = V(i - 1, j);
        V(i, j) = 0.0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (std::size_t i = 0; i + 1 < n; ++i) {
    V(n - 1, i) = V(i, i);
    V(i, i) = 1.0;
    const double h = d[i + 1];
    if (h != 0.0) {
      for (std::size_t k = 0; k <= i; ++k) d[k] = V(k, i + 1) / h;
      for (std::size_t j = part; j <= i; j += parts) {
        double g = 0.0;
        for (std::size_t k = 0; k <= i; ++k) g += V(k, i + 1) * V(k, j);
        for (std::size_t k = 0; k <= i; ++k) V(k, j) -= g * d[k];
      }
    }
    for (std::size_t k = 0; k <= i; ++k) V(k, i + 1) = 0.0;
  }
  for (std::size_t j = 0; j < n; ++j) {
    d[j] = V(n - 1, j);
    V(n - 1, j) = 0.0;
  }
  V(n - 1, n - 1) = 1.0;
  e[0] = 0.0;
}

/// Implicit QL on a tridiagonal matrix. `w` holds the transformation transposed (row i is
/// column i of the tridiagonalization's V) and becomes the eigenvectors, one per row. The
/// rotations act on the columns of `w` independently, and `d`, `e` do not depend on `w`: only the
/// columns [k0, k1) are computed (all by default), so processes may share them; every process
/// converges, or fails, alike.
inline bool tridiagonal_ql(std::vector<double>& w, std::size_t n, std::vector<double>& d, std::vector<double>& e,
                           std::size_t k0 = 0, std::size_t k1 = std::size_t(-1)) {
  k1 = std::min(k1, n);
  for (std::size_t i = 1; i < n; ++i) e[i - 1] = e[i];
  e[n - 1] = 0.0;
  double f = 0.0, tst1 = 0.0;
  const double eps = std::ldexp(1.0, -52);
  for (std::size_t l = 0; l < n; ++l) {
    tst1 = std::max(tst1, std::fabs(d[l]) + std::fabs(e[l]));
    std::size_t m = l;
    while (m < n - 1 && std::fabs(e[m]) > eps * tst1) ++m;
    if (m > l) {
      int iter = 0;
      do {
        if (++iter > 200) return false;
        double g = d[l];
        double p = (d[l + 1] - g) / (2.0 * e[l]);
        double r = std::hypot(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const double dl1 = d[l + 1];
        double h = g - d[l];
        for (std::size_t i = l + 2; i < n; ++i) d[i] -= h;
        f += h;
        p = d[m];
        double c = 1.0, c2 = 1.0, c3 = 1.0, s = 0.0, s2 = 0.0;
        const double el1 = e[l + 1];
        for (std::size_t i = m; i-- > l;) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = std::hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          double* wi = &w[i * n];
          double* wi1 = &w[(i + 1) * n];
          for (std::size_t k = k0; k < k1; ++k) {
            const double t = wi1[k];
            wi1[k] = s * wi[k] + c * t;
            wi[k] = c * wi[k] - s * t;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (std::fabs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0.0;
  }
  return true;
}

}  // namespace detail

namespace detail {

/// Every process's columns `c % parts == part` of the n x n column-major `v`, on every process.
template <class Group>
void share_columns(std::vector<double>& v, std::size_t n, const Group& grp) {
  const std::size_t part = grp.part(), parts = grp.parts();
  std::vector<double> mine;
  mine.reserve((n / parts + 1) * n);
  for (std::size_t c = part; c < n; c += parts)
    mine.insert(mine.end(), v.begin() + ptrdiff(c * n), v.begin() + ptrdiff(c * n + n));
  const std::vector<double> all = grp.gather(mine);
  std::size_t at = 0;
  for (std::size_t p = 0; p < parts; ++p)
    for (std::size_t c = p; c < n; c += parts, at += n)
      std::copy_n(all.begin() + ptrdiff(at), n, v.begin() + ptrdiff(c * n));
}

/// Every process's columns [n p / parts, n (p + 1) / parts) of the n x n row-major `w`, on every process.
template <class Group>
void share_column_ranges(std::vector<double>& w, std::size_t n, const Group& grp) {
  const std::size_t parts = grp.parts();
  auto first = [&](std::size_t p) { return n * p / parts; };
  const std::size_t k0 = first(grp.part()), k1 = first(grp.part() + 1);
  std::vector<double> mine;
  mine.reserve(n * (k1 - k0));
  for (std::size_t i = 0; i < n; ++i)
    mine.insert(mine.end(), w.begin() + ptrdiff(i * n + k0), w.begin() + ptrdiff(i * n + k1));
  const std::vector<double> all = grp.gather(mine);
  std::size_t at = 0;
  for (std::size_t p = 0; p < parts; ++p) {
    const std::size_t width = first(p + 1) - first(p);
    for (std::size_t i = 0; i < n; ++i, at += width)
      std::copy_n(all.begin() + ptrdiff(at), width, w.begin() + ptrdiff(i * n + first(p)));
  }
}

/// symmetric_eigen() with its two O(n^3) halves (the accumulation of the Householder
/// transformations, the QL rotations) shared by the processes of a group, each computing a part
/// with the arithmetic of one process: the result is the same bit for bit on every process and
/// for any number of processes. Collective: every process passes the same matrix.
template <class Group>
status symmetric_eigen(std::vector<double> a, std::size_t n, std::vector<double>& values, std::vector<double>& vectors,
                       const Group& grp) {
  if (n == 0 || a.size() != n * n) return {errc::dimension_mismatch, "symmetric_eigen needs an n x n matrix"};
  const std::size_t parts = grp.parts(), part = grp.part();
  std::vector<double> d, e;
  householder_tridiagonalize(a, n, d, e, part, parts);
  if (parts > 1) share_columns(a, n, grp);
  std::vector<double> w = std::move(a);  // V by columns: row i of w is column i of V
  if (!tridiagonal_ql(w, n, d, e, n * part / parts, n * (part + 1) / parts))
    return {errc::unsupported, "eigenvalue iteration did not converge"};
  if (parts > 1) share_column_ranges(w, n, grp);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t p, std::size_t q) { return d[p] > d[q]; });
  values.resize(n);
  vectors.resize(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    values[i] = d[order[i]];
    std::copy(w.begin() + ptrdiff(order[i] * n), w.begin() + ptrdiff((order[i] + 1) * n),
              vectors.begin() + ptrdiff(i * n));
  }
  return {};
}

}  // namespace detail

/**
 * @brief Eigen-decomposition of a symmetric matrix.
 * @param a        n x n row-major (only symmetry is assumed; a is consumed)
 * @param n        order of the matrix
 * @param values   out: eigenvalues, decreasing
 * @param vectors  out: n x n, row i the unit eigenvector of values[i]
 */
inline status symmetric_eigen(std::vector<double> a, std::size_t n, std::vector<double>& values,
                              std::vector<double>& vectors) {
  return detail::symmetric_eigen(std::move(a), n, values, vectors, local_rows(0));
}

namespace detail {

/// fit_pca() over a row group's rows: the mean sums every row exactly; the covariance uses the
/// rows whose global index is a multiple of the step, in order, gathered to every process.
template <class Group>
status fit_pca(matrix_view<const float> x, std::size_t max_rows, pca_basis& out, const Group& grp) {
  const std::size_t n = grp.total(), d = x.cols();
  if (n == 0 || d == 0) return {errc::empty_input, "PCA needs data"};
  std::vector<double> mean(2 * d, 0.0);
  float bound = 0.0f;
  for (std::size_t i = 0; i < x.rows(); ++i) bound = std::max(bound, max_abs(x.row(i), d));
  const exact_grid grid = exact_grid::make(static_cast<double>(grp.max(bound)), n);
  for (std::size_t i = 0; i < x.rows(); ++i) grid.add_row(x.row(i), d, mean.data(), mean.data() + d);
  grp.sum(mean.data(), 2 * d);
  for (std::size_t t = 0; t < d; ++t) mean[t] = (mean[t] + mean[d + t]) / static_cast<double>(n);
  mean.resize(d);
  const std::size_t step = max_rows == 0 || n <= max_rows ? 1 : (n + max_rows - 1) / max_rows;
  std::vector<float> gathered;
  const matrix_view<const float> rows = grp.every(x, step, gathered);  // in global order, on every process
  // Covariance of the centred sample: one rank-1 update per row, accumulated in float blocks of
  // 256 rows, each block added exactly (exact_grid) to the double sum. Block b is computed by
  // process b % parts(): the blocks and their sum are the same however many processes share them.
  const std::size_t used = rows.rows(), blocks = (used + 255) / 256;
  std::vector<float> centred(d), block(d * d);
  float m = 0.0f;  // largest |centred value|: a block's entries are at most 256 m^2
  for (std::size_t i = 0; i < used; ++i)
    for (std::size_t t = 0; t < d; ++t)
      m = std::max(m, std::fabs(static_cast<float>(static_cast<double>(rows(i, t)) - mean[t])));
  const double mb = static_cast<double>(m);
  const exact_grid cgrid = exact_grid::make(256.0 * mb * mb * 1.001, blocks);
  std::vector<double> sums(2 * d * d, 0.0);
  for (std::size_t b = grp.part(); b < blocks; b += grp.parts()) {
    std::fill(block.begin(), block.end(), 0.0f);
    for (std::size_t i = b * 256; i < std::min(used, b * 256 + 256); ++i) {
      for (std::size_t t = 0; t < d; ++t) centred[t] = static_cast<float>(static_cast<double>(rows(i, t)) - mean[t]);
      for (std::size_t r = 0; r < d; ++r) {
        const float cr = centred[r];
        float* row = block.data() + r * d;
        for (std::size_t c = 0; c < d; ++c) row[c] += cr * centred[c];
      }
    }
    cgrid.add_row(block.data(), d * d, sums.data(), sums.data() + d * d);
  }
  grp.sum(sums.data(), sums.size());
  std::vector<double> cov(d * d);
  for (std::size_t i = 0; i < d * d; ++i) cov[i] = sums[i] + sums[d * d + i];
  for (auto& c : cov) c /= static_cast<double>(used);
  std::vector<double> vectors;
  RVQ_TRY(symmetric_eigen(std::move(cov), d, out.variances, vectors, grp));
  out.dim = d;
  out.mean.resize(d);
  for (std::size_t t = 0; t < d; ++t) out.mean[t] = static_cast<float>(mean[t]);
  out.components.resize(d * d);
  for (std::size_t i = 0; i < d * d; ++i) out.components[i] = static_cast<float>(vectors[i]);
  return {};
}

}  // namespace detail

/**
 * @brief Principal components of the rows of `x`, estimated from at most `max_rows` evenly spaced
 * rows (the mean uses every row).
 */
inline status fit_pca(matrix_view<const float> x, std::size_t max_rows, pca_basis& out) {
  return detail::fit_pca(x, max_rows, out, local_rows(x.rows()));
}

}  // namespace rvq
