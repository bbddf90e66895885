/// @file quantizer.hpp
/// @brief rvq::quantizer: encode (greedy and beam search) and decode of residual vector quantization.
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
  span<std::int32_t> ints{};    ///< at least workspace_size::ints values (integer elements)
  span<unsigned char> bytes{};  ///< at least workspace_size::bytes values (integer elements)
};

#if !RVQ_NO_HEAP
/// @brief An owning workspace; allocate it once, reuse it for every call.
class workspace {
 public:
  /// An empty workspace.
  workspace() = default;
  /// Allocates the given sizes (quantizer::workspace_for()).
  explicit workspace(workspace_size s) : floats_(s.floats), indices_(s.indices), ints_(s.ints), bytes_(s.bytes) {}
  /// The view to pass to encode.
  workspace_view view() noexcept {
    return {span<float>(floats_), span<std::uint32_t>(indices_), span<std::int32_t>(ints_),
            span<unsigned char>(bytes_)};
  }

 private:
  std::vector<float> floats_;
  std::vector<std::uint32_t> indices_;
  std::vector<std::int32_t> ints_;
  std::vector<unsigned char> bytes_;
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
  /// True for integer elements (int8, q15, q7, int4, int2, binary): the integer-only encode path.
  static constexpr bool is_integer = detail::is_integer_element<element>::value;
  static_assert(std::is_same<element, f32>::value || is_integer,
                "rvq::quantizer: valid elements: rvq::f32 and the integer elements rvq::int8, rvq::q15, rvq::q7, "
                "rvq::int4, rvq::int2, rvq::binary. rvq::f16/rvq::bf16 are storage formats: load such models into "
                "an f32 quantizer (their values are widened to float)");
  /// True for the pq and rpq storages (codewords assembled from sub-codebooks).
  static constexpr bool is_product = std::is_same<storage, pq>::value || std::is_same<storage, rpq>::value;
  static_assert(std::is_same<storage, dense>::value || is_product,
                "rvq::quantizer: valid storage policies: rvq::dense, rvq::pq, rvq::rpq");
  static_assert(!is_product || std::is_same<element, f32>::value,
                "rvq::quantizer: rvq::pq and rvq::rpq models search in float (element rvq::f32); their "
                "sub-codebooks may hold int8 values (rvq::product_codebooks::element)");
  static_assert(!is_product || Extents::is_dynamic || detail::is_product_extents<Extents>::value,
                "rvq::quantizer: rvq::pq and rvq::rpq take dynamic extents (rvq::dynamic_extents) or "
                "rvq::product_extents<L, K, D, M, Bits, Seeded, Shared> (static)");
  static_assert(is_product || !detail::is_product_extents<Extents>::value,
                "rvq::quantizer: rvq::product_extents go with the rvq::pq and rvq::rpq storages; dense models take "
                "rvq::extents<L, K, D>");
  static_assert(
      !detail::is_seeded_extents<Extents>::value || std::is_same<storage, rpq>::value,
      "rvq::quantizer: seeded indices (rvq::product_extents<..., Seeded = true>) are rpq only; pq stores them");
  static_assert(!is_integer || std::is_same<metric, l2>::value || std::is_same<metric, ip>::value ||
                    std::is_same<metric, hamming>::value,
                "rvq::quantizer: integer elements support the metrics rvq::l2 and rvq::ip (rvq::binary: rvq::hamming)");
  static_assert(std::is_same<element, binary>::value == std::is_same<metric, hamming>::value,
                "rvq::quantizer: rvq::binary codewords go with the rvq::hamming metric, and only they");
  /// The codebook store of this storage, element, metric and extents.
  using store_type = std::conditional_t<is_integer, detail::int_store<element, metric, Extents>,
                                        std::conditional_t<is_product, detail::product_store<metric, kernels, Extents>,
                                                           detail::dense_store<metric, kernels, Extents>>>;
  /// True for compile-time extents (firmware).
  static constexpr bool is_static = Extents::is_static;
  static_assert(!RVQ_NO_HEAP || is_static, "rvq: RVQ_NO_HEAP builds need static extents (rvq::extents<L, K, D>)");

  // ---- construction -------------------------------------------------------------------------

  /// An empty quantizer (no layers); encode and decode report an error until one is assigned.
  constexpr quantizer() noexcept = default;

