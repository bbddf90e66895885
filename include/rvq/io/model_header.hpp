/// @file model_header.hpp
/// @brief The header of a `.rvq` model file: one struct, one writer, one parser.
///
/// Every single-model file (format versions 1 to 3) starts with the same 48 bytes and K list;
/// what follows depends on the model's element and storage ids, and the version names that
/// layout (docs/format.md has the full spec):
/// | version | element | storage | after the K list |
/// |---|---|---|---|
/// | 1 | f32 | dense | the codewords, float32 |
/// | 2 | any but f32 | dense | quantization section, then the packed values |
/// | 3 | f32 or int8 | pq, rpq | product section, then sub-codebook values and indices |
///
/// The version is therefore not a second "kind" field: the parser reads the element and storage
/// ids, derives the layout from them, and refuses a file whose version disagrees. A new version
/// number is only given to a new layout. Version 4 (a pipeline) has its own 32-byte header and
/// embeds complete version 1 to 3 files (model_file.hpp).
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstdint>
#include <string>
#include <vector>
#include "../core/limits.hpp"
#include "../core/messages.hpp"
#include "../element/quantized.hpp"
#include "../metric/metric_traits.hpp"
#include "../storage/product_codebooks.hpp"
#include "file.hpp"

namespace rvq::io {

/// Format version 1: f32 dense models.
inline constexpr std::uint32_t model_format_version = 1;
/// Format version 2: dense models of every other element (quantization section).
inline constexpr std::uint32_t quantized_format_version = 2;
/// Format version 3: pq/rpq models (product section).
inline constexpr std::uint32_t product_format_version = 3;
/// Format version 4: pipelines (rvq::pipeline: projections around quantizers).
inline constexpr std::uint32_t pipeline_format_version = 4;
/// Limits a loader enforces before it allocates anything: rvq::max_layers (core/limits.hpp).
inline constexpr std::size_t model_max_layers = max_layers;
/// Largest dimension a loader accepts: rvq::max_dim.
inline constexpr std::size_t model_max_dim = max_dim;

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
  bool quantized = false;                  ///< format version 2: quantization section present
  bool product = false;                    ///< format version 3: a pq/rpq model
  std::size_t subspaces = 0;               ///< pq/rpq: M
  unsigned bits = 0;                       ///< pq/rpq: bits per sub-codeword index
  bool seeded = false;                     ///< pq/rpq: indices regenerated from the seed
  bool shared = false;                     ///< pq/rpq: one set of sub-codebooks for all layers
  bool pipeline = false;                   ///< format version 4: stages with projections
  std::size_t stages = 0;                  ///< pipeline: number of stages
  std::size_t projections = 0;             ///< pipeline: number of projections
  std::size_t projection_bytes = 0;  ///< pipeline: file bytes of projection weights (rpq: embedded files) and biases
};

/// The format version of the layout that holds a model of this element and storage.
constexpr std::uint32_t layout_version(element_id e, storage_id s) noexcept {
  return s != storage_id::dense ? product_format_version
         : e != element_id::f32 ? quantized_format_version
                                : model_format_version;
}

/// A loaded model may take this many bytes of memory whatever its file's size (see memory_bound()).
inline constexpr std::uint64_t load_memory_floor = std::uint64_t{64} << 20;
/// ... and this many bytes of memory per byte of its file.
inline constexpr std::uint64_t load_memory_ratio = 1024;

/// The most memory loading a file of `file_bytes` may take beyond the file itself:
/// max(64 MiB, 1024 x file_bytes). Files that would need more are refused before anything is
/// allocated (a seeded rpq header can claim a codebook far larger than its file; docs/format.md).
constexpr std::uint64_t memory_bound(std::uint64_t file_bytes) noexcept {
  return file_bytes * load_memory_ratio > load_memory_floor ? file_bytes * load_memory_ratio : load_memory_floor;
}

