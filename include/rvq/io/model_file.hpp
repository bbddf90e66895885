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
    if (k == 0 || k > 65536)
      return {errc::corrupt_file, "codewords per layer out of range (1 to 65536)", model_fixed_header + 4 * l, "byte"};
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

/// Validates the header and the overall size of a .rvq file held in memory (not the checksum);
/// for version 2 also reads the quantization section into `q` when `q` is given.
inline status parse_model_header(const unsigned char* p, std::size_t size, model_info& info,
                                 quantized_codebooks* q = nullptr) {
  if (size < model_fixed_header + 4) return {errc::corrupt_file, "file too short for an rvq model", size, "byte"};
  for (int i = 0; i < 8; ++i)
    if (p[i] != model_magic[i]) return {errc::corrupt_file, "not an rvq model file (bad magic)", 0, "byte"};
  info.version = get_u32le(p + 8);
  if (info.version == product_format_version) return parse_product_header(p, size, info, nullptr);
  if (info.version != model_format_version && info.version != quantized_format_version)
    return {errc::unsupported_version, "unknown rvq model format version (this build reads versions 1 to 3)", 8,
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
    return {errc::corrupt_file, "the hamming metric goes with binary codewords, and only with them", 20, "byte"};
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
  if (info.metric != metric_traits<typename Config::metric>::id)
    return status{errc::invalid_argument, "the model's metric differs from the quantizer's Config::metric"};
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

/// Save quantized codebooks (format version 2) atomically, for a model of metric `metric`.
inline status save_quantized(const quantized_codebooks& q, metric_id metric, const std::string& path) {
  RVQ_TRY(q.validate());
  if ((metric == metric_id::hamming) != (q.element == element_id::binary))
    return {errc::invalid_argument, "the hamming metric goes with binary codewords, and only with them"};
  const std::size_t nl = q.layers(), groups = info_of(q.element).is_integer ? q.groups() : 0;
  const std::size_t header = detail::model_fixed_header + 4 * nl + 24 + 4 * nl + 8 * groups;
  std::vector<unsigned char> head(header, 0);
  for (int i = 0; i < 8; ++i) head[static_cast<std::size_t>(i)] = detail::model_magic[i];
  detail::put_u32le(&head[8], quantized_format_version);
  detail::put_u32le(&head[12], static_cast<std::uint32_t>(header));
  detail::put_u32le(&head[16], static_cast<std::uint32_t>(q.element));
  detail::put_u32le(&head[20], static_cast<std::uint32_t>(metric));
  detail::put_u32le(&head[24], static_cast<std::uint32_t>(storage_id::dense));
  detail::put_u32le(&head[28], static_cast<std::uint32_t>(nl));
  detail::put_u32le(&head[32], static_cast<std::uint32_t>(q.dim));
  detail::put_u64le(&head[40], static_cast<std::uint64_t>(q.value_bytes()));
  for (std::size_t l = 0; l < nl; ++l)
    detail::put_u32le(&head[detail::model_fixed_header + 4 * l], static_cast<std::uint32_t>(q.k[l]));
  const std::size_t qs = detail::model_fixed_header + 4 * nl;
  detail::put_u32le(&head[qs], static_cast<std::uint32_t>(q.group));
  detail::put_u32le(&head[qs + 4], q.symmetric ? 1u : 0u);
  detail::put_u32le(&head[qs + 8], static_cast<std::uint32_t>(q.input_frac));
  detail::put_u32le(&head[qs + 12], static_cast<std::uint32_t>(q.mode));
  for (std::size_t l = 0; l < nl; ++l)
    detail::put_u32le(&head[qs + 16 + 4 * l], static_cast<std::uint32_t>(q.act_shift.empty() ? 0 : q.act_shift[l]));
  detail::put_u64le(&head[qs + 16 + 4 * nl], groups);
  for (std::size_t g = 0; g < groups; ++g) {
    detail::put_f32le(&head[qs + 24 + 4 * nl + 4 * g], q.scales[g]);
    detail::put_u32le(&head[qs + 24 + 4 * nl + 4 * groups + 4 * g], static_cast<std::uint32_t>(q.zeros[g]));
  }
  atomic_writer w;
  RVQ_TRY(w.open(path));
  w.write(head.data(), head.size());
  std::uint32_t crc = rvq::detail::crc32_update(0, head.data(), head.size());
  std::vector<unsigned char> row(q.row_bytes());
  for (std::size_t c = 0; c < q.total_codewords(); ++c) {
    q.pack_row(c, row.data());
    crc = rvq::detail::crc32_update(crc, row.data(), row.size());
    w.write(row.data(), row.size());
  }
  unsigned char tail[4];
  detail::put_u32le(tail, crc);
  w.write(tail, 4);
  return w.commit();
}

/// Save pq/rpq codebooks (format version 3) atomically, for a model of metric `metric`.
inline status save_product(const product_codebooks& pc, metric_id metric, const std::string& path) {
  RVQ_TRY(pc.validate());
  if (metric != metric_id::l2 && metric != metric_id::ip && metric != metric_id::cosine)
    return {errc::invalid_argument, "pq/rpq models use the l2, ip or cosine metric"};
  const bool int8 = pc.element == element_id::int8;
  const std::size_t nl = pc.layers(), klist = detail::model_fixed_header + 4 * nl;
  const std::size_t header = klist + 24 + (int8 ? 4 * pc.scales.size() : 0);
  const std::size_t payload = (int8 ? pc.value_count() : 4 * pc.value_count()) + pc.index_bytes();
  std::vector<unsigned char> out(header + payload + 4, 0);
  unsigned char* h = out.data();
  for (int i = 0; i < 8; ++i) h[i] = detail::model_magic[i];
  detail::put_u32le(h + 8, product_format_version);
  detail::put_u32le(h + 12, static_cast<std::uint32_t>(header));
  detail::put_u32le(h + 16, static_cast<std::uint32_t>(pc.element));
  detail::put_u32le(h + 20, static_cast<std::uint32_t>(metric));
  detail::put_u32le(h + 24, static_cast<std::uint32_t>(pc.kind));
  detail::put_u32le(h + 28, static_cast<std::uint32_t>(nl));
  detail::put_u32le(h + 32, static_cast<std::uint32_t>(pc.dim));
  detail::put_u64le(h + 40, static_cast<std::uint64_t>(payload));
  for (std::size_t l = 0; l < nl; ++l)
    detail::put_u32le(h + detail::model_fixed_header + 4 * l, static_cast<std::uint32_t>(pc.k[l]));
  detail::put_u32le(h + klist, static_cast<std::uint32_t>(pc.subspaces));
  detail::put_u32le(h + klist + 4, pc.bits);
  detail::put_u32le(h + klist + 8, (pc.seeded ? 1u : 0u) | (pc.shared ? 2u : 0u));
  detail::put_u64le(h + klist + 16, pc.seed);
  for (std::size_t i = 0; int8 && i < pc.scales.size(); ++i) detail::put_f32le(h + klist + 24 + 4 * i, pc.scales[i]);
  unsigned char* v = h + header;
  if (int8) {
    for (std::size_t i = 0; i < pc.qvalues.size(); ++i) v[i] = static_cast<unsigned char>(pc.qvalues[i]);
    v += pc.qvalues.size();
  } else {
    for (std::size_t i = 0; i < pc.values.size(); ++i) detail::put_f32le(v + 4 * i, pc.values[i]);
    v += 4 * pc.values.size();
  }
  for (std::size_t i = 0; i < pc.index_bytes(); ++i) v[i] = pc.indices[i];
  detail::put_u32le(h + header + payload, rvq::detail::crc32_update(0, h, header + payload));
  atomic_writer w;
  RVQ_TRY(w.open(path));
  w.write(out.data(), out.size());
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

/// Save a model atomically (temporary file in the same folder, then rename); quantized
/// (integer-element) quantizers are written as format version 2, pq/rpq ones as version 3.
template <class Config>
status save_model(const quantizer<Config>& q, const std::string& path) {
  if (q.layers() == 0) return {errc::empty_input, "the quantizer has no codebooks"};
  if constexpr (quantizer<Config>::is_product) {
    return save_product(q.store().model(), metric_traits<typename Config::metric>::id, path);
  } else if constexpr (quantizer<Config>::is_integer) {
    return save_quantized(q.store().model(), metric_traits<typename Config::metric>::id, path);
  } else {
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
}

}  // namespace rvq::io