  /// Static extents: view `L*K*D` row-major codewords (layer, codeword, dim) kept by the caller.
  /// Computes per-codeword constants; usable in a constant expression for a flash-resident model.
  template <class E = Extents, class = std::enable_if_t<E::is_static && !is_product>>
  constexpr explicit quantizer(const std::array<float, E::layers * E::codewords * E::dim>& values) noexcept
      : store_(values.data()) {}
  /// Static extents: view a C array of `L*K*D` codewords (see the std::array overload).
  template <class E = Extents, class = std::enable_if_t<E::is_static && !is_integer && !is_product>>
  constexpr explicit quantizer(const float (&values)[E::layers * E::codewords * E::dim]) noexcept : store_(values) {}
  /**
   * @brief Static pq/rpq (rvq::product_extents, stored indices): view the sub-codebooks
   * (`[set][m][entry][D/M]` floats) and the uint8 indices (`[layer][m][c]`) kept by the caller,
   * as `rvq codegen` writes them. Computes the per-codeword constants; usable in a constant
   * expression. Check the values with validate().
   */
  template <class E = Extents, class = std::enable_if_t<is_product && E::is_static && !E::seeded>>
  constexpr quantizer(const float (&sub_codebooks)[E::sub_values],
                      const std::uint8_t (&indices)[E::index_count]) noexcept
      : store_(sub_codebooks, indices, 0) {}
  /// Static rpq with seeded indices (rvq::product_extents with Seeded): the sub-codebooks and the
  /// seed; every index is regenerated when the search needs it (rvq::seeded_index()).
  template <class E = Extents, class = std::enable_if_t<is_product && E::is_static && E::seeded>>
  constexpr quantizer(const float (&sub_codebooks)[E::sub_values], std::uint64_t seed) noexcept
      : store_(sub_codebooks, nullptr, seed) {}
  /**
   * @brief Static extents, integer elements: view `L` integer layers (the tables `rvq codegen`
   * writes for a quantized model; they may live in flash) for a residual grid of `input_frac`
   * fractional bits, with the rounding mode the model was built for. Computes nothing.
   */
  template <class E = Extents, class = std::enable_if_t<E::is_static && is_integer>>
  constexpr quantizer(const int_layer (&layers)[E::layers], int input_frac, rounding mode) noexcept
      : store_(layers, input_frac, mode) {}

#if !RVQ_NO_HEAP
  /**
   * @brief Dynamic extents: copy codebooks given as `sum(k) x dim` row-major floats, layer after layer.
   * @param codebooks all codewords, layer 0 first
   * @param k         codewords of each layer (1 to 65536)
   * @param dim       dimension D
   * @return the quantizer, or an error for bad shapes, K out of range, or NaN/Inf values.
   */
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic && !is_integer && !is_product>>
  static result<quantizer> from_codebooks(span<const float> codebooks, span<const std::size_t> k, std::size_t dim) {
    quantizer q;
    const status s = store_type::build(codebooks, k, dim, q.store_);
    if (!s) return s;
    return q;
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
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic && !is_integer && !is_product>>
  static result<quantizer> view_codebooks(span<const float> codebooks, span<const std::size_t> k, std::size_t dim) {
    quantizer q;
    const status s = store_type::build_view(codebooks, k, dim, q.store_);
    if (!s) return s;
    return q;
  }
  /**
   * @brief Dynamic extents, integer elements: the integer-only quantizer of a quantized model
   * (rvq::quantize_codebooks() makes one; rvq::io::load_quantized() reads one).
   * @return the quantizer, or an error when `q` is malformed, of another element, or its
   * parameters overflow the integer arithmetic of the search.
   */
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic && is_integer>>
  static result<quantizer> from_quantized(const quantized_codebooks& q) {
    quantizer out;
    const status s = store_type::build(q, out.store_);
    if (!s) return s;
    return out;
  }
  /**
   * @brief pq/rpq storage: the quantizer of product codebooks (rvq::compress() makes them;
   * rvq::io::load_product() reads them), searched by lookup tables or by just-in-time
   * expansion of codeword tiles (`mode`; see rvq::product_search). Its codes are those of a dense
   * quantizer over `pc.expand_all()` (floats: except at near-ties).
   * @return the quantizer, or an error when `pc` is malformed or of the other product storage.
   */
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic && is_product>>
  static result<quantizer> from_product(const product_codebooks& pc, product_search mode = product_search::automatic) {
    if (pc.kind != storage_traits_type::id)
      return status{errc::invalid_argument, "the product codebooks are of the other storage (pq vs rpq)"};
    quantizer q;
    const status s = store_type::build(pc, mode, q.store_);
    if (!s) return s;
    return q;
  }
  /// Dynamic extents, every layer with the same K.
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic && !is_integer && !is_product>>
  static result<quantizer> from_codebooks(span<const float> codebooks, std::size_t layers, std::size_t k,
                                          std::size_t dim) {
    std::vector<std::size_t> ks(layers, k);
    return from_codebooks(codebooks, span<const std::size_t>(ks), dim);
  }
#endif

  /// Checks the codebooks a static quantizer views (present, finite; integer: K within the extents).
  status validate() const noexcept {
    if (store_.layers() == 0) return {errc::empty_input, "the quantizer has no codebooks"};
    if constexpr (is_product && is_static) {
      return store_.check();
    } else if constexpr (is_product) {
      return {};  // checked when built
    } else if constexpr (is_integer) {
      for (std::size_t l = 0; l < layers(); ++l)
        if (codewords(l) == 0 || (is_static && codewords(l) > Extents::codewords))
          return {errc::invalid_argument, "a layer's K is zero or above the extents", l, "layer"};
      return {};
    } else {
      const std::size_t n = store_.total_codewords() * store_.dim();
      const std::size_t bad = detail::first_non_finite(store_.data(), n);
      if (bad != n) return {errc::non_finite, "codebook contains NaN or Inf", bad, "element"};
      return {};
    }
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
  /// Codeword c of layer l (dim() values; integer elements: dequantized, dynamic extents only;
  /// pq/rpq hold no dense codewords: use expand_codeword()).
  template <class E = Extents, class = std::enable_if_t<(E::is_dynamic || !is_integer) && !is_product>>
  constexpr const float* codeword(std::size_t l, std::size_t c) const noexcept {
    return store_.codeword(l, c);
  }
  /// All codewords, layer after layer, row-major (integer elements: dequantized, dynamic extents only).
  template <class E = Extents, class = std::enable_if_t<(E::is_dynamic || !is_integer) && !is_product>>
  constexpr const float* codebook_data() const noexcept {
    return store_.data();
  }
  /// Copies codeword c of layer l into out (dim() values), for every storage (pq/rpq: expanded).
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic || !is_integer>>
  void expand_codeword(std::size_t l, std::size_t c, float* out) const noexcept {
    if constexpr (is_product) {
      store_.expand(l, c, out);
    } else {
      const float* p = store_.codeword(l, c);
      for (std::size_t t = 0; t < dim(); ++t) out[t] = p[t];
    }
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
    if constexpr (is_integer) {
      return (void)beam, int_workspace(dim());
    } else {
      const workspace_size w = workspace_needed(beam, dim(), layers(), max_codewords());
      if (!use_beam_tables(beam)) return w;
      const workspace_size t = table_beam_workspace(beam);
      return {w.floats > t.floats ? w.floats : t.floats, w.indices > t.indices ? w.indices : t.indices};
    }
  }

  /// True when beam search of width `beam` assembles distances from the codebook cross-product
  /// tables (dynamic extents, B > 1, tables built: see build_beam_tables()).
  constexpr bool use_beam_tables(std::size_t beam) const noexcept {
    if constexpr (is_static || is_integer) {
      return (void)beam, false;
    } else {
      return beam > 1 && store_.has_cross();
    }
  }

#if !RVQ_NO_HEAP
  /**
   * @brief (Re)build the tables `<C_j[a], C_l[b]>` (j < l) that beam search (B > 1) uses to score
   * candidates without touching D-dimensional data again, if they take at most `max_bytes`;
   * otherwise drop them (beam search then updates residuals directly). Models are built with a
   * 64 MiB limit. Returns whether tables exist. Not thread-safe against concurrent encodes.
   */
  template <class E = Extents, class = std::enable_if_t<E::is_dynamic && !is_integer>>
  bool build_beam_tables(std::size_t max_bytes) {
    return store_.build_cross(max_bytes);
  }
#endif
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
    f.scratch_bytes = is_integer ? dim() * 4 + int_workspace(dim()).bytes : dim() * sizeof(float);
    if constexpr (is_product && is_static) f.scratch_bytes += store_type::table_bytes();
    for (std::size_t l = 0; l < layers(); ++l) {
      if constexpr (is_product) {
        f.macs_per_vector += store_.layer_macs(l);
        f.lookups_per_vector += store_.layer_lookups(l);
      } else {
        f.macs_per_vector += codewords(l) * dim();
      }
    }
    return f;
  }
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
    if (is_integer || beam <= 1) return f;
    const workspace_size w = workspace_for(beam);
    f.scratch_bytes = w.floats * sizeof(float) + w.indices * sizeof(std::uint32_t);
    add_beam_cost(
        layers(), [this](std::size_t l) { return codewords(l); }, dim(), beam, use_beam_tables(beam), f);
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
    if constexpr (is_integer) {
      float_to_grid(x.data(), ws.ints.data());
      int_greedy(codes.data(), ws);
    } else if (opt.beam == 1) {
      greedy_one(x.data(), codes.data(), ws);
    } else if (use_beam_tables(opt.beam)) {
      const float* row = x.data();
      beam_tables_block(&row, 1, opt.beam, codes.data(), 0, ws);
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
    static_assert(!is_integer, "rvq::quantizer::encode_beam: integer elements encode greedily");
    RVQ_TRY(check_encode<Code>(x.size(), codes.size(), beam, ws, 1, true));
    RVQ_TRY(check_finite_row(x.data(), 0));
    beam_one(x.data(), beam, codes.data(), ws);
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
    int_greedy(codes.data(), ws);
    return {};
  }
  /// encode_fixed() with scratch on the stack (static extents) or allocated for the call (dynamic).
  template <class Int, class Code>
  status encode_fixed(span<const Int> x, int frac_bits, span<Code> codes) const {
    if constexpr (is_static) {
      std::array<std::int32_t, int_workspace(static_dim()).ints> r{};
      std::array<unsigned char, int_workspace(static_dim()).bytes> a{};
      std::array<std::uint32_t, int_workspace(static_dim()).indices> i{};
      return encode_fixed(x, frac_bits, codes,
                          workspace_view{{}, span<std::uint32_t>(i), span<std::int32_t>(r), span<unsigned char>(a)});
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
      std::array<std::int32_t, int_workspace(static_dim()).ints> r{};
      std::array<unsigned char, int_workspace(static_dim()).bytes> a{};
      std::array<std::uint32_t, int_workspace(static_dim()).indices> i{};
      return encode(x, codes, opt,
                    workspace_view{{}, span<std::uint32_t>(i), span<std::int32_t>(r), span<unsigned char>(a)});
    } else if constexpr (is_static) {
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
   * Complexity: N times the single-vector cost; each worker encodes tiles of tile_rows() rows layer
   * by layer, block_rows rows per kernel call.
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
                          ws.indices.subspan(w * per.indices, per.indices), ws.ints.subspan(w * per.ints, per.ints),
                          ws.bytes.subspan(w * per.bytes, per.bytes)};
      if constexpr (is_integer) {
        constexpr std::size_t tr = store_type::tile_rows;
        for (std::size_t i = first; i < last; i += tr) {
          const std::size_t n = last - i < tr ? last - i : tr;
          Code* rows[tr];
          for (std::size_t j = 0; j < n; ++j) {
            float_to_grid(x.row(i + j), mine.ints.data() + j * dim());
            rows[j] = codes.row(i + j);
          }
          int_greedy_tile(rows, n, mine);
        }
      } else {
        encode_rows(x, codes, first, last, opt.beam, mine);
      }
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
    workspace w(workspace_size{per.floats * n, per.indices * n, per.ints * n, per.bytes * n});
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
    const std::size_t tr = tile_rows(d);
    workspace_size greedy{tr * d + tr, tr};
    if (beam <= 1 && !beam_path) return greedy;
    workspace_size b{2 * beam * d + beam * k + select_scratch(beam) + 4 * beam, 2 * beam * l + 3 * beam};
    return {b.floats > greedy.floats ? b.floats : greedy.floats,
            b.indices > greedy.indices ? b.indices : greedy.indices};
  }

 public:
  /// Residual bytes a worker's tile of rows may take (the tile shares the cache with one layer's codewords).
  static constexpr std::size_t tile_bytes = 256 * 1024;
  /// Most rows tile_rows() gives.
  static constexpr std::size_t max_tile_rows = 32 * store_type::block_rows;
  /**
   * @brief Rows a worker greedy-encodes together, layer by layer, so that each layer's codewords
   * are fetched into cache once per tile rather than once per register block: a whole number of
   * kernel blocks whose residuals fit tile_bytes (one row for static extents, which search the
   * rows layout one vector at a time).
   */
  static constexpr std::size_t tile_rows(std::size_t d) noexcept {
    const std::size_t br = store_type::block_rows;
    if (br == 1) return 1;
    std::size_t blocks = tile_bytes / (sizeof(float) * br * (d ? d : 1));
    blocks = blocks < 1 ? 1 : (blocks > 32 ? 32 : blocks);
    return blocks * br;
  }

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
    if constexpr (is_product) {
      f.scratch_bytes += store_type::table_bytes();
      f.macs_per_vector = E::layers * store_type::static_layer_macs();
      f.lookups_per_vector = E::layers * store_type::static_layer_lookups();
    }
    return f;
  }
  /// static_footprint() of a beam search of width `beam` (static models keep no cross-product
  /// tables: each partial code scores each layer with `K D` multiply-adds; see memory_footprint(beam)).
  template <class E = Extents, class = std::enable_if_t<E::is_static>>
  static constexpr footprint_info static_footprint(std::size_t beam) noexcept {
    footprint_info f = static_footprint();
    if (is_integer || beam <= 1) return f;
    const workspace_size w = static_workspace(beam);
    f.scratch_bytes = w.floats * sizeof(float) + w.indices * sizeof(std::uint32_t);
    add_beam_cost(
        E::layers, [](std::size_t) { return E::codewords; }, E::dim, beam, false, f);
    return f;
  }

