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
///
/// Format version 2 holds quantized models (every element but f32; f32 models stay version 1).
/// It inserts a quantization section after the K list and its payload is the packed values:
/// | offset | bytes | field |
/// |---|---|---|
/// | 48 + 4 L | 4 | granularity (0 tensor, 1 layer, 2 codeword, 3 dim) |
/// | +4 | 4 | flags (bit 0: symmetric) |
/// | +8 | 4 | input_frac (int32) |
/// | +12 | 4 | rounding (0 half_up, 1 half_to_even, 2 truncate) |
/// | +16 | 4 L | act_shift of each layer (int32) |
/// | +16 + 4 L | 8 | groups G (0 for f16/bf16) |
/// | +24 + 4 L | 4 G | scales (float32) |
/// | +24 + 4 L + 4 G | 4 G | zero points (int32) |
/// | H = 72 + 8 L + 8 G | P | values: each codeword ceil(D bits / 8) bytes, little-end first |
///
/// Format version 3 holds pq/rpq models (storage id 2 or 3; element id 1 = f32 or 4 = int8
/// sub-codebooks). A product section follows the K list; the payload is the sub-codebook values,
/// then the stored indices (none when seeded):
/// | offset | bytes | field |
/// |---|---|---|
/// | 48 + 4 L | 4 | sub-spaces M (divides D) |
/// | +4 | 4 | bits b (1 to 8) |
/// | +8 | 4 | flags (bit 0 seeded, bit 1 shared) |
/// | +12 | 4 | reserved (0) |
/// | +16 | 8 | seed |
/// | +24 | 4 S M | int8 only: scales (float32), S = 1 when shared, else L |
/// | H | P | values (S M 2^b D/M, f32 or int8), then indices (uint8, per layer M x K_l) |
///
/// Format version 4 holds a pipeline (rvq::pipeline): stages of projection-in, quantizer,
/// projection-out; each stage's quantizer is a complete version 1, 2 or 3 file inside it:
/// | offset | bytes | field |
/// |---|---|---|
/// | 0 | 8 | magic `RVQMODEL` |
/// | 8 | 4 | format version (4) |
/// | 12 | 4 | header bytes (32) |
/// | 16 | 4 | latent dimension |
/// | 20 | 4 | stages S (1 to 4096) |
/// | 24 | 8 | flags and reserved (0) |
/// | 32 | ... | S stages: u32 flags (bit 0 input projection, bit 1 output projection), [input
///   projection], u64 n and n bytes of the stage's .rvq file, [output projection] |
/// | end - 4 | 4 | CRC-32 of everything before |
///
/// A projection: u32 weights (1 dense f32, 3 rpq), u32 in, u32 out, u32 bias (0 or 1); dense:
/// out x in float32 row-major; rpq: u64 n and n bytes of a version 3 file of one layer of K = out
/// rows of dimension in; then, with bias, out float32 values.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstdint>
#include <string>
#include <vector>
#include "../detail/crc32.hpp"
#include "../element/quantized.hpp"
#include "../quantizer.hpp"
#include "file.hpp"

