/// @file limits.hpp
/// @brief The one set of shape limits: what rvq builds, writes and reads.
///
/// Every way a quantizer comes to exist checks these (quantizer::from_codebooks,
/// view_codebooks, from_quantized and from_product, so training, import, compression and
/// quantization), and the .rvq parser checks the same numbers before it allocates. Whatever rvq
/// writes, it can therefore read back.
#pragma once
#include <cstddef>
#include "status.hpp"

namespace rvq {

/// Most layers of a model (L).
inline constexpr std::size_t max_layers = 4096;
/// Most codewords of a layer (K): codes are at most uint16.
inline constexpr std::size_t max_codewords = 65536;
/// Largest dimension of a dense model (D).
inline constexpr std::size_t max_dim = std::size_t{1} << 24;
/// Most codewords of all layers together (sum of K): 2^26, which bounds the norm and code tables.
inline constexpr std::size_t max_total_codewords = std::size_t{1} << 26;

/**
 * @brief Checks a model's shape against the limits: 1 to max_layers layers, each K in 1 to
 * max_codewords, D in 1 to `dim_limit` (max_dim; pq/rpq pass product_max_dim), and at most
 * max_total_codewords codewords in all.
 * Errors: empty_input (no layers), invalid_argument (too many layers, a dimension past the limit, a
 * layer of K = 0, the total), dimension_mismatch (D = 0), too_many_codewords (K past the limit;
 * where = the layer).
 */
inline status check_shape(std::size_t layers, const std::size_t* k, std::size_t dim,
                          std::size_t dim_limit = max_dim) noexcept {
  if (layers == 0) return {errc::empty_input, "a model needs at least one layer"};
  if (layers > max_layers) return {errc::invalid_argument, msg::layers_out_of_range, layers, "layers"};
  if (dim == 0) return {errc::dimension_mismatch, msg::dim_out_of_range, dim, "dimensions"};
  if (dim > dim_limit) return {errc::invalid_argument, msg::dim_out_of_range, dim, "dimensions"};
  std::size_t total = 0;
  for (std::size_t l = 0; l < layers; ++l) {
    if (k[l] == 0) return {errc::invalid_argument, msg::k_out_of_range, l, "layer"};
    if (k[l] > max_codewords) return {errc::too_many_codewords, msg::k_out_of_range, l, "layer"};
    total += k[l];
  }
  if (total > max_total_codewords) return {errc::invalid_argument, msg::total_out_of_range, total, "codewords"};
  return {};
}

}  // namespace rvq
