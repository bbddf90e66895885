/// @file footprint.hpp
/// @brief What a configuration costs: bytes of codebooks and constants, scratch, arithmetic.
#pragma once
#include <cstddef>

namespace rvq {

/// @brief Memory and arithmetic of a quantizer; `constexpr` when extents are static.
struct footprint_info {
  std::size_t codebook_bytes = 0;   ///< codeword values (flash on firmware)
  std::size_t constant_bytes = 0;   ///< per-codeword score constants and search layout copies
  std::size_t flash_bytes = 0;      ///< codebook_bytes + constant_bytes
  std::size_t scratch_bytes = 0;    ///< workspace of a greedy single-vector encode
  std::size_t macs_per_vector = 0;  ///< multiply-accumulates of an encode (greedy: sum over layers of K x D)
  /// Table lookups of an encode: beam search through the codebook cross-product tables adds one
  /// table row of K values per partial code and earlier layer instead of D multiply-adds.
  std::size_t lookups_per_vector = 0;
};

/// @brief Caller-provided scratch sizes for encode (see quantizer::workspace_for).
struct workspace_size {
  std::size_t floats = 0;   ///< float values
  std::size_t indices = 0;  ///< uint32 values
  std::size_t ints = 0;     ///< int32 values (integer elements: residuals on the fixed-point grid)
  std::size_t bytes = 0;    ///< bytes (integer elements: activations)
};

}  // namespace rvq
