/// @file binary.hpp
/// @brief The `binary` element: one bit per dimension, codeword `c = scale * (2 b - 1)`.
///
/// Searched with the Hamming metric: the residual's sign bits against each codeword's bits
/// (XOR and popcount, ties to the lowest index); the residual is then updated by `-c` on the
/// integer grid. Bits are packed little-end first, 8 per byte.
#pragma once
#include <cstdint>
#include "element_traits.hpp"

namespace rvq {

/// @ingroup element
/// @brief One bit per dimension, per-codeword (or coarser) scale; Hamming search.
struct binary {};

/// @ingroup element
/// @brief binary: bits packed 8 per byte, sign-bit activations, popcount distances.
template <>
struct element_traits<binary> : detail::integer_element_traits<element_id::binary, std::uint8_t, std::uint8_t> {
  using accumulator_type = std::int32_t;  ///< Hamming distances
};

}  // namespace rvq
