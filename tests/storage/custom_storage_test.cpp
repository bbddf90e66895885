// A storage policy defined here, outside the library: a tag, its storage_traits and its store.
// rvq::quantizer runs encode (greedy and beam search) and decode through it without knowing it,
// and gives the codes and reconstructions of the dense storage on the scalar backend.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../helpers.hpp"

namespace custom {

/// The storage tag: codewords kept row-major, searched one dot product at a time.
struct plain_rows {};

/// The store: the float store interface of <rvq/storage/store_interface.hpp>, nothing more.
template <class Metric>
class rows_store {
 public:
  static constexpr std::size_t block_rows = 1;

  static rvq::status build(rvq::span<const float> cw, rvq::span<const std::size_t> k, std::size_t dim,
                           rows_store& out) {
    if (k.empty() || dim == 0) return {rvq::errc::empty_input, "no layers"};
    rows_store s;
    s.dim_ = dim;
    s.k_.assign(k.begin(), k.end());
    s.first_.assign(k.size() + 1, 0);
    for (std::size_t l = 0; l < k.size(); ++l) s.first_[l + 1] = s.first_[l] + k[l];
    if (cw.size() != s.first_.back() * dim) return {rvq::errc::dimension_mismatch, "codebook size"};
    s.cw_.assign(cw.begin(), cw.end());
    for (std::size_t i = 0; i < s.first_.back(); ++i) {
      float n2 = 0.0f;
      for (std::size_t t = 0; t < dim; ++t) n2 += s.cw_[i * dim + t] * s.cw_[i * dim + t];
      s.bias_.push_back(rvq::metric_traits<Metric>::bias(n2));
      s.scale_.push_back(rvq::metric_traits<Metric>::scale(n2));
    }
    out = std::move(s);
    return {};
  }

  std::size_t layers() const noexcept { return k_.size(); }
  std::size_t dim() const noexcept { return dim_; }
  std::size_t codewords(std::size_t l) const noexcept { return k_[l]; }
  std::size_t max_codewords() const noexcept { return rvq::detail::extreme_of(k_, true); }
  std::size_t min_codewords() const noexcept { return rvq::detail::extreme_of(k_, false); }
  std::size_t total_codewords() const noexcept { return first_.back(); }
  rvq::status validate() const noexcept { return {}; }

  void argmin(std::size_t l, const float* const* rows, std::size_t n, std::uint32_t* idx, float* score) const noexcept {
    argmin_range(l, 0, k_[l], rows, n, idx, score);
  }
  void argmin_range(std::size_t l, std::size_t first, std::size_t last, const float* const* rows, std::size_t n,
                    std::uint32_t* idx, float* score) const noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      score[i] = std::numeric_limits<float>::infinity();
      idx[i] = static_cast<std::uint32_t>(first);
      for (std::size_t c = first; c < last; ++c) {
        const float s = score_of(l, c, rows[i]);
        if (s < score[i]) score[i] = s, idx[i] = static_cast<std::uint32_t>(c);
      }
    }
  }
  static constexpr std::size_t range_granule() noexcept { return 1; }
  void scores(std::size_t l, const float* const* rows, std::size_t n, float* out, std::size_t stride) const noexcept {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < k_[l]; ++c) out[i * stride + c] = score_of(l, c, rows[i]);
  }
  static constexpr bool has_cross() noexcept { return false; }

  void subtract_codeword(std::size_t l, std::size_t c, float* r) const noexcept {
    for (std::size_t t = 0; t < dim_; ++t) r[t] -= at(l, c)[t];
  }
  void add_codeword(std::size_t l, std::size_t c, float* out) const noexcept {
    for (std::size_t t = 0; t < dim_; ++t) out[t] += at(l, c)[t];
  }
  void expand(std::size_t l, std::size_t c, float* out) const noexcept {
    for (std::size_t t = 0; t < dim_; ++t) out[t] = at(l, c)[t];
  }
  void prefetch_codeword(std::size_t, std::size_t) const noexcept {}

  std::size_t codebook_bytes() const noexcept { return cw_.size() * sizeof(float); }
  std::size_t aux_bytes() const noexcept { return (bias_.size() + scale_.size()) * sizeof(float); }
  static constexpr std::size_t scratch_bytes() noexcept { return 0; }
  std::size_t layer_macs(std::size_t l) const noexcept { return k_[l] * dim_; }
  static constexpr std::size_t layer_lookups(std::size_t) noexcept { return 0; }

 private:
  const float* at(std::size_t l, std::size_t c) const noexcept { return cw_.data() + (first_[l] + c) * dim_; }
  float score_of(std::size_t l, std::size_t c, const float* r) const noexcept {
    float dot = 0.0f;  // left to right, as the scalar reference sums
    for (std::size_t t = 0; t < dim_; ++t) dot += r[t] * at(l, c)[t];
    const std::size_t i = first_[l] + c;
    return bias_[i] - scale_[i] * dot;
  }

  std::size_t dim_ = 0;
  std::vector<std::size_t> k_, first_;
  std::vector<float> cw_, bias_, scale_;
};

}  // namespace custom

