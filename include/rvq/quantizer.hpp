/// @file quantizer.hpp
/// @brief rvq::quantizer: encode (greedy and beam search) and decode of residual vector quantization.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include "config.hpp"
#include "core/extents.hpp"
#include "core/footprint.hpp"
#include "core/span.hpp"
#include "core/status.hpp"
#include "detail/meta.hpp"
#include "policies.hpp"
#if !RVQ_NO_HEAP
#include <vector>
#endif

namespace rvq {

/// Options of one encode call.
struct encode_options {
  /// Beam width: 1 is greedy; B keeps the B best partial reconstructions per layer.
  std::size_t beam = 1;
};

/// Pass as `n_layers` to decode every layer.
inline constexpr std::size_t all_layers = std::numeric_limits<std::size_t>::max();

/// @brief Scratch memory handed to encode by the caller (see quantizer::workspace_for).
struct workspace_view {
  span<float> floats;           ///< at least workspace_size::floats values
  span<std::uint32_t> indices;  ///< at least workspace_size::indices values
};

#if !RVQ_NO_HEAP
/// @brief An owning workspace; allocate it once, reuse it for every call.
class workspace {
 public:
  /// An empty workspace.
  workspace() = default;
  /// Allocates the given sizes (quantizer::workspace_for()).
  explicit workspace(workspace_size s) : floats_(s.floats), indices_(s.indices) {}
  /// The view to pass to encode.
  workspace_view view() noexcept { return {span<float>(floats_), span<std::uint32_t>(indices_)}; }

 private:
  std::vector<float> floats_;
  std::vector<std::uint32_t> indices_;
};
#endif

/**
 * @brief Residual vector quantizer: `L` layers of `K` codewords of dimension `D`.
 *
 * @tparam Config  policy bundle (rvq::config<...>): element, metric, storage, parallel, simd.
 * @tparam Extents rvq::extents<L, K, D> for firmware (no heap; codebooks in a caller array that
 *                 may be `constexpr`, so in flash) or rvq::dynamic_extents (owning; K may differ
 *                 per layer; built by from_codebooks() or by rvq::train()).
 *
 * Encode picks, layer by layer, the codeword that minimizes the metric's score against the
 * running residual; ties go to the lowest index. Beam search keeps the B best partial codes
 * ranked by their accumulated score (for l2: the squared reconstruction error); B = 1 returns
 * exactly the greedy codes. Decode sums the chosen codewords.
 *
 * Every fallible function returns rvq::status; nothing throws and, given a workspace, nothing
 * allocates. Encode and decode are const and safe to call concurrently with distinct workspaces.
 */
template <class Config = default_config, class Extents = dynamic_extents>
class quantizer {
  static_assert(detail::check_config<Config>::value, "");

 public:
  using config_type = Config;                              ///< the policy bundle
  using extents_type = Extents;                            ///< the shape
  using element = typename Config::element;                ///< element policy
  using metric = typename Config::metric;                  ///< metric policy
  using storage = typename Config::storage;                ///< storage policy
  using parallel = typename Config::parallel;              ///< parallel policy
  using simd = typename Config::simd;                      ///< SIMD backend policy
  using element_traits_type = element_traits<element>;     ///< traits of the element policy
  using metric_traits_type = metric_traits<metric>;        ///< traits of the metric policy
  using storage_traits_type = storage_traits<storage>;     ///< traits of the storage policy
  using parallel_traits_type = parallel_traits<parallel>;  ///< traits of the parallel policy
  using simd_traits_type = simd_traits<simd>;              ///< traits of the SIMD backend
  using kernels = typename simd_traits_type::kernels;      ///< the backend's kernel entry points
  // Instantiate every family's traits now, so a bad policy fails here with its own message.
  static_assert(sizeof(element_traits_type) > 0 && sizeof(metric_traits_type) > 0 && sizeof(storage_traits_type) > 0 &&
                    sizeof(parallel_traits_type) > 0 && sizeof(simd_traits_type) > 0,
                "rvq::quantizer: every policy needs its traits");
  using value_type = typename element_traits_type::storage_type;  ///< type of a stored codeword value
  /// Smallest code type for K (uint8 up to 256, else uint16; uint16 for dynamic K).
  using code_type = code_type_for_t<Extents::codewords>;
  static_assert(std::is_same<element, f32>::value,
                "rvq::quantizer: this version supports element rvq::f32 with storage rvq::dense");
  static_assert(std::is_same<storage, dense>::value, "rvq::quantizer: valid storage policies: rvq::dense");
  using store_type =
      detail::dense_store<metric, kernels, Extents>;  ///< the codebook store of this storage, metric and extents
  /// True for compile-time extents (firmware).
  static constexpr bool is_static = Extents::is_static;
  static_assert(!RVQ_NO_HEAP || is_static, "rvq: RVQ_NO_HEAP builds need static extents (rvq::extents<L, K, D>)");

