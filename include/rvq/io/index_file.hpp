// clang-format off
/// @file index_file.hpp
/// @brief `.rvqi` files: a code index (rvq::code_index) with its model, versioned and
/// checksummed, written atomically; read back into the model's own type (rvq::io::visit_index).
///
/// Layout, little-endian, every section starting at a multiple of 8 bytes:
/// | bytes | field |
/// |---|---|
/// | 8 | magic `RVQINDEX` |
/// | 4, 4 | format version (1), header bytes (64) |
/// | 8 | N, vectors |
/// | 4, 4 | L, layers; bytes per code (1 or 2) |
/// | 4, 4 | search metric id (1 l2, 2 ip, 3 cos); norm encoding id (rvq::norm_encoding) |
/// | 4, 4, 4, 4 | flags (bit 0: ids stored; 1: inverted lists; 2: the ids are the caller's; 3: fast scan, whose 4-bit blocks are rebuilt from the codes on load); beam and ICM rounds of add(); reserved (0) |
/// | 8 | M, bytes of the model |
/// | M | the model: a whole `.rvq` file |
/// | N L c | codes, row-major (uint16 as two bytes, low first) |
/// | 4 m | m norm levels (float32; m = 256, 16 or 0 by the encoding) |
/// | | norms (norm_bytes(encoding, N)) |
/// | 8 N | ids (int64), when flag bit 0 is set |
/// | 4 | CRC-32 of every byte before it |
// clang-format on
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq/io/index_file.hpp reads and writes files: hosted builds only"
#endif
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>
#include "../detail/crc32.hpp"
#include "../search/code_index.hpp"
#include "file.hpp"
#include "model_file.hpp"
#include "visit_model.hpp"

