/// @file npy.hpp
/// @brief NumPy `.npy` files, format versions 1.0 to 3.0: float32, float16, int8, uint8, uint16 and
/// int32 arrays in C order (data is read as float; codes as uint8/uint16).
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../detail/meta.hpp"
#include "file.hpp"

namespace rvq::io {

/// Element types rvq reads and writes in .npy files.
enum class npy_dtype : std::uint8_t { f32, u8, u16, f16, i8, i32, i64 };

/// Bytes of one element.
constexpr std::size_t npy_itemsize(npy_dtype t) noexcept {
  return t == npy_dtype::u8 || t == npy_dtype::i8     ? 1
         : t == npy_dtype::u16 || t == npy_dtype::f16 ? 2
         : t == npy_dtype::i64                        ? 8
                                                      : 4;
}

/// IEEE binary16 bits to float (exact).
inline float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // Inf, NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal half: normalize
    exp = 113;
    while (!(man & 0x400u)) {
      man <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

/// float to IEEE binary16 bits, rounding to nearest even (overflow to Inf).
inline std::uint16_t float_to_half(float f) noexcept {
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<std::uint16_t>(sign | 0x7c00u | (man ? 0x200u : 0u));
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 31) return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (e <= 0) {  // subnormal half or zero
    if (e < -10) return sign;
    const std::uint32_t m = man | 0x800000u;
    const int shift = 14 - e;
    std::uint32_t r = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return static_cast<std::uint16_t>(sign | r);
  }
  std::uint32_t r = (static_cast<std::uint32_t>(e) << 10) | (man >> 13);
  const std::uint32_t rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;  // a carry into the exponent is still right
  return static_cast<std::uint16_t>(sign | r);
}

/// What a .npy header says.
struct npy_header {
  npy_dtype dtype = npy_dtype::f32;  ///< element type
  std::vector<std::size_t> shape;    ///< extents, outermost first
  std::size_t data_offset = 0;       ///< byte where the array data starts
  std::size_t count = 0;             ///< product of the shape
};

/// @brief An n-dimensional array read from a file (C order).
template <class T>
struct ndarray {
  std::vector<std::size_t> shape;  ///< extents, outermost first
  std::vector<T> values;           ///< elements in C order
  /// First extent (1 for a 0-d array).
  std::size_t rows() const noexcept { return shape.empty() ? 1 : shape[0]; }
  /// Product of the extents after the first.
  std::size_t cols() const noexcept {
    std::size_t c = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) c *= shape[i];
    return c;
  }
  /// The array as rows() x cols().
  matrix_view<const T> view() const noexcept { return matrix_view<const T>(values.data(), rows(), cols()); }
};

namespace detail {

/// A small parser for the Python dict literal of a .npy header; every read is bounds-checked.
class npy_dict_parser {
 public:
  npy_dict_parser(const char* p, std::size_t n, std::size_t base) : p_(p), n_(n), base_(base) {}

