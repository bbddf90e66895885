/// @file store_interface.hpp
/// @brief The interface every store shares, what rvq::quantizer and the encoders call; a storage
/// policy's traits name a type with these members (`storage_traits<S>::store<Element, Metric,
/// Simd, Extents>`), and nothing else needs to change for a new storage.
///
/// Every store:
/// - shape: `layers()`, `dim()`, `codewords(l)`, `max_codewords()`, `min_codewords()`;
/// - `status validate()`: the values it views or holds are usable;
/// - `add_codeword(l, c, out)`: out += codeword c of layer l (decode);
/// - footprint: `codebook_bytes()`, `aux_bytes()`, `scratch_bytes()` (beyond the residual),
///   `layer_macs(l)`, `layer_lookups(l)`; static extents also `static_layer_macs()`,
///   `static_layer_lookups()` and static byte counts.
///
/// A float store (elements whose element_traits say `is_integer = false`) adds, for greedy and beam
/// search: `block_rows` (rows per kernel call), `argmin(l, rows, n, idx, score)`,
/// `argmin_range(l, first, last, rows, n, idx, score)` with `range_granule()`,
/// `scores(l, rows, n, out, stride)`, `subtract_codeword(l, c, r)`, `prefetch_codeword(l, c)`,
/// `total_codewords()`, `has_cross()`; optionally `shares_tiles()` with `argmin_tile(...)` (a tile
/// of rows at once), `dots(...)`, `bias(l)`, `scale(l)`, `first_codeword(l)`, `cross(j, l, a)`
/// (beam search through cross-product tables), `expand(l, c, out)`, `codeword(l, c)` and
/// `data()`. Factories the quantizer forwards to, where present: `build(floats, k, dim, out)`,
/// `build_view(...)`, `build(quantized_codebooks, out)`, `build(product_codebooks, mode, out)`.
///
/// An integer store adds `tile_rows`, `block_bytes(d)`, `input_frac()`, `mode()`,
/// `activations(l, r, act)`, `argmin_range(l, act, asum, first, last, idx, score)`,
/// `search_block(l, rows, n, scratch, idx)` and `subtract(l, c, r)` (see encode/integer.hpp).
#pragma once
#include <cstddef>
#include <type_traits>
#include <utility>
#include "../core/footprint.hpp"
#include "../core/span.hpp"
#include <cstdint>

namespace rvq {
struct quantized_codebooks;
struct product_codebooks;
enum class product_search : std::uint8_t;

namespace detail {
template <class S, class = void>
struct builds_from_floats : std::false_type {};
template <class S>
struct builds_from_floats<S, std::void_t<decltype(S::build(span<const float>{}, span<const std::size_t>{},
                                                           std::size_t{}, std::declval<S&>()))>> : std::true_type {};
template <class S, class = void>
struct views_floats : std::false_type {};
template <class S>
struct views_floats<S, std::void_t<decltype(S::build_view(span<const float>{}, span<const std::size_t>{}, std::size_t{},
                                                          std::declval<S&>()))>> : std::true_type {};
template <class S, class Arg, class = void>
struct builds_from : std::false_type {};
template <class S, class Arg>
struct builds_from<S, Arg, std::void_t<decltype(S::build(std::declval<const Arg&>(), std::declval<S&>()))>>
    : std::true_type {};
template <class S, class = void>
struct builds_from_product : std::false_type {};
template <class S>
struct builds_from_product<S, std::void_t<decltype(S::build(std::declval<const product_codebooks&>(),
                                                            std::declval<product_search>(), std::declval<S&>()))>>
    : std::true_type {};
template <class S, class = void>
struct has_codeword : std::false_type {};
template <class S>
struct has_codeword<S, std::void_t<decltype(std::declval<const S&>().codeword(0, 0))>> : std::true_type {};
template <class S, class = void>
struct has_expand : std::false_type {};
template <class S>
struct has_expand<S, std::void_t<decltype(std::declval<const S&>().expand(0, 0, nullptr))>> : std::true_type {};
template <class S, class = void>
struct has_build_cross : std::false_type {};
template <class S>
struct has_build_cross<S, std::void_t<decltype(std::declval<S&>().build_cross(std::size_t{}))>> : std::true_type {};
}  // namespace detail

/// Memory and arithmetic of a greedy search of store `s`: its bytes, the residual (D 4-byte values)
/// plus the store's own scratch, and per layer its multiply-adds and lookups.
template <class Store>
constexpr footprint_info footprint_of(const Store& s) noexcept {
  footprint_info f;
  f.codebook_bytes = s.codebook_bytes();
  f.constant_bytes = s.aux_bytes();
  f.flash_bytes = f.codebook_bytes + f.constant_bytes;
  f.scratch_bytes = s.dim() * sizeof(float) + s.scratch_bytes();
  for (std::size_t l = 0; l < s.layers(); ++l) {
    f.macs_per_vector += s.layer_macs(l);
    f.lookups_per_vector += s.layer_lookups(l);
  }
  return f;
}

/// footprint_of() as a constant, for a store of static extents `E`.
template <class Store, class E>
constexpr footprint_info static_footprint_of() noexcept {
  footprint_info f;
  f.codebook_bytes = Store::codebook_bytes();
  f.constant_bytes = Store::aux_bytes();
  f.flash_bytes = f.codebook_bytes + f.constant_bytes;
  f.scratch_bytes = E::dim * sizeof(float) + Store::scratch_bytes();
  f.macs_per_vector = E::layers * Store::static_layer_macs();
  f.lookups_per_vector = E::layers * Store::static_layer_lookups();
  return f;
}

}  // namespace rvq
