/// @file product.hpp
/// @brief The `pq` and `rpq` storages: codewords assembled from sub-codebooks
/// (rvq::product_codebooks), searched without a dense copy of the codebook.
///
/// Two ways to search a layer, both giving the codes of the dense search over the expanded
/// codebook (floats: the same codes except at near-ties, as every backend):
/// - **tables**: per vector, `<r_m, S_m[j]>` for every sub-space m and entry j (`2^b D`
///   multiply-adds), then `<r, c> = sum_m T[m][idx_m(c)]` (`M` lookups per codeword);
/// - **expand**: a stack tile of codewords is expanded just in time into the kernels' panel
///   layout and searched by the dense kernels; a tile serves every row of an encode tile.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include "../config.hpp"
#include "../core/extents.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../element/element_traits.hpp"
#include "../metric/metric_traits.hpp"
#include "../simd/simd_traits.hpp"
#include "dense.hpp"
#include "product_codebooks.hpp"
#include "shape.hpp"
#include "storage_traits.hpp"
#if !RVQ_NO_HEAP
#include <vector>
#endif

namespace rvq {

/// @ingroup storage
/// @brief Product-quantized codewords: per layer M sub-codebooks of 2^b entries and a stored
/// K x M index table (rvq::compress() fits them by k-means per sub-space).
struct pq {};
/// @ingroup storage
/// @brief Reverse product quantization: sub-codebooks per layer or shared by all layers, indices
/// stored or regenerated from a seed (zero bytes), fitted by least squares with the indices fixed.
struct rpq {};

namespace detail {
template <class Metric, class Kernels, class Extents>
class product_store;
template <class E>
struct is_product_extents;
template <class E>
struct is_seeded_extents;

/// The pq/rpq store of an element, metric, backend and extents, with the combinations checked.
template <storage_id Id, class Element, class Metric, class Simd, class Extents>
struct product_store_for {
  static_assert(element_traits<Element>::id == element_id::f32,
                "rvq::quantizer: rvq::pq and rvq::rpq models search in float (element rvq::f32); their "
                "sub-codebooks may hold int8 values (rvq::product_codebooks::element)");
  static_assert(Extents::is_dynamic || is_product_extents<Extents>::value,
                "rvq::quantizer: rvq::pq and rvq::rpq take dynamic extents (rvq::dynamic_extents) or "
                "rvq::product_extents<L, K, D, M, Bits, Seeded, Shared> (static)");
  static_assert(
      !is_seeded_extents<Extents>::value || Id == storage_id::rpq,
      "rvq::quantizer: seeded indices (rvq::product_extents<..., Seeded = true>) are rpq only; pq stores them");
  using type = product_store<Metric, typename simd_traits<Simd>::kernels, Extents>;
};
}  // namespace detail

/// @ingroup storage
/// @brief pq: sub-codebooks and a stored index table per layer.
template <>
struct storage_traits<pq> {
  static constexpr const char* name = "pq";         ///< name in files, CLI and reports
  static constexpr storage_id id = storage_id::pq;  ///< id in .rvq files
  /// The store: sub-codebooks searched by tables or expanded tiles (element rvq::f32).
  template <class Element, class Metric, class Simd, class Extents>
  using store = typename detail::product_store_for<storage_id::pq, Element, Metric, Simd, Extents>::type;
};
/// @ingroup storage
/// @brief rpq: sub-codebooks per layer or shared, indices stored or seeded.
template <>
struct storage_traits<rpq> {
  static constexpr const char* name = "rpq";         ///< name in files, CLI and reports
  static constexpr storage_id id = storage_id::rpq;  ///< id in .rvq files
  /// The store: sub-codebooks searched by tables or expanded tiles (element rvq::f32).
  template <class Element, class Metric, class Simd, class Extents>
  using store = typename detail::product_store_for<storage_id::rpq, Element, Metric, Simd, Extents>::type;
};

/// @ingroup storage
/// How a product store searches a layer.
enum class product_search : std::uint8_t {
  automatic,  ///< tables when they cost less than the dense kernel (see detail::product_store::build)
  tables,     ///< per-vector lookup tables (falls back to expand when they exceed the stack table)
  expand      ///< just-in-time expansion of codeword tiles, dense kernels
};

/// @ingroup storage
/// Names of the search modes (the CLI's --search).
inline constexpr named<product_search> product_search_names[] = {
    {"auto", product_search::automatic}, {"tables", product_search::tables}, {"expand", product_search::expand}};

/// @ingroup storage
/// Name of a search mode.
constexpr const char* to_string(product_search m) noexcept { return name_of(product_search_names, m); }

/**
 * @ingroup storage
 * @brief The compile-time shape of a pq/rpq quantizer (firmware): `L` layers of `K` codewords of
 * dimension `D`, each codeword assembled from `M` sub-codewords of `D/M` values picked from
 * sub-codebooks of `2^Bits` entries. `Seeded`: indices regenerated from a 64-bit seed (rpq only;
 * no index bytes); `Shared`: one set of sub-codebooks for every layer.
 *
 * `rvq::quantizer<rvq::config<rvq::f32, Metric, rvq::rpq>, rvq::product_extents<...>>` views its
 * sub-codebooks (and stored indices) where the caller keeps them, in the layout of the .rvq file
 * (docs/format.md, version 3), as `rvq codegen` writes them.
 */
template <std::size_t L, std::size_t K, std::size_t D, std::size_t M, unsigned Bits, bool Seeded = false,
          bool Shared = false>
struct product_extents : extents<L, K, D> {
  static_assert(extents<L, K, D>::is_static, "rvq::product_extents: L, K and D are compile-time constants");
  static_assert(M > 0 && D % M == 0, "rvq::product_extents: the sub-space count M must divide D");
  static_assert(Bits >= 1 && Bits <= 8, "rvq::product_extents: Bits is 1 to 8 (2 to 256 entries per sub-codebook)");
  static_assert(D <= product_max_dim, "rvq::product_extents: D is at most 16384");
  static constexpr std::size_t subspaces = M;                     ///< M
  static constexpr unsigned bits = Bits;                          ///< b
  static constexpr bool seeded = Seeded;                          ///< indices regenerated from the seed
  static constexpr bool shared = Shared;                          ///< one set of sub-codebooks for all layers
  static constexpr std::size_t sub_dim = D / M;                   ///< D / M
  static constexpr std::size_t entries = std::size_t{1} << Bits;  ///< 2^b
  static constexpr std::size_t sets = Shared ? 1 : L;             ///< sets of sub-codebooks
  /// Floats of the sub-codebooks, `[set][m][entry][D/M]`.
  static constexpr std::size_t sub_values = sets * M * entries * sub_dim;
  /// Stored indices, uint8 `[layer][m][c]` (0 when seeded).
  static constexpr std::size_t index_count = Seeded ? 0 : L * M * K;
};

namespace detail {

/// True for rvq::product_extents.
template <class E>
struct is_product_extents : std::false_type {};
template <std::size_t L, std::size_t K, std::size_t D, std::size_t M, unsigned B, bool S, bool H>
struct is_product_extents<product_extents<L, K, D, M, B, S, H>> : std::true_type {};
/// True for rvq::product_extents with seeded indices.
template <class E>
struct is_seeded_extents : std::false_type {};
template <std::size_t L, std::size_t K, std::size_t D, std::size_t M, unsigned B, bool H>
struct is_seeded_extents<product_extents<L, K, D, M, B, true, H>> : std::true_type {};

template <class Metric, class Kernels, class Extents>
class product_store {
  static_assert(Extents::is_dynamic,
                "rvq: the pq and rpq storages take dynamic extents or rvq::product_extents<L, K, D, M, Bits, "
                "Seeded, Shared> (static)");
};

/**
 * The pq/rpq store of static extents (firmware): sub-codebooks and stored indices stay where the
 * caller keeps them (flash); seeded indices are regenerated as the search needs them, so they take
 * no memory. Per-codeword score constants are computed at construction (at compile time for a
 * constexpr quantizer). A layer is scored through an `M x 2^b` stack table when that costs fewer
 * operations than `K D` multiply-adds (decided at compile time), else sub-codeword by sub-codeword,
 * summing in the dense reference's order.
 */
/**
 * @brief What a pq/rpq store does the same way for static and dynamic extents: a codeword is
 * assembled from one sub-codeword per sub-space. Written once over the store's `subspaces()`,
 * `sub_dim()` (constants when the extents are static), `index(l, m, c)` and `sub(l, m, j)`.
 */
template <class Derived>
class product_codewords {
 public:
  /// Codeword c of layer l, expanded into out (D values).
  constexpr void expand(std::size_t l, std::size_t c, float* RVQ_RESTRICT out) const noexcept {
    const Derived& s = self();
    const std::size_t sd = s.sub_dim();
    for (std::size_t m = 0; m < s.subspaces(); ++m) {
      const float* RVQ_RESTRICT v = s.sub(l, m, s.index(l, m, c));
      for (std::size_t t = 0; t < sd; ++t) out[m * sd + t] = v[t];
    }
  }
  /// r -= codeword c of layer l.
  void subtract_codeword(std::size_t l, std::size_t c, float* RVQ_RESTRICT r) const noexcept {
    const Derived& s = self();
    const std::size_t sd = s.sub_dim();
    for (std::size_t m = 0; m < s.subspaces(); ++m) {
      const float* RVQ_RESTRICT v = s.sub(l, m, s.index(l, m, c));
      for (std::size_t t = 0; t < sd; ++t) r[m * sd + t] -= v[t];
    }
  }
  /// out += codeword c of layer l.
  void add_codeword(std::size_t l, std::size_t c, float* RVQ_RESTRICT out) const noexcept {
    const Derived& s = self();
    const std::size_t sd = s.sub_dim();
    for (std::size_t m = 0; m < s.subspaces(); ++m) {
      const float* RVQ_RESTRICT v = s.sub(l, m, s.index(l, m, c));
      for (std::size_t t = 0; t < sd; ++t) out[m * sd + t] += v[t];
    }
  }
  /// Nearest codeword of layer l to each row (the store's argmin_range over all of the layer).
  void argmin(std::size_t l, const float* const* rows, std::size_t nrows, std::uint32_t* idx,
              float* score) const noexcept {
    self().argmin_range(l, 0, self().codewords(l), rows, nrows, idx, score);
  }
  /// Assembled codewords are not in memory: nothing to prefetch.
  static constexpr void prefetch_codeword(std::size_t, std::size_t) noexcept {}

