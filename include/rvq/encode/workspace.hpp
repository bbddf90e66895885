/// @file workspace.hpp
/// @brief What an encode call takes besides its data: options, caller scratch (workspace_view,
/// workspace) and the scratch each encoder needs for a store.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include "../config.hpp"
#include "../core/footprint.hpp"
#include "../core/span.hpp"
#include "../detail/rows.hpp"
#if !RVQ_NO_HEAP
#include <vector>
#endif

namespace rvq {

/// Options of one encode call.
struct encode_options {
  /// Beam width: 1 is greedy; B keeps the B best partial reconstructions per layer.
  std::size_t beam = 1;
  /// Rounds of ICM refinement after the search (rvq::encoders::icm_refine(); 0: none): each
  /// layer's code picked again given the others, never raising the error. l2 float models.
  std::size_t icm_rounds = 0;
};

/// @brief Scratch memory handed to encode by the caller (see quantizer::workspace_for).
struct workspace_view {
  span<float> floats;           ///< at least workspace_size::floats values
  span<std::uint32_t> indices;  ///< at least workspace_size::indices values
  span<std::int32_t> ints{};    ///< at least workspace_size::ints values (integer elements)
  span<unsigned char> bytes{};  ///< at least workspace_size::bytes values (integer elements)

  /// Worker w's share of a workspace that holds `per` for each worker.
  workspace_view part(std::size_t w, const workspace_size& per) const noexcept {
    return {floats.subspan(w * per.floats, per.floats), indices.subspan(w * per.indices, per.indices),
            ints.subspan(w * per.ints, per.ints), bytes.subspan(w * per.bytes, per.bytes)};
  }
  /// True when it holds `need` for each of `workers` workers.
  bool holds(const workspace_size& need, std::size_t workers) const noexcept {
    return floats.size() >= need.floats * workers && indices.size() >= need.indices * workers &&
           ints.size() >= need.ints * workers && bytes.size() >= need.bytes * workers;
  }
};

/// `s` for each of `n` workers.
constexpr workspace_size times(const workspace_size& s, std::size_t n) noexcept {
  return {s.floats * n, s.indices * n, s.ints * n, s.bytes * n};
}
/// The larger of each field of `a` and `b`.
constexpr workspace_size largest(const workspace_size& a, const workspace_size& b) noexcept {
  return {a.floats > b.floats ? a.floats : b.floats, a.indices > b.indices ? a.indices : b.indices,
          a.ints > b.ints ? a.ints : b.ints, a.bytes > b.bytes ? a.bytes : b.bytes};
}

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

/// @brief Scratch of a compile-time size, on the stack (static extents: nothing allocated).
template <std::size_t Floats, std::size_t Indices, std::size_t Ints, std::size_t Bytes>
struct stack_workspace {
  std::array<float, Floats> floats{};            ///< float scratch
  std::array<std::uint32_t, Indices> indices{};  ///< index scratch
  std::array<std::int32_t, Ints> ints{};         ///< integer residuals
  std::array<unsigned char, Bytes> bytes{};      ///< activations
  /// The view to pass to encode.
  workspace_view view() noexcept {
    return {span<float>(floats), span<std::uint32_t>(indices), span<std::int32_t>(ints), span<unsigned char>(bytes)};
  }
};

/// Encoders: free function templates over the store interface (see docs/design.md), which
/// rvq::quantizer delegates to. They check nothing: the quantizer validates inputs and scratch.
namespace encoders {

/// Residual bytes a worker's tile of rows may take (the tile shares the cache with one layer's codewords).
inline constexpr std::size_t tile_bytes = 256 * 1024;
/// Most rows tile_rows() gives for a store.
template <class Store>
inline constexpr std::size_t max_tile_rows = 32 * Store::block_rows;

/**
 * @brief Rows a worker greedy-encodes together, layer by layer, so that each layer's codewords
 * are fetched into cache once per tile rather than once per register block: a whole number of
 * kernel blocks whose residuals fit tile_bytes (one row for stores that search one vector at a
 * time, such as the static ones).
 */
template <class Store>
constexpr std::size_t tile_rows(std::size_t d) noexcept {
  const std::size_t br = Store::block_rows;
  if (br == 1) return 1;
  std::size_t blocks = tile_bytes / (sizeof(float) * br * (d ? d : 1));
  blocks = blocks < 1 ? 1 : (blocks > 32 ? 32 : blocks);
  return blocks * br;
}

/// Floats of scratch the beam selection of backend `Kernels` needs for width `beam`: group minima and the bound.
template <class Kernels>
constexpr std::size_t select_scratch(std::size_t beam) noexcept {
  return beam * Kernels::select_groups + beam + 1;
}

/// Scratch of greedy (`beam` 1, unless `beam_path`) or residual beam search for shape (d, l, k).
template <class Store, class Kernels>
constexpr workspace_size float_workspace(std::size_t beam, std::size_t d, std::size_t l, std::size_t k,
                                         bool beam_path = false) noexcept {
  const std::size_t tr = tile_rows<Store>(d);
  const workspace_size greedy{tr * d + tr, tr};
  if (beam <= 1 && !beam_path) return greedy;
  const workspace_size b{2 * beam * d + beam * k + select_scratch<Kernels>(beam) + 4 * beam, 2 * beam * l + 3 * beam};
  return largest(b, greedy);
}

/// Scratch of the table beam path: `<x, c>` for a block of rows, one score row per parent, beam state.
template <class Kernels, class Store>
constexpr workspace_size table_beam_workspace(const Store& s, std::size_t beam) noexcept {
  return {Store::block_rows * s.total_codewords() + (beam + 1) * s.max_codewords() + select_scratch<Kernels>(beam) +
              4 * beam,
          2 * beam * s.layers() + 3 * beam};
}

namespace detail {
template <class S, class = void>
struct has_dots : std::false_type {};
template <class S>
struct has_dots<S, std::void_t<decltype(std::declval<const S&>().dots(0, nullptr, 0, nullptr, 0))>> : std::true_type {};
template <class S, class = void>
struct has_argmin_tile : std::false_type {};
template <class S>
struct has_argmin_tile<S, std::void_t<decltype(std::declval<const S&>().shares_tiles()),
                                      decltype(std::declval<const S&>().argmin_tile(0, nullptr, 0, nullptr, nullptr))>>
    : std::true_type {};
}  // namespace detail

/// True when beam search of width `beam` assembles distances from the store's codebook
/// cross-product tables (stores that have them, B > 1, tables built).
template <class Store>
constexpr bool uses_beam_tables(const Store& s, std::size_t beam) noexcept {
  if constexpr (detail::has_dots<Store>::value)
    return beam > 1 && s.has_cross();
  else
    return (void)s, (void)beam, false;
}

/// Scratch of a float encode of width `beam` on store `s`, for single vectors and batches.
template <class Kernels, class Store>
constexpr workspace_size float_workspace_for(const Store& s, std::size_t beam) noexcept {
  const workspace_size w = float_workspace<Store, Kernels>(beam, s.dim(), s.layers(), s.max_codewords());
  return uses_beam_tables(s, beam) ? largest(w, table_beam_workspace<Kernels>(s, beam)) : w;
}

/// The figures of a beam search of width `beam` in `f`: scratch `w` in bytes, multiply-adds and
/// lookups for up to `beam` partial codes per layer (fewer while the product of the earlier
/// layers' K is smaller); with tables, `<x, c>` once per codeword and one table row per partial
/// code and earlier layer.
template <class KOf>
constexpr void add_beam_cost(std::size_t nl, KOf k_of, std::size_t d, std::size_t beam, bool tables,
                             const workspace_size& w, footprint_info& f) noexcept {
  f.scratch_bytes = w.floats * sizeof(float) + w.indices * sizeof(std::uint32_t);
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

using ::rvq::detail::copy_row;
using ::rvq::detail::prefetch_row;

}  // namespace encoders
}  // namespace rvq
