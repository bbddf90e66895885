/// @file quantizer.hpp
/// @brief rvq::quantizer: the public face of residual vector quantization. It owns a store (what
/// the storage policy's traits name), checks every input, and delegates encode to the encoders
/// (encode/greedy.hpp, encode/beam.hpp, encode/integer.hpp) and decode to the store.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include "config.hpp"
#include "core/extents.hpp"
#include "core/footprint.hpp"
#include "core/limits.hpp"
#include "core/span.hpp"
#include "core/status.hpp"
#include "detail/meta.hpp"
#include "encode/beam.hpp"
#include "encode/checks.hpp"
#include "encode/greedy.hpp"
#include "encode/icm.hpp"
#include "encode/integer.hpp"
#include "encode/workspace.hpp"
#include "policies.hpp"
#include "storage/store_interface.hpp"

namespace rvq {

/// Pass as `n_layers` to decode every layer.
inline constexpr std::size_t all_layers = std::numeric_limits<std::size_t>::max();

/**
 * @brief Residual vector quantizer: `L` layers of `K` codewords of dimension `D`.
 *
 * @tparam Config  policy bundle (rvq::config<...>): element, metric, storage, parallel, simd.
 * @tparam Extents rvq::extents<L, K, D> for firmware (no heap; codebooks in a caller array that
 *                 may be `constexpr`, so in flash) or rvq::dynamic_extents (owning; K may differ
 *                 per layer; built by from_codebooks() or by rvq::train()).
 *
 * The storage policy's traits name the store (`storage_traits<S>::store<Element, Metric, Simd,
 * Extents>`); the quantizer only uses the store interface, so a new storage, element or backend
 * needs its own header and traits, not an edit here. Encode picks, layer by layer, the codeword
 * that minimizes the metric's score against the running residual; ties go to the lowest index.
 * Beam search keeps the B best partial codes ranked by their accumulated score (for l2: the
 * squared reconstruction error); B = 1 returns exactly the greedy codes. Decode sums the chosen
 * codewords.
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
  static_assert(std::is_same<element, binary>::value == std::is_same<metric, hamming>::value,
                "rvq::quantizer: rvq::binary codewords go with the rvq::hamming metric, and only they");
  using value_type = typename element_traits_type::storage_type;  ///< type of a stored codeword value
  /// Smallest code type for K (uint8 up to 256, else uint16; uint16 for dynamic K).
  using code_type = code_type_for_t<Extents::codewords>;
  /// True for integer elements (int8, q15, q7, int4, int2, binary): the integer-only encode path.
  static constexpr bool is_integer = element_traits_type::is_integer;
  /// The codebook store the storage policy's traits name for this element, metric, backend and extents.
  using store_type = typename storage_traits_type::template store<element, metric, simd, Extents>;
  /// True for compile-time extents (firmware).
  static constexpr bool is_static = Extents::is_static;
  /// True when the store is made of product codebooks (the pq and rpq storages; files and codegen
  /// treat such models as sub-codebooks and indices).
  static constexpr bool is_product =
      detail::builds_from_product<store_type>::value || detail::is_product_extents<Extents>::value;
  static_assert(!RVQ_NO_HEAP || is_static, "rvq: RVQ_NO_HEAP builds need static extents (rvq::extents<L, K, D>)");

  // ---- construction -------------------------------------------------------------------------

  /// An empty quantizer (no layers); encode and decode report an error until one is assigned.
  constexpr quantizer() noexcept = default;

  /**
   * @brief Static extents: a quantizer over codebooks the caller keeps (they may be `constexpr`,
   * so in flash), built by the store's constructor from `args`. Usable in a constant expression.
   * - dense f32: `L*K*D` row-major floats (layer, codeword, dim), a C array or a std::array;
   * - dense integer elements: `L` rvq::int_layer tables, the input grid's fractional bits and the
   *   rounding mode (what `rvq codegen` writes); nothing is computed;
   * - pq/rpq (rvq::product_extents): the sub-codebooks (`[set][m][entry][D/M]` floats) and the
   *   uint8 indices (`[layer][m][c]`), or the seed of seeded indices.
   * Check the values with validate().
   */
  template <class... Args, class = std::enable_if_t<Extents::is_static && (sizeof...(Args) > 0) &&
                                                    std::is_constructible<store_type, const Args&...>::value>>
  constexpr explicit quantizer(const Args&... args) noexcept : store_(args...) {}

#if !RVQ_NO_HEAP
  /**
   * @brief Dynamic extents: copy codebooks given as `sum(k) x dim` row-major floats, layer after layer.
   * @param codebooks all codewords, layer 0 first
   * @param k         codewords of each layer (1 to 65536)
   * @param dim       dimension D
   * @return the quantizer, or an error for bad shapes, K out of range, or NaN/Inf values.
   */
  template <class S = store_type, class = std::enable_if_t<detail::builds_from_floats<S>::value>>
  static result<quantizer> from_codebooks(span<const float> codebooks, span<const std::size_t> k, std::size_t dim) {
    RVQ_TRY(check_shape(k.size(), k.data(), dim));
    quantizer q;
    RVQ_TRY(S::build(codebooks, k, dim, q.store_));
    return q;
  }
  /// Dynamic extents, every layer with the same K.
  template <class S = store_type, class = std::enable_if_t<detail::builds_from_floats<S>::value>>
  static result<quantizer> from_codebooks(span<const float> codebooks, std::size_t layers, std::size_t k,
                                          std::size_t dim) {
    std::vector<std::size_t> ks(layers, k);
    return from_codebooks(codebooks, span<const std::size_t>(ks), dim);
  }
  /**
   * @brief Dynamic extents: a quantizer over codebooks the caller keeps (for example a
   * memory-mapped model file, rvq::io::map_model()), `sum(k) x dim` row-major floats, layer after
   * layer. Nothing of the codewords is copied: encode searches them in place (rows layout, no
   * panel copy and no beam-search tables unless build_beam_tables() is called), so batch encode
   * runs slower than on a from_codebooks() quantizer, which re-packs them for its kernels. The
   * codewords must stay alive and unchanged while the quantizer or a copy of it is used.
   * @return the quantizer, or the errors of from_codebooks().
   */
  template <class S = store_type, class = std::enable_if_t<detail::views_floats<S>::value>>
  static result<quantizer> view_codebooks(span<const float> codebooks, span<const std::size_t> k, std::size_t dim) {
    RVQ_TRY(check_shape(k.size(), k.data(), dim));
    quantizer q;
    RVQ_TRY(S::build_view(codebooks, k, dim, q.store_));
    return q;
  }
  /**
   * @brief Dynamic extents, integer elements: the integer-only quantizer of a quantized model
   * (rvq::quantize_codebooks() makes one; rvq::io::load_quantized() reads one).
   * @return the quantizer, or an error when `q` is malformed, of another element, or its
   * parameters overflow the integer arithmetic of the search.
   */
  template <class S = store_type, class = std::enable_if_t<detail::builds_from<S, quantized_codebooks>::value>>
  static result<quantizer> from_quantized(const quantized_codebooks& q) {
    RVQ_TRY(check_shape(q.k.size(), q.k.data(), q.dim));
    quantizer out;
    RVQ_TRY(S::build(q, out.store_));
    return out;
  }
  /**
   * @brief pq/rpq storage: the quantizer of product codebooks (rvq::compress() makes them;
   * rvq::io::load_product() reads them), searched by lookup tables or by just-in-time
   * expansion of codeword tiles (`mode`; see rvq::product_search). Its codes are those of a dense
   * quantizer over `pc.expand_all()` (floats: except at near-ties).
   * @return the quantizer, or an error when `pc` is malformed or of the other product storage.
   */
  template <class S = store_type, class = std::enable_if_t<detail::builds_from_product<S>::value>>
  static result<quantizer> from_product(const product_codebooks& pc, product_search mode = product_search::automatic) {
    if (pc.kind != storage_traits_type::id)
      return status{errc::invalid_argument, "the product codebooks are of the other storage (pq vs rpq)"};
    RVQ_TRY(check_shape(pc.k.size(), pc.k.data(), pc.dim, product_max_dim));
    quantizer q;
    RVQ_TRY(S::build(pc, mode, q.store_));
    return q;
  }
#endif