  // ---- construction -------------------------------------------------------------------------

  /// An empty quantizer (no layers); encode and decode report an error until one is assigned.
  constexpr quantizer() noexcept = default;

  /// Static extents: view `L*K*D` row-major codewords (layer, codeword, dim) kept by the caller.
  /// Computes per-codeword constants; usable in a constant expression for a flash-resident model.
  template <class E = Extents, class = std::enable_if_t<E::is_static>>
  constexpr explicit quantizer(const std::array<float, E::layers * E::codewords * E::dim>& values) noexcept
      : store_(values.data()) {}
  /// Static extents: view a C array of `L*K*D` codewords (see the std::array overload).
  template <class E = Extents, class = std::enable_if_t<E::is_static>>
  constexpr explicit quantizer(const float (&values)[E::layers * E::codewords * E::dim]) noexcept : store_(values) {}

#if !RVQ_NO_HEAP
  /**
   * @brief Dynamic extents: copy codebooks given as `sum(k) x dim` row-major floats, layer after layer.
   * @param codebooks all codewords, layer 0 first
   * @param k         codewords of each layer (1 to 65536)
   * @param dim       dimension D
   * @return the quantizer, or an error for bad shapes, K out of range, or NaN/Inf values.
   */
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic>>
  static result<quantizer> from_codebooks(span<const float> codebooks, span<const std::size_t> k, std::size_t dim) {
    quantizer q;
    const status s = store_type::build(codebooks, k, dim, q.store_);
    if (!s) return s;
    return q;
  }
  /// Dynamic extents, every layer with the same K.
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic>>
  static result<quantizer> from_codebooks(span<const float> codebooks, std::size_t layers, std::size_t k,
                                          std::size_t dim) {
    std::vector<std::size_t> ks(layers, k);
    return from_codebooks(codebooks, span<const std::size_t>(ks), dim);
  }
#endif

  /// Checks the codebooks a static quantizer views (present, finite).
  status validate() const noexcept {
    if (store_.layers() == 0) return {errc::empty_input, "the quantizer has no codebooks"};
    const std::size_t n = store_.total_codewords() * store_.dim();
    const std::size_t bad = detail::first_non_finite(store_.data(), n);
    if (bad != n) return {errc::non_finite, "codebook contains NaN or Inf", bad, "element"};
    return {};
  }

  // ---- shape -------------------------------------------------------------------------------