namespace rvq::io {

/// The format version this build writes and reads.
inline constexpr std::uint32_t model_format_version = 1;
/// The format version of quantized models (element other than f32).
inline constexpr std::uint32_t quantized_format_version = 2;
/// The format version of pq/rpq models (rvq::product_codebooks).
inline constexpr std::uint32_t product_format_version = 3;
/// The format version of pipelines (rvq::pipeline: projections around quantizers).
inline constexpr std::uint32_t pipeline_format_version = 4;
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

namespace detail {
inline constexpr unsigned char model_magic[8] = {'R', 'V', 'Q', 'M', 'O', 'D', 'E', 'L'};
inline constexpr std::size_t model_fixed_header = 48;

/// The K list of every format version (the caller checked the file holds it): each K in 1 to 65536.
inline status read_k_list(const unsigned char* p, model_info& info, std::uint64_t& total) {
  info.codewords.resize(info.layers);
  total = 0;
  for (std::size_t l = 0; l < info.layers; ++l) {
    const std::uint32_t k = get_u32le(p + model_fixed_header + 4 * l);
    if (k == 0 || k > 65536) return {errc::corrupt_file, msg::k_out_of_range, model_fixed_header + 4 * l, "byte"};
    info.codewords[l] = k;
    total += k;
  }
  return {};
}

/**
 * @brief Format version 3 (pq/rpq): validates header, product section and sizes of a .rvq file
 * held in memory (not the checksum); reads the model into `pc` when given (values and indices,
 * each index checked below 2^b).
 */
inline status parse_product_header(const unsigned char* p, std::size_t size, model_info& info, product_codebooks* pc) {
  info.product = true;
  const std::uint32_t header = get_u32le(p + 12);
  const std::uint32_t element = get_u32le(p + 16), metric = get_u32le(p + 20), storage = get_u32le(p + 24);
  info.layers = get_u32le(p + 28);
  info.dim = get_u32le(p + 32);
  const std::uint32_t flags = get_u32le(p + 36);
  const std::uint64_t payload = get_u64le(p + 40);
  if (element != static_cast<std::uint32_t>(element_id::f32) && element != static_cast<std::uint32_t>(element_id::int8))
    return {errc::corrupt_file, "pq/rpq sub-codebooks are f32 (1) or int8 (4)", 16, "byte"};
  if (metric < 1 || metric > 3) return {errc::corrupt_file, "unknown metric id (pq/rpq: 1 to 3)", 20, "byte"};
  if (storage != static_cast<std::uint32_t>(storage_id::pq) && storage != static_cast<std::uint32_t>(storage_id::rpq))
    return {errc::corrupt_file, "version 3 holds pq (2) or rpq (3) models", 24, "byte"};
  if (info.layers == 0 || info.layers > model_max_layers)
    return {errc::corrupt_file, "layer count out of range (1 to 4096)", 28, "byte"};
  if (info.dim == 0 || info.dim > product_max_dim)
    return {errc::corrupt_file, "dimension out of range (pq/rpq: 1 to 16384)", 32, "byte"};
  if (flags != 0) return {errc::corrupt_file, "unknown flags", 36, "byte"};
  const std::size_t klist = model_fixed_header + 4 * info.layers;
  if (size < klist + 24 + 4) return {errc::corrupt_file, "file shorter than its product section", size, "byte"};
  info.element = static_cast<element_id>(element);
  info.metric = static_cast<metric_id>(metric);
  info.storage = static_cast<storage_id>(storage);
  std::uint64_t total = 0;
  RVQ_TRY(read_k_list(p, info, total));
  const std::uint32_t m = get_u32le(p + klist), bits = get_u32le(p + klist + 4), pflags = get_u32le(p + klist + 8);
  if (m == 0 || info.dim % m != 0 || m > 65535)
    return {errc::corrupt_file, "sub-space count M must divide D", klist, "byte"};
  if (bits < 1 || bits > 8) return {errc::corrupt_file, "sub-codebook bits out of range (1 to 8)", klist + 4, "byte"};
  if (pflags > 3) return {errc::corrupt_file, "unknown product flags", klist + 8, "byte"};
  if (get_u32le(p + klist + 12) != 0) return {errc::corrupt_file, "reserved field is not 0", klist + 12, "byte"};
  info.subspaces = m;
  info.bits = bits;
  info.seeded = (pflags & 1u) != 0;
  info.shared = (pflags & 2u) != 0;
  if (info.storage == storage_id::pq && info.seeded)
    return {errc::corrupt_file, "pq models store their indices (seeded is rpq)", klist + 8, "byte"};
  const bool int8 = info.element == element_id::int8;
  const std::uint64_t sets = info.shared ? 1 : info.layers;
  const std::uint64_t values = sets * (std::uint64_t{1} << bits) * info.dim;  // < 2^12 2^8 2^14
  const std::uint64_t expect_header = klist + 24 + (int8 ? 4 * sets * m : 0);
  if (header != expect_header)
    return {errc::corrupt_file, "header size disagrees with the product section", 12, "byte"};
  const std::uint64_t expect = values * (int8 ? 1 : 4) + (info.seeded ? 0 : total * m);
  if (payload != expect) return {errc::corrupt_file, "payload size disagrees with the shape", 40, "byte"};
  if (size < header + 4 || size - header - 4 != payload)
    return {errc::corrupt_file, "file size disagrees with the header (truncated or padded)", size, "byte"};
  info.header_bytes = header;
  info.payload_bytes = static_cast<std::size_t>(payload);
  info.file_bytes = size;
  if (!pc) return {};
  product_codebooks out;
  out.kind = info.storage;
  out.element = info.element;
  out.dim = info.dim;
  out.k = info.codewords;
  out.subspaces = m;
  out.bits = bits;
  out.seeded = info.seeded;
  out.shared = info.shared;
  out.seed = get_u64le(p + klist + 16);
  const unsigned char* v = p + header;
  if (int8) {
    out.scales.resize(static_cast<std::size_t>(sets) * m);
    for (std::size_t i = 0; i < out.scales.size(); ++i) out.scales[i] = get_f32le(p + klist + 24 + 4 * i);
    out.qvalues.resize(static_cast<std::size_t>(values));
    for (std::size_t i = 0; i < out.qvalues.size(); ++i) out.qvalues[i] = static_cast<std::int8_t>(v[i]);
    v += values;
  } else {
    out.values.resize(static_cast<std::size_t>(values));
    for (std::size_t i = 0; i < out.values.size(); ++i) out.values[i] = get_f32le(v + 4 * i);
    v += 4 * values;
  }
  if (!info.seeded) out.indices.assign(v, v + total * m);
  const status s = out.validate();
  if (!s) {  // name the byte of the first bad value or index
    std::size_t at = 0;
    if (s.where_unit() && std::string(s.where_unit()) == "value") at = header + s.where() * 4;
    if (s.where_unit() && std::string(s.where_unit()) == "scale") at = klist + 24 + 4 * s.where();
    if (s.where_unit() && std::string(s.where_unit()) == "index")
      at = header + static_cast<std::size_t>(values * (int8 ? 1 : 4)) + s.where();
    return {errc::corrupt_file, s.message(), at, "byte"};
  }
  *pc = std::move(out);
  return {};
}

struct stage_layout;
inline status parse_pipeline_header(const unsigned char* p, std::size_t size, model_info& info,
                                    std::vector<stage_layout>* layout);

/// Validates the header and the overall size of a .rvq file held in memory (not the checksum);
/// for version 2 also reads the quantization section into `q` when `q` is given.
inline status parse_model_header(const unsigned char* p, std::size_t size, model_info& info,
                                 quantized_codebooks* q = nullptr) {
  if (size < model_fixed_header + 4) return {errc::corrupt_file, "file too short for an rvq model", size, "byte"};
  for (int i = 0; i < 8; ++i)
    if (p[i] != model_magic[i]) return {errc::corrupt_file, "not an rvq model file (bad magic)", 0, "byte"};
  info.version = get_u32le(p + 8);
  if (info.version == product_format_version) return parse_product_header(p, size, info, nullptr);
  if (info.version == pipeline_format_version) return parse_pipeline_header(p, size, info, nullptr);
  if (info.version != model_format_version && info.version != quantized_format_version)
    return {errc::unsupported_version, "unknown rvq model format version (this build reads versions 1 to 4)", 8,
            "byte"};
  info.quantized = info.version == quantized_format_version;
  const std::uint32_t header = get_u32le(p + 12);
  const std::uint32_t element = get_u32le(p + 16), metric = get_u32le(p + 20), storage = get_u32le(p + 24);
  info.layers = get_u32le(p + 28);
  info.dim = get_u32le(p + 32);
  const std::uint32_t flags = get_u32le(p + 36);
  const std::uint64_t payload = get_u64le(p + 40);
  if (element < 1 || element > 9) return {errc::corrupt_file, "unknown element type id", 16, "byte"};
  if ((element == static_cast<std::uint32_t>(element_id::f32)) == info.quantized)
    return {errc::corrupt_file, "f32 models are format version 1, quantized models version 2", 16, "byte"};
  if (metric < 1 || metric > 4) return {errc::corrupt_file, "unknown metric id", 20, "byte"};
  if ((metric == static_cast<std::uint32_t>(metric_id::hamming)) !=
      (element == static_cast<std::uint32_t>(element_id::binary)))
    return {errc::corrupt_file, msg::hamming_binary, 20, "byte"};
  if (storage != static_cast<std::uint32_t>(storage_id::dense))
    return {errc::corrupt_file, "versions 1 and 2 hold dense models (storage id 1)", 24, "byte"};
  if (info.layers == 0 || info.layers > model_max_layers)
    return {errc::corrupt_file, "layer count out of range (1 to 4096)", 28, "byte"};
  if (info.dim == 0 || info.dim > model_max_dim)
    return {errc::corrupt_file, "dimension out of range (1 to 2^24)", 32, "byte"};
  if (flags != 0) return {errc::corrupt_file, "unknown flags", 36, "byte"};
  const std::size_t klist = model_fixed_header + 4 * info.layers;
  if (size < klist + 4) return {errc::corrupt_file, "file shorter than its header", size, "byte"};
  info.element = static_cast<element_id>(element);
  info.metric = static_cast<metric_id>(metric);
  info.storage = static_cast<storage_id>(storage);
  std::uint64_t total = 0;
  RVQ_TRY(read_k_list(p, info, total));
  std::uint64_t expect_header = klist, groups = 0;
  const std::uint64_t row_bytes = (static_cast<std::uint64_t>(info.dim) * info_of(info.element).bits + 7) / 8;
  if (info.quantized) {
    const std::size_t qs = klist;  // quantization section
    if (size < qs + 24 + 4 * info.layers + 4)
      return {errc::corrupt_file, "file shorter than its quantization section", size, "byte"};
    const std::uint32_t gran = get_u32le(p + qs), qflags = get_u32le(p + qs + 4), mode = get_u32le(p + qs + 12);
    if (gran > 3) return {errc::corrupt_file, "unknown granularity", qs, "byte"};
    if (qflags > 1) return {errc::corrupt_file, "unknown quantization flags", qs + 4, "byte"};
    if (mode > 2) return {errc::corrupt_file, "unknown rounding mode", qs + 12, "byte"};
    groups = get_u64le(p + qs + 16 + 4 * info.layers);
    const bool integer = info_of(info.element).is_integer;
    std::vector<std::size_t> ks(info.codewords);
    const std::uint64_t want =
        integer ? quantized_codebooks::group_count(static_cast<granularity>(gran), ks, info.dim) : 0;
    if (groups != want)
      return {errc::corrupt_file, "scale group count disagrees with the shape and granularity",
              qs + 16 + 4 * info.layers, "byte"};
    expect_header = qs + 24 + 4 * info.layers + 8 * groups;
    if (q) {
      q->element = info.element;
      q->group = static_cast<granularity>(gran);
      q->symmetric = (qflags & 1u) != 0;
      q->mode = static_cast<rounding>(mode);
      q->input_frac = static_cast<std::int32_t>(get_u32le(p + qs + 8));
      q->dim = info.dim;
      q->k = info.codewords;
      q->act_shift.resize(info.layers);
      for (std::size_t l = 0; l < info.layers; ++l)
        q->act_shift[l] = static_cast<std::int32_t>(get_u32le(p + qs + 16 + 4 * l));
      if (!integer) q->act_shift.clear();
    }
  }
  if (header != expect_header) return {errc::corrupt_file, "header size disagrees with the layer count", 12, "byte"};
  if (size < header + 4) return {errc::corrupt_file, "file shorter than its header", size, "byte"};
  const std::uint64_t expect = total * (info.quantized ? row_bytes : info.dim * 4);  // < 2^12 * 2^16 * 2^24 * 4
  if (payload != expect) return {errc::corrupt_file, "payload size disagrees with the shape", 40, "byte"};
  if (size - header - 4 != payload)
    return {errc::corrupt_file, "file size disagrees with the header (truncated or padded)", size, "byte"};
  info.header_bytes = header;
  info.payload_bytes = static_cast<std::size_t>(payload);
  info.file_bytes = size;
  if (q && info.quantized) {
    const std::size_t g0 = klist + 24 + 4 * info.layers;
    q->scales.resize(static_cast<std::size_t>(groups));
    q->zeros.resize(static_cast<std::size_t>(groups));
    for (std::size_t g = 0; g < groups; ++g) {
      q->scales[g] = get_f32le(p + g0 + 4 * g);
      q->zeros[g] = static_cast<std::int32_t>(get_u32le(p + g0 + 4 * groups + 4 * g));
    }
    q->values.assign(static_cast<std::size_t>(total) * info.dim, 0);
    for (std::size_t c = 0; c < total; ++c) q->unpack_row(c, p + header + c * row_bytes);
  }
  return {};
}

/// The status of a single-model loader handed a pipeline file.
inline status pipeline_refused() {
  return {errc::invalid_argument,
          "the file holds a pipeline (stages with projections, format version 4): load it with rvq::io::load_pipeline"};
}

/// Checks the CRC-32 of a whole file held in memory.
inline status check_crc(const std::vector<unsigned char>& bytes, const model_info& info) {
  const std::size_t body = info.header_bytes + info.payload_bytes;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzzers skip it to reach the parsing behind it
  if (rvq::detail::crc32_update(0, bytes.data(), body) != get_u32le(bytes.data() + body))
    return status{errc::corrupt_file, "checksum mismatch: the file is damaged", body, "byte"};
#else
  (void)bytes, (void)body;
#endif
  return {};
}

/// Where a projection of a version 4 file lies.
struct projection_layout {
  bool product = false;           ///< rpq weights (an embedded version 3 file)
  std::size_t in = 0;             ///< input dimension
  std::size_t out = 0;            ///< output dimension
  bool bias = false;              ///< a bias follows the weights
  std::size_t weights_at = 0;     ///< first byte of the weights (dense floats, or the embedded file)
  std::size_t weights_bytes = 0;  ///< their bytes
  std::size_t bias_at = 0;        ///< first byte of the bias
};

/// Where a stage of a version 4 file lies.
struct stage_layout {
  bool has_in = false;          ///< an input projection
  projection_layout in;         ///< the input projection
  std::size_t model_at = 0;     ///< first byte of the stage's embedded .rvq file
  std::size_t model_bytes = 0;  ///< its size
  model_info model;             ///< its header
  bool has_out = false;         ///< an output projection
  projection_layout out;        ///< the output projection
};

/// Reads one projection block at `at` (bounds checked against `end`).
inline status parse_projection(const unsigned char* p, std::size_t& at, std::size_t end, projection_layout& pl) {
  if (end - at < 16) return {errc::corrupt_file, "file shorter than a projection header", at, "byte"};
  const std::uint32_t kind = get_u32le(p + at), in = get_u32le(p + at + 4), out = get_u32le(p + at + 8),
                      bias = get_u32le(p + at + 12);
  if (kind != 1 && kind != 3) return {errc::corrupt_file, "projection weights are dense (1) or rpq (3)", at, "byte"};
  if (in == 0 || in > product_max_dim)
    return {errc::corrupt_file, "projection input dimension out of range (1 to 16384)", at + 4, "byte"};
  if (out == 0 || out > product_max_dim)
    return {errc::corrupt_file, "projection output dimension out of range (1 to 16384)", at + 8, "byte"};
  if (bias > 1) return {errc::corrupt_file, "projection bias flag is 0 or 1", at + 12, "byte"};
  pl.product = kind == 3;
  pl.in = in;
  pl.out = out;
  pl.bias = bias == 1;
  at += 16;
  if (pl.product) {
    if (end - at < 8) return {errc::corrupt_file, "file shorter than a projection's size field", at, "byte"};
    const std::uint64_t n = get_u64le(p + at);
    if (n > end - at - 8) return {errc::corrupt_file, "projection weights run past the end of the file", at, "byte"};
    pl.weights_at = at + 8;
    pl.weights_bytes = static_cast<std::size_t>(n);
    if (n < 12 || get_u32le(p + pl.weights_at + 8) != product_format_version)
      return {errc::corrupt_file, "rpq projection weights must be a version 3 model", pl.weights_at, "byte"};
    model_info w;
    const status s = parse_model_header(p + pl.weights_at, pl.weights_bytes, w);
    if (!s) return {s.code(), s.message(), pl.weights_at + s.where(), "byte"};
    if (w.layers != 1 || w.codewords[0] != out || w.dim != in)
      return {errc::corrupt_file, "rpq projection weights are not one layer of `out` rows of dimension `in`",
              pl.weights_at, "byte"};
    at = pl.weights_at + pl.weights_bytes;
  } else {
    const std::uint64_t n = std::uint64_t{4} * in * out;  // < 2^30
    if (n > end - at) return {errc::corrupt_file, "projection weights run past the end of the file", at, "byte"};
    pl.weights_at = at;
    pl.weights_bytes = static_cast<std::size_t>(n);
    at += pl.weights_bytes;
  }
  pl.bias_at = at;
  if (pl.bias) {
    if (end - at < 4 * std::size_t{out})
      return {errc::corrupt_file, "projection bias runs past the end of the file", at, "byte"};
    at += 4 * std::size_t{out};
  }
  return {};
}

/**
 * @brief Format version 4 (pipeline): walks every stage of a .rvq file held in memory, checking
 * each projection block, each embedded model's header (not the checksums) and that the shapes
 * chain; fills `layout` when given. info.codewords lists every stage's layers in order.
 */
inline status parse_pipeline_header(const unsigned char* p, std::size_t size, model_info& info,
                                    std::vector<stage_layout>* layout) {
  constexpr std::size_t head = 32;
  if (size < head + 4) return {errc::corrupt_file, "file too short for an rvq pipeline", size, "byte"};
  if (get_u32le(p + 12) != head) return {errc::corrupt_file, "pipeline header size is not 32", 12, "byte"};
  info.pipeline = true;
  info.dim = get_u32le(p + 16);
  info.stages = get_u32le(p + 20);
  if (info.dim == 0 || info.dim > product_max_dim)
    return {errc::corrupt_file, "latent dimension out of range (1 to 16384)", 16, "byte"};
  if (info.stages == 0 || info.stages > model_max_layers)
    return {errc::corrupt_file, "stage count out of range (1 to 4096)", 20, "byte"};
  if (get_u32le(p + 24) != 0 || get_u32le(p + 28) != 0)
    return {errc::corrupt_file, "flags and reserved fields are not 0", 24, "byte"};
  const std::size_t end = size - 4;
  std::size_t at = head;
  info.codewords.clear();
  info.projections = info.projection_bytes = 0;
  for (std::size_t s = 0; s < info.stages; ++s) {
    stage_layout st;
    if (end - at < 4) return {errc::corrupt_file, "file shorter than its stages", at, "byte"};
    const std::uint32_t flags = get_u32le(p + at);
    if (flags > 3) return {errc::corrupt_file, "unknown stage flags", at, "byte"};
    at += 4;
    st.has_in = (flags & 1u) != 0;
    st.has_out = (flags & 2u) != 0;
    if (st.has_in) RVQ_TRY(parse_projection(p, at, end, st.in));
    if (end - at < 8) return {errc::corrupt_file, "file shorter than a stage's model size field", at, "byte"};
    const std::uint64_t n = get_u64le(p + at);
    if (n > end - at - 8) return {errc::corrupt_file, "a stage's model runs past the end of the file", at, "byte"};
    st.model_at = at + 8;
    st.model_bytes = static_cast<std::size_t>(n);
    if (n < 12 || get_u32le(p + st.model_at + 8) == pipeline_format_version)
      return {errc::corrupt_file, "a stage's model must be a version 1, 2 or 3 file", st.model_at, "byte"};
    const status ms = parse_model_header(p + st.model_at, st.model_bytes, st.model);
    if (!ms) return {ms.code(), ms.message(), st.model_at + ms.where(), "byte"};
    at = st.model_at + st.model_bytes;
    if (st.has_out) RVQ_TRY(parse_projection(p, at, end, st.out));
    const std::size_t d = st.model.dim;
    if (st.has_in && (st.in.in != info.dim || st.in.out != d))
      return {errc::corrupt_file, "a stage's input projection does not map the latent to its codebook dimension",
              st.model_at, "byte"};
    if (st.has_out && (st.out.in != d || st.out.out != info.dim))
      return {errc::corrupt_file, "a stage's output projection does not map its codebook dimension to the latent",
              st.model_at, "byte"};
    if ((!st.has_in || !st.has_out) && d != info.dim)
      return {errc::corrupt_file, "a stage without a projection must have the latent dimension", st.model_at, "byte"};
    if (s == 0) {
      info.element = st.model.element;
      info.metric = st.model.metric;
      info.storage = st.model.storage;
      info.product = st.model.product;
      info.quantized = st.model.quantized;
      info.subspaces = st.model.subspaces;
      info.bits = st.model.bits;
      info.seeded = st.model.seeded;
      info.shared = st.model.shared;
    } else if (st.model.element != info.element || st.model.metric != info.metric || st.model.storage != info.storage) {
      return {errc::corrupt_file, "every stage of a pipeline has the element, metric and storage of the first",
              st.model_at, "byte"};
    }
    if (info.codewords.size() + st.model.layers > model_max_layers)
      return {errc::corrupt_file, "a pipeline holds at most 4096 layers", st.model_at, "byte"};
    info.codewords.insert(info.codewords.end(), st.model.codewords.begin(), st.model.codewords.end());
    for (const projection_layout* pl : {st.has_in ? &st.in : nullptr, st.has_out ? &st.out : nullptr})
      if (pl) {
        ++info.projections;
        info.projection_bytes += pl->weights_bytes + (pl->bias ? 4 * pl->out : 0);
      }
    if (layout) layout->push_back(std::move(st));
  }
  if (at != end) return {errc::corrupt_file, "file size disagrees with its stages (truncated or padded)", at, "byte"};
  info.layers = info.codewords.size();
  info.header_bytes = head;
  info.payload_bytes = end - head;
  info.file_bytes = size;
  return {};
}
}  // namespace detail

/// Read and check the header of a .rvq file (shape, element, metric, storage), not its payload
/// (the file is memory-mapped where the platform allows, so only the header is read).
inline status read_model_info(const std::string& path, model_info& info) {
  mapped_file f;
  RVQ_TRY(f.open(path));
  return detail::parse_model_header(f.data(), f.size(), info);
}

/**
 * @brief Read a quantized model (format version 2), held in memory as the bytes of a whole
 * .rvq file, into `q`; `metric` receives its metric. Errors as load_model_memory(), plus
 * invalid_argument when the file holds an f32 model.
 */
inline status load_quantized_memory(const std::vector<unsigned char>& bytes, quantized_codebooks& q,
                                    metric_id& metric) {
  model_info info;
  quantized_codebooks out;
  RVQ_TRY(detail::parse_model_header(bytes.data(), bytes.size(), info, &out));
  RVQ_TRY(detail::check_crc(bytes, info));
  if (info.pipeline) return detail::pipeline_refused();
  if (!info.quantized) return {errc::invalid_argument, "the file holds an f32 model, not a quantized one"};
  const status s = out.validate();
  if (!s) return {errc::corrupt_file, s.message(), s.where(), s.where_unit()};
  metric = info.metric;
  q = std::move(out);
  return {};
}

/// load_quantized_memory() from a path.
inline status load_quantized(const std::string& path, quantized_codebooks& q, metric_id& metric) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return load_quantized_memory(bytes, q, metric);
}