  /// Checks the codebooks a static quantizer views (present, finite; integer: K within the extents).
  status validate() const noexcept {
    if (store_.layers() == 0) return {errc::empty_input, msg::no_codebooks};
    return store_.validate();
  }

  // ---- shape -------------------------------------------------------------------------------

  constexpr std::size_t layers() const noexcept { return store_.layers(); }  ///< L (0 when empty)
  constexpr std::size_t dim() const noexcept { return store_.dim(); }        ///< D
  /// Codewords of layer l.
  constexpr std::size_t codewords(std::size_t l) const noexcept { return store_.codewords(l); }
  constexpr std::size_t max_codewords() const noexcept { return store_.max_codewords(); }  ///< largest K of any layer
  /// Smallest K of any layer (bounds the beam).
  constexpr std::size_t min_codewords() const noexcept { return store_.min_codewords(); }
  /// Codeword c of layer l (dim() values) for stores that hold codewords as floats (integer
  /// elements: dequantized, dynamic extents only; pq/rpq hold none: use expand_codeword()).
  template <class S = store_type, class = std::enable_if_t<detail::has_codeword<S>::value>>
  constexpr const float* codeword(std::size_t l, std::size_t c) const noexcept {
    return store_.codeword(l, c);
  }
  /// All codewords, layer after layer, row-major (where codeword() exists).
  template <class S = store_type, class = std::enable_if_t<detail::has_codeword<S>::value>>
  constexpr const float* codebook_data() const noexcept {
    return store_.data();
  }
  /// Copies codeword c of layer l into out (dim() values), for every store that can (pq/rpq: expanded).
  template <class S = store_type, class = std::enable_if_t<detail::has_expand<S>::value>>
  void expand_codeword(std::size_t l, std::size_t c, float* out) const noexcept {
    store_.expand(l, c, out);
  }
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
    if constexpr (is_integer)
      return (void)beam, encoders::int_workspace<store_type>(dim());
    else
      return encoders::float_workspace_for<kernels>(store_, beam);
  }
  /// Scratch of an encode with options `opt`: workspace_for(opt.beam), and room for the ICM
  /// refinement when opt.icm_rounds > 0.
  constexpr workspace_size workspace_for(const encode_options& opt) const noexcept {
    workspace_size w = workspace_for(opt.beam);
    if constexpr (!is_integer)
      if (opt.icm_rounds) w.floats += encoders::icm_workspace_floats(store_);  // beside the search's
    return w;
  }
  /// Scratch of encode_batch() with a caller's workspace: workspace_for(beam) for each worker of
  /// the parallel policy (what the workspace_view overload checks).
  workspace_size batch_workspace_for(std::size_t beam) const {
    return times(workspace_for(beam), parallel_traits_type::concurrency());
  }
  /// batch_workspace_for() of an encode with options `opt` (ICM included).
  workspace_size batch_workspace_for(const encode_options& opt) const {
    return times(workspace_for(opt), parallel_traits_type::concurrency());
  }
  /// True when beam search of width `beam` assembles distances from the codebook cross-product
  /// tables (dynamic extents, B > 1, tables built: see build_beam_tables()).
  constexpr bool use_beam_tables(std::size_t beam) const noexcept { return encoders::uses_beam_tables(store_, beam); }