  constexpr std::size_t layers() const noexcept { return store_.layers(); }  ///< L (0 when empty)
  constexpr std::size_t dim() const noexcept { return store_.dim(); }        ///< D
  /// Codewords of layer l.
  constexpr std::size_t codewords(std::size_t l) const noexcept { return store_.codewords(l); }
  constexpr std::size_t max_codewords() const noexcept { return store_.max_codewords(); }  ///< largest K of any layer
  constexpr std::size_t min_codewords() const noexcept {
    return store_.min_codewords();
  }  ///< smallest K (bounds the beam)
  /// Codeword c of layer l (dim() values).
  constexpr const float* codeword(std::size_t l, std::size_t c) const noexcept { return store_.codeword(l, c); }
  /// All codewords, layer after layer, row-major.
  constexpr const float* codebook_data() const noexcept { return store_.data(); }
  /// Bits of one code: sum over layers of ceil(log2 K_l).
  constexpr std::size_t bits_per_vector() const noexcept {
    std::size_t b = 0;
    for (std::size_t l = 0; l < layers(); ++l) b += code_bits(codewords(l));
    return b;
  }
  /// The codebook store (for kernels and tools that work below the quantizer).
  const store_type& store() const noexcept { return store_; }

  // ---- footprint and workspace --------------------------------------------------------------

  /// Scratch an encode with beam width `beam` needs, for single vectors and batches.
  constexpr workspace_size workspace_for(std::size_t beam) const noexcept {
    return workspace_needed(beam, dim(), layers(), max_codewords());
  }
  /// Scratch encode_beam() needs (the beam path, also for B = 1).
  constexpr workspace_size workspace_for_beam_path(std::size_t beam) const noexcept {
    return workspace_needed(beam, dim(), layers(), max_codewords(), true);
  }

  /// Memory and arithmetic of this quantizer.
  constexpr footprint_info memory_footprint() const noexcept {
    footprint_info f;
    f.codebook_bytes = store_.codebook_bytes();
    f.constant_bytes = store_.aux_bytes();
    f.flash_bytes = f.codebook_bytes + f.constant_bytes;
    f.scratch_bytes = dim() * sizeof(float);
    for (std::size_t l = 0; l < layers(); ++l) f.macs_per_vector += codewords(l) * dim();
    return f;
  }

  // ---- encode ------------------------------------------------------------------------------

  /**
   * @brief Encode one vector into `layers()` codes; allocates nothing.
   * @param x     dim() finite values
   * @param codes layers() outputs (uint8_t or uint16_t wide enough for K)
   * @param opt   beam width (1 to min K)
   * @param ws    at least workspace_for(opt.beam)
   * @return dimension_mismatch, non_finite, bad_beam, too_many_codewords or invalid_argument on bad input.
   *
   * Complexity: greedy `sum_l K_l D` multiply-adds (footprint_info::macs_per_vector); beam B about
   * `B` times that plus `O(B K_l + B^2)` comparisons and `O(B D)` residual updates per layer.
   */
  template <class Code>
  status encode(span<const float> x, span<Code> codes, const encode_options& opt, workspace_view ws) const noexcept {
    RVQ_TRY(check_encode<Code>(x.size(), codes.size(), opt.beam, ws, 1));
    RVQ_TRY(check_finite_row(x.data(), 0));
    if (opt.beam == 1) {
      const float* row = x.data();
      greedy_block(&row, 1, codes.data(), 0, ws);
    } else {
      beam_one(x.data(), opt.beam, codes.data(), ws);
    }
    return {};
  }

  /// Encode one vector with the beam-search path for any width, B = 1 included (whose codes
  /// equal the greedy ones bit for bit); encode() routes B = 1 to the faster greedy path.
  /// `ws` must hold workspace_for_beam_path(beam).
  template <class Code>
  status encode_beam(span<const float> x, span<Code> codes, std::size_t beam, workspace_view ws) const noexcept {
    RVQ_TRY(check_encode<Code>(x.size(), codes.size(), beam, ws, 1, true));
    RVQ_TRY(check_finite_row(x.data(), 0));
    beam_one(x.data(), beam, codes.data(), ws);
    return {};
  }