 private:
  constexpr const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

template <class Metric, class Kernels, std::size_t L, std::size_t K, std::size_t D, std::size_t M, unsigned B,
          bool Seeded, bool Shared>
class product_store<Metric, Kernels, product_extents<L, K, D, M, B, Seeded, Shared>>
    : public static_shape<L, K, D>,
      public product_codewords<product_store<Metric, Kernels, product_extents<L, K, D, M, B, Seeded, Shared>>> {
  using ext = product_extents<L, K, D, M, B, Seeded, Shared>;
  static constexpr std::size_t sd = ext::sub_dim, entries = ext::entries;
  using algo = product_codewords<product_store>;

 public:
  static constexpr std::size_t block_rows = 1;
  /// Lookups count as this many multiply-adds (as the dynamic store's automatic choice).
  static constexpr std::size_t lookup_macs = 20;
  /// True when layers are scored through a per-vector table of `M 2^b` floats.
  static constexpr bool tables = entries * D + lookup_macs * K * M < K * D;

  constexpr product_store() noexcept = default;
  /// Stored indices: views the sub-codebooks (`[set][m][entry][D/M]` floats) and the uint8 indices
  /// (`[layer][m][c]`) kept by the caller, as `rvq codegen` writes them.
  template <bool S = Seeded, class = std::enable_if_t<!S>>
  constexpr product_store(const float (&sub)[ext::sub_values],
                          const std::uint8_t (&indices)[S ? 1 : ext::index_count]) noexcept
      : product_store(sub, indices, 0) {}
  /// Seeded indices: views the sub-codebooks; every index is regenerated from `seed` when needed.
  template <bool S = Seeded, class = std::enable_if_t<S>>
  constexpr product_store(const float (&sub)[ext::sub_values], std::uint64_t seed) noexcept
      : product_store(sub, nullptr, seed) {}
  /// Views sub-codebooks and indices (nullptr when seeded) kept by the caller.
  constexpr product_store(const float* sub, const std::uint8_t* indices, std::uint64_t seed) noexcept
      : sub_(sub), idx_(indices), seed_(seed) {
    std::array<float, D> cw{};
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t c = 0; c < K; ++c) {
        algo::expand(l, c, cw.data());
        const float n2 = norm2(cw.data(), D);
        bias_[l * K + c] = metric_traits<Metric>::bias(n2);
        scale_[l * K + c] = metric_traits<Metric>::scale(n2);
      }
  }

