// Writes the seed corpora of the fuzz targets (run once; the seeds are committed).
//   make_seeds <dir>
#include <rvq/rvq.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  std::vector<float> x = {1, -2, 3.5f, 0, 0.25f, -1e-3f};
  const std::size_t s23[2] = {2, 3}, s6[1] = {6};
  bool ok = true;
  ok &= rvq::io::write_npy(dir + "/npy/f32.npy", x.data(), rvq::span<const std::size_t>(s23)).ok();
  ok &= rvq::io::write_npy_f16(dir + "/npy/f16.npy", x.data(), rvq::span<const std::size_t>(s6)).ok();
  const std::uint16_t c[4] = {0, 1, 300, 65535};
  const std::size_t s22[2] = {2, 2};
  ok &= rvq::io::write_npy(dir + "/npy/u16.npy", c, rvq::span<const std::size_t>(s22)).ok();
  ok &= rvq::io::write_vecs(dir + "/vecs/x.fvecs", rvq::matrix_view<const float>(x.data(), 2, 3)).ok();
  const std::uint8_t b[4] = {1, 2, 3, 4};
  ok &= rvq::io::write_vecs(dir + "/vecs/x.bvecs", rvq::matrix_view<const std::uint8_t>(b, 2, 2)).ok();
  const std::vector<float> cb = {0, 0, 1, 1, -1, 0, 0.1f, 0.1f, 0, 0.1f, -0.1f, 0};
  auto q = rvq::quantizer<>::from_codebooks(rvq::span<const float>(cb), 2, 3, 2);
  ok &= q.ok() && rvq::io::save_model(*q, dir + "/model/small.rvq").ok();
  // quantized models (format version 2): int8 per codeword, asymmetric int4 per dimension, f16
  const std::vector<float> xs = {0, 0, 1, 1, -1, 0.5f, 0.2f, -0.3f, 0.9f, 1.1f};
  const rvq::matrix_view<const float> calib(xs.data(), 5, 2);
  rvq::quantize_options o;
  rvq::quantized_codebooks qc;
  ok &= q.ok() && rvq::quantize_codebooks(*q, calib, o, qc).ok() &&
        rvq::io::save_quantized(qc, rvq::metric_id::l2, dir + "/model/int8.rvq").ok();
  o.element = rvq::element_id::int4;
  o.group = rvq::granularity::dim;
  o.symmetric = false;
  ok &= q.ok() && rvq::quantize_codebooks(*q, calib, o, qc).ok() &&
        rvq::io::save_quantized(qc, rvq::metric_id::l2, dir + "/model/int4.rvq").ok();
  o = {};
  o.element = rvq::element_id::f16;
  ok &= q.ok() && rvq::quantize_codebooks(*q, calib, o, qc).ok() &&
        rvq::io::save_quantized(qc, rvq::metric_id::l2, dir + "/model/f16.rvq").ok();
  // pq/rpq models (format version 3): pq with stored indices, rpq seeded, shared, int8
  rvq::compress_options co;
  co.subspaces = 1;
  co.bits = 1;
  auto pq = q.ok() ? rvq::compress(*q, co) : rvq::result<rvq::product_codebooks>(q.error());
  ok &= pq.ok() && rvq::io::save_product(*pq, rvq::metric_id::l2, dir + "/model/pq.rvq").ok();
  co.storage = rvq::storage_id::rpq;
  co.seeded = co.shared = true;
  co.element = rvq::element_id::int8;
  auto rpq = q.ok() ? rvq::compress(*q, co) : rvq::result<rvq::product_codebooks>(q.error());
  ok &= rpq.ok() && rvq::io::save_product(*rpq, rvq::metric_id::l2, dir + "/model/rpq.rvq").ok();
  const std::uint8_t packed[6] = {0x02, 0x80, 0x12, 0x00, 0x03, 0xff};
  std::FILE* f = std::fopen((dir + "/packed/rows.bin").c_str(), "wb");
  ok &= f && std::fwrite(packed, 1, sizeof packed, f) == sizeof packed;
  if (f) std::fclose(f);
  return ok ? 0 : 1;
}
