/// @file model_file.hpp
/// @brief The `.rvq` model file: versioned, little-endian, CRC-32 checked, saved atomically.
///
/// Layout of format version 1 (all integers little-endian; docs/format.md has the full spec):
/// | offset | bytes | field |
/// |---|---|---|
/// | 0 | 8 | magic `RVQMODEL` |
/// | 8 | 4 | format version (1) |
/// | 12 | 4 | header bytes H = 48 + 4 L |
/// | 16 | 4 | element id (1 = f32) |
/// | 20 | 4 | metric id (1 = l2, 2 = ip, 3 = cosine) |
/// | 24 | 4 | storage id (1 = dense) |
/// | 28 | 4 | layers L |
/// | 32 | 4 | dimension D |
/// | 36 | 4 | flags (0) |
/// | 40 | 8 | payload bytes P = 4 D sum(K) |
/// | 48 | 4 L | K of each layer |
/// | H | P | codewords, float32, layer after layer, row-major |
/// | H + P | 4 | CRC-32 of bytes [0, H + P) |
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstdint>
#include <string>
#include <vector>
#include "../detail/crc32.hpp"
#include "../quantizer.hpp"
#include "file.hpp"

namespace rvq::io {

/// The format version this build writes and reads.
inline constexpr std::uint32_t model_format_version = 1;
/// Limits a loader enforces before it allocates anything.
inline constexpr std::size_t model_max_layers = 4096;
/// Largest dimension a loader accepts.
inline constexpr std::size_t model_max_dim = std::size_t{1} << 24;

/// What a .rvq header says.
struct model_info {
  std::uint32_t version = 0;               ///< format version
  element_id element = element_id::f32;    ///< element type of the codewords
  metric_id metric = metric_id::l2;        ///< metric the model was built for
  storage_id storage = storage_id::dense;  ///< codebook storage
  std::size_t layers = 0;                  ///< L
  std::size_t dim = 0;                     ///< D
  std::vector<std::size_t> codewords;      ///< K of each layer
  std::size_t header_bytes = 0;            ///< bytes before the codewords
  std::size_t payload_bytes = 0;           ///< bytes of codewords
  std::size_t file_bytes = 0;              ///< size of the whole file
};

namespace detail {
inline constexpr unsigned char model_magic[8] = {'R', 'V', 'Q', 'M', 'O', 'D', 'E', 'L'};
inline constexpr std::size_t model_fixed_header = 48;

/// Validates the header and the overall size of a .rvq file held in memory (not the checksum).
inline status parse_model_header(const unsigned char* p, std::size_t size, model_info& info) {
  if (size < model_fixed_header + 4) return {errc::corrupt_file, "file too short for an rvq model", size, "byte"};
  for (int i = 0; i < 8; ++i)
    if (p[i] != model_magic[i]) return {errc::corrupt_file, "not an rvq model file (bad magic)", 0, "byte"};
  info.version = get_u32le(p + 8);
  if (info.version != model_format_version)
    return {errc::unsupported_version, "unknown rvq model format version (this build reads version 1)", 8, "byte"};
  const std::uint32_t header = get_u32le(p + 12);
  const std::uint32_t element = get_u32le(p + 16), metric = get_u32le(p + 20), storage = get_u32le(p + 24);
  info.layers = get_u32le(p + 28);
  info.dim = get_u32le(p + 32);
  const std::uint32_t flags = get_u32le(p + 36);
  const std::uint64_t payload = get_u64le(p + 40);
  if (element != static_cast<std::uint32_t>(element_id::f32))
    return {errc::corrupt_file, "unknown element type id", 16, "byte"};
  if (metric < 1 || metric > 3) return {errc::corrupt_file, "unknown metric id", 20, "byte"};
  if (storage != static_cast<std::uint32_t>(storage_id::dense))
    return {errc::corrupt_file, "unknown storage id", 24, "byte"};
  if (info.layers == 0 || info.layers > model_max_layers)
    return {errc::corrupt_file, "layer count out of range (1 to 4096)", 28, "byte"};
  if (info.dim == 0 || info.dim > model_max_dim)
    return {errc::corrupt_file, "dimension out of range (1 to 2^24)", 32, "byte"};
  if (flags != 0) return {errc::corrupt_file, "unknown flags", 36, "byte"};
  if (header != model_fixed_header + 4 * info.layers)
    return {errc::corrupt_file, "header size disagrees with the layer count", 12, "byte"};
  if (size < header + 4) return {errc::corrupt_file, "file shorter than its header", size, "byte"};
  info.element = static_cast<element_id>(element);
  info.metric = static_cast<metric_id>(metric);
  info.storage = static_cast<storage_id>(storage);
  info.codewords.resize(info.layers);
  std::uint64_t total = 0;
  for (std::size_t l = 0; l < info.layers; ++l) {
    const std::uint32_t k = get_u32le(p + model_fixed_header + 4 * l);
    if (k == 0 || k > 65536)
      return {errc::corrupt_file, "codewords per layer out of range (1 to 65536)", model_fixed_header + 4 * l, "byte"};
    info.codewords[l] = k;
    total += k;
  }
  const std::uint64_t expect = total * info.dim * 4;  // < 2^12 * 2^16 * 2^24 * 4: no overflow
  if (payload != expect) return {errc::corrupt_file, "payload size disagrees with the shape", 40, "byte"};
  if (size - header - 4 != payload)
    return {errc::corrupt_file, "file size disagrees with the header (truncated or padded)", size, "byte"};
  info.header_bytes = header;
  info.payload_bytes = static_cast<std::size_t>(payload);
  info.file_bytes = size;
  return {};
}
}  // namespace detail

/// Read and check the header of a .rvq file (shape, element, metric, storage), not its payload.
inline status read_model_info(const std::string& path, model_info& info) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return detail::parse_model_header(bytes.data(), bytes.size(), info);
}