#if !RVQ_NO_HEAP
  /**
   * @brief (Re)build the tables `<C_j[a], C_l[b]>` (j < l) that beam search (B > 1) uses to score
   * candidates without touching D-dimensional data again, if they take at most `max_bytes`;
   * otherwise drop them (beam search then updates residuals directly). Models are built with a
   * 64 MiB limit. Returns whether tables exist. Not thread-safe against concurrent encodes.
   */
  template <class S = store_type, class = std::enable_if_t<detail::has_build_cross<S>::value>>
  bool build_beam_tables(std::size_t max_bytes) {
    return store_.build_cross(max_bytes);
  }
#endif
  /// Scratch encode_beam() needs (the beam path, also for B = 1).
  constexpr workspace_size workspace_for_beam_path(std::size_t beam) const noexcept {
    return encoders::float_workspace<store_type, kernels>(beam, dim(), layers(), max_codewords(), true);
  }

  /// Memory and arithmetic of this quantizer.
  constexpr footprint_info memory_footprint() const noexcept { return footprint_of(store_); }
  /**
   * @brief Memory and arithmetic of an encode with beam width `beam` (1: greedy, as above).
   * Beam search through the cross-product tables (use_beam_tables()) takes `<x, c>` for every
   * codeword once (`sum_l K_l D` multiply-adds) and one table row of `K_l` values per partial
   * code and earlier layer (lookups); without tables each of up to `beam` partial codes scores
   * layer l with `K_l D` multiply-adds. Scratch is workspace_for(beam) in bytes. Integer
   * quantizers encode greedily: their figures do not depend on `beam`.
   */
  constexpr footprint_info memory_footprint(std::size_t beam) const noexcept {
    footprint_info f = memory_footprint();
    if (!is_integer && beam > 1)
      encoders::add_beam_cost(
          layers(), [this](std::size_t l) { return codewords(l); }, dim(), beam, use_beam_tables(beam),
          workspace_for(beam), f);
    return f;
  }

  // ---- encode ------------------------------------------------------------------------------

  /**
   * @brief Encode one vector into `layers()` codes; allocates nothing.
   * @param x     dim() finite values
   * @param codes layers() outputs (uint8_t or uint16_t wide enough for K)
   * @param opt   beam width (1 to min K) and ICM rounds (encoders::icm_refine(); l2 float models)
   * @param ws    at least workspace_for(opt)
   * @return dimension_mismatch, non_finite, bad_beam, too_many_codewords or invalid_argument on bad
   *         input; unsupported for ICM on an integer or non-l2 model.
   *
   * Complexity: greedy `sum_l K_l D` multiply-adds (footprint_info::macs_per_vector); beam B about
   * `B` times that plus `O(B K_l + B^2)` comparisons and `O(B D)` residual updates per layer.
   */
  template <class Code>
  status encode(span<const float> x, span<Code> codes, const encode_options& opt, workspace_view ws) const noexcept {
    RVQ_TRY(check_encode<Code>(x.size(), codes.size(), opt.beam, ws, 1, false, opt.icm_rounds));
    RVQ_TRY(encoders::check_finite_row(x.data(), dim(), 0));
    if constexpr (is_integer) {
      encoders::float_to_grid<kernels>(store_, x.data(), ws.ints.data());
      encoders::int_greedy<parallel_traits_type>(store_, codes.data(), ws);
    } else if (opt.beam == 1) {
      encoders::greedy_one<parallel_traits_type>(store_, x.data(), codes.data(), ws);
    } else if (use_beam_tables(opt.beam)) {
      const float* row = x.data();
      encoders::beam_tables_block<kernels>(store_, &row, 1, opt.beam, codes.data(), 0, ws, opt.icm_rounds);
      return {};  // ICM, if asked, ran from the search's own <x, c>
    } else {
      encoders::beam_one<kernels>(store_, x.data(), opt.beam, codes.data(), ws);
    }
    if constexpr (!is_integer)
      if (opt.icm_rounds)
        icm_rows(matrix_view<const float>(x.data(), 1, dim()), matrix_view<Code>(codes.data(), 1, layers()), 0, 1,
                 opt.icm_rounds, ws.floats.data());
    return {};
  }

  /// Encode one vector with the beam-search path for any width, B = 1 included (whose codes
  /// equal the greedy ones bit for bit); encode() routes B = 1 to the faster greedy path.
  /// `ws` must hold workspace_for_beam_path(beam).
  template <class Code>
  status encode_beam(span<const float> x, span<Code> codes, std::size_t beam, workspace_view ws) const noexcept {
    static_assert(!is_integer, "rvq::quantizer::encode_beam: integer elements encode greedily");
    RVQ_TRY(check_encode<Code>(x.size(), codes.size(), beam, ws, 1, true));
    RVQ_TRY(encoders::check_finite_row(x.data(), dim(), 0));
    encoders::beam_one<kernels>(store_, x.data(), beam, codes.data(), ws);
    return {};
  }

  /**
   * @brief Integer elements: encode one fixed-point vector, `x[t] * 2^-frac_bits`, with no
   * floating point at all: `x` moves to the model's residual grid by one shift-round-saturate,
   * then every layer runs the integer-only search. The codes equal those of the float overload
   * for the same values whenever `x` is exact on both grids.
   * @param x         dim() values (int8_t, int16_t or int32_t)
   * @param frac_bits fractional bits of x (e.g. 15 for Q15 data, 7 for Q7)
   * @param codes     layers() outputs
   * @param ws        at least workspace_for(1)
   */
  template <class Int, class Code>
  status encode_fixed(span<const Int> x, int frac_bits, span<Code> codes, workspace_view ws) const noexcept {
    static_assert(is_integer, "rvq::quantizer::encode_fixed: integer elements only");
    static_assert(std::is_same<Int, std::int8_t>::value || std::is_same<Int, std::int16_t>::value ||
                      std::is_same<Int, std::int32_t>::value,
                  "rvq::quantizer::encode_fixed: inputs are int8_t, int16_t or int32_t");
    RVQ_TRY(check_encode<Code>(x.size(), codes.size(), 1, ws, 1));
    if (frac_bits < -64 || frac_bits > 64) return {errc::invalid_argument, "frac_bits out of range (-64 to 64)"};
    const int shift = frac_bits - store_.input_frac();
    for (std::size_t t = 0; t < dim(); ++t) ws.ints[t] = srs<std::int32_t>(x[t], shift, store_.mode());
    encoders::int_greedy<parallel_traits_type>(store_, codes.data(), ws);
    return {};
  }
  /// encode_fixed() with scratch on the stack (static extents) or allocated for the call (dynamic).
  template <class Int, class Code>
  status encode_fixed(span<const Int> x, int frac_bits, span<Code> codes) const {
    if constexpr (is_static) {
      constexpr workspace_size need = encoders::int_workspace<store_type>(static_dim());
      stack_workspace<need.floats, need.indices, need.ints, need.bytes> w;
      return encode_fixed(x, frac_bits, codes, w.view());
    } else {
#if !RVQ_NO_HEAP
      workspace w(workspace_for(1));
      return encode_fixed(x, frac_bits, codes, w.view());
#endif
    }
  }

  /// Encode one vector using internal scratch: static extents and greedy allocate nothing (stack);
  /// otherwise a workspace is allocated for the call (use the workspace overload in hot loops).
  template <class Code>
  status encode(span<const float> x, span<Code> codes, const encode_options& opt = {}) const {
    if constexpr (is_static && is_integer) {
      constexpr workspace_size need = encoders::int_workspace<store_type>(static_dim());
      stack_workspace<need.floats, need.indices, need.ints, need.bytes> w;
      return encode(x, codes, opt, w.view());
    } else if constexpr (is_static) {
      if (opt.beam == 1) {
        stack_workspace<static_dim() + 1, 1, 0, 0> w;
        return encode(x, codes, opt, w.view());
      }
    }
#if !RVQ_NO_HEAP
    if (layers() == 0) return {errc::empty_input, msg::no_codebooks};
    if (opt.beam == 0 || opt.beam > min_codewords()) return {errc::bad_beam, msg::bad_beam};
    workspace w(workspace_for(opt));
    return encode(x, codes, opt, w.view());
#else
    return {errc::unsupported, "beam search on a no-heap build needs a caller workspace (workspace_for(beam))"};
#endif
  }

  /**
   * @brief Encode the rows of `x` (N x dim(), any row stride) into `codes` (N x layers()).
   * Validates every row before writing any code. Allocates nothing.
   * Complexity: N times the single-vector cost; each worker encodes tiles of tile_rows() rows layer
   * by layer, block_rows rows per kernel call.
   */
  template <class Code>
  status encode_batch(matrix_view<const float> x, matrix_view<Code> codes, const encode_options& opt,
                      workspace_view ws) const noexcept {
    if (!x.valid() || !codes.valid()) return {errc::invalid_argument, msg::malformed_view};
    if (codes.rows() != x.rows()) return {errc::dimension_mismatch, "codes must have one row per input vector"};
    RVQ_TRY(check_encode<Code>(x.cols(), codes.cols(), opt.beam, ws, parallel_traits_type::concurrency(), false,
                               opt.icm_rounds));
    for (std::size_t i = 0; i < x.rows(); ++i) RVQ_TRY(encoders::check_finite_row(x.row(i), dim(), i));

    const std::size_t workers = parallel_traits_type::concurrency();
    const std::size_t chunk = (x.rows() + workers - 1) / (workers ? workers : 1);
    const workspace_size per = workspace_for(opt);
    parallel_traits_type::for_each(workers, [&](std::size_t w) {
      const std::size_t first = w * chunk;
      const std::size_t last = first + chunk < x.rows() ? first + chunk : x.rows();
      if (first >= last) return;
      const workspace_view mine = ws.part(w, per);
      encode_rows(x, codes, first, last, opt.beam, mine, opt.icm_rounds);
      if constexpr (!is_integer)  // beam search through the tables ran ICM already, from its own <x, c>
        if (opt.icm_rounds && !(opt.beam > 1 && use_beam_tables(opt.beam)))
          icm_rows(x, codes, first, last, opt.icm_rounds, mine.floats.data());
    });
    return {};
  }

