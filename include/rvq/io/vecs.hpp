/// @file vecs.hpp
/// @brief The ANN benchmark formats `.fvecs` (float32), `.bvecs` (uint8) and `.ivecs` (int32).
///
/// Each vector is a little-endian int32 dimension `d` followed by `d` values; every vector of a
/// file has the same `d`. Readers check the first dimension (1 to 2^24), that the file size is a
/// whole number of records, and that every record repeats the dimension, before allocating.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "file.hpp"
#include "npy.hpp"

namespace rvq::io {

namespace detail {
template <class T>
constexpr std::size_t vecs_itemsize() noexcept {
  static_assert(
      std::is_same<T, float>::value || std::is_same<T, std::uint8_t>::value || std::is_same<T, std::int32_t>::value,
      "rvq::io vecs files hold float (.fvecs), std::uint8_t (.bvecs) or std::int32_t (.ivecs)");
  return sizeof(T);
}
}  // namespace detail

/**
 * @brief Parse a `.fvecs` (T = float), `.bvecs` (T = std::uint8_t) or `.ivecs` (T = std::int32_t)
 * file held in memory into an N x d array.
 * @return io_error, corrupt_file with the byte offset (bad dimension, truncated record, a record
 *         whose dimension differs), empty_input for an empty file.
 */
template <class T>
status parse_vecs(const std::vector<unsigned char>& bytes, ndarray<T>& out) {
  constexpr std::size_t item = detail::vecs_itemsize<T>();
  if (bytes.empty()) return {errc::empty_input, "the file holds no vector"};
  if (bytes.size() < 4) return {errc::corrupt_file, "file too short for a vector's dimension", bytes.size(), "byte"};
  const std::uint32_t d32 = io::detail::get_u32le(bytes.data());
  if (d32 == 0 || d32 > (1u << 24)) return {errc::corrupt_file, "vector dimension out of range (1 to 2^24)", 0, "byte"};
  const std::size_t d = d32, record = 4 + d * item;
  if (bytes.size() % record != 0)
    return {errc::corrupt_file, "file size is not a whole number of records (truncated?)",
            bytes.size() / record * record, "byte"};
  const std::size_t n = bytes.size() / record;
  for (std::size_t i = 0; i < n; ++i)
    if (io::detail::get_u32le(bytes.data() + i * record) != d32)
      return {errc::corrupt_file, "a vector's dimension differs from the first one", i * record, "byte"};
  out.shape = {n, d};
  out.values.resize(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* p = bytes.data() + i * record + 4;
    for (std::size_t t = 0; t < d; ++t) {
      if constexpr (std::is_same<T, float>::value)
        out.values[i * d + t] = io::detail::get_f32le(p + 4 * t);
      else if constexpr (std::is_same<T, std::uint8_t>::value)
        out.values[i * d + t] = p[t];
      else
        out.values[i * d + t] = static_cast<std::int32_t>(io::detail::get_u32le(p + 4 * t));
    }
  }
  return {};
}

/// Read a `.fvecs` / `.bvecs` / `.ivecs` file (see parse_vecs() for the checks and errors).
template <class T>
status read_vecs(const std::string& path, ndarray<T>& out) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return parse_vecs(bytes, out);
}

/// Write N x d values as `.fvecs` / `.bvecs` / `.ivecs` (by T), atomically.
template <class T>
status write_vecs(const std::string& path, matrix_view<const T> x) {
  constexpr std::size_t item = detail::vecs_itemsize<T>();
  if (!x.valid()) return {errc::invalid_argument, msg::malformed_view};
  if (x.cols() == 0 || x.cols() > (std::size_t{1} << 24))
    return {errc::invalid_argument, "dimension out of range (1 to 2^24)"};
  atomic_writer w;
  RVQ_TRY(w.open(path));
  std::vector<unsigned char> rec(4 + x.cols() * item);
  io::detail::put_u32le(rec.data(), static_cast<std::uint32_t>(x.cols()));
  for (std::size_t i = 0; i < x.rows(); ++i) {
    for (std::size_t t = 0; t < x.cols(); ++t) {
      unsigned char* p = rec.data() + 4 + t * item;
      if constexpr (std::is_same<T, float>::value)
        io::detail::put_f32le(p, x(i, t));
      else if constexpr (std::is_same<T, std::uint8_t>::value)
        *p = x(i, t);
      else
        io::detail::put_u32le(p, static_cast<std::uint32_t>(x(i, t)));
    }
    w.write(rec.data(), rec.size());
  }
  return w.commit();
}

/// True when `path` ends with `suffix`.
inline bool has_suffix(const std::string& path, const char* suffix) {
  const std::string s = suffix;
  return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
}

/**
 * @brief Read vectors as float from `.npy` (float32, float16, int8, uint8, uint16, int32),
 * `.fvecs`, `.bvecs` or `.ivecs`, chosen by the file name's ending (`.npy` otherwise).
 */
inline status read_float_matrix(const std::string& path, ndarray<float>& out) {
  if (has_suffix(path, ".fvecs")) return read_vecs(path, out);
  if (has_suffix(path, ".bvecs") || has_suffix(path, ".ivecs")) {
    auto convert = [&](auto& in) {
      out.shape = in.shape;
      out.values.assign(in.values.begin(), in.values.end());
    };
    if (has_suffix(path, ".bvecs")) {
      ndarray<std::uint8_t> b;
      RVQ_TRY(read_vecs(path, b));
      convert(b);
    } else {
      ndarray<std::int32_t> iv;
      RVQ_TRY(read_vecs(path, iv));
      out.shape = iv.shape;
      out.values.resize(iv.values.size());
      for (std::size_t i = 0; i < iv.values.size(); ++i) out.values[i] = static_cast<float>(iv.values[i]);
    }
    return {};
  }
  return read_npy(path, out);
}

}  // namespace rvq::io