  status parse(npy_header& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    std::string descr;
    bool fortran = false;
    skip_ws();
    if (!eat('{')) return fail("npy header is not a Python dict");
    for (;;) {
      skip_ws();
      if (eat('}')) break;
      std::string key;
      RVQ_TRY(parse_string(key));
      skip_ws();
      if (!eat(':')) return fail("npy header: ':' expected after a key");
      skip_ws();
      if (key == "descr") {
        RVQ_TRY(parse_string(descr));
        have_descr = true;
      } else if (key == "fortran_order") {
        if (match("True"))
          fortran = true;
        else if (match("False"))
          fortran = false;
        else
          return fail("npy header: fortran_order must be True or False");
        have_order = true;
      } else if (key == "shape") {
        RVQ_TRY(parse_shape(h.shape));
        have_shape = true;
      } else {
        return fail("npy header: unknown key");
      }
      skip_ws();
      if (eat(',')) continue;
      skip_ws();
      if (eat('}')) break;
      return fail("npy header: ',' or '}' expected");
    }
    if (!have_descr || !have_order || !have_shape) return fail("npy header lacks descr, fortran_order or shape");
    if (fortran) return {errc::unsupported, "Fortran-order .npy arrays are not supported (save with C order)"};
    if (descr == "<f4")
      h.dtype = npy_dtype::f32;
    else if (descr == "|u1" || descr == "<u1" || descr == "u1")
      h.dtype = npy_dtype::u8;
    else if (descr == "<u2")
      h.dtype = npy_dtype::u16;
    else if (descr == "<f2")
      h.dtype = npy_dtype::f16;
    else if (descr == "|i1" || descr == "<i1" || descr == "i1")
      h.dtype = npy_dtype::i8;
    else if (descr == "<i4")
      h.dtype = npy_dtype::i32;
    else if (descr == "<i8")
      h.dtype = npy_dtype::i64;
    else if (!descr.empty() && descr[0] == '>')
      return {errc::unsupported, "big-endian .npy arrays are not supported"};
    else if (descr == "|O" || descr == "O")
      return {errc::unsupported, "object arrays are not supported"};
    else
      return {errc::unsupported,
              "unsupported .npy dtype (rvq reads float32, float16, int8, uint8, uint16, int32, int64)"};
    return {};
  }

 private:
  status fail(const char* m) const { return {errc::corrupt_file, m, base_ + i_, "byte"}; }
  void skip_ws() {
    while (i_ < n_ && (p_[i_] == ' ' || p_[i_] == '\t' || p_[i_] == '\n' || p_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    if (i_ < n_ && p_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool match(const char* word) {
    std::size_t len = 0;
    while (word[len]) ++len;
    if (n_ - i_ < len) return false;
    for (std::size_t j = 0; j < len; ++j)
      if (p_[i_ + j] != word[j]) return false;
    i_ += len;
    return true;
  }
  status parse_string(std::string& out) {
    if (i_ >= n_ || (p_[i_] != '\'' && p_[i_] != '"')) return fail("npy header: quoted string expected");
    const char q = p_[i_++];
    const std::size_t start = i_;
    while (i_ < n_ && p_[i_] != q) ++i_;
    if (i_ >= n_) return fail("npy header: unterminated string");
    out.assign(p_ + start, i_ - start);
    ++i_;
    return {};
  }
  status parse_shape(std::vector<std::size_t>& shape) {
    shape.clear();
    if (!eat('(')) return fail("npy header: shape must be a tuple");
    for (;;) {
      skip_ws();
      if (eat(')')) break;
      if (i_ >= n_ || p_[i_] < '0' || p_[i_] > '9')
        return fail("npy header: shape entries must be non-negative integers");
      std::size_t v = 0;
      while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') {
        const std::size_t digit = static_cast<std::size_t>(p_[i_] - '0');
        if (v > (static_cast<std::size_t>(-1) - digit) / 10) return fail("npy header: shape entry too large");
        v = v * 10 + digit;
        ++i_;
      }
      if (i_ < n_ && p_[i_] == 'L') ++i_;  // Python 2 long suffix
      shape.push_back(v);
      if (shape.size() > 32) return fail("npy header: more than 32 dimensions");
      skip_ws();
      if (eat(',')) continue;
      skip_ws();
      if (eat(')')) break;
      return fail("npy header: ',' or ')' expected in shape");
    }
    return {};
  }

  const char* p_;
  std::size_t n_, base_, i_ = 0;
};

}  // namespace detail

/// The product of the non-zero extents an empty array (one with an extent of 0) may claim (2^16): no
/// bytes back them, and a reader may allocate per row (a (2^61, 0) array of zero-width codes).
inline constexpr std::size_t npy_empty_extent_limit = std::size_t{1} << 16;

/**
 * @brief Parse the header of a .npy file of `size` bytes whose first `have` bytes are in memory
 * (all of its header: npy_header_bytes() tells how many that is).
 * Checks the magic, version (1.0, 2.0, 3.0), dict, dtype, order, and that the file holds exactly
 * the bytes the shape needs (so nothing is allocated that the file cannot justify).
 * Errors: corrupt_file (where = byte offset), unsupported (dtype, order), unsupported_version.
 */
inline status parse_npy_header(const unsigned char* file, std::size_t have, std::size_t size, npy_header& h) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (have > size) have = size;
  if (size < 10 || have < 10) return {errc::corrupt_file, "file too short for a .npy header", size, "byte"};
  for (int i = 0; i < 6; ++i)
    if (file[i] != magic[i]) return {errc::corrupt_file, "not a .npy file (bad magic)", 0, "byte"};
  const unsigned major = file[6];
  std::size_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = std::size_t{file[8]} | std::size_t{file[9]} << 8;
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12 || have < 12) return {errc::corrupt_file, "file too short for a .npy v2 header", size, "byte"};
    header_len = io::detail::get_u32le(file + 8);
    prefix = 12;
  } else {
    return {errc::unsupported_version, "unknown .npy format version (rvq reads 1.0, 2.0, 3.0)", 6, "byte"};
  }
  if (header_len > size - prefix) return {errc::corrupt_file, "truncated .npy header", size, "byte"};
  if (header_len > have - prefix) return {errc::invalid_argument, "the .npy header is not all in memory", have, "byte"};
  detail::npy_dict_parser parser(reinterpret_cast<const char*>(file + prefix), header_len, prefix);
  RVQ_TRY(parser.parse(h));
  h.data_offset = prefix + header_len;
  std::size_t count = 1;
  for (std::size_t e : h.shape)
    if (!rvq::detail::checked_mul(count, e, count)) return {errc::corrupt_file, "npy shape overflows", prefix, "byte"};
  if (count == 0) {  // no data backs the other extents: bound them, since readers allocate per row
    std::size_t claimed = 1;
    for (std::size_t e : h.shape)
      if (e != 0 && (!rvq::detail::checked_mul(claimed, e, claimed) || claimed > npy_empty_extent_limit))
        return {errc::corrupt_file, "an empty npy array claims more than 65536 rows or columns", prefix, "byte"};
  }
  std::size_t bytes = 0;
  if (!rvq::detail::checked_mul(count, npy_itemsize(h.dtype), bytes))
    return {errc::corrupt_file, "npy shape overflows", prefix, "byte"};
  const std::size_t avail = size - h.data_offset;
  if (avail < bytes) return {errc::corrupt_file, "npy data shorter than its shape says (truncated file)", size, "byte"};
  if (avail > bytes)
    return {errc::corrupt_file, "npy file has bytes after the array data", h.data_offset + bytes, "byte"};
  h.count = count;
  return {};
}