#if !RVQ_NO_HEAP
  /// encode_batch with a workspace allocated for this call.
  template <class Code>
  status encode_batch(matrix_view<const float> x, matrix_view<Code> codes, const encode_options& opt = {}) const {
    if (layers() == 0) return {errc::empty_input, msg::no_codebooks};
    if (opt.beam == 0 || opt.beam > min_codewords()) return {errc::bad_beam, msg::bad_beam};
    workspace w(batch_workspace_for(opt));
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
    RVQ_TRY(encoders::check_decode(store_, codes.size(), out.size(), n));
    RVQ_TRY(encoders::check_codes(store_, codes.data(), n));
    decode_row(codes.data(), out.data(), n);
    return {};
  }

  /// Decode N rows of codes (N x at least n_layers) into N x dim() outputs; all codes are
  /// checked before anything is written.
  template <class Code>
  status decode_batch(matrix_view<const Code> codes, matrix_view<float> out,
                      std::size_t n_layers = all_layers) const noexcept {
    if (!codes.valid() || !out.valid()) return {errc::invalid_argument, msg::malformed_view};
    if (codes.rows() != out.rows()) return {errc::dimension_mismatch, "output must have one row per code row"};
    const std::size_t n = n_layers == all_layers ? layers() : n_layers;
    RVQ_TRY(encoders::check_decode(store_, codes.cols(), out.cols(), n));
    for (std::size_t i = 0; i < codes.rows(); ++i) {
      const status s = encoders::check_codes(store_, codes.row(i), n);
      if (!s) return {s.code(), msg::code_out_of_range, i, "row"};
    }
    parallel_traits_type::for_each(codes.rows(), [&](std::size_t i) { decode_row(codes.row(i), out.row(i), n); });
    return {};
  }

  // ---- static footprint --------------------------------------------------------------------

  /// D for static extents, 0 for dynamic ones.
  static constexpr std::size_t static_dim() noexcept { return is_static ? Extents::dim : 0; }
  /// Residual bytes a worker's tile of rows may take (see tile_rows()).
  static constexpr std::size_t tile_bytes = encoders::tile_bytes;
  /// Most rows tile_rows() gives.
  static constexpr std::size_t max_tile_rows = encoders::max_tile_rows<store_type>;
  /// Rows a worker greedy-encodes together, layer by layer (see rvq::encoders::tile_rows()).
  static constexpr std::size_t tile_rows(std::size_t d) noexcept { return encoders::tile_rows<store_type>(d); }

  /// Scratch for a static quantizer, as a constant (firmware sizes its buffers from it).
  template <class E = Extents, class = std::enable_if_t<E::is_static>>
  static constexpr workspace_size static_workspace(std::size_t beam) noexcept {
    return encoders::float_workspace<store_type, kernels>(beam, E::dim, E::layers, E::codewords);
  }

  /// Footprint of a static quantizer, as a constant: `static_assert(q::footprint.flash_bytes <= ...)`.
  template <class E = Extents, class = std::enable_if_t<E::is_static>>
  static constexpr footprint_info static_footprint() noexcept {
    return static_footprint_of<store_type, E>();
  }
  /// static_footprint() of a beam search of width `beam` (static models keep no cross-product
  /// tables: each partial code scores each layer with `K D` multiply-adds; see memory_footprint(beam)).
  template <class E = Extents, class = std::enable_if_t<E::is_static>>
  static constexpr footprint_info static_footprint(std::size_t beam) noexcept {
    footprint_info f = static_footprint();
    if (!is_integer && beam > 1)
      encoders::add_beam_cost(
          E::layers, [](std::size_t) { return E::codewords; }, E::dim, beam, false, static_workspace(beam), f);
    return f;
  }

 private:
  template <class Code>
  status check_encode(std::size_t x_len, std::size_t codes_len, std::size_t beam, const workspace_view& ws,
                      std::size_t workers, bool beam_path = false, std::size_t icm_rounds = 0) const noexcept {
    static_assert(std::is_same<Code, std::uint8_t>::value || std::is_same<Code, std::uint16_t>::value,
                  "rvq: codes are std::uint8_t or std::uint16_t");
    static_assert(!is_static || Extents::codewords <= max_codewords_of<Code>(),
                  "rvq: this code type cannot hold K codes; use std::uint16_t (or quantizer::code_type)");
    RVQ_TRY(encoders::check_encode_shape<Code>(store_, x_len, codes_len, beam, is_integer));
    if (icm_rounds && (is_integer || !std::is_same<typename Config::metric, l2>::value))
      return {errc::unsupported, "ICM refinement (icm_rounds) works on l2 float models"};
    workspace_size need = beam_path ? workspace_for_beam_path(beam) : workspace_for(beam);
    if constexpr (!is_integer)
      if (icm_rounds) need.floats += encoders::icm_workspace_floats(store_);
    if (!ws.holds(need, workers)) return {errc::invalid_argument, "workspace smaller than workspace_for(options)"};
    return {};
  }

  template <class Code>
  void decode_row(const Code* codes, float* out, std::size_t n) const noexcept {
    for (std::size_t t = 0; t < dim(); ++t) out[t] = 0.0f;
    for (std::size_t l = 0; l < n; ++l) store_.add_codeword(l, codes[l], out);
  }

  /// Rows [first, last) of x by the encoder the width and the store call for.
  template <class Code>
  void encode_rows(matrix_view<const float> x, matrix_view<Code> codes, std::size_t first, std::size_t last,
                   std::size_t beam, workspace_view ws, std::size_t icm_rounds = 0) const noexcept {
    if constexpr (is_integer) {
      encoders::int_encode_rows<kernels>(store_, x, codes, first, last, ws);
    } else if (beam == 1) {
      const std::size_t tr = tile_rows(dim());
      for (std::size_t i = first; i < last; i += tr)
        encoders::greedy_tile(store_, x, i, last - i < tr ? last - i : tr, codes, ws);
    } else if (use_beam_tables(beam)) {
      constexpr std::size_t br = store_type::block_rows;
      for (std::size_t i = first; i < last; i += br) {
        const std::size_t n = last - i < br ? last - i : br;
        const float* rows[br];
        for (std::size_t j = 0; j < n; ++j) rows[j] = x.row(i + j);
        encoders::beam_tables_block<kernels>(store_, rows, n, beam, codes.row(i), codes.stride(), ws, icm_rounds);
      }
    } else {
      for (std::size_t i = first; i < last; ++i) encoders::beam_one<kernels>(store_, x.row(i), beam, codes.row(i), ws);
    }
  }

  /// ICM rounds over rows [first, last) of codes: through the cross-product tables when the store
  /// has them (blocks of block_rows rows), else from each row's residual.
  template <class Code>
  void icm_rows(matrix_view<const float> x, matrix_view<Code> codes, std::size_t first, std::size_t last,
                std::size_t rounds, float* ws) const noexcept {
    if (encoders::icm_uses_tables(store_)) {
      constexpr std::size_t br = store_type::block_rows;
      for (std::size_t i = first; i < last; i += br) {
        const std::size_t n = last - i < br ? last - i : br;
        const float* rows[br];
        for (std::size_t j = 0; j < n; ++j) rows[j] = x.row(i + j);
        encoders::icm_tables_block(store_, rows, n, codes.row(i), codes.stride(), rounds, ws);
      }
    } else {
      for (std::size_t i = first; i < last; ++i) encoders::icm_refine(store_, x.row(i), codes.row(i), rounds, ws);
    }
  }

  store_type store_{};
};

}  // namespace rvq