/**
 * @brief Load a model, held in memory as the bytes of a whole .rvq file, into a quantizer of
 * `Config`: f32 quantizers read f32 models and, widened to float, f16/bf16 models; integer
 * quantizers read models of their own element.
 * Errors: io_error, corrupt_file (bad magic, sizes, checksum; where = byte offset),
 * unsupported_version, invalid_argument (the file's metric or element does not fit Config), non_finite.
 */
template <class Config>
result<quantizer<Config>> load_model_memory(const std::vector<unsigned char>& bytes) {
  using q_t = quantizer<Config>;
  model_info info;
  quantized_codebooks qc;
  RVQ_TRY(detail::parse_model_header(bytes.data(), bytes.size(), info, &qc));
  RVQ_TRY(detail::check_crc(bytes, info));
  if (info.pipeline) return detail::pipeline_refused();
  if (info.metric != metric_traits<typename Config::metric>::id)
    return status{errc::invalid_argument, msg::metric_differs};
  product_codebooks pc;
  if (info.product) RVQ_TRY(detail::parse_product_header(bytes.data(), bytes.size(), info, &pc));
  if constexpr (q_t::is_product) {
    if (!info.product)
      return status{errc::invalid_argument, "the model is dense: load it into a dense quantizer, or rvq compress it"};
    if (info.storage != storage_traits<typename Config::storage>::id)
      return status{errc::invalid_argument, "the model's storage differs from the quantizer's Config::storage"};
    return q_t::from_product(pc);
  } else if constexpr (q_t::is_integer) {
    if (info.product)
      return status{errc::invalid_argument, "the model is pq/rpq: load it into an f32 quantizer of its storage"};
    if (info.element != element_traits<typename Config::element>::id)
      return status{errc::invalid_argument, "the model's element differs from the quantizer's Config::element"};
    const status v = qc.validate();
    if (!v) return status{errc::corrupt_file, v.message(), v.where(), v.where_unit()};
    return q_t::from_quantized(qc);
  } else {
    if (!info.product && info_of(info.element).is_integer)
      return status{errc::invalid_argument,
                    "the model is quantized to an integer element: load it into a quantizer of that element"};
    std::vector<float> cw;
    if (info.product) {  // a dense quantizer of the expanded codewords
      cw = pc.expand_all();
    } else if (info.quantized) {
      const status v = qc.validate();
      if (!v) return status{errc::corrupt_file, v.message(), v.where(), v.where_unit()};
      cw = qc.dequantize();
    } else {
      cw.resize(info.payload_bytes / 4);
      for (std::size_t i = 0; i < cw.size(); ++i) cw[i] = detail::get_f32le(bytes.data() + info.header_bytes + 4 * i);
    }
    return q_t::from_codebooks(span<const float>(cw), span<const std::size_t>(info.codewords), info.dim);
  }
}