  /// Encode one vector using internal scratch: static extents and greedy allocate nothing (stack);
  /// otherwise a workspace is allocated for the call (use the workspace overload in hot loops).
  template <class Code>
  status encode(span<const float> x, span<Code> codes, const encode_options& opt = {}) const {
    if constexpr (is_static) {
      if (opt.beam == 1) {
        std::array<float, static_dim() + 1> f{};
        std::array<std::uint32_t, 1> i{};
        return encode(x, codes, opt, workspace_view{span<float>(f), span<std::uint32_t>(i)});
      }
    }
#if !RVQ_NO_HEAP
    if (layers() == 0) return {errc::empty_input, "the quantizer has no codebooks"};
    if (opt.beam == 0 || opt.beam > min_codewords()) return bad_beam_status();
    workspace w(workspace_for(opt.beam));
    return encode(x, codes, opt, w.view());
#else
    return {errc::unsupported, "beam search on a no-heap build needs a caller workspace (workspace_for(beam))"};
#endif
  }

  /**
   * @brief Encode the rows of `x` (N x dim(), any row stride) into `codes` (N x layers()).
   * Validates every row before writing any code. Allocates nothing.
   * Complexity: N times the single-vector cost; rows are scored block_rows at a time per pass
   * over a layer's codewords.
   */
  template <class Code>
  status encode_batch(matrix_view<const float> x, matrix_view<Code> codes, const encode_options& opt,
                      workspace_view ws) const noexcept {
    if (!x.valid() || !codes.valid())
      return {errc::invalid_argument, "malformed matrix view (stride below the row length)"};
    if (codes.rows() != x.rows()) return {errc::dimension_mismatch, "codes must have one row per input vector"};
    RVQ_TRY(check_encode<Code>(x.cols(), codes.cols(), opt.beam, ws, parallel_traits_type::concurrency()));
    for (std::size_t i = 0; i < x.rows(); ++i) RVQ_TRY(check_finite_row(x.row(i), i));

    const std::size_t workers = parallel_traits_type::concurrency();
    const std::size_t chunk = (x.rows() + workers - 1) / (workers ? workers : 1);
    const workspace_size per = workspace_for(opt.beam);
    parallel_traits_type::for_each(workers, [&](std::size_t w) {
      const std::size_t first = w * chunk;
      const std::size_t last = first + chunk < x.rows() ? first + chunk : x.rows();
      workspace_view mine{ws.floats.subspan(w * per.floats, per.floats),
                          ws.indices.subspan(w * per.indices, per.indices)};
      encode_rows(x, codes, first, last, opt.beam, mine);
    });
    return {};
  }

#if !RVQ_NO_HEAP
  /// encode_batch with a workspace allocated for this call.
  template <class Code>
  status encode_batch(matrix_view<const float> x, matrix_view<Code> codes, const encode_options& opt = {}) const {
    if (layers() == 0) return {errc::empty_input, "the quantizer has no codebooks"};
    if (opt.beam == 0 || opt.beam > min_codewords()) return bad_beam_status();
    const workspace_size per = workspace_for(opt.beam);
    const std::size_t n = parallel_traits_type::concurrency();
    workspace w(workspace_size{per.floats * n, per.indices * n});
    return encode_batch(x, codes, opt, w.view());
  }
#endif

  // ---- decode ------------------------------------------------------------------------------

  /**
   * @brief Reconstruct one vector from its codes: the sum of the first `n_layers` codewords.
   * @param codes at least n_layers codes (at most layers())
   * @param out   dim() outputs
   * @param n_layers how many layers to sum (all_layers: every layer)
   * @return code_out_of_range (where = layer) or dimension_mismatch; `out` untouched on error.
   * Complexity: `n_layers D` additions.
   */
  template <class Code>
  status decode(span<const Code> codes, span<float> out, std::size_t n_layers = all_layers) const noexcept {
    const std::size_t n = n_layers == all_layers ? layers() : n_layers;
    RVQ_TRY(check_decode(codes.size(), out.size(), n));
    RVQ_TRY(check_codes(codes.data(), n));
    decode_row(codes.data(), out.data(), n);
    return {};
  }

