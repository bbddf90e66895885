/// @file mapped_model.hpp
/// @brief Zero-copy models: a `.rvq` file memory-mapped and searched in place (hosted builds).
///
/// rvq::io::map_model() maps an f32 model file read-only and builds a quantizer that views its
/// codewords where they lie in the mapping (quantizer::view_codebooks()): loading costs one pass
/// over the file (checksum and finiteness), the codewords take no heap memory, and processes that
/// map the same file share its pages. The search then runs on the row-major codewords, slower
/// for batches than a load_model() quantizer, which re-packs them for its kernels
/// (docs/format.md has the numbers).
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
#include <utility>
#include <vector>
#include "model_file.hpp"

namespace rvq::io {

/**
 * @brief An f32 model whose codewords stay in a memory-mapped `.rvq` file: the quantizer
 * (get()) views them in place. Movable, not copyable; the quantizer is valid while this object
 * lives. The file must not be truncated or rewritten in place while mapped (rvq's own saves
 * replace files by rename, which leaves existing mappings intact).
 * @tparam Config an f32 config with dense storage (dynamic extents)
 */
template <class Config>
class mapped_model {
  static_assert(std::is_same<typename Config::element, f32>::value &&
                    std::is_same<typename Config::storage, dense>::value,
                "rvq::io::mapped_model: f32 models with dense storage (load quantized models with load_model)");

 public:
  mapped_model() = default;  ///< nothing mapped: get() has no layers
  /// The quantizer over the mapped codewords.
  const quantizer<Config>& get() const noexcept { return q_; }
  /// The file's header.
  const model_info& info() const noexcept { return info_; }
  /// True when the codewords are memory-mapped (false on platforms without mmap: read into memory).
  bool mapped() const noexcept { return file_.mapped(); }
  /// The file's bytes, where the quantizer's codewords lie (at info().header_bytes).
  const mapped_file& file() const noexcept { return file_; }

 private:
  template <class C>
  friend status map_model(const std::string& path, mapped_model<C>& out, bool verify_checksum);
  mapped_file file_;
  model_info info_;
  quantizer<Config> q_;
};

namespace detail {
inline bool little_endian_floats() noexcept {
  const float one = 1.0f;
  unsigned char b[4];
  std::memcpy(b, &one, 4);
  return b[3] == 0x3f && b[0] == 0;
}
}  // namespace detail

/**
 * @brief Views the f32 model in the `.rvq` bytes [data, data + size) without copying its
 * codewords (see map_model()); `out` refers to those bytes, which the caller keeps alive and
 * unchanged. With `verify_checksum` the CRC-32 is checked (one pass over the bytes).
 * Errors: those of load_model_memory(); unsupported for quantized models (format version 2:
 * load them with load_model), for hosts that do not store floats little-endian, and for
 * codewords not 4-byte aligned in memory.
 */
template <class Config>
status view_model_memory(const unsigned char* data, std::size_t size, quantizer<Config>& out,
                         bool verify_checksum = true) {
  using q_t = quantizer<Config>;
  static_assert(!q_t::is_integer, "rvq::io::view_model_memory: f32 models (load quantized models with load_model)");
  if (!data) return {errc::corrupt_file, "file too short for an rvq model", 0, "byte"};
  model_info info;
  RVQ_TRY(detail::parse_model_header(data, size, info));
  if (info.pipeline)
    return {errc::unsupported, "pipelines (format version 4) cannot be viewed in place; use load_pipeline"};
  if (info.quantized)
    return {errc::unsupported, "quantized models (format version 2) cannot be viewed in place; use load_model"};
  if (info.product)
    return {errc::unsupported, "pq/rpq models (format version 3) cannot be viewed in place; use load_model"};
  if (verify_checksum) {
    const std::size_t body = info.header_bytes + info.payload_bytes;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (rvq::detail::crc32_update(0, data, body) != detail::get_u32le(data + body))
      return {errc::corrupt_file, "checksum mismatch: the file is damaged", body, "byte"};
#endif
  }
  if (info.metric != metric_traits<typename Config::metric>::id) return {errc::invalid_argument, msg::metric_differs};
  if (!detail::little_endian_floats())
    return {errc::unsupported, "this host does not store floats little-endian: use load_model"};
  const unsigned char* payload = data + info.header_bytes;
  if (reinterpret_cast<std::uintptr_t>(payload) % alignof(float) != 0)
    return {errc::unsupported, "the codewords are not aligned for float access in memory: use load_model"};
  auto q = q_t::view_codebooks(span<const float>(reinterpret_cast<const float*>(payload), info.payload_bytes / 4),
                               span<const std::size_t>(info.codewords), info.dim);
  if (!q) return q.error();
  out = std::move(q).value();
  return {};
}

/**
 * @brief Memory-maps the f32 model at `path` and views its codewords in place (zero copy).
 * @param path            a `.rvq` file of format version 1 (f32)
 * @param out             receives the mapping and the quantizer over it
 * @param verify_checksum check the CRC-32 (one pass over the file; default on)
 * @return io_error (cannot open or map), corrupt_file (where = byte offset), unsupported_version,
 * unsupported (quantized model), invalid_argument (another metric than Config's), non_finite.
 */
template <class Config>
status map_model(const std::string& path, mapped_model<Config>& out, bool verify_checksum = true) {
  mapped_model<Config> m;
  RVQ_TRY(m.file_.open(path));
  RVQ_TRY(view_model_memory(m.file_.data(), m.file_.size(), m.q_, verify_checksum));
  RVQ_TRY(detail::parse_model_header(m.file_.data(), m.file_.size(), m.info_));
  out = std::move(m);
  return {};
}

}  // namespace rvq::io