/// load_model() from a path: reads the file, then load_model_memory().
template <class Config>
result<quantizer<Config>> load_model(const std::string& path) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return load_model_memory<Config>(bytes);
}

namespace detail {
/// Writes quantized codebooks (format version 2) to `w` (anything with write(const void*, size_t)).
template <class Sink>
status write_quantized(const quantized_codebooks& q, metric_id metric, Sink& w) {
  RVQ_TRY(q.validate());
  if ((metric == metric_id::hamming) != (q.element == element_id::binary))
    return {errc::invalid_argument, msg::hamming_binary};
  const std::size_t nl = q.layers(), groups = info_of(q.element).is_integer ? q.groups() : 0;
  const std::size_t header = model_fixed_header + 4 * nl + 24 + 4 * nl + 8 * groups;
  std::vector<unsigned char> head(header, 0);
  for (int i = 0; i < 8; ++i) head[static_cast<std::size_t>(i)] = model_magic[i];
  put_u32le(&head[8], quantized_format_version);
  put_u32le(&head[12], static_cast<std::uint32_t>(header));
  put_u32le(&head[16], static_cast<std::uint32_t>(q.element));
  put_u32le(&head[20], static_cast<std::uint32_t>(metric));
  put_u32le(&head[24], static_cast<std::uint32_t>(storage_id::dense));
  put_u32le(&head[28], static_cast<std::uint32_t>(nl));
  put_u32le(&head[32], static_cast<std::uint32_t>(q.dim));
  put_u64le(&head[40], static_cast<std::uint64_t>(q.value_bytes()));
  for (std::size_t l = 0; l < nl; ++l) put_u32le(&head[model_fixed_header + 4 * l], static_cast<std::uint32_t>(q.k[l]));
  const std::size_t qs = model_fixed_header + 4 * nl;
  put_u32le(&head[qs], static_cast<std::uint32_t>(q.group));
  put_u32le(&head[qs + 4], q.symmetric ? 1u : 0u);
  put_u32le(&head[qs + 8], static_cast<std::uint32_t>(q.input_frac));
  put_u32le(&head[qs + 12], static_cast<std::uint32_t>(q.mode));
  for (std::size_t l = 0; l < nl; ++l)
    put_u32le(&head[qs + 16 + 4 * l], static_cast<std::uint32_t>(q.act_shift.empty() ? 0 : q.act_shift[l]));
  put_u64le(&head[qs + 16 + 4 * nl], groups);
  for (std::size_t g = 0; g < groups; ++g) {
    put_f32le(&head[qs + 24 + 4 * nl + 4 * g], q.scales[g]);
    put_u32le(&head[qs + 24 + 4 * nl + 4 * groups + 4 * g], static_cast<std::uint32_t>(q.zeros[g]));
  }
  w.write(head.data(), head.size());
  std::uint32_t crc = rvq::detail::crc32_update(0, head.data(), head.size());
  std::vector<unsigned char> row(q.row_bytes());
  for (std::size_t c = 0; c < q.total_codewords(); ++c) {
    q.pack_row(c, row.data());
    crc = rvq::detail::crc32_update(crc, row.data(), row.size());
    w.write(row.data(), row.size());
  }
  unsigned char tail[4];
  put_u32le(tail, crc);
  w.write(tail, 4);
  return {};
}
}  // namespace detail