namespace detail {
inline constexpr unsigned char model_magic[8] = {'R', 'V', 'Q', 'M', 'O', 'D', 'E', 'L'};
inline constexpr std::size_t model_fixed_header = 48;

/// Every field of a version 1, 2 or 3 header, as the file holds it.
struct model_header {
  std::uint32_t version = 0;               ///< layout_version(element, storage) when written
  element_id element = element_id::f32;    ///< element id
  metric_id metric = metric_id::l2;        ///< metric id
  storage_id storage = storage_id::dense;  ///< storage id
  std::size_t dim = 0;                     ///< D
  std::vector<std::size_t> k;              ///< K of each layer
  std::uint64_t payload = 0;               ///< bytes between the header and the CRC
  /// Version 2: the quantization section (scales and zeros empty for f16/bf16).
  struct quantization {
    granularity group = granularity::tensor;  ///< scale groups
    bool symmetric = true;                    ///< zero points all 0
    std::int32_t input_frac = 0;              ///< fixed point: fraction bits of the input
    rounding mode = rounding::half_up;        ///< rounding of every shift
    std::vector<std::int32_t> act_shift;      ///< per layer
    std::vector<float> scales;                ///< per group
    std::vector<std::int32_t> zeros;          ///< per group
  } quant;                                    ///< version 2 only
  /// Version 3: the product section.
  struct product {
    std::size_t subspaces = 0;  ///< M
    unsigned bits = 0;          ///< b
    bool seeded = false;        ///< indices regenerated from the seed
    bool shared = false;        ///< one set of sub-codebooks for all layers
    std::uint64_t seed = 0;     ///< rpq seed
    std::vector<float> scales;  ///< int8 sub-codebooks: per set and sub-space
  } prod;                       ///< version 3 only

