/// @file product_codebooks.hpp
/// @brief rvq::product_codebooks: codewords assembled from sub-codebooks, the data of the `pq` and
/// `rpq` storages (what files hold and rvq::compress() makes).
///
/// Codeword `c` of layer `l` is the concatenation over sub-spaces `m < M` of the sub-codeword
/// `S[set(l)][m][idx(l, m, c)]` of dimension `D / M`, where `set(l)` is `l` (one set of
/// sub-codebooks per layer) or 0 (`shared`: one set for all layers), and the indices of `2^b`
/// entries are stored (uint8, `[layer][m][c]`) or regenerated from a 64-bit seed (seeded_index()).
/// Sub-codebook values are float32, or int8 with one float scale per set and sub-space.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../config.hpp"
#include "../core/status.hpp"
#include "../detail/meta.hpp"
#include "../detail/random.hpp"
#include "../element/element_traits.hpp"
#include "storage_traits.hpp"
#if !RVQ_NO_HEAP
#include <vector>
#endif

namespace rvq {

/**
 * @ingroup storage
 * @brief Index of sub-codeword `m` of codeword `c` of layer `l` in a seeded product codebook: the
 * top `bits` bits of splitmix64 of `seed XOR (((l << 32) | (m << 16) | c) * 0xD1B54A32D192ED03)`.
 * A counter-based generator: any index is computed on its own, identically on every target, so a
 * firmware regenerates indices as it needs them and stores none.
 */
constexpr std::uint8_t seeded_index(std::uint64_t seed, std::size_t l, std::size_t m, std::size_t c,
                                    unsigned bits) noexcept {
  const std::uint64_t counter =
      (static_cast<std::uint64_t>(l) << 32) | (static_cast<std::uint64_t>(m) << 16) | static_cast<std::uint64_t>(c);
  std::uint64_t state = seed ^ (counter * 0xD1B54A32D192ED03ull);
  return static_cast<std::uint8_t>(detail::splitmix64(state) >> (64 - bits));
}

/// @ingroup storage
/// Largest codeword dimension the product storages accept (their search tiles live on the stack).
inline constexpr std::size_t product_max_dim = 16384;

#if !RVQ_NO_HEAP
/// @ingroup storage
/// @brief Codebooks held as sub-codebooks and indices (see the file comment for the layout).
struct product_codebooks {
  storage_id kind = storage_id::pq;      ///< storage the model was made for: pq or rpq
  element_id element = element_id::f32;  ///< sub-codebook values: f32 or int8
  std::size_t dim = 0;                   ///< D
  std::vector<std::size_t> k;            ///< K of each layer (at most 65536)
  std::size_t subspaces = 0;             ///< M (divides D)
  unsigned bits = 8;                     ///< b: 2^b entries per sub-codebook (1 to 8)
  bool shared = false;                   ///< one set of sub-codebooks for every layer
  bool seeded = false;                   ///< indices regenerated from `seed`, none stored
  std::uint64_t seed = 0;                ///< seed of seeded_index() (seeded models)
  /// f32: sets x M x 2^b x D/M values. int8: the same count of int8 values in `qvalues`.
  std::vector<float> values;
  std::vector<std::int8_t> qvalues;   ///< int8 sub-codebook values (element int8)
  std::vector<float> scales;          ///< int8: one per set and sub-space (value = scale * q)
  std::vector<std::uint8_t> indices;  ///< stored indices, layer after layer, each `[m][c]` (M x K_l)