/// Save quantized codebooks (format version 2) atomically, for a model of metric `metric`.
inline status save_quantized(const quantized_codebooks& q, metric_id metric, const std::string& path) {
  atomic_writer w;
  RVQ_TRY(w.open(path));
  RVQ_TRY(detail::write_quantized(q, metric, w));
  return w.commit();
}

namespace detail {
/// Writes pq/rpq codebooks (format version 3) to `w`.
template <class Sink>
status write_product(const product_codebooks& pc, metric_id metric, Sink& w) {
  RVQ_TRY(pc.validate());
  if (metric != metric_id::l2 && metric != metric_id::ip && metric != metric_id::cosine)
    return {errc::invalid_argument, "pq/rpq models use the l2, ip or cosine metric"};
  const bool int8 = pc.element == element_id::int8;
  const std::size_t nl = pc.layers(), klist = model_fixed_header + 4 * nl;
  const std::size_t header = klist + 24 + (int8 ? 4 * pc.scales.size() : 0);
  const std::size_t payload = (int8 ? pc.value_count() : 4 * pc.value_count()) + pc.index_bytes();
  std::vector<unsigned char> out(header + payload + 4, 0);
  unsigned char* h = out.data();
  for (int i = 0; i < 8; ++i) h[i] = model_magic[i];
  put_u32le(h + 8, product_format_version);
  put_u32le(h + 12, static_cast<std::uint32_t>(header));
  put_u32le(h + 16, static_cast<std::uint32_t>(pc.element));
  put_u32le(h + 20, static_cast<std::uint32_t>(metric));
  put_u32le(h + 24, static_cast<std::uint32_t>(pc.kind));
  put_u32le(h + 28, static_cast<std::uint32_t>(nl));
  put_u32le(h + 32, static_cast<std::uint32_t>(pc.dim));
  put_u64le(h + 40, static_cast<std::uint64_t>(payload));
  for (std::size_t l = 0; l < nl; ++l) put_u32le(h + model_fixed_header + 4 * l, static_cast<std::uint32_t>(pc.k[l]));
  put_u32le(h + klist, static_cast<std::uint32_t>(pc.subspaces));
  put_u32le(h + klist + 4, pc.bits);
  put_u32le(h + klist + 8, (pc.seeded ? 1u : 0u) | (pc.shared ? 2u : 0u));
  put_u64le(h + klist + 16, pc.seed);
  for (std::size_t i = 0; int8 && i < pc.scales.size(); ++i) put_f32le(h + klist + 24 + 4 * i, pc.scales[i]);
  unsigned char* v = h + header;
  if (int8) {
    for (std::size_t i = 0; i < pc.qvalues.size(); ++i) v[i] = static_cast<unsigned char>(pc.qvalues[i]);
    v += pc.qvalues.size();
  } else {
    for (std::size_t i = 0; i < pc.values.size(); ++i) put_f32le(v + 4 * i, pc.values[i]);
    v += 4 * pc.values.size();
  }
  for (std::size_t i = 0; i < pc.index_bytes(); ++i) v[i] = pc.indices[i];
  put_u32le(h + header + payload, rvq::detail::crc32_update(0, h, header + payload));
  w.write(out.data(), out.size());
  return {};
}
}  // namespace detail

