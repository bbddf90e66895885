/// @file pipeline_file.hpp
/// @brief Pipelines (rvq::pipeline) in `.rvq` files: format version 4 (model_file.hpp has the
/// layout), saved atomically, loaded with every field, size and checksum checked.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include "../pipeline.hpp"
#include "model_file.hpp"

namespace rvq::io {

namespace detail {
/// Appends a projection block.
inline status write_projection(const linear_map& m, std::vector<unsigned char>& out) {
  RVQ_TRY(m.validate());
  unsigned char h[16];
  put_u32le(h, m.product ? 3u : 1u);
  put_u32le(h + 4, static_cast<std::uint32_t>(m.in));
  put_u32le(h + 8, static_cast<std::uint32_t>(m.out));
  put_u32le(h + 12, m.bias.empty() ? 0u : 1u);
  out.insert(out.end(), h, h + 16);
  unsigned char b[8];
  if (m.product) {
    std::vector<unsigned char> file;
    byte_sink sink{file};
    RVQ_TRY(write_product(m.weights_rpq, metric_id::l2, sink));
    put_u64le(b, file.size());
    out.insert(out.end(), b, b + 8);
    out.insert(out.end(), file.begin(), file.end());
  } else {
    for (float w : m.weights) {
      put_f32le(b, w);
      out.insert(out.end(), b, b + 4);
    }
  }
  for (float v : m.bias) {
    put_f32le(b, v);
    out.insert(out.end(), b, b + 4);
  }
  return {};
}

/// The linear map of the projection at `pl` of the file `p` (not yet validated against its shape).
inline result<linear_map> make_projection(const unsigned char* p, const projection_layout& pl) {
  std::vector<float> bias(pl.bias ? pl.out : 0);
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = get_f32le(p + pl.bias_at + 4 * i);
  if (pl.product) {
    const std::vector<unsigned char> file(p + pl.weights_at, p + pl.weights_at + pl.weights_bytes);
    auto pm = load_product_memory(file);
    if (!pm) {
      const status& s = pm.error();
      return status{s.code(), s.message(), pl.weights_at + (s.where_unit() ? s.where() : 0), "byte"};
    }
    return linear_map::from_product(std::move(pm->codebooks), span<const float>(bias));
  }
  std::vector<float> w(pl.in * pl.out);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = get_f32le(p + pl.weights_at + 4 * i);
  return linear_map::dense(span<const float>(w), pl.out, pl.in, span<const float>(bias));
}

/// Reads the projection at `pl` of the file `p`; errors name the byte of the first bad value.
inline status read_projection(const unsigned char* p, const projection_layout& pl, linear_map& m) {
  result<linear_map> r = make_projection(p, pl);
  if (!r) {
    const status& e = r.error();
    if (e.where_unit() && std::string(e.where_unit()) == "byte") return e;
    const bool in_bias = e.where_unit() && std::string(e.message()).find("bias") != std::string::npos;
    const std::size_t at = in_bias                           ? pl.bias_at + 4 * e.where()
                           : (!pl.product && e.where_unit()) ? pl.weights_at + 4 * e.where()
                                                             : pl.weights_at;
    return {errc::corrupt_file, e.message(), at, "byte"};
  }
  m = std::move(r).value();
  return {};
}
}  // namespace detail

/// The bytes of the .rvq file (format version 4) of pipeline `p`, into `out`.
template <class Config>
status pipeline_bytes(const pipeline<Config>& p, std::vector<unsigned char>& out) {
  RVQ_TRY(p.validate());
  out.assign(32, 0);
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = detail::model_magic[i];
  detail::put_u32le(&out[8], pipeline_format_version);
  detail::put_u32le(&out[12], 32);
  detail::put_u32le(&out[16], static_cast<std::uint32_t>(p.dim()));
  detail::put_u32le(&out[20], static_cast<std::uint32_t>(p.stages()));
  unsigned char b[8];
  for (std::size_t s = 0; s < p.stages(); ++s) {
    const auto& st = p.stage(s);
    detail::put_u32le(b, (st.in ? 1u : 0u) | (st.out ? 2u : 0u));
    out.insert(out.end(), b, b + 4);
    if (st.in) RVQ_TRY(detail::write_projection(*st.in, out));
    std::vector<unsigned char> file;
    RVQ_TRY(model_bytes(st.q, file));
    detail::put_u64le(b, file.size());
    out.insert(out.end(), b, b + 8);
    out.insert(out.end(), file.begin(), file.end());
    if (st.out) RVQ_TRY(detail::write_projection(*st.out, out));
  }
  detail::put_u32le(b, rvq::detail::crc32_update(0, out.data(), out.size()));
  out.insert(out.end(), b, b + 4);
  return {};
}

/// Save a pipeline atomically (format version 4).
template <class Config>
status save_pipeline(const pipeline<Config>& p, const std::string& path) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(pipeline_bytes(p, bytes));
  atomic_writer w;
  RVQ_TRY(w.open(path));
  w.write(bytes.data(), bytes.size());
  return w.commit();
}

/**
 * @brief Read a pipeline (format version 4) from the bytes of a whole .rvq file. Every stage's
 * quantizer is loaded as load_model_memory<Config>() would (its own checksum checked), every
 * projection's weights checked; a version 1-3 file loads as a pipeline of one stage without
 * projections.
 * @return the errors of load_model_memory() (byte offsets relative to this file).
 */
template <class Config>
result<pipeline<Config>> load_pipeline_memory(const std::vector<unsigned char>& bytes) {
  model_info info;
  RVQ_TRY(detail::parse_model_header(bytes.data(), bytes.size(), info));
  if (!info.pipeline) {
    auto q = load_model_memory<Config>(bytes);
    if (!q) return q.error();
    std::vector<pipeline_stage<Config>> one(1);
    one[0].q = std::move(q).value();
    return pipeline<Config>::make(info.dim, std::move(one));
  }
  std::vector<detail::stage_layout> layout;
  RVQ_TRY(detail::parse_pipeline_header(bytes.data(), bytes.size(), info, &layout));
  RVQ_TRY(detail::check_crc(bytes, info));
  std::vector<pipeline_stage<Config>> stages(layout.size());
  for (std::size_t s = 0; s < layout.size(); ++s) {
    const detail::stage_layout& l = layout[s];
    if (l.has_in) {
      stages[s].in.emplace();
      RVQ_TRY(detail::read_projection(bytes.data(), l.in, *stages[s].in));
    }
    const std::vector<unsigned char> file(bytes.begin() + static_cast<std::ptrdiff_t>(l.model_at),
                                          bytes.begin() + static_cast<std::ptrdiff_t>(l.model_at + l.model_bytes));
    auto q = load_model_memory<Config>(file);
    if (!q) {
      const status& e = q.error();
      const bool bytewise = e.where_unit() && std::string(e.where_unit()) == "byte";
      return status{e.code(), e.message(), bytewise ? l.model_at + e.where() : s, bytewise ? "byte" : "stage"};
    }
    stages[s].q = std::move(q).value();
    if (l.has_out) {
      stages[s].out.emplace();
      RVQ_TRY(detail::read_projection(bytes.data(), l.out, *stages[s].out));
    }
  }
  return pipeline<Config>::make(info.dim, std::move(stages));
}

/// load_pipeline_memory() from a path.
template <class Config>
result<pipeline<Config>> load_pipeline(const std::string& path) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return load_pipeline_memory<Config>(bytes);
}

}  // namespace rvq::io