  /// Decode N rows of codes (N x at least n_layers) into N x dim() outputs; all codes are
  /// checked before anything is written.
  template <class Code>
  status decode_batch(matrix_view<const Code> codes, matrix_view<float> out,
                      std::size_t n_layers = all_layers) const noexcept {
    if (!codes.valid() || !out.valid())
      return {errc::invalid_argument, "malformed matrix view (stride below the row length)"};
    if (codes.rows() != out.rows()) return {errc::dimension_mismatch, "output must have one row per code row"};
    const std::size_t n = n_layers == all_layers ? layers() : n_layers;
    RVQ_TRY(check_decode(codes.cols(), out.cols(), n));
    for (std::size_t i = 0; i < codes.rows(); ++i) {
      const status s = check_codes(codes.row(i), n);
      if (!s) return {s.code(), "code out of range", i, "row"};
    }
    parallel_traits_type::for_each(codes.rows(), [&](std::size_t i) { decode_row(codes.row(i), out.row(i), n); });
    return {};
  }

  // ---- static footprint --------------------------------------------------------------------

  /// D for static extents, 0 for dynamic ones.
  static constexpr std::size_t static_dim() noexcept { return is_static ? Extents::dim : 0; }

 private:
  static constexpr workspace_size workspace_needed(std::size_t beam, std::size_t d, std::size_t l, std::size_t k,
                                                   bool beam_path = false) noexcept {
    const std::size_t br = store_type::block_rows;
    workspace_size greedy{br * d + br, br};
    if (beam <= 1 && !beam_path) return greedy;
    workspace_size b{2 * beam * d + beam * k + 4 * beam, 2 * beam * l + 3 * beam};
    return {b.floats > greedy.floats ? b.floats : greedy.floats,
            b.indices > greedy.indices ? b.indices : greedy.indices};
  }

 public:
  /// Scratch for a static quantizer, as a constant (firmware sizes its buffers from it).
  template <class E = Extents, class = std::enable_if_t<E::is_static>>
  static constexpr workspace_size static_workspace(std::size_t beam) noexcept {
    return workspace_needed(beam, E::dim, E::layers, E::codewords);
  }

  /// Footprint of a static quantizer, as a constant: `static_assert(q::footprint.flash_bytes <= ...)`.
  template <class E = Extents, class = std::enable_if_t<E::is_static>>
  static constexpr footprint_info static_footprint() noexcept {
    footprint_info f;
    f.codebook_bytes = store_type::codebook_bytes();
    f.constant_bytes = store_type::aux_bytes();
    f.flash_bytes = f.codebook_bytes + f.constant_bytes;
    f.scratch_bytes = E::dim * sizeof(float);
    f.macs_per_vector = E::layers * E::codewords * E::dim;
    return f;
  }

 private:
  static constexpr status bad_beam_status() noexcept {
    return {errc::bad_beam, "beam width must be between 1 and the smallest layer's K"};
  }

  template <class Code>
  status check_encode(std::size_t x_len, std::size_t codes_len, std::size_t beam, const workspace_view& ws,
                      std::size_t workers, bool beam_path = false) const noexcept {
    static_assert(std::is_same<Code, std::uint8_t>::value || std::is_same<Code, std::uint16_t>::value,
                  "rvq: codes are std::uint8_t or std::uint16_t");
    static_assert(!is_static || Extents::codewords <= max_codewords_of<Code>(),
                  "rvq: this code type cannot hold K codes; use std::uint16_t (or quantizer::code_type)");
    if (layers() == 0) return {errc::empty_input, "the quantizer has no codebooks"};
    if (x_len != dim()) return {errc::dimension_mismatch, "input vector length differs from the model dimension"};
    if (codes_len != layers()) return {errc::dimension_mismatch, "codes length differs from the number of layers"};
    if (max_codewords() > max_codewords_of<Code>())
      return {errc::too_many_codewords, "a layer has more codewords than the code type holds; use uint16 codes"};
    if (beam == 0 || beam > min_codewords()) return bad_beam_status();
    const workspace_size need = beam_path ? workspace_for_beam_path(beam) : workspace_for(beam);
    if (ws.floats.size() < need.floats * workers || ws.indices.size() < need.indices * workers)
      return {errc::invalid_argument, "workspace smaller than workspace_for(beam)"};
    return {};
  }

