// libFuzzer target: the .rvq model loader (header, sizes, checksum, codewords), its zero-copy view
// (map_model), the quantized (version 2) and pq/rpq (version 3) sections, pipelines (version 4)
// and, when a model loads, one encode and decode with it.
#include <rvq/rvq.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  rvq::io::model_info info;
  (void)rvq::io::detail::parse_model_header(bytes.data(), bytes.size(), info);
  using cfg = rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, rvq::scalar>;
  using q_t = rvq::quantizer<cfg>;
  auto q = rvq::io::load_model_memory<cfg>(bytes);
  if (q.ok() && q->dim() <= 4096 && q->layers() <= 64) {
    std::vector<float> x(q->dim(), 0.5f), y(q->dim());
    std::vector<std::uint16_t> codes(q->layers());
    if (q->encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes)))
      (void)q->decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(y));
  }
  // the zero-copy view of the same bytes (rvq::io::map_model's parser): checked as strictly
  auto view = q_t();
  if (rvq::io::view_model_memory(bytes.data(), bytes.size(), view).ok() && view.dim() <= 4096 && view.layers() <= 64) {
    std::vector<float> x(view.dim(), 0.5f), y(view.dim());
    std::vector<std::uint16_t> codes(view.layers());
    if (view.encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes)))
      (void)view.decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(y));
  }
  // quantized models: the version 2 section, then the integer tables and one integer encode
  auto qm = rvq::io::load_quantized_memory(bytes);
  if (qm.ok() && qm->codebooks.element == rvq::element_id::int8 && qm->metric == rvq::metric_id::l2 &&
      qm->codebooks.dim <= 4096 && qm->codebooks.layers() <= 64) {
    const rvq::quantized_codebooks& qc = qm->codebooks;
    auto iq =
        rvq::quantizer<rvq::config<rvq::int8, rvq::l2, rvq::dense, rvq::sequential, rvq::scalar>>::from_quantized(qc);
    if (iq.ok()) {
      std::vector<float> x(iq->dim(), 0.5f), y(iq->dim());
      std::vector<std::uint16_t> codes(iq->layers());
      if (iq->encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes)))
        (void)iq->decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(y));
    }
  }
  // pq/rpq models: the version 3 section, then the product search (tables and expansion)
  auto pm = rvq::io::load_product_memory(bytes);
  if (pm.ok() && pm->codebooks.dim <= 4096 && pm->codebooks.layers() <= 64) {
    rvq::product_codebooks& pc = pm->codebooks;
    pc.kind = rvq::storage_id::rpq;
    for (auto mode : {rvq::product_search::tables, rvq::product_search::expand}) {
      auto pq = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::rpq, rvq::sequential, rvq::scalar>>::from_product(
          pc, mode);
      if (!pq.ok()) continue;
      std::vector<float> x(pq->dim(), 0.5f), y(pq->dim());
      std::vector<std::uint16_t> codes(pq->layers());
      if (pq->encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes)))
        (void)pq->decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(y));
    }
  }
  // pipelines: stages with projections (version 4), or a single model as one stage
  auto pipe =
      rvq::io::load_pipeline_memory<rvq::config<rvq::f32, rvq::cosine, rvq::dense, rvq::sequential, rvq::scalar>>(
          bytes);
  if (pipe.ok() && pipe->dim() <= 4096 && pipe->layers() <= 64 && pipe->max_stage_dim() <= 4096) {
    std::vector<float> x(pipe->dim(), 0.5f), y(pipe->dim());
    std::vector<std::uint16_t> codes(pipe->layers());
    if (pipe->encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes)))
      (void)pipe->decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(y));
  }
  return 0;
}