 private:
  /// Multiply-adds and lookups of a beam search: up to `beam` partial codes per layer (fewer
  /// while the product of the earlier layers' K is smaller); with tables, `<x, c>` once per
  /// codeword and one table row per partial code and earlier layer.
  template <class KOf>
  static constexpr void add_beam_cost(std::size_t nl, KOf k_of, std::size_t d, std::size_t beam, bool tables,
                                      footprint_info& f) noexcept {
    std::size_t partial = 1;
    f.macs_per_vector = 0;
    f.lookups_per_vector = 0;
    for (std::size_t l = 0; l < nl; ++l) {
      const std::size_t k = k_of(l);
      if (tables) {
        f.macs_per_vector += k * d;
        f.lookups_per_vector += partial * k * l;
      } else {
        f.macs_per_vector += partial * k * d;
      }
      partial = partial * k < beam ? partial * k : beam;
    }
  }

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
    if (is_integer && beam != 1)
      return {errc::unsupported, "integer elements encode greedily (beam 1); use an f32 model for beam search"};
    const workspace_size need = beam_path ? workspace_for_beam_path(beam) : workspace_for(beam);
    if (ws.floats.size() < need.floats * workers || ws.indices.size() < need.indices * workers ||
        ws.ints.size() < need.ints * workers || ws.bytes.size() < need.bytes * workers)
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
    if constexpr (is_integer && is_static) {  // codewords as the encoder applies them, on the grid
      float unit = 1.0f;
      for (int e = store_.input_frac(); e > 0; --e) unit *= 0.5f;
      for (int e = store_.input_frac(); e < 0; ++e) unit *= 2.0f;
      for (std::size_t l = 0; l < n; ++l)
        for (std::size_t t = 0; t < d; ++t) out[t] += static_cast<float>(store_.grid_value(l, codes[l], t)) * unit;
    } else {
      for (std::size_t l = 0; l < n; ++l) add_code(l, codes[l], out);
    }
  }

  template <class Code>
  void encode_rows(matrix_view<const float> x, matrix_view<Code> codes, std::size_t first, std::size_t last,
                   std::size_t beam, workspace_view ws) const noexcept {
    if (beam == 1) {
      const std::size_t tr = tile_rows(dim());
      for (std::size_t i = first; i < last; i += tr) greedy_tile(x, i, last - i < tr ? last - i : tr, codes, ws);
    } else if (use_beam_tables(beam)) {
      const std::size_t br = store_type::block_rows;
      for (std::size_t i = first; i < last; i += br) {
        const std::size_t n = last - i < br ? last - i : br;
        const float* rows[store_type::block_rows];
        for (std::size_t j = 0; j < n; ++j) rows[j] = x.row(i + j);
        beam_tables_block(rows, n, beam, codes.row(i), codes.stride(), ws);
      }
    } else {
      for (std::size_t i = first; i < last; ++i) beam_one(x.row(i), beam, codes.row(i), ws);
    }
  }

  /// Scratch of the table beam path: <x, c> for a block of rows, one score row, beam state.
  constexpr workspace_size table_beam_workspace(std::size_t beam) const noexcept {
    std::size_t total = 0;
    for (std::size_t l = 0; l < layers(); ++l) total += codewords(l);
    return {store_type::block_rows * total + (beam + 1) * max_codewords() + select_scratch(beam) + 4 * beam,
            2 * beam * layers() + 3 * beam};
  }

  /**
   * @brief Beam search of up to block_rows rows through the cross-product tables: `<x, c>` for
   * every codeword of every layer in one blocked pass, then per layer and partial code
   * `<r, c> = <x, c> - sum_{j<l} <C_j[i_j], c>` (one table row per earlier layer), scored and
   * ranked exactly as in beam_one(). Codes equal the residual path's except at near-ties.
   */
  template <class Code>
  void beam_tables_block(const float* const* rows, std::size_t n, std::size_t beam, Code* codes,
                         std::size_t code_stride, workspace_view ws) const noexcept {
    if constexpr (!is_static) {
      const std::size_t nl = layers();
      const std::size_t total = store_.total_codewords();
      float* xd = ws.floats.data();
      const std::size_t kmax = max_codewords();
      float* s = xd + store_type::block_rows * total;
      float* mins = s + beam * kmax + kmax;
      beam_state st = beam_scratch(mins + select_scratch(beam), ws.indices.data(), beam, nl);
      for (std::size_t l = 0; l < nl; ++l) store_.dots(l, rows, n, xd + store_.first_codeword(l), total);
      for (std::size_t i = 0; i < n; ++i) {
        const float* xi = xd + i * total;
        st.cum_cur[0] = 0.0f;
        std::size_t nb = 1;
        for (std::size_t l = 0; l < nl; ++l) {
          const std::size_t k = codewords(l);
          const float* RVQ_RESTRICT xl = xi + store_.first_codeword(l);
          const float* RVQ_RESTRICT bias = store_.bias(l);
          const float* RVQ_RESTRICT scale = store_.scale(l);
          std::size_t ntop = 0;
          for (std::size_t b = 0; b < nb; ++b) {
            if (b + 1 < nb)  // the heads of the next parent's table rows (the hardware prefetches the rest)
              for (std::size_t j = 0; j < l; ++j) prefetch_row(store_.cross(j, l, st.codes_cur[(b + 1) * nl + j]), 32);
            table_scores(xl, bias, scale, l, k, st.codes_cur + b * nl, s + b * kmax, mins + b * select_groups,
                         s + beam * kmax);
          }
          select_layer(s, kmax, nb, k, beam, mins, mins + beam * select_groups, st, ntop);
          advance(st, l, ntop);
          nb = ntop;
        }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push  // GCC 12 -O3 (aarch64): a false "region of size 0" for small code arrays
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
        for (std::size_t l = 0; l < nl; ++l) codes[i * code_stride + l] = static_cast<Code>(st.codes_cur[l]);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
      }
    } else {
      (void)rows, (void)n, (void)beam, (void)codes, (void)code_stride, (void)ws;
    }
  }

  /// Greedy encode of rows [first, first + n) of x, n <= tile_rows(): layer by layer over the
  /// whole tile, block_rows rows per kernel call.
  template <class Code>
  void greedy_tile(matrix_view<const float> x, std::size_t first, std::size_t n, matrix_view<Code> codes,
                   workspace_view ws) const noexcept {
    const std::size_t d = dim(), tr = tile_rows(d), br = store_type::block_rows;
    float* res = ws.floats.data();
    float* score = res + tr * d;
    std::uint32_t* idx = ws.indices.data();
    for (std::size_t j = 0; j < n; ++j) copy_row(x.row(first + j), res + j * d, d);
    if constexpr (!is_static && !is_integer) {
      if (store_.shares_tiles()) {  // codewords viewed or expanded: the store lays out each tile once for all rows
        const float* rows[max_tile_rows];
        for (std::size_t j = 0; j < n; ++j) rows[j] = res + j * d;
        for (std::size_t l = 0; l < layers(); ++l) {
          store_.argmin_tile(l, rows, n, idx, score);
          for (std::size_t j = 0; j < n; ++j) {
            codes.row(first + j)[l] = static_cast<Code>(idx[j]);
            subtract_code(l, idx[j], res + j * d);
          }
        }
        return;
      }
    }
    for (std::size_t l = 0; l < layers(); ++l) {
      for (std::size_t b = 0; b < n; b += br) {
        const std::size_t m = n - b < br ? n - b : br;
        const float* rows[store_type::block_rows];
        for (std::size_t j = 0; j < m; ++j) rows[j] = res + (b + j) * d;
        store_.argmin(l, rows, m, idx + b, score + b);
        // The chosen codewords (row-major, rarely cached) arrive while the next block is scored.
        if constexpr (!is_product)
          for (std::size_t j = 0; j < m; ++j) prefetch_row(codeword(l, idx[b + j]), d);
      }
      for (std::size_t j = 0; j < n; ++j) {
        codes.row(first + j)[l] = static_cast<Code>(idx[j]);
        subtract_code(l, idx[j], res + j * d);
      }
    }
  }

  /// Greedy encode of one vector; a layer large enough for the parallel policy is split across
  /// its workers by codeword ranges (per-worker argmin, then a reduction in worker order, which
  /// keeps the lowest index on ties: the codes of the sequential search).
  template <class Code>
  void greedy_one(const float* x, Code* codes, workspace_view ws) const noexcept {
    const std::size_t d = dim();
    float* res = ws.floats.data();
    copy_row(x, res, d);
    const float* row = res;
    for (std::size_t l = 0; l < layers(); ++l) {
      std::uint32_t idx = 0;
      float score = 0.0f;
      if (split_workers(l) > 1)
        split_argmin(l, row, idx, score);
      else
        store_.argmin(l, &row, 1, &idx, &score);
      codes[l] = static_cast<Code>(idx);
      subtract_code(l, idx, res);
    }
  }

  /// Scratch of the integer path: the residual on the grid and one layer's activations.
  static constexpr workspace_size int_workspace(std::size_t d) noexcept {
    if constexpr (is_integer)
      return {0, store_type::tile_rows, store_type::tile_rows * d, store_type::block_bytes(d)};
    else
      return {0, 0, d, 2 * d + 16};
  }

  /// x (floats) to the residual grid: x * 2^input_frac rounded to nearest (ties to even) and
  /// saturated to int32; the only floating-point step of a float-input integer encode
  /// (encode_fixed() has none). Vectorized where AVX-512 is available, with the same results.
  void float_to_grid(const float* x, std::int32_t* r) const noexcept {
    double unit = 1.0;
    for (int e = store_.input_frac(); e > 0; --e) unit *= 2.0;
    for (int e = store_.input_frac(); e < 0; ++e) unit *= 0.5;
    const std::size_t t0 = ::rvq::simd::int8_panels::float_to_grid(x, dim(), static_cast<float>(unit), r);
    for (std::size_t t = t0; t < dim(); ++t) {
      const double y = static_cast<double>(x[t]) * unit;  // exact: a power-of-two scale
      const double c = y > 2147483647.0 ? 2147483647.0 : (y < -2147483648.0 ? -2147483648.0 : y);
      std::int64_t q = static_cast<std::int64_t>(c);  // toward zero; c - q is exact
      const double f = c - static_cast<double>(q);
      if (f > 0.5 || (f == 0.5 && (q & 1))) ++q;
      if (f < -0.5 || (f == -0.5 && (q & 1))) --q;
      r[t] = static_cast<std::int32_t>(q);
    }
  }

  /// Integer-only greedy encode of the residual in ws.ints (changed in place). A layer large
  /// enough for the parallel policy is split across its workers by codeword ranges: activations
  /// once, per-worker integer argmin, then a reduction in worker order (ties to the lowest index).
  template <class Code>
  void int_greedy(Code* codes, workspace_view ws) const noexcept {
    if constexpr (is_integer) {
      std::int32_t* rows[1] = {ws.ints.data()};
      for (std::size_t l = 0; l < layers(); ++l) {
        std::uint32_t idx = 0;
        if (split_workers(l) > 1)
          idx = int_split_argmin(l, rows[0], ws.bytes.data());
        else
          store_.search_block(l, rows, 1, ws.bytes.data(), &idx);
        codes[l] = static_cast<Code>(idx);
        store_.subtract(l, idx, rows[0]);
      }
    } else {
      (void)codes, (void)ws;
    }
  }

  /// The nearest codeword of integer layer l to residual r, its codewords split across workers.
  std::uint32_t int_split_argmin(std::size_t l, const std::int32_t* r, unsigned char* act) const noexcept {
    const std::size_t n = split_workers(l), k = codewords(l);
    const std::int64_t asum = store_.activations(l, r, act);
    std::uint32_t part_idx[max_split];
    std::int64_t part_score[max_split];
    parallel_traits_type::for_each(n, [&](std::size_t w) {
      const std::size_t first = k * w / n, last = k * (w + 1) / n;
      part_score[w] = std::numeric_limits<std::int64_t>::max();
      part_idx[w] = static_cast<std::uint32_t>(first);
      if (first < last) store_.argmin_range(l, act, asum, first, last, part_idx[w], part_score[w]);
    });
    std::uint32_t idx = part_idx[0];
    std::int64_t best = part_score[0];
    for (std::size_t w = 1; w < n; ++w)
      if (part_score[w] < best) {
        best = part_score[w];
        idx = part_idx[w];
      }
    return idx;
  }

  /// Integer-only greedy encode of n <= tile_rows residuals (row i at ws.ints + i * dim(), changed
  /// in place), layer by layer: each layer's codewords are read once for the whole tile.
  template <class Code>
  void int_greedy_tile(Code* const* codes, std::size_t n, workspace_view ws) const noexcept {
    if constexpr (is_integer) {
      std::int32_t* rows[store_type::tile_rows];
      for (std::size_t i = 0; i < n; ++i) rows[i] = ws.ints.data() + i * dim();
      std::uint32_t* idx = ws.indices.data();
      for (std::size_t l = 0; l < layers(); ++l) {
        store_.search_block(l, rows, n, ws.bytes.data(), idx);
        for (std::size_t i = 0; i < n; ++i) {
          codes[i][l] = static_cast<Code>(idx[i]);
          store_.subtract(l, idx[i], rows[i]);
        }
      }
    } else {
      (void)codes, (void)n, (void)ws;
    }
  }

  /// Most workers one vector's layer is split across (their partial results live on the stack).
  static constexpr std::size_t max_split = 64;

  /// Workers a single vector's layer l is split across (1: not split).
  std::size_t split_workers(std::size_t l) const noexcept {
    const std::size_t w = parallel_traits_type::concurrency();
    if (w <= 1 || codewords(l) * dim() < parallel_traits_type::min_split_macs) return 1;
    const std::size_t g = store_type::range_granule(), granules = (codewords(l) + g - 1) / g;
    const std::size_t n = w < max_split ? w : max_split;
    return n < granules ? n : granules;
  }

  void split_argmin(std::size_t l, const float* row, std::uint32_t& idx, float& score) const noexcept {
    const std::size_t n = split_workers(l), k = codewords(l), g = store_type::range_granule();
    const std::size_t granules = (k + g - 1) / g;
    std::uint32_t part_idx[max_split];
    float part_score[max_split];
    parallel_traits_type::for_each(n, [&](std::size_t w) {
      const std::size_t first = granules * w / n * g, last_g = granules * (w + 1) / n * g;
      const std::size_t last = last_g < k ? last_g : k;
      part_score[w] = std::numeric_limits<float>::infinity();
      part_idx[w] = static_cast<std::uint32_t>(first);
      if (first < last) store_.argmin_range(l, first, last, &row, 1, &part_idx[w], &part_score[w]);
    });
    idx = part_idx[0];
    score = part_score[0];
    for (std::size_t w = 1; w < n; ++w)
      if (part_score[w] < score) {
        score = part_score[w];
        idx = part_idx[w];
      }
  }

  static void copy_row(const float* RVQ_RESTRICT src, float* RVQ_RESTRICT dst, std::size_t d) noexcept {
    for (std::size_t t = 0; t < d; ++t) dst[t] = src[t];
  }
  static void prefetch_row(const float* p, std::size_t d) noexcept {
#if defined(__GNUC__)
    for (std::size_t t = 0; t < d; t += 64 / sizeof(float)) __builtin_prefetch(p + t);
#else
    (void)p, (void)d;
#endif
  }
  static void subtract_row(float* RVQ_RESTRICT r, const float* RVQ_RESTRICT c, std::size_t d) noexcept {
    for (std::size_t t = 0; t < d; ++t) r[t] -= c[t];
  }
  /// r -= codeword c of layer l (pq/rpq: assembled from its sub-codewords).
  void subtract_code(std::size_t l, std::size_t c, float* r) const noexcept {
    if constexpr (is_product)
      store_.subtract_codeword(l, c, r);
    else
      subtract_row(r, codeword(l, c), dim());
  }
  /// out += codeword c of layer l.
  void add_code(std::size_t l, std::size_t c, float* RVQ_RESTRICT out) const noexcept {
    if constexpr (is_product) {
      store_.add_codeword(l, c, out);
    } else {
      const float* RVQ_RESTRICT p = codeword(l, c);
      for (std::size_t t = 0; t < dim(); ++t) out[t] += p[t];
    }
  }

  /// Beam state in the workspace: ranked candidates of the current layer and the surviving codes.
  struct beam_state {
    float* cum_cur;
    float* cum_next;
    float* top_score;
    float* top_total;
    std::uint32_t* codes_cur;
    std::uint32_t* codes_next;
    std::uint32_t* spare;
    std::uint32_t* top_parent;
    std::uint32_t* top_code;
    std::size_t layers;
  };
  static beam_state beam_scratch(float* f, std::uint32_t* u, std::size_t beam, std::size_t nl) noexcept {
    return {f,
            f + beam,
            f + 2 * beam,
            f + 3 * beam,
            u,
            u + beam * nl,
            u + 2 * beam * nl,
            u + 2 * beam * nl + beam,
            u + 2 * beam * nl + 2 * beam,
            nl};
  }