  status check_finite_row(const float* x, std::size_t row) const noexcept {
    if (detail::first_non_finite(x, dim()) != dim()) return {errc::non_finite, "input contains NaN or Inf", row, "row"};
    return {};
  }

  status check_decode(std::size_t codes_len, std::size_t out_len, std::size_t n) const noexcept {
    if (layers() == 0) return {errc::empty_input, "the quantizer has no codebooks"};
    if (n > layers()) return {errc::invalid_argument, "cannot decode more layers than the model has"};
    if (codes_len < n || codes_len > layers())
      return {errc::dimension_mismatch, "codes length must be between the decoded layers and the model's layers"};
    if (out_len != dim()) return {errc::dimension_mismatch, "output length differs from the model dimension"};
    return {};
  }

  template <class Code>
  status check_codes(const Code* codes, std::size_t n) const noexcept {
    for (std::size_t l = 0; l < n; ++l)
      if (static_cast<std::size_t>(codes[l]) >= codewords(l))
        return {errc::code_out_of_range, "code out of range", l, "layer"};
    return {};
  }

  template <class Code>
  void decode_row(const Code* codes, float* out, std::size_t n) const noexcept {
    const std::size_t d = dim();
    for (std::size_t t = 0; t < d; ++t) out[t] = 0.0f;
    for (std::size_t l = 0; l < n; ++l) {
      const float* c = codeword(l, codes[l]);
      for (std::size_t t = 0; t < d; ++t) out[t] += c[t];
    }
  }

  template <class Code>
  void encode_rows(matrix_view<const float> x, matrix_view<Code> codes, std::size_t first, std::size_t last,
                   std::size_t beam, workspace_view ws) const noexcept {
    if (beam == 1) {
      const std::size_t br = store_type::block_rows;
      for (std::size_t i = first; i < last; i += br) {
        const std::size_t n = last - i < br ? last - i : br;
        const float* rows[store_type::block_rows];
        for (std::size_t j = 0; j < n; ++j) rows[j] = x.row(i + j);
        greedy_block(rows, n, codes.row(i), codes.stride(), ws);
      }
    } else {
      for (std::size_t i = first; i < last; ++i) beam_one(x.row(i), beam, codes.row(i), ws);
    }
  }