  std::size_t layers() const noexcept { return k.size(); }
  /// Sum of K over the layers.
  std::uint64_t total_codewords() const noexcept {
    std::uint64_t t = 0;
    for (std::size_t x : k) t += x;
    return t;
  }
  /// Bytes before the payload.
  std::size_t bytes() const noexcept {
    const std::size_t klist = model_fixed_header + 4 * k.size();
    if (version == quantized_format_version) return klist + 24 + 4 * k.size() + 8 * quant.scales.size();
    if (version == product_format_version) return klist + 24 + 4 * prod.scales.size();
    return klist;
  }
};

/// The header's bytes (bytes() of them).
inline std::vector<unsigned char> write_header(const model_header& h) {
  const std::size_t nl = h.layers(), klist = model_fixed_header + 4 * nl;
  std::vector<unsigned char> out(h.bytes(), 0);
  unsigned char* b = out.data();
  for (int i = 0; i < 8; ++i) b[i] = model_magic[i];
  put_u32le(b + 8, h.version);
  put_u32le(b + 12, static_cast<std::uint32_t>(out.size()));
  put_u32le(b + 16, static_cast<std::uint32_t>(h.element));
  put_u32le(b + 20, static_cast<std::uint32_t>(h.metric));
  put_u32le(b + 24, static_cast<std::uint32_t>(h.storage));
  put_u32le(b + 28, static_cast<std::uint32_t>(nl));
  put_u32le(b + 32, static_cast<std::uint32_t>(h.dim));
  put_u32le(b + 36, 0);  // flags
  put_u64le(b + 40, h.payload);
  for (std::size_t l = 0; l < nl; ++l) put_u32le(b + model_fixed_header + 4 * l, static_cast<std::uint32_t>(h.k[l]));
  if (h.version == quantized_format_version) {
    const auto& q = h.quant;
    const std::size_t groups = q.scales.size();
    put_u32le(b + klist, static_cast<std::uint32_t>(q.group));
    put_u32le(b + klist + 4, q.symmetric ? 1u : 0u);
    put_u32le(b + klist + 8, static_cast<std::uint32_t>(q.input_frac));
    put_u32le(b + klist + 12, static_cast<std::uint32_t>(q.mode));
    for (std::size_t l = 0; l < nl; ++l)
      put_u32le(b + klist + 16 + 4 * l, static_cast<std::uint32_t>(q.act_shift.empty() ? 0 : q.act_shift[l]));
    const std::size_t g0 = klist + 16 + 4 * nl;
    put_u64le(b + g0, groups);
    for (std::size_t g = 0; g < groups; ++g) {
      put_f32le(b + g0 + 8 + 4 * g, q.scales[g]);
      put_u32le(b + g0 + 8 + 4 * groups + 4 * g, static_cast<std::uint32_t>(q.zeros[g]));
    }
  } else if (h.version == product_format_version) {
    const auto& p = h.prod;
    put_u32le(b + klist, static_cast<std::uint32_t>(p.subspaces));
    put_u32le(b + klist + 4, p.bits);
    put_u32le(b + klist + 8, (p.seeded ? 1u : 0u) | (p.shared ? 2u : 0u));
    put_u64le(b + klist + 16, p.seed);
    for (std::size_t i = 0; i < p.scales.size(); ++i) put_f32le(b + klist + 24 + 4 * i, p.scales[i]);
  }
  return out;
}

/// The payload bytes a header implies (sizes are bounded by the parser's limits, so no overflow).
inline std::uint64_t expected_payload(const model_header& h) noexcept {
  const std::uint64_t total = h.total_codewords();
  if (h.version == product_format_version) {
    const std::uint64_t sets = h.prod.shared ? 1 : h.layers();
    const std::uint64_t values = sets * (std::uint64_t{1} << h.prod.bits) * h.dim;  // < 2^12 2^8 2^14
    return values * (h.element == element_id::int8 ? 1 : 4) + (h.prod.seeded ? 0 : total * h.prod.subspaces);
  }
  if (h.version == quantized_format_version)
    return total * ((static_cast<std::uint64_t>(h.dim) * info_of(h.element).bits + 7) / 8);
  return total * h.dim * 4;  // < 2^12 * 2^16 * 2^24 * 4
}

/// The most memory any quantizer loading `h` holds: the codewords expanded to float32 (integer,
/// f16/bf16 and pq/rpq models loaded into f32 quantizers), norms and search layout, and pq/rpq
/// indices (seeded ones are generated, not read).
inline std::uint64_t loaded_bytes(const model_header& h) noexcept {
  const std::uint64_t total = h.total_codewords();
  return total * (8 * std::uint64_t{h.dim} + 16) + (h.version == product_format_version ? total * h.prod.subspaces : 0);
}

/**
 * @brief Parses and checks the header of a version 1, 2 or 3 file held in memory (`size` bytes):
 * every id, count and size, and that the file is exactly header + payload + CRC. Reads nothing of
 * the payload and does not check the CRC. Errors name the byte at fault.
 */
inline status parse_header(const unsigned char* p, std::size_t size, model_header& h) {
  if (size < model_fixed_header + 4) return {errc::corrupt_file, "file too short for an rvq model", size, "byte"};
  for (int i = 0; i < 8; ++i)
    if (p[i] != model_magic[i]) return {errc::corrupt_file, "not an rvq model file (bad magic)", 0, "byte"};
  h.version = get_u32le(p + 8);
  if (h.version < model_format_version || h.version > product_format_version)
    return {errc::unsupported_version, "unknown rvq model format version (this build reads versions 1 to 4)", 8,
            "byte"};
  const bool product = h.version == product_format_version;
  const std::uint32_t header = get_u32le(p + 12);
  const std::uint32_t element = get_u32le(p + 16), metric = get_u32le(p + 20), storage = get_u32le(p + 24);
  const std::size_t layers = get_u32le(p + 28);
  h.dim = get_u32le(p + 32);
  const std::uint32_t flags = get_u32le(p + 36);
  h.payload = get_u64le(p + 40);
  // Ids, and the layout they imply against the version.
  if (product) {
    if (element != static_cast<std::uint32_t>(element_id::f32) &&
        element != static_cast<std::uint32_t>(element_id::int8))
      return {errc::corrupt_file, "pq/rpq sub-codebooks are f32 (1) or int8 (4)", 16, "byte"};
    if (metric < 1 || metric > 3) return {errc::corrupt_file, "unknown metric id (pq/rpq: 1 to 3)", 20, "byte"};
    if (storage != static_cast<std::uint32_t>(storage_id::pq) && storage != static_cast<std::uint32_t>(storage_id::rpq))
      return {errc::corrupt_file, "version 3 holds pq (2) or rpq (3) models", 24, "byte"};
  } else {
    if (element < 1 || element > 9) return {errc::corrupt_file, "unknown element type id", 16, "byte"};
    if (layout_version(static_cast<element_id>(element), storage_id::dense) != h.version)
      return {errc::corrupt_file, "f32 models are format version 1, quantized models version 2", 16, "byte"};
    if (metric < 1 || metric > 4) return {errc::corrupt_file, "unknown metric id", 20, "byte"};
    if ((metric == static_cast<std::uint32_t>(metric_id::hamming)) !=
        (element == static_cast<std::uint32_t>(element_id::binary)))
      return {errc::corrupt_file, msg::hamming_binary, 20, "byte"};
    if (storage != static_cast<std::uint32_t>(storage_id::dense))
      return {errc::corrupt_file, "versions 1 and 2 hold dense models (storage id 1)", 24, "byte"};
  }
  h.element = static_cast<element_id>(element);
  h.metric = static_cast<metric_id>(metric);
  h.storage = static_cast<storage_id>(storage);
  if (layers == 0 || layers > model_max_layers) return {errc::corrupt_file, msg::layers_out_of_range, 28, "byte"};
  if (product && (h.dim == 0 || h.dim > product_max_dim))
    return {errc::corrupt_file, "dimension out of range (pq/rpq: 1 to 16384)", 32, "byte"};
  if (!product && (h.dim == 0 || h.dim > model_max_dim))
    return {errc::corrupt_file, "dimension out of range (1 to 2^24)", 32, "byte"};
  if (flags != 0) return {errc::corrupt_file, "unknown flags", 36, "byte"};
  const std::size_t klist = model_fixed_header + 4 * layers;
  // The fixed part of the section after the K list, and the CRC, must fit.
  const std::size_t section = h.version == model_format_version ? 0 : 24 + (product ? 0 : 4 * layers);
  if (size < klist + section + 4)
    return {errc::corrupt_file,
            product                                 ? "file shorter than its product section"
            : h.version == quantized_format_version ? "file shorter than its quantization section"
                                                    : "file shorter than its header",
            size, "byte"};
  h.k.assign(layers, 0);
  for (std::size_t l = 0; l < layers; ++l) {
    const std::uint32_t k = get_u32le(p + model_fixed_header + 4 * l);
    if (k == 0 || k > max_codewords)
      return {errc::corrupt_file, msg::k_out_of_range, model_fixed_header + 4 * l, "byte"};
    h.k[l] = k;
  }
  std::uint64_t groups = 0, sets = 0;
  if (h.version == quantized_format_version) {
    auto& q = h.quant;
    const std::uint32_t gran = get_u32le(p + klist), qflags = get_u32le(p + klist + 4),
                        mode = get_u32le(p + klist + 12);
    if (gran > 3) return {errc::corrupt_file, "unknown granularity", klist, "byte"};
    if (qflags > 1) return {errc::corrupt_file, "unknown quantization flags", klist + 4, "byte"};
    if (mode > 2) return {errc::corrupt_file, "unknown rounding mode", klist + 12, "byte"};
    q.group = static_cast<granularity>(gran);
    q.symmetric = (qflags & 1u) != 0;
    q.input_frac = static_cast<std::int32_t>(get_u32le(p + klist + 8));
    q.mode = static_cast<rounding>(mode);
    q.act_shift.resize(layers);
    for (std::size_t l = 0; l < layers; ++l)
      q.act_shift[l] = static_cast<std::int32_t>(get_u32le(p + klist + 16 + 4 * l));
    const std::size_t g0 = klist + 16 + 4 * layers;
    groups = get_u64le(p + g0);
    const bool integer = info_of(h.element).is_integer;
    if (!integer) q.act_shift.clear();
    if (groups != (integer ? quantized_codebooks::group_count(q.group, h.k, h.dim) : 0))
      return {errc::corrupt_file, "scale group count disagrees with the shape and granularity", g0, "byte"};
  } else if (product) {
    auto& pr = h.prod;
    const std::uint32_t m = get_u32le(p + klist), bits = get_u32le(p + klist + 4), pflags = get_u32le(p + klist + 8);
    if (m == 0 || h.dim % m != 0 || m > 65535)
      return {errc::corrupt_file, "sub-space count M must divide D", klist, "byte"};
    if (bits < 1 || bits > 8) return {errc::corrupt_file, "sub-codebook bits out of range (1 to 8)", klist + 4, "byte"};
    if (pflags > 3) return {errc::corrupt_file, "unknown product flags", klist + 8, "byte"};
    if (get_u32le(p + klist + 12) != 0) return {errc::corrupt_file, "reserved field is not 0", klist + 12, "byte"};
    pr.subspaces = m;
    pr.bits = bits;
    pr.seeded = (pflags & 1u) != 0;
    pr.shared = (pflags & 2u) != 0;
    pr.seed = get_u64le(p + klist + 16);
    if (h.storage == storage_id::pq && pr.seeded)
      return {errc::corrupt_file, "pq models store their indices (seeded is rpq)", klist + 8, "byte"};
    if (h.element == element_id::int8) sets = (pr.shared ? 1 : layers) * std::uint64_t{m};
  }
  const std::uint64_t expect_header = klist + section + 8 * groups + 4 * sets;
  if (header != expect_header)
    return {errc::corrupt_file,
            product ? "header size disagrees with the product section" : "header size disagrees with the layer count",
            12, "byte"};
  if (!product && size < header + 4) return {errc::corrupt_file, "file shorter than its header", size, "byte"};
  if (h.payload != expected_payload(h))
    return {errc::corrupt_file, "payload size disagrees with the shape", 40, "byte"};
  if (size < header + 4 || size - header - 4 != h.payload)
    return {errc::corrupt_file, "file size disagrees with the header (truncated or padded)", size, "byte"};
  if (h.total_codewords() > max_total_codewords)
    return {errc::corrupt_file, msg::total_out_of_range, model_fixed_header, "byte"};
  if (loaded_bytes(h) > memory_bound(size))
    return {errc::unsupported, msg::model_expands, loaded_bytes(h), "bytes needed"};
  // The per-group and per-set arrays lie inside the header, which the file holds.
  if (groups) {
    const std::size_t g0 = klist + 24 + 4 * layers;
    h.quant.scales.resize(static_cast<std::size_t>(groups));
    h.quant.zeros.resize(static_cast<std::size_t>(groups));
    for (std::size_t g = 0; g < groups; ++g) {
      h.quant.scales[g] = get_f32le(p + g0 + 4 * g);
      h.quant.zeros[g] = static_cast<std::int32_t>(get_u32le(p + g0 + 4 * groups + 4 * g));
    }
  }
  h.prod.scales.resize(static_cast<std::size_t>(sets));
  for (std::size_t i = 0; i < sets; ++i) h.prod.scales[i] = get_f32le(p + klist + 24 + 4 * i);
  return {};
}

/// What a parsed header says, as model_info.
inline model_info info_from(const model_header& h, std::size_t file_bytes) {
  model_info info;
  info.version = h.version;
  info.element = h.element;
  info.metric = h.metric;
  info.storage = h.storage;
  info.layers = h.layers();
  info.dim = h.dim;
  info.codewords = h.k;
  info.header_bytes = h.bytes();
  info.payload_bytes = static_cast<std::size_t>(h.payload);
  info.file_bytes = file_bytes;
  info.quantized = h.version == quantized_format_version;
  info.product = h.version == product_format_version;
  if (info.product) {
    info.subspaces = h.prod.subspaces;
    info.bits = h.prod.bits;
    info.seeded = h.prod.seeded;
    info.shared = h.prod.shared;
  }
  return info;
}
}  // namespace detail
}  // namespace rvq::io
