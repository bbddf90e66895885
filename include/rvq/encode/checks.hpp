/// @file checks.hpp
/// @brief The input checks of encode and decode, over any store's shape: they run before any
/// output is written, so a failed call leaves its outputs untouched.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../core/extents.hpp"
#include "../core/status.hpp"
#include "../detail/meta.hpp"

namespace rvq::encoders {

/// Shapes of one encode call on store `s`: a model, x of dim() values, layers() codes of a type
/// that holds every K, a beam width of 1 to the smallest K (integer stores: 1).
template <class Code, class Store>
status check_encode_shape(const Store& s, std::size_t x_len, std::size_t codes_len, std::size_t beam,
                          bool integer) noexcept {
  if (s.layers() == 0) return {errc::empty_input, msg::no_codebooks};
  if (x_len != s.dim()) return {errc::dimension_mismatch, "input vector length differs from the model dimension"};
  if (codes_len != s.layers()) return {errc::dimension_mismatch, msg::codes_length};
  if (s.max_codewords() > max_codewords_of<Code>())
    return {errc::too_many_codewords, "a layer has more codewords than the code type holds; use uint16 codes"};
  if (beam == 0 || beam > s.min_codewords()) return {errc::bad_beam, msg::bad_beam};
  if (integer && beam != 1)
    return {errc::unsupported, "integer elements encode greedily (beam 1); use an f32 model for beam search"};
  return {};
}

/// Row `row` of an input (d values) is finite.
inline status check_finite_row(const float* x, std::size_t d, std::size_t row) noexcept {
  if (::rvq::detail::first_non_finite(x, d) != d) return {errc::non_finite, "input contains NaN or Inf", row, "row"};
  return {};
}

/// Shapes of a decode of the first n layers on store `s`.
template <class Store>
status check_decode(const Store& s, std::size_t codes_len, std::size_t out_len, std::size_t n) noexcept {
  if (s.layers() == 0) return {errc::empty_input, msg::no_codebooks};
  if (n > s.layers()) return {errc::invalid_argument, "cannot decode more layers than the model has"};
  if (codes_len < n || codes_len > s.layers())
    return {errc::dimension_mismatch, "codes length must be between the decoded layers and the model's layers"};
  if (out_len != s.dim()) return {errc::dimension_mismatch, "output length differs from the model dimension"};
  return {};
}

/// The first n codes are below their layers' K (else code_out_of_range, where = the layer).
template <class Store, class Code>
status check_codes(const Store& s, const Code* codes, std::size_t n) noexcept {
  for (std::size_t l = 0; l < n; ++l)
    if (static_cast<std::size_t>(codes[l]) >= s.codewords(l))
      return {errc::code_out_of_range, msg::code_out_of_range, l, "layer"};
  return {};
}

}  // namespace rvq::encoders
