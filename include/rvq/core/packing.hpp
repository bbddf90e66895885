/// @file packing.hpp
/// @brief Bit-packed codes: the L codes of a vector in `sum_l ceil(log2 K_l)` bits.
///
/// Bit order: the codes of one vector form a little-endian bit stream. Layer 0's code occupies
/// the lowest `b_0` bits (least significant bit first), layer 1's the next `b_1` bits, and so on;
/// bit `j` of the stream is bit `j % 8` of byte `j / 8`. Each vector starts on a byte boundary and
/// takes `ceil(sum_l b_l / 8)` bytes; unused high bits of its last byte are zero. A layer with
/// K = 1 takes no bits.
#pragma once
#include <cstddef>
#include <cstdint>
#include "extents.hpp"
#include "span.hpp"
#include "status.hpp"

namespace rvq {

/// Bits of one packed code vector for a quantizer `q` (`q.bits_per_vector()`).
template <class Q>
constexpr std::size_t packed_bits(const Q& q) noexcept {
  return q.bits_per_vector();
}

/// Bytes of one packed code vector for a quantizer `q`.
template <class Q>
constexpr std::size_t packed_bytes(const Q& q) noexcept {
  return (q.bits_per_vector() + 7) / 8;
}

/**
 * @brief Pack one vector's codes.
 * @param q     the quantizer whose layers' K set the bit widths
 * @param codes layers() codes
 * @param out   packed_bytes(q) bytes
 * @return dimension_mismatch, code_out_of_range (where = layer); `out` untouched on error.
 */
template <class Q, class Code>
status pack_codes(const Q& q, span<const Code> codes, span<std::uint8_t> out) noexcept {
  if (codes.size() != q.layers()) return {errc::dimension_mismatch, msg::codes_length};
  if (out.size() != packed_bytes(q))
    return {errc::dimension_mismatch, "packed buffer size differs from packed_bytes()"};
  for (std::size_t l = 0; l < q.layers(); ++l)
    if (static_cast<std::size_t>(codes[l]) >= q.codewords(l))
      return {errc::code_out_of_range, msg::code_out_of_range, l, "layer"};
  for (auto& b : out) b = 0;
  std::size_t bit = 0;
  for (std::size_t l = 0; l < q.layers(); ++l) {
    const std::size_t width = code_bits(q.codewords(l));
    const std::uint32_t v = static_cast<std::uint32_t>(codes[l]);
    for (std::size_t j = 0; j < width; ++j, ++bit)
      if ((v >> j) & 1u) out[bit / 8] = static_cast<std::uint8_t>(out[bit / 8] | (1u << (bit % 8)));
  }
  return {};
}

namespace detail {
/// Reads `width` bits starting at bit `bit` (least significant first) and advances `bit`.
inline std::uint32_t read_field(span<const std::uint8_t> in, std::size_t& bit, std::size_t width) noexcept {
  std::uint32_t v = 0;
  for (std::size_t j = 0; j < width; ++j, ++bit) v |= static_cast<std::uint32_t>((in[bit / 8] >> (bit % 8)) & 1u) << j;
  return v;
}

/// Checks one packed row (size, unused bits, each field below its K) without writing anything.
template <class Q>
status check_packed_row(const Q& q, span<const std::uint8_t> in) noexcept {
  if (in.size() != packed_bytes(q)) return {errc::dimension_mismatch, "packed buffer size differs from packed_bytes()"};
  for (std::size_t bit = q.bits_per_vector(); bit < 8 * in.size(); ++bit)
    if ((in[bit / 8] >> (bit % 8)) & 1u)
      return {errc::corrupt_file, "unused bits of packed codes are set", bit / 8, "byte"};
  std::size_t bit = 0;
  for (std::size_t l = 0; l < q.layers(); ++l)
    if (read_field(in, bit, code_bits(q.codewords(l))) >= q.codewords(l))
      return {errc::code_out_of_range, "packed code out of range", l, "layer"};
  return {};
}

/// Unpacks a row already checked by check_packed_row.
template <class Q, class Code>
void unpack_row(const Q& q, span<const std::uint8_t> in, Code* codes) noexcept {
  std::size_t bit = 0;
  for (std::size_t l = 0; l < q.layers(); ++l)
    codes[l] = static_cast<Code>(read_field(in, bit, code_bits(q.codewords(l))));
}
}  // namespace detail

/**
 * @brief Unpack one vector's codes.
 * @param q     the quantizer whose layers' K set the bit widths
 * @param in    packed_bytes(q) bytes
 * @param codes layers() outputs (uint8_t or uint16_t wide enough for K)
 * @return dimension_mismatch, too_many_codewords (code type), code_out_of_range (a field holds a
 *         value >= K, where = layer), corrupt_file (unused bits set); `codes` untouched on error.
 */
template <class Q, class Code>
status unpack_codes(const Q& q, span<const std::uint8_t> in, span<Code> codes) noexcept {
  if (codes.size() != q.layers()) return {errc::dimension_mismatch, msg::codes_length};
  if (q.max_codewords() > max_codewords_of<Code>())
    return {errc::too_many_codewords, "a layer has more codewords than the code type holds; use uint16 codes"};
  RVQ_TRY(detail::check_packed_row(q, in));
  detail::unpack_row(q, in, codes.data());
  return {};
}

/// Pack N rows of codes (N x layers()) into N x packed_bytes(q) bytes; every row is checked first.
template <class Q, class Code>
status pack_codes_batch(const Q& q, matrix_view<const Code> codes, matrix_view<std::uint8_t> out) noexcept {
  if (!codes.valid() || !out.valid()) return {errc::invalid_argument, msg::malformed_view};
  if (codes.rows() != out.rows()) return {errc::dimension_mismatch, "output must have one row per code row"};
  if (codes.cols() != q.layers()) return {errc::dimension_mismatch, msg::codes_length};
  if (out.cols() != packed_bytes(q)) return {errc::dimension_mismatch, "packed row size differs from packed_bytes()"};
  for (std::size_t i = 0; i < codes.rows(); ++i)
    for (std::size_t l = 0; l < q.layers(); ++l)
      if (static_cast<std::size_t>(codes(i, l)) >= q.codewords(l))
        return {errc::code_out_of_range, msg::code_out_of_range, i, "row"};
  for (std::size_t i = 0; i < codes.rows(); ++i) RVQ_TRY(pack_codes(q, codes.row_span(i), out.row_span(i)));
  return {};
}

/// Unpack N x packed_bytes(q) bytes into N rows of codes; every row is checked first.
template <class Q, class Code>
status unpack_codes_batch(const Q& q, matrix_view<const std::uint8_t> in, matrix_view<Code> codes) noexcept {
  if (!codes.valid() || !in.valid()) return {errc::invalid_argument, msg::malformed_view};
  if (codes.rows() != in.rows()) return {errc::dimension_mismatch, "output must have one row per packed row"};
  if (codes.cols() != q.layers()) return {errc::dimension_mismatch, msg::codes_length};
  if (in.cols() != packed_bytes(q)) return {errc::dimension_mismatch, "packed row size differs from packed_bytes()"};
  if (q.max_codewords() > max_codewords_of<Code>())
    return {errc::too_many_codewords, "a layer has more codewords than the code type holds; use uint16 codes"};
  for (std::size_t i = 0; i < in.rows(); ++i) {
    const status s = detail::check_packed_row(q, in.row_span(i));
    if (!s) return {s.code(), s.message(), i, "row"};
  }
  for (std::size_t i = 0; i < in.rows(); ++i) detail::unpack_row(q, in.row_span(i), codes.row(i));
  return {};
}

}  // namespace rvq