namespace rvq::io {

/// Version of the `.rvqi` format this build writes and reads.
inline constexpr std::uint32_t index_format_version = 1;
/// First bytes of every `.rvqi` file.
inline constexpr unsigned char index_magic[8] = {'R', 'V', 'Q', 'I', 'N', 'D', 'E', 'X'};
/// Bytes of the fixed header.
inline constexpr std::size_t index_header_bytes = 64;

/// What the header of a `.rvqi` file says (rvq::io::read_index_info()).
struct index_info {
  std::uint64_t vectors = 0;                ///< N
  std::uint32_t layers = 0;                 ///< L
  std::uint32_t code_bytes = 0;             ///< bytes per code (1 or 2)
  metric_id metric = metric_id::l2;         ///< search metric
  norm_encoding norm = norm_encoding::f32;  ///< norm encoding
  bool ivf = false;                         ///< inverted lists (vectors grouped by first code)
  bool fast_scan = false;                   ///< fast scan (index_options::fast_scan)
  bool caller_ids = false;                  ///< the stored ids are the caller's
  bool has_ids = false;                     ///< ids stored
  std::uint32_t beam = 1;                   ///< beam width add() encodes with
  std::uint32_t icm_rounds = 0;             ///< ICM rounds add() encodes with
  std::uint64_t model_bytes = 0;            ///< bytes of the embedded `.rvq`
  std::uint64_t file_bytes = 0;             ///< bytes of the whole file
  std::uint64_t model_at = 0;               ///< offset of the embedded model
  std::uint64_t codes_at = 0;               ///< offset of the codes
  std::uint64_t levels_at = 0;              ///< offset of the norm levels
  std::uint64_t norms_at = 0;               ///< offset of the norms
  std::uint64_t ids_at = 0;                 ///< offset of the ids
};

namespace detail {
constexpr std::uint64_t pad8(std::uint64_t n) noexcept { return (n + 7) / 8 * 8; }

/// Adds b to a unless the sum overflows (then false).
constexpr bool add_to(std::uint64_t& a, std::uint64_t b) noexcept {
  if (a > ~std::uint64_t{0} - b) return false;
  a += b;
  return true;
}

/// Parses and checks the header of `p[0, size)` and lays out its sections; the sizes must add up
/// to the file's size exactly.
inline status parse_index_header(const unsigned char* p, std::size_t size, index_info& h) {
  if (size < index_header_bytes + 4 || std::memcmp(p, index_magic, 8) != 0)
    return {errc::corrupt_file, "not an rvq index file (.rvqi): bad magic"};
  const std::uint32_t version = get_u32le(p + 8);
  if (version != index_format_version)
    return {errc::unsupported_version, "unknown .rvqi format version (this build reads version 1)"};
  if (get_u32le(p + 12) != index_header_bytes) return {errc::corrupt_file, "bad .rvqi header size"};
  h.vectors = get_u64le(p + 16);
  h.layers = get_u32le(p + 24);
  h.code_bytes = get_u32le(p + 28);
  const std::uint32_t m = get_u32le(p + 32), e = get_u32le(p + 36), flags = get_u32le(p + 40);
  h.beam = get_u32le(p + 44);
  h.icm_rounds = get_u32le(p + 48);
  h.model_bytes = get_u64le(p + 56);
  if (h.layers == 0 || h.layers > max_layers) return {errc::corrupt_file, msg::layers_out_of_range};
  if (h.code_bytes != 1 && h.code_bytes != 2) return {errc::corrupt_file, "bytes per code must be 1 or 2"};
  if (m != static_cast<std::uint32_t>(metric_id::l2) && m != static_cast<std::uint32_t>(metric_id::ip) &&
      m != static_cast<std::uint32_t>(metric_id::cosine))
    return {errc::corrupt_file, "unknown search metric"};
  if (e < 1 || e > 7) return {errc::corrupt_file, "unknown norm encoding"};
  if (flags > 15 || get_u32le(p + 52) != 0) return {errc::corrupt_file, "unknown flags in the .rvqi header"};
  h.metric = static_cast<metric_id>(m);
  h.norm = static_cast<norm_encoding>(e);
  h.has_ids = flags & 1;
  h.ivf = (flags >> 1) & 1;
  h.caller_ids = (flags >> 2) & 1;
  h.fast_scan = (flags >> 3) & 1;
  h.file_bytes = size;
  // Every size is bounded by the file's own size before it is multiplied.
  if (h.vectors > size || h.model_bytes > size) return {errc::corrupt_file, "the header's sizes exceed the file"};
  std::uint64_t at = index_header_bytes;
  h.model_at = at;
  const std::uint64_t codes = h.vectors * h.layers * h.code_bytes;  // <= 2^32 * 4096 * 2 * 2^... checked below
  if (h.vectors && codes / h.vectors != std::uint64_t{h.layers} * h.code_bytes)
    return {errc::corrupt_file, "the code section's size overflows"};
  bool ok = add_to(at, pad8(h.model_bytes));
  h.codes_at = at;
  ok = ok && add_to(at, pad8(codes));
  h.levels_at = at;
  ok = ok && add_to(at, 4 * norm_levels(h.norm));
  h.norms_at = at;
  ok = ok && add_to(at, pad8(norm_bytes(h.norm, static_cast<std::size_t>(h.vectors))));
  h.ids_at = at;
  ok = ok && add_to(at, h.has_ids ? 8 * h.vectors : 0);
  ok = ok && add_to(at, 4);
  if (!ok || at != size)
    return {errc::corrupt_file, "the .rvqi file's size differs from what its header describes (truncated?)"};
  return {};
}

template <class Sink>
void put_padded(Sink& w, const void* data, std::size_t n) {
  static const unsigned char zeros[8] = {};
  w.write(data, n);
  if (n % 8) w.write(zeros, 8 - n % 8);
}

/// A sink that forwards to another and keeps the CRC-32 of what passed.
template <class Sink>
struct crc_sink {
  Sink& inner;            ///< the destination
  std::uint32_t crc = 0;  ///< CRC-32 so far
  /// Writes n bytes.
  void write(const void* data, std::size_t n) {
    crc = rvq::detail::crc32_update(crc, static_cast<const unsigned char*>(data), n);
    inner.write(data, n);
  }
};

template <class Q, class Sink>
status write_index(const code_index<Q>& ix, Sink& out) {
  if (ix.layers() == 0) return {errc::empty_input, "the index has no model"};
  std::vector<unsigned char> model;
  RVQ_TRY(model_bytes(ix.model(), model));
  crc_sink<Sink> w{out};
  unsigned char h[index_header_bytes] = {};
  std::memcpy(h, index_magic, 8);
  put_u32le(h + 8, index_format_version);
  put_u32le(h + 12, index_header_bytes);
  put_u64le(h + 16, ix.size());
  put_u32le(h + 24, static_cast<std::uint32_t>(ix.layers()));
  put_u32le(h + 28, ix.wide() ? 2 : 1);
  put_u32le(h + 32, static_cast<std::uint32_t>(ix.options().metric));
  put_u32le(h + 36, static_cast<std::uint32_t>(ix.options().norm));
  put_u32le(h + 40, (ix.ids().empty() ? 0u : 1u) | (ix.is_ivf() ? 2u : 0u) | (ix.has_ids() ? 4u : 0u) |
                        (ix.is_fast_scan() ? 8u : 0u));
  put_u32le(h + 44, static_cast<std::uint32_t>(ix.options().encode.beam));
  put_u32le(h + 48, static_cast<std::uint32_t>(ix.options().encode.icm_rounds));
  put_u64le(h + 56, model.size());
  w.write(h, sizeof h);
  put_padded(w, model.data(), model.size());
  if (ix.wide()) {
    std::vector<unsigned char> b(2 * ix.codes16().size());
    for (std::size_t i = 0; i < ix.codes16().size(); ++i)
      b[2 * i] = static_cast<unsigned char>(ix.codes16()[i] & 0xFF),
            b[2 * i + 1] = static_cast<unsigned char>(ix.codes16()[i] >> 8);
    put_padded(w, b.data(), b.size());
  } else if (ix.is_fast_scan()) {  // its codes are in its 4-bit blocks only
    std::vector<unsigned char> b(ix.size() * ix.layers());
    for (std::size_t i = 0; i < ix.size(); ++i)
      for (std::size_t l = 0; l < ix.layers(); ++l) b[i * ix.layers() + l] = static_cast<unsigned char>(ix.code(i, l));
    put_padded(w, b.data(), b.size());
  } else {
    put_padded(w, ix.codes8().data(), ix.codes8().size());
  }
  for (float v : ix.codec().levels()) {
    unsigned char b[4];
    put_f32le(b, v);
    w.write(b, 4);
  }
  if (ix.norm_data().size() == norm_bytes(ix.options().norm, ix.size())) {
    put_padded(w, ix.norm_data().data(), ix.norm_data().size());
  } else {  // a fast scan's 8- and 4-bit norms are in its blocks
    const std::vector<std::uint8_t> norms = ix.encoded_norms();
    put_padded(w, norms.data(), norms.size());
  }
  for (std::int64_t id : ix.ids()) {
    unsigned char b[8];
    put_u64le(b, static_cast<std::uint64_t>(id));
    w.write(b, 8);
  }
  unsigned char c[4];
  put_u32le(c, w.crc);
  out.write(c, 4);
  return {};
}
}  // namespace detail

/// Writes `ix` to `path` as a `.rvqi` file, atomically (a reader never sees half a file).
template <class Q>
status save_index(const code_index<Q>& ix, const std::string& path) {
  if (ix.layers() == 0) return {errc::empty_input, "the index has no model"};
  return detail::save_atomically(path, [&](atomic_writer& w) { return detail::write_index(ix, w); });
}

/// The bytes save_index() writes, into `out`.
template <class Q>
status index_bytes(const code_index<Q>& ix, std::vector<unsigned char>& out) {
  out.clear();
  detail::byte_sink sink{out};
  return detail::write_index(ix, sink);
}

/// The header of the `.rvqi` file held in [data, data + size) (sizes checked against its length,
/// CRC checked).
inline result<index_info> index_info_of(const unsigned char* data, std::size_t size) {
  index_info h;
  if (!data) return status{errc::corrupt_file, "not an rvq index file (.rvqi): bad magic"};
  RVQ_TRY(detail::parse_index_header(data, size, h));
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzzers skip it to reach the parsing behind it
  if (rvq::detail::crc32_update(0, data, size - 4) != detail::get_u32le(data + size - 4))
    return status{errc::corrupt_file, "the .rvqi file fails its checksum (damaged or truncated)"};
#endif
  return h;
}
/// The header of the `.rvqi` file held in `bytes` (sizes checked against its length, CRC checked).
inline result<index_info> index_info_of(const std::vector<unsigned char>& bytes) {
  return index_info_of(bytes.data(), bytes.size());
}

namespace detail {
inline bool little_endian_host() noexcept {
  const std::uint16_t one = 1;
  unsigned char b[2];
  std::memcpy(b, &one, 2);
  return b[0] == 1;
}

// visit_index_memory() of [data, data + size). With `backing` (which keeps those bytes alive and
// unchanged), the index views its codes, norms and ids where they lie, when the host reads them
// as they are stored (little-endian, aligned); else it copies them.
template <class P, class F>
status visit_index_bytes(const unsigned char* data, std::size_t size, std::shared_ptr<const void> backing, F&& f) {
  auto info = index_info_of(data, size);
  if (!info) return info.error();
  const index_info& h = *info;
  const std::vector<unsigned char> model(data + h.model_at, data + h.model_at + h.model_bytes);
  auto mi = detail::model_info_of(model);
  if (!mi) return mi.error();
  if (mi->pipeline) return {errc::unsupported, "the index's model is a pipeline; indexes hold single models"};
  status s{};
  auto load = [&](auto&& q) {
    using Q = std::decay_t<decltype(q)>;
    if constexpr (std::is_same<typename Q::element, binary>::value) {
      s = {errc::unsupported, "binary (hamming) models cannot be searched with float tables"};
    } else {
      if (q.layers() != h.layers) {
        s = {errc::corrupt_file, "the index's layer count differs from its model's"};
        return;
      }
      if ((q.max_codewords() > 256 ? 2u : 1u) != h.code_bytes) {
        s = {errc::corrupt_file, "the index's code width differs from what its model's K needs"};
        return;
      }
      index_options o;
      o.metric = h.metric;
      o.norm = h.norm;
      o.encode = {h.beam, h.icm_rounds};
      o.ivf = h.ivf;
      o.fast_scan = h.fast_scan;
      std::vector<float> levels(norm_levels(h.norm));
      for (std::size_t i = 0; i < levels.size(); ++i) levels[i] = detail::get_f32le(data + h.levels_at + 4 * i);
      const std::size_t n = static_cast<std::size_t>(h.vectors);
      // Sections start at multiples of 8 in the file: aligned wherever the file's bytes are.
      const bool in_place =
          backing && little_endian_host() && reinterpret_cast<std::uintptr_t>(data) % alignof(std::int64_t) == 0;
      std::vector<std::int64_t> ids;
      span<const std::int64_t> id_view;
      if (in_place && h.has_ids) {
        id_view = span<const std::int64_t>(reinterpret_cast<const std::int64_t*>(data + h.ids_at), n);
      } else {
        ids.resize(h.has_ids ? n : 0);
        for (std::size_t i = 0; i < ids.size(); ++i)
          ids[i] = static_cast<std::int64_t>(detail::get_u64le(data + h.ids_at + 8 * i));
        id_view = span<const std::int64_t>(ids);
      }
      auto ix = code_index<Q>::assemble(std::move(q), o, n,
                                        span<const std::uint8_t>(data + h.codes_at, n * h.layers * h.code_bytes),
                                        span<const std::uint8_t>(data + h.norms_at, norm_bytes(h.norm, n)),
                                        span<const float>(levels), id_view, h.caller_ids, in_place ? backing : nullptr);
      if (!ix) {
        s = ix.error();
        return;
      }
      f(std::move(ix).value());
    }
  };
  RVQ_TRY((detail::visit_as<detail::quantizer_of, P>(detail::model_source{nullptr, &model}, *mi, load)));
  return s;
}
}  // namespace detail

/**
 * @brief Loads the `.rvqi` file held in `bytes` and calls `f(index)` with an
 * rvq::code_index of its model's own type (as rvq::io::visit_model_memory() picks it; `P` is the
 * parallel policy). Every section is checked: sizes, checksum, the model, codes below each
 * layer's K, finite norms and levels, ids of 0 or more. f is not called on error.
 */
template <class P = sequential, class F>
status visit_index_memory(const std::vector<unsigned char>& bytes, F&& f) {
  return detail::visit_index_bytes<P>(bytes.data(), bytes.size(), nullptr, std::forward<F>(f));
}

/// visit_index_memory() of the `.rvqi` file at `path`.
template <class P = sequential, class F>
status visit_index(const std::string& path, F&& f) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return visit_index_memory<P>(bytes, std::forward<F>(f));
}