  std::size_t layers() const noexcept { return k.size(); }                          ///< L
  std::size_t sub_dim() const noexcept { return subspaces ? dim / subspaces : 0; }  ///< D / M
  std::size_t entries() const noexcept { return std::size_t{1} << bits; }           ///< 2^b
  std::size_t sets() const noexcept { return shared ? 1 : layers(); }               ///< sets of sub-codebooks
  std::size_t set_of(std::size_t l) const noexcept { return shared ? 0 : l; }       ///< set layer l uses
  /// Sub-codebook values of all sets: sets() x M x 2^b x D/M.
  std::size_t value_count() const noexcept { return sets() * subspaces * entries() * sub_dim(); }
  /// Offset of layer l's stored indices.
  std::size_t index_offset(std::size_t l) const noexcept {
    std::size_t o = 0;
    for (std::size_t j = 0; j < l; ++j) o += subspaces * k[j];
    return o;
  }
  /// Index of sub-codeword m of codeword c of layer l.
  std::uint8_t index(std::size_t l, std::size_t m, std::size_t c) const noexcept {
    return seeded ? seeded_index(seed, l, m, c, bits) : indices[index_offset(l) + m * k[l] + c];
  }
  /// Value t of entry j of sub-codebook m of set s.
  float value(std::size_t s, std::size_t m, std::size_t j, std::size_t t) const noexcept {
    const std::size_t i = ((s * subspaces + m) * entries() + j) * sub_dim() + t;
    return element == element_id::int8 ? scales[s * subspaces + m] * static_cast<float>(qvalues[i]) : values[i];
  }
  /// Codeword c of layer l, D values, into out.
  void expand(std::size_t l, std::size_t c, float* out) const noexcept {
    const std::size_t sd = sub_dim(), s = set_of(l);
    for (std::size_t m = 0; m < subspaces; ++m) {
      const std::size_t j = index(l, m, c);
      for (std::size_t t = 0; t < sd; ++t) out[m * sd + t] = value(s, m, j, t);
    }
  }
  /// Every codeword, layer after layer, row-major (`sum(K) x D` floats; the dense equivalent).
  std::vector<float> expand_all() const {
    std::size_t total = 0;
    for (std::size_t kl : k) total += kl;
    std::vector<float> out(total * dim);
    std::size_t row = 0;
    for (std::size_t l = 0; l < layers(); ++l)
      for (std::size_t c = 0; c < k[l]; ++c, ++row) expand(l, c, out.data() + row * dim);
    return out;
  }
  /// Bytes of the stored index table (0 when seeded).
  std::size_t index_bytes() const noexcept { return seeded ? 0 : index_offset(layers()); }
  /// Bytes of the sub-codebooks (values and int8 scales).
  std::size_t sub_codebook_bytes() const noexcept {
    return element == element_id::int8 ? value_count() + 4 * sets() * subspaces : 4 * value_count();
  }
  /// Bytes the model stores: sub-codebooks, scales and indices (what a file payload or flash holds).
  std::size_t stored_bytes() const noexcept { return sub_codebook_bytes() + index_bytes(); }

  /// Checks shape, sizes and values; the message names the first problem.
  status validate() const {
    if (kind != storage_id::pq && kind != storage_id::rpq)
      return {errc::invalid_argument, "product codebooks are of the pq or rpq storage"};
    if (element != element_id::f32 && element != element_id::int8)
      return {errc::invalid_argument, "sub-codebook values are f32 or int8"};
    if (k.empty()) return {errc::empty_input, "a model needs at least one layer"};
    if (dim == 0 || dim > product_max_dim)
      return {errc::dimension_mismatch, "the codeword dimension must be between 1 and 16384 for pq/rpq"};
    if (subspaces == 0 || dim % subspaces != 0)
      return {errc::invalid_argument, "the number of sub-spaces M must divide the dimension D"};
    if (bits < 1 || bits > 8) return {errc::invalid_argument, "sub-codebook bits must be between 1 and 8"};
    if (subspaces > 65535) return {errc::invalid_argument, "at most 65535 sub-spaces"};
    if (layers() > 4096) return {errc::invalid_argument, "at most 4096 layers"};
    if (kind == storage_id::pq && seeded) return {errc::invalid_argument, "pq indices are stored; seeded is rpq"};
    for (std::size_t l = 0; l < layers(); ++l)
      if (k[l] == 0 || k[l] > 65536) return {errc::too_many_codewords, msg::k_out_of_range, l, "layer"};
    const std::size_t n = value_count();
    if (element == element_id::f32) {
      if (values.size() != n || !qvalues.empty() || !scales.empty())
        return {errc::dimension_mismatch, "sub-codebook value count differs from sets x M x 2^b x D/M"};
      const std::size_t bad = detail::first_non_finite(values.data(), n);
      if (bad != n) return {errc::non_finite, msg::sub_codebook_non_finite, bad, "value"};
    } else {
      if (qvalues.size() != n || !values.empty() || scales.size() != sets() * subspaces)
        return {errc::dimension_mismatch, "int8 sub-codebooks need sets x M x 2^b x D/M values and sets x M scales"};
      const std::size_t bad = detail::first_non_finite(scales.data(), scales.size());
      if (bad != scales.size()) return {errc::non_finite, "sub-codebook scale is NaN or Inf", bad, "scale"};
    }
    if (seeded) {
      if (!indices.empty()) return {errc::invalid_argument, "a seeded model stores no indices"};
    } else {
      if (indices.size() != index_offset(layers()))
        return {errc::dimension_mismatch, "index table size differs from M x sum(K)"};
      for (std::size_t i = 0; i < indices.size(); ++i)
        if (indices[i] >= entries()) return {errc::code_out_of_range, "sub-codeword index not below 2^b", i, "index"};
    }
    return {};
  }
};
#endif

}  // namespace rvq