  /// Sub-codebook values finite, stored indices below 2^b.
  constexpr status check() const noexcept {
    for (std::size_t i = 0; i < ext::sub_values; ++i)
      if (!(sub_[i] - sub_[i] == 0.0f)) return {errc::non_finite, msg::sub_codebook_non_finite, i, "element"};
    if constexpr (!Seeded)
      for (std::size_t i = 0; i < ext::index_count; ++i)
        if (idx_[i] >= entries) return {errc::invalid_argument, "a stored index is not below 2^bits", i, "element"};
    return {};
  }

  constexpr std::size_t layers() const noexcept { return sub_ ? L : 0; }
  static constexpr std::size_t subspaces() noexcept { return M; }  ///< M
  static constexpr std::size_t sub_dim() noexcept { return sd; }   ///< D / M
  constexpr std::uint64_t seed() const noexcept { return seed_; }  ///< seed of the indices (seeded)

  /// Index of sub-codeword m of codeword c of layer l. A stored index is masked to its b bits, so
  /// a bad table (which check() reports) can give wrong codes but never a read out of bounds.
  constexpr std::size_t index(std::size_t l, std::size_t m, std::size_t c) const noexcept {
    if constexpr (Seeded)
      return seeded_index(seed_, l, m, c, B);
    else
      return idx_[(l * M + m) * K + c] & (entries - 1);
  }
  /// Entry j of sub-codebook m of layer l's set.
  constexpr const float* sub(std::size_t l, std::size_t m, std::size_t j) const noexcept {
    return sub_ + (((Shared ? 0 : l) * M + m) * entries + j) * sd;
  }
  /// Codewords [first, last) of layer l only (the per-core share of a cluster split).
  void argmin_range(std::size_t l, std::size_t first, std::size_t last, const float* const* rows, std::size_t nrows,
                    std::uint32_t* idx, float* score) const noexcept {
    for (std::size_t i = 0; i < nrows; ++i) {
      float best = std::numeric_limits<float>::infinity();
      std::uint32_t bi = static_cast<std::uint32_t>(first);
      each_score(l, first, last, rows[i], [&](std::size_t c, float sc) {
        if (sc < best) best = sc, bi = static_cast<std::uint32_t>(c);
      });
      idx[i] = bi;
      score[i] = best;
    }
  }
  /// Codeword ranges handed to argmin_range may start anywhere.
  static constexpr std::size_t range_granule() noexcept { return 1; }
  /// Static models keep no cross-product tables.
  static constexpr bool has_cross() noexcept { return false; }
  /// Scores `bias[c] - scale[c] <r_i, c>` of the rows; row i's K values at out + i * stride.
  void scores(std::size_t l, const float* const* rows, std::size_t nrows, float* out,
              std::size_t stride) const noexcept {
    for (std::size_t i = 0; i < nrows; ++i)
      each_score(l, 0, K, rows[i], [&](std::size_t c, float sc) { out[i * stride + c] = sc; });
  }

