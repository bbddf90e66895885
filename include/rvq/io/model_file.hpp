/// @file model_file.hpp
/// @brief The `.rvq` model file: versioned, little-endian, CRC-32 checked, saved atomically.
///
/// The header of versions 1 to 3 is read and written by model_header.hpp; these tables are the
/// layouts it implies. Format version 1 (all integers little-endian; docs/format.md has the full spec):
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
#include "model_header.hpp"

namespace rvq::io {

/// A quantized model read from a file: its codebooks and the metric it was built for.
struct quantized_model {
  quantized_codebooks codebooks;     ///< element, scales and values
  metric_id metric = metric_id::l2;  ///< the file's metric
};

/// A pq/rpq model read from a file: its sub-codebooks and the metric it was built for.
struct product_model {
  product_codebooks codebooks;       ///< sub-codebooks and indices
  metric_id metric = metric_id::l2;  ///< the file's metric
};

namespace detail {
struct stage_layout;
inline status parse_pipeline_header(const unsigned char* p, std::size_t size, model_info& info,
                                    std::vector<stage_layout>* layout);

/// True when the bytes start as a pipeline (format version 4) file.
inline bool is_pipeline_file(const unsigned char* p, std::size_t size) noexcept {
  if (size < model_fixed_header + 4) return false;
  for (int i = 0; i < 8; ++i)
    if (p[i] != model_magic[i]) return false;
  return get_u32le(p + 8) == pipeline_format_version;
}

/// Validates the header and the overall size of any .rvq file held in memory (not the checksum).
inline status parse_model_header(const unsigned char* p, std::size_t size, model_info& info) {
  if (is_pipeline_file(p, size)) {
    info.version = pipeline_format_version;
    return parse_pipeline_header(p, size, info, nullptr);
  }
  model_header h;
  RVQ_TRY(parse_header(p, size, h));
  info = info_from(h, size);
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

/// The header of a single-model file held in memory, its size and checksum checked; a pipeline
/// is refused.
inline status parse_single_model(const std::vector<unsigned char>& bytes, model_header& h, model_info& info) {
  if (is_pipeline_file(bytes.data(), bytes.size())) {
    RVQ_TRY(parse_model_header(bytes.data(), bytes.size(), info));  // a damaged pipeline says so first
    return pipeline_refused();
  }
  RVQ_TRY(parse_header(bytes.data(), bytes.size(), h));
  info = info_from(h, bytes.size());
  return check_crc(bytes, info);
}

/// The codebooks of a version 2 file whose header parse_header() accepted (values unpacked, not validated).
inline quantized_codebooks read_quantized_payload(const unsigned char* p, const model_header& h) {
  quantized_codebooks q;
  q.element = h.element;
  q.group = h.quant.group;
  q.symmetric = h.quant.symmetric;
  q.mode = h.quant.mode;
  q.input_frac = h.quant.input_frac;
  q.dim = h.dim;
  q.k = h.k;
  q.act_shift = h.quant.act_shift;
  q.scales = h.quant.scales;
  q.zeros = h.quant.zeros;
  const std::size_t total = static_cast<std::size_t>(h.total_codewords()), row = q.row_bytes();
  q.values.assign(total * h.dim, 0);
  for (std::size_t c = 0; c < total; ++c) q.unpack_row(c, p + h.bytes() + c * row);
  return q;
}

/// The sub-codebooks of a version 3 file whose header parse_header() accepted; each value and
/// index checked (an error names its byte).
inline status read_product_payload(const unsigned char* p, const model_header& h, product_codebooks& pc) {
  product_codebooks out;
  out.kind = h.storage;
  out.element = h.element;
  out.dim = h.dim;
  out.k = h.k;
  out.subspaces = h.prod.subspaces;
  out.bits = h.prod.bits;
  out.seeded = h.prod.seeded;
  out.shared = h.prod.shared;
  out.seed = h.prod.seed;
  out.scales = h.prod.scales;
  const std::size_t header = h.bytes(), values = out.value_count();
  const bool int8 = h.element == element_id::int8;
  const unsigned char* v = p + header;
  if (int8) {
    out.qvalues.resize(values);
    for (std::size_t i = 0; i < values; ++i) out.qvalues[i] = static_cast<std::int8_t>(v[i]);
    v += values;
  } else {
    out.values.resize(values);
    for (std::size_t i = 0; i < values; ++i) out.values[i] = get_f32le(v + 4 * i);
    v += 4 * values;
  }
  if (!out.seeded) out.indices.assign(v, v + static_cast<std::size_t>(h.total_codewords()) * out.subspaces);
  const status s = out.validate();
  if (!s) {  // name the byte of the first bad value or index
    const std::string unit = s.where_unit() ? s.where_unit() : "";
    std::size_t at = 0;
    if (unit == "value") at = header + s.where() * 4;
    if (unit == "scale") at = model_fixed_header + 4 * h.layers() + 24 + 4 * s.where();
    if (unit == "index") at = header + values * (int8 ? 1 : 4) + s.where();
    return {errc::corrupt_file, s.message(), at, "byte"};
  }
  pc = std::move(out);
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
inline result<model_info> read_model_info(const std::string& path) {
  mapped_file f;
  RVQ_TRY(f.open(path));
  model_info info;
  RVQ_TRY(detail::parse_model_header(f.data(), f.size(), info));
  return info;
}

/// read_model_info() into `info`.
[[deprecated("use the overload that returns result<model_info>")]] inline status read_model_info(
    const std::string& path, model_info& info) {
  auto r = read_model_info(path);
  if (!r) return r.error();
  info = std::move(*r);
  return {};
}

/**
 * @brief Read a quantized model (format version 2), held in memory as the bytes of a whole
 * .rvq file. Errors as load_model_memory(), plus invalid_argument when the file holds an f32 or
 * a pq/rpq model.
 */
inline result<quantized_model> load_quantized_memory(const std::vector<unsigned char>& bytes) {
  detail::model_header h;
  model_info info;
  RVQ_TRY(detail::parse_single_model(bytes, h, info));
  if (info.product) return status{errc::invalid_argument, "the file holds a pq/rpq model, not a quantized one"};
  if (!info.quantized) return status{errc::invalid_argument, "the file holds an f32 model, not a quantized one"};
  quantized_model out{detail::read_quantized_payload(bytes.data(), h), info.metric};
  const status s = out.codebooks.validate();
  if (!s) return status{errc::corrupt_file, s.message(), s.where(), s.where_unit()};
  return out;
}

/// load_quantized_memory() from a path.
inline result<quantized_model> load_quantized(const std::string& path) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return load_quantized_memory(bytes);
}

/// load_quantized() into `q` and `metric`.
[[deprecated("use the overload that returns result<quantized_model>")]] inline status load_quantized(
    const std::string& path, quantized_codebooks& q, metric_id& metric) {
  auto r = load_quantized(path);
  if (!r) return r.error();
  q = std::move(r->codebooks);
  metric = r->metric;
  return {};
}

/**
 * @brief Read a pq/rpq model (format version 3), the bytes of a whole .rvq file. Errors as
 * load_model_memory(), plus invalid_argument when the file holds a dense model.
 */
inline result<product_model> load_product_memory(const std::vector<unsigned char>& bytes) {
  detail::model_header h;
  model_info info;
  RVQ_TRY(detail::parse_single_model(bytes, h, info));
  if (!info.product) return status{errc::invalid_argument, "the file holds a dense model, not a pq/rpq one"};
  product_model out;
  out.metric = info.metric;
  RVQ_TRY(detail::read_product_payload(bytes.data(), h, out.codebooks));
  return out;
}

/// load_product_memory() from a path.
inline result<product_model> load_product(const std::string& path) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return load_product_memory(bytes);
}

/// load_product() into `pc` and `metric`.
[[deprecated("use the overload that returns result<product_model>")]] inline status load_product(
    const std::string& path, product_codebooks& pc, metric_id& metric) {
  auto r = load_product(path);
  if (!r) return r.error();
  pc = std::move(r->codebooks);
  metric = r->metric;
  return {};
}

/**
 * @brief Load a model, held in memory as the bytes of a whole .rvq file, into a quantizer of
 * `Config`: f32 quantizers read f32 models and, widened to float, f16/bf16 models and (expanded)
 * pq/rpq models; integer quantizers read models of their own element; pq/rpq quantizers read
 * models of their storage.
 * Errors: io_error, corrupt_file (bad magic, sizes, checksum; where = byte offset),
 * unsupported_version, invalid_argument (the file's metric or element does not fit Config), non_finite.
 */
template <class Config>
result<quantizer<Config>> load_model_memory(const std::vector<unsigned char>& bytes) {
  using q_t = quantizer<Config>;
  detail::model_header h;
  model_info info;
  RVQ_TRY(detail::parse_single_model(bytes, h, info));
  if (info.metric != metric_traits<typename Config::metric>::id)
    return status{errc::invalid_argument, msg::metric_differs};
  product_codebooks pc;
  if (info.product) RVQ_TRY(detail::read_product_payload(bytes.data(), h, pc));
  quantized_codebooks qc;
  if (info.quantized) {
    qc = detail::read_quantized_payload(bytes.data(), h);
    const status v = qc.validate();
    if (!v) return status{errc::corrupt_file, v.message(), v.where(), v.where_unit()};
  }
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
    return q_t::from_quantized(qc);
  } else {
    if (!info.product && info_of(info.element).is_integer)
      return status{errc::invalid_argument,
                    "the model is quantized to an integer element: load it into a quantizer of that element"};
    std::vector<float> cw;
    if (info.product) {  // a dense quantizer of the expanded codewords
      cw = pc.expand_all();
    } else if (info.quantized) {
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
/// The header of a model, its sections left empty, and its payload bytes.
inline model_header header_for(element_id e, metric_id m, storage_id s, const std::vector<std::size_t>& k,
                               std::size_t dim) {
  model_header h;
  h.version = layout_version(e, s);
  h.element = e;
  h.metric = m;
  h.storage = s;
  h.k = k;
  h.dim = dim;
  return h;
}

/// Writes the header, then the payload from `rows(i, buf)`, which fills buf with the bytes of
/// chunk i of `chunks` (each `chunk_bytes` long but the last), then the CRC; all to `w`
/// (anything with write(const void*, size_t)).
template <class Sink, class Rows>
status write_file(const model_header& h, std::size_t chunks, Rows&& rows, Sink& w) {
  // Whatever rvq writes, it reads back: the parser's limits hold here too.
  RVQ_TRY(check_shape(h.k.size(), h.k.data(), h.dim, h.version == product_format_version ? product_max_dim : max_dim));
  if (loaded_bytes(h) > memory_bound(h.bytes() + h.payload + 4))
    return {errc::unsupported, msg::model_expands, loaded_bytes(h), "bytes needed"};
  const std::vector<unsigned char> head = write_header(h);
  w.write(head.data(), head.size());
  std::uint32_t crc = rvq::detail::crc32_update(0, head.data(), head.size());
  std::vector<unsigned char> buf;
  for (std::size_t i = 0; i < chunks; ++i) {
    rows(i, buf);
    crc = rvq::detail::crc32_update(crc, buf.data(), buf.size());
    w.write(buf.data(), buf.size());
  }
  unsigned char tail[4];
  put_u32le(tail, crc);
  w.write(tail, 4);
  return {};
}

/// Writes quantized codebooks (format version 2) to `w`.
template <class Sink>
status write_quantized(const quantized_codebooks& q, metric_id metric, Sink& w) {
  RVQ_TRY(q.validate());
  if ((metric == metric_id::hamming) != (q.element == element_id::binary))
    return {errc::invalid_argument, msg::hamming_binary};
  model_header h = header_for(q.element, metric, storage_id::dense, q.k, q.dim);
  h.payload = q.value_bytes();
  h.quant.group = q.group;
  h.quant.symmetric = q.symmetric;
  h.quant.input_frac = q.input_frac;
  h.quant.mode = q.mode;
  h.quant.act_shift = q.act_shift;
  if (info_of(q.element).is_integer) {
    h.quant.scales = q.scales;
    h.quant.zeros = q.zeros;
  }
  return write_file(
      h, q.total_codewords(),
      [&](std::size_t c, std::vector<unsigned char>& buf) {
        buf.resize(q.row_bytes());
        q.pack_row(c, buf.data());
      },
      w);
}

/// Writes pq/rpq codebooks (format version 3) to `w`.
template <class Sink>
status write_product(const product_codebooks& pc, metric_id metric, Sink& w) {
  RVQ_TRY(pc.validate());
  if (metric != metric_id::l2 && metric != metric_id::ip && metric != metric_id::cosine)
    return {errc::invalid_argument, "pq/rpq models use the l2, ip or cosine metric"};
  const bool int8 = pc.element == element_id::int8;
  model_header h = header_for(pc.element, metric, pc.kind, pc.k, pc.dim);
  h.payload = (int8 ? pc.value_count() : 4 * pc.value_count()) + pc.index_bytes();
  h.prod.subspaces = pc.subspaces;
  h.prod.bits = pc.bits;
  h.prod.seeded = pc.seeded;
  h.prod.shared = pc.shared;
  h.prod.seed = pc.seed;
  if (int8) h.prod.scales = pc.scales;
  return write_file(
      h, 2,
      [&](std::size_t part, std::vector<unsigned char>& buf) {
        if (part == 1) {  // the stored indices
          buf.assign(pc.indices.begin(), pc.indices.begin() + static_cast<std::ptrdiff_t>(pc.index_bytes()));
        } else if (int8) {
          buf.resize(pc.qvalues.size());
          for (std::size_t i = 0; i < pc.qvalues.size(); ++i) buf[i] = static_cast<unsigned char>(pc.qvalues[i]);
        } else {
          buf.resize(4 * pc.values.size());
          for (std::size_t i = 0; i < pc.values.size(); ++i) put_f32le(buf.data() + 4 * i, pc.values[i]);
        }
      },
      w);
}

/// Writes a model to `w` (format version 1, 2 or 3, as save_model()).
template <class Config, class Sink>
status write_model(const quantizer<Config>& q, Sink& w) {
  if (q.layers() == 0) return {errc::empty_input, msg::no_codebooks};
  if constexpr (quantizer<Config>::is_product) {
    return write_product(q.store().model(), metric_traits<typename Config::metric>::id, w);
  } else if constexpr (quantizer<Config>::is_integer) {
    return write_quantized(q.store().model(), metric_traits<typename Config::metric>::id, w);
  } else {
    std::vector<std::size_t> k(q.layers());
    std::size_t total = 0;
    for (std::size_t l = 0; l < q.layers(); ++l) total += k[l] = q.codewords(l);
    const std::size_t floats = total * q.dim(), chunk = 1 << 14;
    model_header h =
        header_for(element_traits<typename Config::element>::id, metric_traits<typename Config::metric>::id,
                   storage_traits<typename Config::storage>::id, k, q.dim());
    h.payload = static_cast<std::uint64_t>(floats) * 4;
    const float* cw = q.codebook_data();
    return write_file(
        h, (floats + chunk - 1) / chunk,
        [&](std::size_t i, std::vector<unsigned char>& buf) {
          const std::size_t first = i * chunk, n = floats - first < chunk ? floats - first : chunk;
          buf.resize(4 * n);
          for (std::size_t j = 0; j < n; ++j) put_f32le(buf.data() + 4 * j, cw[first + j]);
        },
        w);
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

/// Saves through `write(sink)` atomically (temporary file in the same folder, then rename).
template <class Write>
status save_atomically(const std::string& path, Write&& write) {
  atomic_writer w;
  RVQ_TRY(w.open(path));
  RVQ_TRY(write(w));
  return w.commit();
}
}  // namespace detail

/// Save quantized codebooks (format version 2) atomically, for a model of metric `metric`.
inline status save_quantized(const quantized_codebooks& q, metric_id metric, const std::string& path) {
  return detail::save_atomically(path, [&](atomic_writer& w) { return detail::write_quantized(q, metric, w); });
}

/// The bytes of the .rvq file save_quantized() writes, into `out`.
inline status quantized_bytes(const quantized_codebooks& q, metric_id metric, std::vector<unsigned char>& out) {
  out.clear();
  detail::byte_sink sink{out};
  return detail::write_quantized(q, metric, sink);
}

/// Save pq/rpq codebooks (format version 3) atomically, for a model of metric `metric`.
inline status save_product(const product_codebooks& pc, metric_id metric, const std::string& path) {
  return detail::save_atomically(path, [&](atomic_writer& w) { return detail::write_product(pc, metric, w); });
}

/// The bytes of the .rvq file save_product() writes, into `out`.
inline status product_bytes(const product_codebooks& pc, metric_id metric, std::vector<unsigned char>& out) {
  out.clear();
  detail::byte_sink sink{out};
  return detail::write_product(pc, metric, sink);
}

/// Save a model atomically (temporary file in the same folder, then rename): f32 quantizers as
/// format version 1, quantized (integer-element) ones as version 2, pq/rpq ones as version 3.
template <class Config>
status save_model(const quantizer<Config>& q, const std::string& path) {
  if (q.layers() == 0) return {errc::empty_input, msg::no_codebooks};
  return detail::save_atomically(path, [&](atomic_writer& w) { return detail::write_model(q, w); });
}

/// The bytes of the .rvq file save_model() writes, into `out`.
template <class Config>
status model_bytes(const quantizer<Config>& q, std::vector<unsigned char>& out) {
  out.clear();
  detail::byte_sink sink{out};
  return detail::write_model(q, sink);
}

}  // namespace rvq::io