/// parse_npy_header() of a whole file held in memory.
inline status parse_npy_header(const unsigned char* file, std::size_t size, npy_header& h) {
  return parse_npy_header(file, size, size, h);
}

/// Bytes of a .npy header that starts with `first` (`have` of them, at least 12): magic, version,
/// length and dict; 0 when they do not say (too short, or not version 1 to 3).
inline std::size_t npy_header_bytes(const unsigned char* first, std::size_t have) noexcept {
  if (have < 12) return 0;
  if (first[6] == 1) return 10 + (std::size_t{first[8]} | std::size_t{first[9]} << 8);
  if (first[6] == 2 || first[6] == 3) return 12 + std::size_t{io::detail::get_u32le(first + 8)};
  return 0;
}

namespace detail {
/// Converts `count` little-endian elements of type `t` at `p` into `out` (as read_npy() does).
template <class T>
void convert_npy(const unsigned char* p, npy_dtype t, std::size_t count, T* out) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    switch (t) {
      case npy_dtype::f32:
        out[i] = static_cast<T>(io::detail::get_f32le(p + 4 * i));
        break;
      case npy_dtype::u8:
        out[i] = static_cast<T>(p[i]);
        break;
      case npy_dtype::u16:
        out[i] = static_cast<T>(p[2 * i] | p[2 * i + 1] << 8);
        break;
      case npy_dtype::f16:
        out[i] = static_cast<T>(half_to_float(static_cast<std::uint16_t>(p[2 * i] | p[2 * i + 1] << 8)));
        break;
      case npy_dtype::i8:
        out[i] = static_cast<T>(static_cast<std::int8_t>(p[i]));
        break;
      case npy_dtype::i32:
        out[i] = static_cast<T>(static_cast<std::int32_t>(io::detail::get_u32le(p + 4 * i)));
        break;
      case npy_dtype::i64:
        out[i] = static_cast<T>(static_cast<std::int64_t>(io::detail::get_u64le(p + 8 * i)));
        break;
    }
  }
}

