/// @file extents.hpp
/// @brief Shapes: layers L, codewords per layer K, dimension D; each static or `dynamic_extent`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace rvq {

/// The one value that means "known at run time".
inline constexpr std::size_t dynamic_extent = std::numeric_limits<std::size_t>::max();

/**
 * @brief The shape of a quantizer: `L` layers of at most `K` codewords of dimension `D`.
 * @tparam L layers, @tparam K codewords per layer (upper bound; a layer may hold fewer),
 * @tparam D dimension. Either all three are static (firmware: no heap, sizes at compile time)
 * or all are `dynamic_extent` (desktop).
 */
template <std::size_t L, std::size_t K, std::size_t D>
struct extents {
  /// All three extents are compile-time constants.
  static constexpr bool is_static = L != dynamic_extent && K != dynamic_extent && D != dynamic_extent;
  /// All three extents are known only at run time.
  static constexpr bool is_dynamic = L == dynamic_extent && K == dynamic_extent && D == dynamic_extent;
  static_assert(is_static || is_dynamic,
                "rvq::extents: give all of L, K, D at compile time (firmware) or none "
                "(rvq::dynamic_extents); mixed extents are not supported");
  static_assert(is_dynamic || (L > 0 && K > 0 && D > 0), "rvq::extents: L, K and D must be positive");
  static_assert(is_dynamic || K <= 65536, "rvq::extents: K above 65536 does not fit the uint16 code type");
  static constexpr std::size_t layers = L;     ///< L, or dynamic_extent
  static constexpr std::size_t codewords = K;  ///< K, or dynamic_extent
  static constexpr std::size_t dim = D;        ///< D, or dynamic_extent
};

/// Every extent known at run time.
using dynamic_extents = extents<dynamic_extent, dynamic_extent, dynamic_extent>;

/// @brief The smallest unsigned type that holds codes 0..K-1: uint8 up to 256, uint16 up to 65536.
template <std::size_t K>
struct code_type_for {
  static_assert(K == dynamic_extent || K <= 65536, "rvq: K above 65536 codewords is not supported");
  using type = std::conditional_t<(K <= 256), std::uint8_t, std::uint16_t>;  ///< uint8_t or uint16_t
};
/// Dynamic K: the widest code type.
template <>
struct code_type_for<dynamic_extent> {
  using type = std::uint16_t;  ///< uint16_t
};
/// The code type for K (see code_type_for).
template <std::size_t K>
using code_type_for_t = typename code_type_for<K>::type;

/// Largest K a code type can address.
template <class Code>
constexpr std::size_t max_codewords_of() noexcept {
  static_assert(std::is_unsigned<Code>::value && sizeof(Code) <= 2, "rvq: codes are uint8_t or uint16_t");
  return std::size_t{std::numeric_limits<Code>::max()} + 1;
}

/// Bits needed for a code of a layer with K codewords: ceil(log2 K).
constexpr std::size_t code_bits(std::size_t k) noexcept {
  std::size_t b = 0;
  while ((std::size_t{1} << b) < k) ++b;
  return b;
}

}  // namespace rvq