/// Save pq/rpq codebooks (format version 3) atomically, for a model of metric `metric`.
inline status save_product(const product_codebooks& pc, metric_id metric, const std::string& path) {
  atomic_writer w;
  RVQ_TRY(w.open(path));
  RVQ_TRY(detail::write_product(pc, metric, w));
  return w.commit();
}

/**
 * @brief Read a pq/rpq model (format version 3), the bytes of a whole .rvq file, into `pc`;
 * `metric` receives its metric. Errors as load_model_memory(), plus invalid_argument when the
 * file holds a dense model.
 */
inline status load_product_memory(const std::vector<unsigned char>& bytes, product_codebooks& pc, metric_id& metric) {
  model_info info;
  RVQ_TRY(detail::parse_model_header(bytes.data(), bytes.size(), info));
  RVQ_TRY(detail::check_crc(bytes, info));
  if (info.pipeline) return detail::pipeline_refused();
  if (!info.product) return {errc::invalid_argument, "the file holds a dense model, not a pq/rpq one"};
  RVQ_TRY(detail::parse_product_header(bytes.data(), bytes.size(), info, &pc));
  metric = info.metric;
  return {};
}

/// load_product_memory() from a path.
inline status load_product(const std::string& path, product_codebooks& pc, metric_id& metric) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return load_product_memory(bytes, pc, metric);
}