/**
 * @brief Load a model, held in memory as the bytes of a whole .rvq file, whose element, metric
 * and storage match `Config`.
 * Errors: io_error, corrupt_file (bad magic, sizes, checksum; where = byte offset),
 * unsupported_version, invalid_argument (the file's metric differs from Config's), non_finite.
 */
template <class Config>
result<quantizer<Config>> load_model_memory(const std::vector<unsigned char>& bytes) {
  using q_t = quantizer<Config>;
  model_info info;
  RVQ_TRY(detail::parse_model_header(bytes.data(), bytes.size(), info));
  const std::size_t body = info.header_bytes + info.payload_bytes;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzzers skip it to reach the parsing behind it
  if (rvq::detail::crc32_update(0, bytes.data(), body) != detail::get_u32le(bytes.data() + body))
    return status{errc::corrupt_file, "checksum mismatch: the file is damaged", body, "byte"};
#endif
  if (info.metric != metric_traits<typename Config::metric>::id)
    return status{errc::invalid_argument, "the model's metric differs from the quantizer's Config::metric"};
  std::vector<float> cw(info.payload_bytes / 4);
  for (std::size_t i = 0; i < cw.size(); ++i) cw[i] = detail::get_f32le(bytes.data() + info.header_bytes + 4 * i);
  return q_t::from_codebooks(span<const float>(cw), span<const std::size_t>(info.codewords), info.dim);
}

/// load_model() from a path: reads the file, then load_model_memory().
template <class Config>
result<quantizer<Config>> load_model(const std::string& path) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return load_model_memory<Config>(bytes);
}

/// Save a model atomically (temporary file in the same folder, then rename).
template <class Config>
status save_model(const quantizer<Config>& q, const std::string& path) {
  if (q.layers() == 0) return {errc::empty_input, "the quantizer has no codebooks"};
  std::vector<unsigned char> head(detail::model_fixed_header + 4 * q.layers());
  std::size_t total = 0;
  for (std::size_t l = 0; l < q.layers(); ++l) total += q.codewords(l);
  const std::size_t floats = total * q.dim();
  for (int i = 0; i < 8; ++i) head[static_cast<std::size_t>(i)] = detail::model_magic[i];
  detail::put_u32le(&head[8], model_format_version);
  detail::put_u32le(&head[12], static_cast<std::uint32_t>(head.size()));
  detail::put_u32le(&head[16], static_cast<std::uint32_t>(element_traits<typename Config::element>::id));
  detail::put_u32le(&head[20], static_cast<std::uint32_t>(metric_traits<typename Config::metric>::id));
  detail::put_u32le(&head[24], static_cast<std::uint32_t>(storage_traits<typename Config::storage>::id));
  detail::put_u32le(&head[28], static_cast<std::uint32_t>(q.layers()));
  detail::put_u32le(&head[32], static_cast<std::uint32_t>(q.dim()));
  detail::put_u32le(&head[36], 0);
  detail::put_u64le(&head[40], static_cast<std::uint64_t>(floats) * 4);
  for (std::size_t l = 0; l < q.layers(); ++l)
    detail::put_u32le(&head[detail::model_fixed_header + 4 * l], static_cast<std::uint32_t>(q.codewords(l)));

  atomic_writer w;
  RVQ_TRY(w.open(path));
  w.write(head.data(), head.size());
  std::uint32_t crc = rvq::detail::crc32_update(0, head.data(), head.size());
  std::vector<unsigned char> buf;
  const float* cw = q.codebook_data();
  const std::size_t chunk = 1 << 14;
  for (std::size_t i = 0; i < floats; i += chunk) {
    const std::size_t n = floats - i < chunk ? floats - i : chunk;
    buf.resize(4 * n);
    for (std::size_t j = 0; j < n; ++j) detail::put_f32le(buf.data() + 4 * j, cw[i + j]);
    crc = rvq::detail::crc32_update(crc, buf.data(), buf.size());
    w.write(buf.data(), buf.size());
  }
  unsigned char tail[4];
  detail::put_u32le(tail, crc);
  w.write(tail, 4);
  return w.commit();
}

}  // namespace rvq::io
