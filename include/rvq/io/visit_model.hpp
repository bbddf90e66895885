/// @file visit_model.hpp
/// @brief rvq::io::visit_model: open any `.rvq` file (every element, metric, storage, and
/// pipelines) and hand the concrete model to a generic callable. The one place that turns a
/// file's ids into policy types; the CLI and the bindings use it.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED || RVQ_NO_HEAP
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <string>
#include <utility>
#include <vector>
#include "../core/status.hpp"
#include "../pipeline.hpp"
#include "../policies.hpp"
#include "../quantizer.hpp"
#include "model_file.hpp"
#include "pipeline_file.hpp"

namespace rvq::io {

/// g(M{}) for the metric policy of id m (l2, ip, cos); false, calling nothing, for hamming.
template <class G>
bool visit_float_metric(metric_id m, G&& g) {
  switch (m) {
    case metric_id::l2:
      return g(l2{}), true;
    case metric_id::ip:
      return g(ip{}), true;
    case metric_id::cosine:
      return g(cosine{}), true;
    case metric_id::hamming:
      break;
  }
  return false;
}
/// g(E{}) for the element policy of an integer grid element (int8, q15, q7, int4, int2); false otherwise.
template <class G>
bool visit_grid_element(element_id e, G&& g) {
  switch (e) {
    case element_id::int8:
      return g(int8{}), true;
    case element_id::q15:
      return g(q15{}), true;
    case element_id::q7:
      return g(q7{}), true;
    case element_id::int4:
      return g(int4{}), true;
    case element_id::int2:
      return g(int2{}), true;
    default:
      return false;
  }
}

namespace detail {
/// Where a model comes from: a file (read when loaded), or the bytes of a whole `.rvq` file.
struct model_source {
  const std::string* path = nullptr;                  ///< a file, or
  const std::vector<unsigned char>* bytes = nullptr;  ///< the file's bytes in memory
};

/// Loads the model or pipeline of Config from `src` and calls f with it; the load error otherwise.
template <template <class> class Model, class Config, class F>
status load_and_call(const model_source& src, F& f) {
  auto r = [&] {
    if constexpr (std::is_same<Model<Config>, pipeline<Config>>::value)
      return src.path ? load_pipeline<Config>(*src.path) : load_pipeline_memory<Config>(*src.bytes);
    else
      return src.path ? load_model<Config>(*src.path) : load_model_memory<Config>(*src.bytes);
  }();
  if (!r) return r.error();
  f(std::move(r).value());
  return {};
}
template <class Config>
using quantizer_of = quantizer<Config>;

/// Dispatches on the ids of `info` to the Config of its element, metric and storage, run by `P`.
template <template <class> class Model, class P, class F>
status visit_as(const model_source& src, const model_info& info, F& f) {
  status s{errc::unsupported, "the file's element, metric and storage have no model type"};
  if (info.product) {  // pq/rpq: f32 search over sub-codebooks (f32 or int8 values)
    visit_float_metric(info.metric, [&](auto m) {
      using M = decltype(m);
      s = info.storage == storage_id::pq ? load_and_call<Model, config<f32, M, pq, P>>(src, f)
                                         : load_and_call<Model, config<f32, M, rpq, P>>(src, f);
    });
    return s;
  }
  switch (info.element) {
    case element_id::f32:
    case element_id::f16:
    case element_id::bf16:  // 16-bit values widened to float
      if (!visit_float_metric(info.metric,
                              [&](auto m) { s = load_and_call<Model, config<f32, decltype(m), dense, P>>(src, f); }))
        return {errc::corrupt_file, "the hamming metric belongs to binary models (rvq quantize --element binary)"};
      return s;
    case element_id::binary:
      if constexpr (std::is_same<Model<config<binary, hamming, dense, P>>,
                                 quantizer<config<binary, hamming, dense, P>>>::value)
        return load_and_call<Model, config<binary, hamming, dense, P>>(src, f);
      else
        return {errc::unsupported, "pipelines hold f32, f16, bf16, integer or pq/rpq stages, not binary"};
    default:
      break;
  }
  const bool grid = visit_grid_element(info.element, [&](auto e) {
    using E = decltype(e);
    if (info.metric == metric_id::l2)
      s = load_and_call<Model, config<E, l2, dense, P>>(src, f);
    else if (info.metric == metric_id::ip)
      s = load_and_call<Model, config<E, ip, dense, P>>(src, f);
    else
      s = {errc::corrupt_file, "integer models use the l2 or ip metric"};
  });
  if (!grid) return {errc::corrupt_file, "unknown element"};
  return s;
}

/// The header of the `.rvq` file held in `bytes`.
inline result<model_info> model_info_of(const std::vector<unsigned char>& bytes) {
  model_info info;
  RVQ_TRY(parse_model_header(bytes.data(), bytes.size(), info));
  return info;
}
}  // namespace detail

/**
 * @brief Opens the `.rvq` file at `path` and calls `f(model)` with its model, loaded into the
 * concrete type its ids call for (`P` is the parallel policy of every type, rvq::sequential by
 * default):
 * - f32, f16, bf16: `rvq::quantizer<rvq::config<rvq::f32, M, rvq::dense, P>>` (16-bit values widened);
 * - int8, q15, q7, int4, int2: `rvq::quantizer<rvq::config<E, rvq::l2 or rvq::ip, rvq::dense, P>>`
 *   (integer-only encode);
 * - binary: `rvq::quantizer<rvq::config<rvq::binary, rvq::hamming, rvq::dense, P>>`;
 * - pq, rpq: `rvq::quantizer<rvq::config<rvq::f32, M, rvq::pq or rvq::rpq, P>>`;
 * - a pipeline (format version 4): `rvq::pipeline<Config>` of its stages' config.
 *
 * `f` is a generic callable (`[](auto&& q) {...}`): every type above is instantiated. The model
 * is passed as an rvalue; f may keep it. f is not called when the file cannot be read or loaded.
 * @return the status of reading and loading the file (io_error, corrupt_file, unsupported_version,
 * unsupported), else ok.
 */
template <class P = sequential, class F>
status visit_model(const std::string& path, F&& f) {
  auto info = read_model_info(path);
  if (!info) return info.error();
  const detail::model_source src{&path, nullptr};
  if (info->pipeline) return detail::visit_as<pipeline, P>(src, *info, f);
  return detail::visit_as<detail::quantizer_of, P>(src, *info, f);
}

/// visit_model() of a model held in memory: `bytes` are a whole `.rvq` file (as
/// rvq::io::model_bytes() or rvq::io::pipeline_bytes() make them). Byte offsets in errors are
/// relative to `bytes`.
template <class P = sequential, class F>
status visit_model_memory(const std::vector<unsigned char>& bytes, F&& f) {
  auto info = detail::model_info_of(bytes);
  if (!info) return info.error();
  const detail::model_source src{nullptr, &bytes};
  if (info->pipeline) return detail::visit_as<pipeline, P>(src, *info, f);
  return detail::visit_as<detail::quantizer_of, P>(src, *info, f);
}

/// visit_model() for callers that take single models only: `f` sees quantizers, and a pipeline
/// file is refused with `unsupported` (f is not called).
template <class P = sequential, class F>
status visit_single_model(const std::string& path, F&& f) {
  auto info = read_model_info(path);
  if (!info) return info.error();
  if (info->pipeline) return {errc::unsupported, "a pipeline (stages with projections); a single model is expected"};
  return detail::visit_as<detail::quantizer_of, P>(detail::model_source{&path, nullptr}, *info, f);
}

/// visit_model_memory() for single models only: `f` sees quantizers, and a pipeline's bytes are
/// refused with `unsupported` (f is not called). With visit_pipeline_memory(), the two halves of
/// visit_model_memory(): a caller may instantiate them in two translation units, which compile
/// in parallel (the Python binding does).
template <class P = sequential, class F>
status visit_single_model_memory(const std::vector<unsigned char>& bytes, F&& f) {
  auto info = detail::model_info_of(bytes);
  if (!info) return info.error();
  if (info->pipeline) return {errc::unsupported, "a pipeline (stages with projections); a single model is expected"};
  return detail::visit_as<detail::quantizer_of, P>(detail::model_source{nullptr, &bytes}, *info, f);
}

/// visit_model_memory() for pipelines only: `f` sees rvq::pipeline types, and a single model's
/// bytes are refused with `unsupported` (f is not called).
template <class P = sequential, class F>
status visit_pipeline_memory(const std::vector<unsigned char>& bytes, F&& f) {
  auto info = detail::model_info_of(bytes);
  if (!info) return info.error();
  if (!info->pipeline) return {errc::unsupported, "a single model; a pipeline (stages with projections) is expected"};
  return detail::visit_as<pipeline, P>(detail::model_source{nullptr, &bytes}, *info, f);
}

}  // namespace rvq::io