#if defined(RVQ_SCALAR_VECTOR_EXT)
  /// Floats per vector register of the selection (scalar::detail::lanes).
  static constexpr std::size_t select_lanes = ::rvq::simd::scalar::detail::lanes;
#else
  static constexpr std::size_t select_lanes = 1;
#endif
  /// Disjoint groups of a parent's candidates whose minima bound the selection: one per lane, and the tail.
  static constexpr std::size_t select_groups = select_lanes + 1;
  /// Floats of scratch the selection needs for a beam of width `beam`: group minima and the bound.
  static constexpr std::size_t select_scratch(std::size_t beam) noexcept { return beam * select_groups + beam + 1; }

  /// The minima of one parent's k scores by group: lane j of the vector part (candidates c = j mod lanes,
  /// c < k - k % lanes), then the tail; +inf for an empty group.
  static void group_minima(const float* RVQ_RESTRICT sb, std::size_t k, float* RVQ_RESTRICT mins) noexcept {
    constexpr float inf = std::numeric_limits<float>::infinity();
    const std::size_t kv = k - k % select_lanes;
    std::size_t c = 0;
#if defined(RVQ_SCALAR_VECTOR_EXT)
    using vec_t = ::rvq::simd::scalar::detail::vec_t;
    vec_t m[2] = {vec_t{} + inf, vec_t{} + inf};
    for (; c + 2 * select_lanes <= kv; c += 2 * select_lanes) RVQ_UNROLL
    for (std::size_t v = 0; v < 2; ++v) {
      vec_t a;
      RVQ_MEMCPY(&a, sb + c + v * select_lanes, sizeof a);
      m[v] = ::rvq::simd::scalar::detail::lane_min(a, m[v]);
    }
    if (c < kv) {
      vec_t a;
      RVQ_MEMCPY(&a, sb + c, sizeof a);
      m[0] = ::rvq::simd::scalar::detail::lane_min(a, m[0]);
      c = kv;
    }
    m[0] = ::rvq::simd::scalar::detail::lane_min(m[1], m[0]);
    RVQ_MEMCPY(mins, &m[0], sizeof(vec_t));
#else
    float m0 = inf;
    for (; c < kv; ++c) m0 = sb[c] < m0 ? sb[c] : m0;
    mins[0] = m0;
#endif
    float t = inf;
    for (; c < k; ++c) t = sb[c] < t ? sb[c] : t;
    mins[select_lanes] = t;
  }

  /// Offers candidate (b, c) with score `score` (accumulated: `cum + score`) to the layer's top list
  /// if it is at most `bound`; `bound` tightens to the list's last entry once the list is full.
  static RVQ_ALWAYS_INLINE void offer(float score, float cum, std::size_t b, std::size_t c, float& bound,
                                      std::size_t beam, beam_state& st, std::size_t& ntop) noexcept {
    const float total = cum + score;
    if (!(total <= bound)) return;
    insert_candidate(total, score, b, c, beam, st, ntop);
    if (ntop == beam && st.top_total[beam - 1] < bound) bound = st.top_total[beam - 1];
  }

  /**
   * @brief Ranks a layer's candidates, parent b's k scores at s + b * stride, into its top
   * `beam` by accumulated score, then parent (earlier first), then the parent's own order (lower
   * score, then lower index): the order of "each parent's best B by score, merged by accumulated
   * score", so B = 1 is exactly greedy. No sort. A first pass takes, per parent, the minimum of each
   * vector lane (the candidates c = j mod lanes, and the tail) in vector registers; these groups are
   * disjoint, so the beam-th smallest group minimum bounds the beam-th best candidate. A second pass
   * compares a vector of candidates at a time with that bound, tightened as the top list fills, and
   * ranks only those at or under it; candidates are visited in (parent, index) order, so ties resolve
   * as the order above says.
   */
  static void select_layer(const float* s, std::size_t stride, std::size_t nb, std::size_t k, std::size_t beam,
                           const float* mins, float* scratch, beam_state& st, std::size_t& ntop) noexcept {
    constexpr float inf = std::numeric_limits<float>::infinity();
    float* kth = scratch;  // sorted, the beam smallest group minima so far
    std::size_t nk = 0;
    auto bound_by = [&](float m) {
      if (!(m < inf) || (nk == beam && !(m < kth[beam - 1]))) return;
      std::size_t pos = nk < beam ? nk++ : nk - 1;
      for (; pos > 0 && m < kth[pos - 1]; --pos) kth[pos] = kth[pos - 1];
      kth[pos] = m;
    };
    constexpr std::size_t lanes = select_lanes;
#if defined(RVQ_SCALAR_VECTOR_EXT)
    using vec_t = ::rvq::simd::scalar::detail::vec_t;
    using ::rvq::simd::scalar::detail::lane_bits;
#endif
    for (std::size_t b = 0; b < nb; ++b) {
      const float cum = st.cum_cur[b];
      const float* mb = mins + b * select_groups;
#if defined(RVQ_SCALAR_VECTOR_EXT)
      vec_t mm;
      RVQ_MEMCPY(&mm, mb, sizeof mm);
      mm += cum;
      if (b == 0) {
        // The first parent fills the list without branches: lane i goes to its rank among the lanes
        // (ties: lower lane first), the ranks past the list to the spare slot kth[beam].
        const std::size_t n0 = lanes < beam ? lanes : beam;
        for (std::size_t i = 0; i < lanes; ++i) {
          const std::uint32_t below = lane_bits(mm < mm[i]), tied = lane_bits(mm == mm[i]) & ((1u << i) - 1u);
          const auto r = static_cast<std::size_t>(__builtin_popcount(below) + __builtin_popcount(tied));
          kth[r < n0 ? r : beam] = mm[i];
        }
        nk = n0;
      } else {
        const float cut = nk == beam ? kth[beam - 1] : inf;
        for (std::uint32_t bits = lane_bits(mm < cut); bits != 0; bits &= bits - 1) bound_by(mm[__builtin_ctz(bits)]);
      }
#else
      bound_by(cum + mb[0]);
#endif
      bound_by(cum + mb[lanes]);
    }
    float bound = nk == beam ? kth[beam - 1] : inf;
    for (std::size_t b = 0; b < nb; ++b) {
      const float* sb = s + b * stride;
      const float cum = st.cum_cur[b];
#if defined(RVQ_SCALAR_VECTOR_EXT)
      // Pairs of vectors up to c2, then one candidate at a time.
      const std::size_t kv = k - k % lanes, c2 = kv - kv % (2 * lanes);
      for (std::size_t c = 0; c < c2; c += 2 * lanes) {
        vec_t a0, a1;
        RVQ_MEMCPY(&a0, sb + c, sizeof a0);
        RVQ_MEMCPY(&a1, sb + c + lanes, sizeof a1);
        std::uint64_t bits = lane_bits((a0 + cum) <= bound) | std::uint64_t{lane_bits((a1 + cum) <= bound)} << lanes;
        for (; bits != 0; bits &= bits - 1) {
          const std::size_t i = c + static_cast<std::size_t>(__builtin_ctzll(bits));
          offer(sb[i], cum, b, i, bound, beam, st, ntop);
        }
      }
#else
      const std::size_t c2 = 0;
#endif
      for (std::size_t c = c2; c < k; ++c) offer(sb[c], cum, b, c, bound, beam, st, ntop);
    }
  }

  /// Table rows subtracted per pass of table_scores() (their addresses stay on the stack).
  static constexpr std::size_t table_group = 16;

  /**
   * @brief The scores of layer l's k candidates under one partial code (`code`: its codes of layers
   * 0 .. l-1), from the tables: `out[c] = bias[c] - scale[c] * (x_l[c] - sum_{j<l} <C_j[code_j], c>)`,
   * subtracted in layer order, and their select_groups group minima (`mins`; the groups are lane j of
   * the vector part and the tail). Codewords go a few vector registers at a time through all table rows;
   * more than table_group earlier layers are first folded into `partial` (k floats).
   */
  void table_scores(const float* xl, const float* RVQ_RESTRICT bias, const float* RVQ_RESTRICT scale, std::size_t l,
                    std::size_t k, const std::uint32_t* code, float* RVQ_RESTRICT out, float* RVQ_RESTRICT mins,
                    float* RVQ_RESTRICT partial) const noexcept {
    constexpr float inf = std::numeric_limits<float>::infinity();
    const float* t[table_group];
    const float* start = xl;
    std::size_t j0 = 0;
    for (; l - j0 > table_group; j0 += table_group) {
      for (std::size_t g = 0; g < table_group; ++g) t[g] = store_.cross(j0 + g, l, code[j0 + g]);
      for (std::size_t c = 0; c < k; ++c) {
        float a = start[c];
        for (std::size_t g = 0; g < table_group; ++g) a -= t[g][c];
        partial[c] = a;
      }
      start = partial;
    }
    const std::size_t nt = l - j0;
    for (std::size_t g = 0; g < nt; ++g) t[g] = store_.cross(j0 + g, l, code[j0 + g]);
    std::size_t c = 0;
#if defined(RVQ_SCALAR_VECTOR_EXT)
    using vec_t = ::rvq::simd::scalar::detail::vec_t;
    constexpr std::size_t lanes = select_lanes, nv = lanes >= 8 ? 4 : 8, w = nv * lanes;
    vec_t m = vec_t{} + inf;
    for (; c + w <= k; c += w) {
      vec_t a[nv];
      RVQ_UNROLL
      for (std::size_t v = 0; v < nv; ++v) RVQ_MEMCPY(&a[v], start + c + v * lanes, sizeof(vec_t));
      for (std::size_t g = 0; g < nt; ++g) {
        RVQ_UNROLL
        for (std::size_t v = 0; v < nv; ++v) {
          vec_t r;
          RVQ_MEMCPY(&r, t[g] + c + v * lanes, sizeof r);
          a[v] -= r;
        }
      }
      RVQ_UNROLL
      for (std::size_t v = 0; v < nv; ++v) {
        vec_t bv, sv;
        RVQ_MEMCPY(&bv, bias + c + v * lanes, sizeof bv);
        RVQ_MEMCPY(&sv, scale + c + v * lanes, sizeof sv);
        a[v] = bv - sv * a[v];
        RVQ_MEMCPY(out + c + v * lanes, &a[v], sizeof(vec_t));
        m = ::rvq::simd::scalar::detail::lane_min(a[v], m);
      }
    }
    RVQ_MEMCPY(mins, &m, sizeof m);
#else
    mins[0] = inf;
#endif
    float tail = inf;
    for (; c < k; ++c) {
      float a = start[c];
      for (std::size_t g = 0; g < nt; ++g) a -= t[g][c];
      out[c] = bias[c] - scale[c] * a;
      tail = out[c] < tail ? out[c] : tail;
    }
    mins[select_lanes] = tail;
  }

  static RVQ_ALWAYS_INLINE void insert_candidate(float total, float score, std::size_t b, std::size_t c,
                                                 std::size_t beam, beam_state& st, std::size_t& ntop) noexcept {
    auto better = [&](std::size_t e) {  // does (total, b, score, c) rank before entry e?
      return total < st.top_total[e] || (total == st.top_total[e] && st.top_parent[e] == b && score < st.top_score[e]);
    };
    if (ntop == beam && !better(ntop - 1)) return;
    std::size_t pos = ntop < beam ? ntop++ : ntop - 1;
    while (pos > 0 && better(pos - 1)) {
      st.top_total[pos] = st.top_total[pos - 1];
      st.top_score[pos] = st.top_score[pos - 1];
      st.top_parent[pos] = st.top_parent[pos - 1];
      st.top_code[pos] = st.top_code[pos - 1];
      --pos;
    }
    st.top_total[pos] = total;
    st.top_score[pos] = score;
    st.top_parent[pos] = static_cast<std::uint32_t>(b);
    st.top_code[pos] = static_cast<std::uint32_t>(c);
  }

  /// The layer's top entries become the beam: codes and accumulated scores (buffers swap).
  static void advance(beam_state& st, std::size_t l, std::size_t ntop) noexcept {
    const std::size_t nl = st.layers;
    for (std::size_t i = 0; i < ntop; ++i) {
      for (std::size_t j = 0; j < l; ++j) st.codes_next[i * nl + j] = st.codes_cur[st.top_parent[i] * nl + j];
      st.codes_next[i * nl + l] = st.top_code[i];
      st.cum_next[i] = st.top_total[i];
    }
    std::swap(st.cum_cur, st.cum_next);
    std::swap(st.codes_cur, st.codes_next);
  }

  /// Beam search of one vector on residuals (see the class comment for the ranking and tie rules).
  template <class Code>
  void beam_one(const float* x, std::size_t beam, Code* codes, workspace_view ws) const noexcept {
    const std::size_t d = dim(), nl = layers(), kmax = max_codewords();
    float* res_cur = ws.floats.data();
    float* res_next = res_cur + beam * d;
    float* scores = res_next + beam * d;
    float* sel = scores + beam * kmax;
    beam_state st = beam_scratch(sel + select_scratch(beam), ws.indices.data(), beam, nl);

    for (std::size_t t = 0; t < d; ++t) res_cur[t] = x[t];
    st.cum_cur[0] = 0.0f;
    std::size_t nb = 1;
    for (std::size_t l = 0; l < nl; ++l) {
      const std::size_t k = codewords(l);
      for (std::size_t b0 = 0; b0 < nb; b0 += store_type::block_rows) {
        const std::size_t n = nb - b0 < store_type::block_rows ? nb - b0 : store_type::block_rows;
        const float* rows[store_type::block_rows];
        for (std::size_t j = 0; j < n; ++j) rows[j] = res_cur + (b0 + j) * d;
        store_.scores(l, rows, n, scores + b0 * kmax, kmax);
      }
      for (std::size_t b = 0; b < nb; ++b) group_minima(scores + b * kmax, k, sel + b * select_groups);
      std::size_t ntop = 0;
      select_layer(scores, kmax, nb, k, beam, sel, sel + beam * select_groups, st, ntop);
      for (std::size_t i = 0; i < ntop; ++i) {
        const float* parent = res_cur + st.top_parent[i] * d;
        float* r = res_next + i * d;
        copy_row(parent, r, d);
        subtract_code(l, st.top_code[i], r);
      }
      advance(st, l, ntop);
      float* tf = res_cur;
      res_cur = res_next;
      res_next = tf;
      nb = ntop;
    }
    for (std::size_t l = 0; l < nl; ++l) codes[l] = static_cast<Code>(st.codes_cur[l]);
  }

  store_type store_{};
};

}  // namespace rvq
