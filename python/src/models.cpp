// rvq._core: the type-erased single models and indexes, instantiated for every type a file can
// hold (rvq::io::visit_single_model_memory, visit_index_memory); pipelines are in pipelines.cpp.
// No Python here: see core.hpp.
#include "model_of.hpp"

#include <rvq/io/faiss.hpp>

namespace rvq_python {

model_ptr from_bytes(std::vector<unsigned char> bytes, const std::string& origin) {
  auto info = rvq::io::detail::model_info_of(bytes);
  if (!info) fail_file(info.error(), origin);
  model_ptr out = info->pipeline ? pipeline_from_bytes(bytes, origin) : single_from_bytes(bytes, origin);
  out->info = std::move(*info);
  out->bytes = std::move(bytes);
  return out;
}

model_ptr single_from_bytes(const std::vector<unsigned char>& bytes, const std::string& origin) {
  model_ptr out;
  const rvq::status s = rvq::io::visit_single_model_memory<par>(
      bytes, [&](auto&& q) { out = std::make_shared<model_of<std::decay_t<decltype(q)>>>(std::move(q)); });
  if (!s) fail_file(s, origin);
  return out;
}

index_ptr index_from_bytes(const std::vector<unsigned char>& bytes, const std::string& origin) {
  index_ptr out;
  const rvq::status s = rvq::io::visit_index_memory<par>(bytes, [&](auto&& ix) {
    using I = std::decay_t<decltype(ix)>;
    out = std::make_shared<index_of<typename I::quantizer_type>>(std::move(ix));
  });
  if (!s) fail_file(s, origin);
  return out;
}

rvq::status index_from_mapped(const std::string& path, index_ptr& out) {
  return rvq::io::visit_index_mapped<par>(path, [&](auto&& ix) {
    using I = std::decay_t<decltype(ix)>;
    out = std::make_shared<index_of<typename I::quantizer_type>>(std::move(ix));
  });
}

rvq::status index_from_faiss(const rvq::io::faiss_rq& rq, index_ptr& out) {
  auto make = [&](auto metric) -> rvq::status {
    using Q = rvq::quantizer<rvq::config<rvq::f32, decltype(metric), rvq::dense, par>>;
    auto ix = rvq::io::index_from_faiss<Q>(rq);
    if (!ix) return ix.error();
    out = std::make_shared<index_of<Q>>(std::move(ix).value());
    return {};
  };
  return rq.inner_product ? make(rvq::ip{}) : make(rvq::l2{});
}

}  // namespace rvq_python