  /// Greedy encode of n <= block_rows rows; row j's codes go to codes + j * code_stride.
  template <class Code>
  void greedy_block(const float* const* x, std::size_t n, Code* codes, std::size_t code_stride,
                    workspace_view ws) const noexcept {
    const std::size_t d = dim();
    float* res = ws.floats.data();
    float* score = res + store_type::block_rows * d;
    std::uint32_t* idx = ws.indices.data();
    const float* rows[store_type::block_rows];
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t t = 0; t < d; ++t) res[j * d + t] = x[j][t];
      rows[j] = res + j * d;
    }
    for (std::size_t l = 0; l < layers(); ++l) {
      store_.argmin(l, rows, n, idx, score);
      for (std::size_t j = 0; j < n; ++j) {
        codes[j * code_stride + l] = static_cast<Code>(idx[j]);
        const float* c = codeword(l, idx[j]);
        float* r = res + j * d;
        for (std::size_t t = 0; t < d; ++t) r[t] -= c[t];
      }
    }
  }

  /// Beam search of one vector (see the class comment for the ranking and tie rules).
  template <class Code>
  void beam_one(const float* x, std::size_t beam, Code* codes, workspace_view ws) const noexcept {
    const std::size_t d = dim(), nl = layers(), kmax = max_codewords();
    float* res_cur = ws.floats.data();
    float* res_next = res_cur + beam * d;
    float* scores = res_next + beam * d;
    float* cum_cur = scores + beam * kmax;
    float* cum_next = cum_cur + beam;
    float* cand_score = cum_next + beam;
    float* top_total = cand_score + beam;
    std::uint32_t* codes_cur = ws.indices.data();
    std::uint32_t* codes_next = codes_cur + beam * nl;
    std::uint32_t* cand_idx = codes_next + beam * nl;
    std::uint32_t* top_parent = cand_idx + beam;
    std::uint32_t* top_code = top_parent + beam;

    for (std::size_t t = 0; t < d; ++t) res_cur[t] = x[t];
    cum_cur[0] = 0.0f;
    std::size_t nb = 1;
    for (std::size_t l = 0; l < nl; ++l) {
      const std::size_t k = codewords(l);
      const std::size_t per_parent = beam < k ? beam : k;
      for (std::size_t b0 = 0; b0 < nb; b0 += store_type::block_rows) {
        const std::size_t n = nb - b0 < store_type::block_rows ? nb - b0 : store_type::block_rows;
        const float* rows[store_type::block_rows];
        for (std::size_t j = 0; j < n; ++j) rows[j] = res_cur + (b0 + j) * d;
        store_.scores(l, rows, n, scores + b0 * kmax, kmax);
      }
      std::size_t ntop = 0;
      for (std::size_t b = 0; b < nb; ++b) {
        // The parent's best candidates by score alone (so B = 1 is exactly greedy) ...
        std::size_t nc = 0;
        const float* s = scores + b * kmax;
        for (std::size_t c = 0; c < k; ++c) {
          if (nc == per_parent && !(s[c] < cand_score[nc - 1])) continue;
          std::size_t pos = nc < per_parent ? nc++ : nc - 1;
          while (pos > 0 && s[c] < cand_score[pos - 1]) {
            cand_score[pos] = cand_score[pos - 1];
            cand_idx[pos] = cand_idx[pos - 1];
            --pos;
          }
          cand_score[pos] = s[c];
          cand_idx[pos] = static_cast<std::uint32_t>(c);
        }
        // ... then merged into the global best by accumulated score; equal totals keep the
        // earlier parent, then the parent's better candidate.
        for (std::size_t c = 0; c < nc; ++c) {
          const float total = cum_cur[b] + cand_score[c];
          if (ntop == beam && !(total < top_total[ntop - 1])) break;
          std::size_t pos = ntop < beam ? ntop++ : ntop - 1;
          while (pos > 0 && total < top_total[pos - 1]) {
            top_total[pos] = top_total[pos - 1];
            top_parent[pos] = top_parent[pos - 1];
            top_code[pos] = top_code[pos - 1];
            --pos;
          }
          top_total[pos] = total;
          top_parent[pos] = static_cast<std::uint32_t>(b);
          top_code[pos] = cand_idx[c];
        }
      }
      for (std::size_t i = 0; i < ntop; ++i) {
        const float* parent = res_cur + top_parent[i] * d;
        const float* c = codeword(l, top_code[i]);
        float* r = res_next + i * d;
        for (std::size_t t = 0; t < d; ++t) r[t] = parent[t] - c[t];
        for (std::size_t j = 0; j < l; ++j) codes_next[i * nl + j] = codes_cur[top_parent[i] * nl + j];
        codes_next[i * nl + l] = top_code[i];
        cum_next[i] = top_total[i];
      }
      float* tf = res_cur;
      res_cur = res_next;
      res_next = tf;
      tf = cum_cur;
      cum_cur = cum_next;
      cum_next = tf;
      std::uint32_t* tu = codes_cur;
      codes_cur = codes_next;
      codes_next = tu;
      nb = ntop;
    }
    for (std::size_t l = 0; l < nl; ++l) codes[l] = static_cast<Code>(codes_cur[l]);
  }

  store_type store_{};
};

}  // namespace rvq