namespace detail {
/// Writes a model to `w` (format version 1, 2 or 3, as save_model()).
template <class Config, class Sink>
status write_model(const quantizer<Config>& q, Sink& w) {
  if (q.layers() == 0) return {errc::empty_input, msg::no_codebooks};
  if constexpr (quantizer<Config>::is_product) {
    return write_product(q.store().model(), metric_traits<typename Config::metric>::id, w);
  } else if constexpr (quantizer<Config>::is_integer) {
    return write_quantized(q.store().model(), metric_traits<typename Config::metric>::id, w);
  } else {
    std::vector<unsigned char> head(model_fixed_header + 4 * q.layers());
    std::size_t total = 0;
    for (std::size_t l = 0; l < q.layers(); ++l) total += q.codewords(l);
    const std::size_t floats = total * q.dim();
    for (int i = 0; i < 8; ++i) head[static_cast<std::size_t>(i)] = model_magic[i];
    put_u32le(&head[8], model_format_version);
    put_u32le(&head[12], static_cast<std::uint32_t>(head.size()));
    put_u32le(&head[16], static_cast<std::uint32_t>(element_traits<typename Config::element>::id));
    put_u32le(&head[20], static_cast<std::uint32_t>(metric_traits<typename Config::metric>::id));
    put_u32le(&head[24], static_cast<std::uint32_t>(storage_traits<typename Config::storage>::id));
    put_u32le(&head[28], static_cast<std::uint32_t>(q.layers()));
    put_u32le(&head[32], static_cast<std::uint32_t>(q.dim()));
    put_u32le(&head[36], 0);
    put_u64le(&head[40], static_cast<std::uint64_t>(floats) * 4);
    for (std::size_t l = 0; l < q.layers(); ++l)
      put_u32le(&head[model_fixed_header + 4 * l], static_cast<std::uint32_t>(q.codewords(l)));

    w.write(head.data(), head.size());
    std::uint32_t crc = rvq::detail::crc32_update(0, head.data(), head.size());
    std::vector<unsigned char> buf;
    const float* cw = q.codebook_data();
    const std::size_t chunk = 1 << 14;
    for (std::size_t i = 0; i < floats; i += chunk) {
      const std::size_t n = floats - i < chunk ? floats - i : chunk;
      buf.resize(4 * n);
      for (std::size_t j = 0; j < n; ++j) put_f32le(buf.data() + 4 * j, cw[i + j]);
      crc = rvq::detail::crc32_update(crc, buf.data(), buf.size());
      w.write(buf.data(), buf.size());
    }
    unsigned char tail[4];
    put_u32le(tail, crc);
    w.write(tail, 4);
    return {};
  }
}

/// A sink that appends to a byte vector.
struct byte_sink {
  std::vector<unsigned char>& bytes;  ///< the destination
  /// Appends n bytes.
  void write(const void* data, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(data);
    bytes.insert(bytes.end(), b, b + n);
  }
};
}  // namespace detail

/// Save a model atomically (temporary file in the same folder, then rename); quantized
/// (integer-element) quantizers are written as format version 2, pq/rpq ones as version 3.
template <class Config>
status save_model(const quantizer<Config>& q, const std::string& path) {
  if (q.layers() == 0) return {errc::empty_input, msg::no_codebooks};
  atomic_writer w;
  RVQ_TRY(w.open(path));
  RVQ_TRY(detail::write_model(q, w));
  return w.commit();
}

/// The bytes of the .rvq file save_model() writes, into `out`.
template <class Config>
status model_bytes(const quantizer<Config>& q, std::vector<unsigned char>& out) {
  out.clear();
  detail::byte_sink sink{out};
  return detail::write_model(q, sink);
}

}  // namespace rvq::io