  /// Bytes the model stores: sub-codebooks (f32) and stored indices.
  static constexpr std::size_t codebook_bytes() noexcept { return ext::sub_values * sizeof(float) + ext::index_count; }
  /// Bytes of the per-codeword constants.
  static constexpr std::size_t aux_bytes() noexcept { return 2 * L * K * sizeof(float); }
  /// Stack bytes of the search beyond the residual (the lookup table).
  static constexpr std::size_t table_bytes() noexcept { return tables ? M * entries * sizeof(float) : 0; }
  /// Multiply-adds of a greedy search of a layer (tables: 2^b D; else K D).
  static constexpr std::size_t static_layer_macs() noexcept { return tables ? entries * D : K * D; }
  /// Table lookups of a greedy search of a layer (tables: K M; else none).
  static constexpr std::size_t static_layer_lookups() noexcept { return tables ? K * M : 0; }
  constexpr std::size_t layer_macs(std::size_t) const noexcept { return static_layer_macs(); }        ///< per layer
  constexpr std::size_t layer_lookups(std::size_t) const noexcept { return static_layer_lookups(); }  ///< per layer
  /// Stack bytes of the search beyond the residual (the lookup table).
  static constexpr std::size_t scratch_bytes() noexcept { return table_bytes(); }
  /// check() of the viewed values.
  constexpr status validate() const noexcept { return check(); }

 private:
  /// f(c, score) for codewords [first, last) of layer l, in order.
  template <class F>
  void each_score(std::size_t l, std::size_t first, std::size_t last, const float* RVQ_RESTRICT r,
                  F&& f) const noexcept {
    const float* bias = bias_.data() + l * K;
    const float* scale = scale_.data() + l * K;
    if constexpr (tables) {
      float table[M * entries];
      for (std::size_t m = 0; m < M; ++m)
        for (std::size_t j = 0; j < entries; ++j) {
          const float* s = sub(l, m, j);
          float acc = 0.0f;
          for (std::size_t t = 0; t < sd; ++t) acc += r[m * sd + t] * s[t];
          table[m * entries + j] = acc;
        }
      for (std::size_t c = first; c < last; ++c) {
        float acc = 0.0f;
        for (std::size_t m = 0; m < M; ++m) acc += table[m * entries + index(l, m, c)];
        f(c, bias[c] - scale[c] * acc);
      }
    } else {
      for (std::size_t c = first; c < last; ++c) {
        float acc = 0.0f;  // summed over t = 0 .. D-1 in order, as the scalar dense reference
        for (std::size_t m = 0; m < M; ++m) {
          const float* s = sub(l, m, index(l, m, c));
          for (std::size_t t = 0; t < sd; ++t) acc += r[m * sd + t] * s[t];
        }
        f(c, bias[c] - scale[c] * acc);
      }
    }
  }

