// rvq._core: the type-erased pipelines, instantiated for every pipeline type a file can hold
// (rvq::io::visit_pipeline_memory); single models are in models.cpp. No Python here: see core.hpp.
#include "model_of.hpp"

namespace rvq_python {

model_ptr pipeline_from_bytes(const std::vector<unsigned char>& bytes, const std::string& origin) {
  model_ptr out;
  const rvq::status s = rvq::io::visit_pipeline_memory<par>(
      bytes, [&](auto&& q) { out = std::make_shared<model_of<std::decay_t<decltype(q)>>>(std::move(q)); });
  if (!s) fail_file(s, origin);
  return out;
}

}  // namespace rvq_python