template <>
struct rvq::storage_traits<custom::plain_rows> {
  static constexpr const char* name = "plain_rows";
  static constexpr storage_id id = static_cast<storage_id>(100);
  template <class Element, class Metric, class Simd, class Extents>
  using store = custom::rows_store<Metric>;
};

TEMPLATE_LIST_TEST_CASE("a storage policy defined outside the library encodes and decodes as dense",
                        "[storage][custom]", rvq_test::metrics) {
  using custom_q = rvq::quantizer<rvq::config<rvq::f32, TestType, custom::plain_rows, rvq::sequential, rvq::scalar>>;
  using dense_q = rvq::quantizer<rvq::config<rvq::f32, TestType, rvq::dense, rvq::sequential, rvq::scalar>>;
  const std::size_t d = 12, n = 300;
  const std::vector<std::size_t> k = {16, 9, 16, 5};
  std::size_t total = 0;
  for (std::size_t x : k) total += x;
  const std::vector<float> cb = rvq_test::gaussian(total, d, 3);
  const std::vector<float> x = rvq_test::gaussian(n, d, 4);

  auto cq = custom_q::from_codebooks(cb, k, d);
  auto dq = dense_q::from_codebooks(cb, k, d);
  REQUIRE(cq.ok());
  REQUIRE(dq.ok());
  REQUIRE(cq->validate().ok());
  CHECK(cq->memory_footprint().macs_per_vector == dq->memory_footprint().macs_per_vector);

  for (std::size_t beam : {1u, 3u, 5u}) {
    INFO("beam " << beam);
    std::vector<std::uint16_t> a(n * k.size()), b(n * k.size());
    const rvq::encode_options opt{beam};
    REQUIRE(cq->encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                             rvq::matrix_view<std::uint16_t>(a.data(), n, k.size()), opt)
                .ok());
    REQUIRE(dq->encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                             rvq::matrix_view<std::uint16_t>(b.data(), n, k.size()), opt)
                .ok());
    CHECK(a == b);
    // One vector at a time, with the allocating overload.
    std::vector<std::uint16_t> one(k.size());
    REQUIRE(cq->encode(rvq::span<const float>(x.data(), d), rvq::span<std::uint16_t>(one), opt).ok());
    CHECK(std::vector<std::uint16_t>(b.begin(), b.begin() + std::ptrdiff_t(k.size())) == one);

    std::vector<float> ya(n * d), yb(n * d);
    REQUIRE(cq->decode_batch(rvq::matrix_view<const std::uint16_t>(a.data(), n, k.size()),
                             rvq::matrix_view<float>(ya.data(), n, d))
                .ok());
    REQUIRE(dq->decode_batch(rvq::matrix_view<const std::uint16_t>(b.data(), n, k.size()),
                             rvq::matrix_view<float>(yb.data(), n, d))
                .ok());
    CHECK(ya == yb);
  }
  // The quantizer's checks hold for the custom store too.
  std::vector<std::uint16_t> codes(k.size());
  CHECK(
      cq->encode(rvq::span<const float>(x.data(), d), rvq::span<std::uint16_t>(codes), rvq::encode_options{6}).code() ==
      rvq::errc::bad_beam);
  std::vector<float> out(d);
  codes[1] = 9;
  CHECK(cq->decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(out)).code() ==
        rvq::errc::code_out_of_range);
}