  const float* sub_ = nullptr;
  const std::uint8_t* idx_ = nullptr;
  std::uint64_t seed_ = 0;
  std::array<float, L * K> bias_{};
  std::array<float, L * K> scale_{};
};

#if !RVQ_NO_HEAP
/// The pq/rpq store of dynamic extents: sub-codebooks widened to float, indices (seeded ones
/// regenerated once) and per-codeword score constants; never a dense copy of the codewords.
template <class Metric, class Kernels>
class product_store<Metric, Kernels, dynamic_extents>
    : public product_codewords<product_store<Metric, Kernels, dynamic_extents>> {
  friend product_codewords<product_store>;

 public:
  using product_codewords<product_store>::argmin;
  using product_codewords<product_store>::expand;
  static constexpr std::size_t block_rows = Kernels::block_rows;
  /// Floats of the stack lookup table of one vector (M x 2^b); larger tables search by expansion.
  static constexpr std::size_t max_table_floats = 16384;
  /// What automatic search counts a table lookup as, in multiply-adds of the dense kernel: a
  /// vectorized dense search does about 20 multiply-adds in the time of one (gathered) lookup on
  /// the desktops measured in docs/storage.md (rvq-bench-storage).
  static constexpr std::size_t lookup_macs = 20;
  /// Floats of the stack tile of the expand search (128 KiB).
  static constexpr std::size_t tile_floats = 32768;

  product_store() = default;

  /**
   * @brief Builds the store of `pc` (validated). `automatic` searches by tables when
   * `2^b D + lookup_macs K M < K D` for every layer (tables plus lookups against the dense
   * kernel's multiply-adds) and the table fits max_table_floats, else by expansion.
   */
  static status build(const product_codebooks& pc, product_search mode, product_store& out) {
    RVQ_TRY(pc.validate());
    product_store s;
    s.pc_ = pc;
    s.dim_ = pc.dim;
    s.m_ = pc.subspaces;
    s.sd_ = pc.sub_dim();
    s.entries_ = pc.entries();
    s.first_.assign(pc.layers() + 1, 0);
    s.pfirst_.assign(pc.layers() + 1, 0);
    for (std::size_t l = 0; l < pc.layers(); ++l) {
      s.first_[l + 1] = s.first_[l] + pc.k[l];
      s.pfirst_[l + 1] = s.pfirst_[l] + Kernels::padded_codewords(pc.k[l]);
    }
    // Sub-codebooks as floats (int8 values times their scale), indices of every layer [m][c].
    s.sub_.resize(pc.value_count());
    for (std::size_t set = 0; set < pc.sets(); ++set)
      for (std::size_t m = 0; m < s.m_; ++m)
        for (std::size_t j = 0; j < s.entries_; ++j)
          for (std::size_t t = 0; t < s.sd_; ++t)
            s.sub_[((set * s.m_ + m) * s.entries_ + j) * s.sd_ + t] = pc.value(set, m, j, t);
    s.subt_.resize(pc.value_count());  // [set][m][t][j]: the table build runs along j
    for (std::size_t set = 0; set < pc.sets(); ++set)
      for (std::size_t m = 0; m < s.m_; ++m)
        for (std::size_t j = 0; j < s.entries_; ++j)
          for (std::size_t t = 0; t < s.sd_; ++t)
            s.subt_[((set * s.m_ + m) * s.sd_ + t) * s.entries_ + j] =
                s.sub_[((set * s.m_ + m) * s.entries_ + j) * s.sd_ + t];
    if (pc.seeded) {
      s.idx_.resize(pc.index_offset(pc.layers()));
      for (std::size_t l = 0, o = 0; l < pc.layers(); ++l)
        for (std::size_t m = 0; m < s.m_; ++m)
          for (std::size_t c = 0; c < pc.k[l]; ++c) s.idx_[o++] = seeded_index(pc.seed, l, m, c, pc.bits);
    }
    // Per-codeword constants from the expanded codeword (the dense store's, so the same scores).
    std::vector<float> cw(s.dim_);
    s.bias_.assign(s.pfirst_.back(), 0.0f);
    s.scale_.assign(s.pfirst_.back(), 0.0f);
    s.tails_.assign(s.first_.back() * Kernels::tail_norms, 0.0f);
    std::vector<float> bias, scale;
    for (std::size_t l = 0; l < pc.layers(); ++l) {
      bias.assign(pc.k[l], 0.0f);
      scale.assign(pc.k[l], 0.0f);
      for (std::size_t c = 0; c < pc.k[l]; ++c) {
        s.expand(l, c, cw.data());
        const float n2 = norm2(cw.data(), s.dim_);
        bias[c] = metric_traits<Metric>::bias(n2);
        scale[c] = metric_traits<Metric>::scale(n2);
        Kernels::tail_norms_of(cw.data(), s.dim_, s.tails_.data() + (s.first_[l] + c) * Kernels::tail_norms);
      }
      Kernels::pack_constants(bias.data(), pc.k[l], std::numeric_limits<float>::infinity(),
                              s.bias_.data() + s.pfirst_[l]);
      Kernels::pack_constants(scale.data(), pc.k[l], 0.0f, s.scale_.data() + s.pfirst_[l]);
    }
    const std::size_t kpad = Kernels::padded_codewords(s.max_codewords());
    s.zeros_.assign(kpad, 0.0f);
    s.neg_ones_.assign(kpad, -1.0f);
    const bool fits = s.m_ * s.entries_ <= max_table_floats;
    s.tables_ = fits && (mode == product_search::tables || (mode == product_search::automatic && s.tables_cheaper()));
    out = std::move(s);
    return {};
  }

  /// The model this store searches (for files and tools).
  const product_codebooks& model() const noexcept { return pc_; }
  /// True when layers are scored through per-vector lookup tables, false when by expansion.
  bool uses_tables() const noexcept { return tables_; }
  /// True when argmin_tile() shares work between the rows of a tile (expanded codeword tiles).
  bool shares_tiles() const noexcept { return !tables_; }

  std::size_t layers() const noexcept { return pc_.k.size(); }
  std::size_t dim() const noexcept { return dim_; }
  std::size_t codewords(std::size_t l) const noexcept { return pc_.k[l]; }
  std::size_t max_codewords() const noexcept { return extreme_of(pc_.k, true); }
  std::size_t min_codewords() const noexcept { return extreme_of(pc_.k, false); }
  std::size_t total_codewords() const noexcept { return first_.empty() ? 0 : first_.back(); }
  std::size_t first_codeword(std::size_t l) const noexcept { return first_[l]; }

  std::size_t subspaces() const noexcept { return m_; }  ///< M
  std::size_t sub_dim() const noexcept { return sd_; }   ///< D / M
  /// Codewords [first, last) of layer l; first must be a multiple of range_granule().
  void argmin_range(std::size_t l, std::size_t first, std::size_t last, const float* const* rows, std::size_t nrows,
                    std::uint32_t* idx, float* score) const noexcept {
    if (tables_) {
      for (std::size_t i = 0; i < nrows; ++i) table_argmin(l, first, last, rows[i], idx[i], score[i]);
      return;
    }
    expand_argmin(l, first, last, rows, nrows, idx, score);
  }
  /// Codeword ranges handed to argmin_range start at multiples of this (a panel).
  static constexpr std::size_t range_granule() noexcept { return Kernels::panel_width; }
  /// argmin() of any number of rows; by expansion, each tile of codewords is expanded once for all of them.
  void argmin_tile(std::size_t l, const float* const* rows, std::size_t nrows, std::uint32_t* idx,
                   float* score) const noexcept {
    constexpr std::size_t br = Kernels::block_rows;
    if (tables_) {
      for (std::size_t b = 0; b < nrows; b += br)
        argmin(l, rows + b, nrows - b < br ? nrows - b : br, idx + b, score + b);
      return;
    }
    if (tile_codewords() == 0) {
      expand_argmin(l, 0, pc_.k[l], rows, nrows, idx, score);  // each chunk expanded once for all rows
      return;
    }
    const float* bias = bias_.data() + pfirst_[l];
    const float* scale = scale_.data() + pfirst_[l];
    std::uint32_t ti[br];
    float ts[br];
    for_each_tile(l, 0, pc_.k[l], [&](const float* panels, std::size_t c0, std::size_t n) {
      for (std::size_t b = 0; b < nrows; b += br) {
        const std::size_t m = nrows - b < br ? nrows - b : br;
        Kernels::argmin_panels(rows + b, m, dim_, panels, n, bias + c0, scale + c0, ti, ts, c0);
        for (std::size_t i = 0; i < m; ++i)
          if (c0 == 0 || ts[i] < score[b + i]) score[b + i] = ts[i], idx[b + i] = ti[i];  // ties: the earlier tile
      }
    });
  }

  /// Scores `bias[c] - scale[c] <r_i, c>` of up to block_rows rows; row i's K values at out + i * stride.
  void scores(std::size_t l, const float* const* rows, std::size_t nrows, float* out,
              std::size_t stride) const noexcept {
    scores_with(l, rows, nrows, bias_.data() + pfirst_[l], scale_.data() + pfirst_[l], out, stride);
  }
  /// Inner products `<r_i, c>` (see dense_store::dots()).
  void dots(std::size_t l, const float* const* rows, std::size_t nrows, float* out, std::size_t stride) const noexcept {
    scores_with(l, rows, nrows, zeros_.data(), neg_ones_.data(), out, stride);
  }
  const float* bias(std::size_t l) const noexcept { return bias_.data() + pfirst_[l]; }    ///< score constants
  const float* scale(std::size_t l) const noexcept { return scale_.data() + pfirst_[l]; }  ///< score factors
  /// Product stores keep no codebook cross-product tables: beam search updates residuals.
  static constexpr bool has_cross() noexcept { return false; }
  /// Never builds tables (see has_cross()).
  static constexpr bool build_cross(std::size_t) noexcept { return false; }
  /// Not available (has_cross() is false).
  static constexpr const float* cross(std::size_t, std::size_t, std::size_t) noexcept { return nullptr; }

  /// Bytes the model stores: sub-codebooks, their scales, stored indices.
  std::size_t codebook_bytes() const noexcept { return pc_.stored_bytes(); }
  /// Bytes of the search's derived data: float sub-codebooks (int8 models), regenerated seeded
  /// indices, per-codeword constants.
  std::size_t aux_bytes() const noexcept {
    const std::size_t widened = pc_.element == element_id::int8 ? sub_.size() * sizeof(float) : 0;
    return widened + subt_.size() * sizeof(float) + idx_.size() +
           (bias_.size() + scale_.size() + tails_.size()) * sizeof(float);
  }
  /// Multiply-adds of a greedy search of layer l (tables: 2^b D; expand: K D).
  std::size_t layer_macs(std::size_t l) const noexcept { return tables_ ? entries_ * dim_ : pc_.k[l] * dim_; }
  /// Table lookups of a greedy search of layer l (tables: K M; expand: none).
  std::size_t layer_lookups(std::size_t l) const noexcept { return tables_ ? pc_.k[l] * m_ : 0; }
  /// Scratch beyond the residual (the tables live on the stack of the search).
  static constexpr std::size_t scratch_bytes() noexcept { return 0; }
  /// Checked when built.
  static constexpr status validate() noexcept { return {}; }

 private:
  bool tables_cheaper() const noexcept {
    for (std::size_t l = 0; l < layers(); ++l)
      if (entries_ * dim_ + lookup_macs * pc_.k[l] * m_ >= pc_.k[l] * dim_) return false;
    return true;
  }
  const std::uint8_t* indices(std::size_t l) const noexcept {
    return (pc_.seeded ? idx_.data() : pc_.indices.data()) + m_ * first_[l];
  }
  std::uint8_t index(std::size_t l, std::size_t m, std::size_t c) const noexcept {
    return indices(l)[m * pc_.k[l] + c];
  }
  const float* sub(std::size_t l, std::size_t m, std::size_t j) const noexcept {
    return sub_.data() + ((pc_.set_of(l) * m_ + m) * entries_ + j) * sd_;
  }

  /// Per-vector tables `<r_m, S_m[j]>` (M x 2^b) then M lookups per codeword, 256 codewords at a time.
  void table_argmin(std::size_t l, std::size_t first, std::size_t last, const float* r, std::uint32_t& idx,
                    float& best) const noexcept {
    float table[max_table_floats];
    fill_table(l, r, table);
    const float* bias = bias_.data() + pfirst_[l];
    const float* scale = scale_.data() + pfirst_[l];
    best = std::numeric_limits<float>::infinity();
    idx = static_cast<std::uint32_t>(first);
    constexpr std::size_t chunk = 256;
    float acc[chunk];
    for (std::size_t c0 = first; c0 < last; c0 += chunk) {
      const std::size_t n = last - c0 < chunk ? last - c0 : chunk;
      lookup(l, table, c0, n, acc);
      for (std::size_t c = 0; c < n; ++c) {
        const float s = bias[c0 + c] - scale[c0 + c] * acc[c];
        if (s < best) best = s, idx = static_cast<std::uint32_t>(c0 + c);
      }
    }
  }
  void fill_table(std::size_t l, const float* RVQ_RESTRICT r, float* RVQ_RESTRICT table) const noexcept {
    const float* base = subt_.data() + pc_.set_of(l) * m_ * sd_ * entries_;
    for (std::size_t m = 0; m < m_; ++m) {
      float* RVQ_RESTRICT tm = table + m * entries_;
      for (std::size_t j = 0; j < entries_; ++j) tm[j] = 0.0f;
      for (std::size_t t = 0; t < sd_; ++t) {  // sums in t order, as the dense reference
        const float rt = r[m * sd_ + t];
        const float* RVQ_RESTRICT st = base + (m * sd_ + t) * entries_;
        for (std::size_t j = 0; j < entries_; ++j) tm[j] += rt * st[j];
      }
    }
  }
  /// acc[c] = sum_m table[m][idx_m(c0 + c)] for n codewords.
  void lookup(std::size_t l, const float* RVQ_RESTRICT table, std::size_t c0, std::size_t n,
              float* RVQ_RESTRICT acc) const noexcept {
    const std::uint8_t* ix = indices(l);
    const std::size_t k = pc_.k[l];
    for (std::size_t c = 0; c < n; ++c) acc[c] = 0.0f;
    for (std::size_t m = 0; m < m_; ++m) {
      const std::uint8_t* RVQ_RESTRICT im = ix + m * k + c0;
      const float* RVQ_RESTRICT tm = table + m * entries_;
      for (std::size_t c = 0; c < n; ++c) acc[c] += tm[im[c]];
    }
  }

  void scores_with(std::size_t l, const float* const* rows, std::size_t nrows, const float* bias, const float* scale,
                   float* out, std::size_t stride) const noexcept {
    const std::size_t k = pc_.k[l];
    if (tables_) {
      float table[max_table_floats];
      for (std::size_t i = 0; i < nrows; ++i) {
        fill_table(l, rows[i], table);
        float* o = out + i * stride;
        lookup(l, table, 0, k, o);
        for (std::size_t c = 0; c < k; ++c) o[c] = bias[c] - scale[c] * o[c];
      }
      return;
    }
    if (tile_codewords() == 0) {
      for_each_chunk(l, 0, k, [&](const float* cw, std::size_t c0, std::size_t n) {
        for (std::size_t i = 0; i < nrows; ++i)
          Kernels::scores_rows(rows[i], dim_, cw, n, bias + c0, scale + c0, out + i * stride + c0);
      });
      return;
    }
    for_each_tile(l, 0, k, [&](const float* panels, std::size_t c0, std::size_t n) {
      Kernels::scores_panels(rows, nrows, dim_, panels, n, bias + c0, scale + c0, out + c0, stride);
    });
  }

  void expand_argmin(std::size_t l, std::size_t first, std::size_t last, const float* const* rows, std::size_t nrows,
                     std::uint32_t* idx, float* score) const noexcept {
    const float* bias = bias_.data() + pfirst_[l];
    const float* scale = scale_.data() + pfirst_[l];
    if (tile_codewords() == 0) {  // D too large for a panel tile: the rows kernel on expanded chunks
      for_each_chunk(l, first, last, [&](const float* cw, std::size_t c0, std::size_t n) {
        for (std::size_t i = 0; i < nrows; ++i) {
          std::uint32_t ti = 0;
          float ts = 0.0f;
          Kernels::argmin_rows(rows[i], dim_, cw, n, bias + c0, scale + c0,
                               tails_.data() + (first_[l] + c0) * Kernels::tail_norms, ti, ts);
          if (c0 == first || ts < score[i]) score[i] = ts, idx[i] = static_cast<std::uint32_t>(c0 + ti);
        }
      });
      return;
    }
    std::uint32_t ti[Kernels::block_rows];
    float ts[Kernels::block_rows];
    for_each_tile(l, first, last, [&](const float* panels, std::size_t c0, std::size_t n) {
      Kernels::argmin_panels(rows, nrows, dim_, panels, n, bias + c0, scale + c0, ti, ts, c0);
      for (std::size_t i = 0; i < nrows; ++i)
        if (c0 == first || ts[i] < score[i]) score[i] = ts[i], idx[i] = ti[i];  // ties: the earlier tile
    });
  }

  /// Codewords per panel tile (a multiple of the panel width; 0 when one panel does not fit).
  std::size_t tile_codewords() const noexcept {
    return tile_floats / (dim_ * Kernels::panel_width) * Kernels::panel_width;
  }
  /// Calls f(rows, c0, n) for codewords [first, last) of layer l expanded row-major into a stack chunk.
  template <class F>
  void for_each_chunk(std::size_t l, std::size_t first, std::size_t last, F&& f) const noexcept {
    float chunk[tile_floats];
    const std::size_t per = tile_floats / dim_;
    for (std::size_t c0 = first; c0 < last; c0 += per) {
      const std::size_t n = last - c0 < per ? last - c0 : per;
      for (std::size_t c = 0; c < n; ++c) expand(l, c0 + c, chunk + c * dim_);
      f(static_cast<const float*>(chunk), c0, n);
    }
  }
  /// Calls f(panels, c0, n) for codewords [first, last) of layer l, expanded tile by tile into the
  /// kernels' panel layout on the stack.
  template <class F>
  void for_each_tile(std::size_t l, std::size_t first, std::size_t last, F&& f) const noexcept {
    alignas(Kernels::panel_alignment) float tile[tile_floats];
    constexpr std::size_t pw = Kernels::panel_width;
    const std::size_t per = tile_codewords();  // whole panels: only the layer's last tile is padded
    for (std::size_t c0 = first; c0 < last; c0 += per) {
      const std::size_t n = last - c0 < per ? last - c0 : per;
      // Straight into the panel layout of pack_panels() (codeword c's value t at (p D + t) pw + c % pw),
      // written in order: per panel and sub-space, the pw sub-codewords side by side.
      const float* src[pw];
      for (std::size_t p = 0; p < (n + pw - 1) / pw; ++p) {
        float* RVQ_RESTRICT panel = tile + p * dim_ * pw;
        const std::size_t lanes = n - p * pw < pw ? n - p * pw : pw;
        for (std::size_t m = 0; m < m_; ++m) {
          for (std::size_t j = 0; j < lanes; ++j) src[j] = sub(l, m, index(l, m, c0 + p * pw + j));
          for (std::size_t t = 0; t < sd_; ++t) {
            float* RVQ_RESTRICT row = panel + (m * sd_ + t) * pw;
            for (std::size_t j = 0; j < lanes; ++j) row[j] = src[j][t];
            for (std::size_t j = lanes; j < pw; ++j) row[j] = 0.0f;
          }
        }
      }
      f(static_cast<const float*>(tile), c0, n);
    }
  }

  product_codebooks pc_;
  std::size_t dim_ = 0, m_ = 0, sd_ = 0, entries_ = 0;
  bool tables_ = false;
  std::vector<std::size_t> first_, pfirst_;
  std::vector<float> sub_, subt_, bias_, scale_, tails_, zeros_, neg_ones_;
  std::vector<std::uint8_t> idx_;  // seeded models: the regenerated indices
};
#endif

}  // namespace detail
}  // namespace rvq