template <class T>
status decode_npy(const unsigned char* file, std::size_t size, ndarray<T>& out, bool as_data) {
  npy_header h;
  RVQ_TRY(parse_npy_header(file, size, h));
  const bool is_code = h.dtype == npy_dtype::u8 || h.dtype == npy_dtype::u16;
  if (!as_data && !is_code) return {errc::unsupported, "expected uint8 or uint16 codes"};
  out.shape = h.shape;
  out.values.resize(h.count);
  convert_npy(file + h.data_offset, h.dtype, h.count, out.values.data());
  return {};
}

template <class T>
status read_npy_as(const std::string& path, ndarray<T>& out, bool as_data) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return decode_npy(bytes.data(), bytes.size(), out, as_data);
}

inline const char* npy_descr(npy_dtype t) noexcept {
  switch (t) {
    case npy_dtype::f32:
      return "<f4";
    case npy_dtype::u8:
      return "|u1";
    case npy_dtype::u16:
      return "<u2";
    case npy_dtype::f16:
      return "<f2";
    case npy_dtype::i8:
      return "|i1";
    case npy_dtype::i32:
      return "<i4";
    case npy_dtype::i64:
      return "<i8";
  }
  return "?";
}

inline std::string npy_header_text(npy_dtype t, span<const std::size_t> shape) {
  std::string d = "{'descr': '";
  d += npy_descr(t);
  d += "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    d += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) d += ",";
    if (i + 1 < shape.size()) d += " ";
  }
  d += "), }";
  // Pad with spaces and a newline so that the data starts on a 64-byte boundary (version 1.0).
  const std::size_t total = 10 + d.size() + 1;
  d.append((64 - total % 64) % 64, ' ');
  d += '\n';
  return d;
}
}  // namespace detail

/// Decode a whole .npy file held in memory as float data (see read_npy()).
inline status parse_npy(const unsigned char* file, std::size_t size, ndarray<float>& out) {
  return detail::decode_npy(file, size, out, true);
}

/// Read an array as float data (any number of dimensions, C order): float32 as is; float16, int8,
/// uint8, uint16 exactly; int32 rounded to the nearest float above 2^24 in magnitude.
inline status read_npy(const std::string& path, ndarray<float>& out) { return detail::read_npy_as(path, out, true); }

/// Read a uint8 array (packed codes, raw bytes); other dtypes are refused.
inline status read_npy(const std::string& path, ndarray<std::uint8_t>& out) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  npy_header h;
  RVQ_TRY(parse_npy_header(bytes.data(), bytes.size(), h));
  if (h.dtype != npy_dtype::u8) return {errc::unsupported, "expected a uint8 array"};
  out.shape = h.shape;
  out.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(h.data_offset), bytes.end());
  return {};
}

/// Read uint8 or uint16 codes, widened to uint16.
inline status read_npy(const std::string& path, ndarray<std::uint16_t>& out) {
  return detail::read_npy_as(path, out, false);
}