/**
 * @brief visit_index() of a memory-mapped `.rvqi` file, searched in place: the index views its
 * codes, norms and ids in the mapping (shared with every process that maps the file, and paged
 * in as the searches touch them) instead of copying them into memory; code_index::mapped() is
 * true. Loading still reads the file once (checksum, codes against K, finite norms). The index
 * keeps the mapping alive, copies and moves included; the first change (add, remove) copies the
 * sections into memory. The file must not be truncated or rewritten in place meanwhile (rvq's
 * own saves replace files by rename, which leaves a mapping intact). Where the platform has no
 * `mmap`, or the host is big-endian, the file is read into memory instead.
 */
template <class P = sequential, class F>
status visit_index_mapped(const std::string& path, F&& f) {
  auto file = std::make_shared<mapped_file>();
  RVQ_TRY(file->open(path));
  const unsigned char* data = file->data();
  const std::size_t size = file->size();
  std::shared_ptr<const void> backing;
  if (file->mapped()) backing = file;
  return detail::visit_index_bytes<P>(data, size, std::move(backing), std::forward<F>(f));
}

/// The header of the `.rvqi` file at `path` (its checksum checked).
inline result<index_info> read_index_info(const std::string& path) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return index_info_of(bytes);
}

namespace detail {
// The index a visit (visit_index() or visit_index_mapped() of a path) gives, if it is a
// code_index<Q>; unsupported when the file's model is of another type.
template <class Q, class Visit>
result<code_index<Q>> index_of_type(Visit&& visit) {
  result<code_index<Q>> out{status{errc::unsupported, "the index's model is of another type than the one asked for"}};
  const status s = visit([&](auto&& ix) {
    using I = std::decay_t<decltype(ix)>;
    if constexpr (std::is_same<I, code_index<Q>>::value) out = std::move(ix);
  });
  if (!s) return s;
  return out;
}
}  // namespace detail

/// Loads the `.rvqi` file at `path` into a code index of a known quantizer type `Q` (its model's
/// element, metric and storage must be Q's): io errors, corrupt_file, or unsupported for another type.
template <class Q>
result<code_index<Q>> load_index(const std::string& path) {
  return detail::index_of_type<Q>([&](auto&& f) { return visit_index<typename Q::parallel>(path, f); });
}

/// load_index() through a memory mapping, searched in place (see visit_index_mapped()).
template <class Q>
result<code_index<Q>> map_index(const std::string& path) {
  return detail::index_of_type<Q>([&](auto&& f) { return visit_index_mapped<typename Q::parallel>(path, f); });
}

}  // namespace rvq::io