namespace detail {
/// The .npy dtype of a C++ element type.
template <class T>
constexpr npy_dtype npy_type_of() noexcept {
  static_assert(std::is_same<T, float>::value || std::is_same<T, std::uint8_t>::value ||
                    std::is_same<T, std::uint16_t>::value || std::is_same<T, std::int8_t>::value ||
                    std::is_same<T, std::int32_t>::value || std::is_same<T, std::int64_t>::value,
                "rvq::io::write_npy: float, uint8_t, uint16_t, int8_t, int32_t or int64_t");
  if (std::is_same<T, float>::value) return npy_dtype::f32;
  if (std::is_same<T, std::uint8_t>::value) return npy_dtype::u8;
  if (std::is_same<T, std::uint16_t>::value) return npy_dtype::u16;
  if (std::is_same<T, std::int8_t>::value) return npy_dtype::i8;
  if (std::is_same<T, std::int64_t>::value) return npy_dtype::i64;
  return npy_dtype::i32;
}

/// Value `v` as the little-endian bytes of its .npy element at `out`.
template <class T>
void put_npy_value(unsigned char* out, T v) noexcept {
  if constexpr (std::is_same<T, float>::value) {
    io::detail::put_f32le(out, v);
  } else {
    const auto u = static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
    for (std::size_t b = 0; b < sizeof(T); ++b) out[b] = static_cast<unsigned char>(u >> (8 * b));
  }
}

/// `count` values of `data` as .npy elements into `out` (resized).
template <class T>
void put_npy_values(const T* data, std::size_t count, std::vector<unsigned char>& out) {
  out.resize(count * sizeof(T));
  for (std::size_t i = 0; i < count; ++i) put_npy_value(out.data() + i * sizeof(T), data[i]);
}

/// Everything before the data of a version 1.0 .npy file (magic, version, length, dict): its
/// length is the data's offset. Empty when the header would not fit version 1.0.
inline std::string npy_preamble(npy_dtype t, span<const std::size_t> shape) {
  const std::string header = npy_header_text(t, shape);
  if (header.size() > 65535) return {};
  const char pre[10] = {
      char(0x93), 'N', 'U', 'M', 'P', 'Y', char(1), char(0), char(header.size() & 0xff), char(header.size() >> 8)};
  return std::string(pre, sizeof pre) + header;
}

/// Writes header and elements; `put(bytes, i)` turns element i into little-endian bytes.
template <class Put>
status write_npy_with(const std::string& path, npy_dtype t, span<const std::size_t> shape, Put&& put) {
  std::size_t count = 1;
  for (std::size_t e : shape)
    if (!rvq::detail::checked_mul(count, e, count)) return {errc::invalid_argument, "array shape overflows"};
  const std::string preamble = npy_preamble(t, shape);
  if (preamble.empty()) return {errc::invalid_argument, "array has too many dimensions for a .npy v1 header"};
  atomic_writer w;
  RVQ_TRY(w.open(path));
  w.write(preamble.data(), preamble.size());
  const std::size_t item = npy_itemsize(t), chunk = 1 << 14;
  std::vector<unsigned char> buf;
  for (std::size_t i = 0; i < count; i += chunk) {
    const std::size_t n = count - i < chunk ? count - i : chunk;
    buf.resize(n * item);
    for (std::size_t j = 0; j < n; ++j) put(buf.data() + j * item, i + j);
    w.write(buf.data(), buf.size());
  }
  return w.commit();
}
}  // namespace detail

/**
 * @brief Write an array as .npy version 1.0, atomically (temporary file, then rename).
 * @tparam T float, std::uint8_t, std::uint16_t, std::int8_t, std::int32_t or std::int64_t
 */
template <class T>
status write_npy(const std::string& path, const T* data, span<const std::size_t> shape) {
  constexpr npy_dtype t = detail::npy_type_of<T>();
  return detail::write_npy_with(path, t, shape,
                                [&](unsigned char* out, std::size_t i) { detail::put_npy_value(out, data[i]); });
}

/// Write float values as a float16 .npy array (round to nearest even; beyond 65504: Inf).
inline status write_npy_f16(const std::string& path, const float* data, span<const std::size_t> shape) {
  return detail::write_npy_with(path, npy_dtype::f16, shape, [&](unsigned char* out, std::size_t i) {
    const std::uint16_t h = float_to_half(data[i]);
    out[0] = static_cast<unsigned char>(h & 0xff);
    out[1] = static_cast<unsigned char>(h >> 8);
  });
}

}  // namespace rvq::io
