// Writes the seed corpora of the fuzz targets (run once; the seeds are committed).
//   make_seeds <dir>
#include <rvq/detail/crc32.hpp>
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
  // binary model (format 2, hamming)
  o = {};
  o.element = rvq::element_id::binary;
  auto qh = rvq::quantizer<rvq::config<rvq::f32, rvq::ip>>::from_codebooks(rvq::span<const float>(cb), 2, 3, 2);
  ok &= qh.ok() && rvq::quantize_codebooks(*qh, calib, o, qc).ok() &&
        rvq::io::save_quantized(qc, rvq::metric_id::hamming, dir + "/model/binary.rvq").ok();
  // Bombs (reliability issue, class 4): a format 3 header claiming 64 x 65536 codewords from seeded,
  // shared sub-codebooks of a few bytes; the loaders must refuse it before allocating.
  {
    rvq::io::detail::model_header h = rvq::io::detail::header_for(
        rvq::element_id::f32, rvq::metric_id::l2, rvq::storage_id::rpq, std::vector<std::size_t>(64, 65536), 2);
    h.prod.subspaces = 1;
    h.prod.bits = 1;
    h.prod.seeded = h.prod.shared = true;
    h.payload = 16;
    std::vector<unsigned char> bomb = rvq::io::detail::write_header(h);
    bomb.resize(bomb.size() + 16, 0);
    unsigned char crc[4];
    rvq::io::detail::put_u32le(crc, rvq::detail::crc32_update(0, bomb.data(), bomb.size()));
    bomb.insert(bomb.end(), crc, crc + 4);
    std::FILE* bf = std::fopen((dir + "/model/rpq_bomb.rvq").c_str(), "wb");
    ok &= bf && std::fwrite(bomb.data(), 1, bomb.size(), bf) == bomb.size();
    if (bf) std::fclose(bf);
  }
  // class 3: a zero-width array claiming 2^61 rows
  const std::size_t zero_width[2] = {std::size_t{1} << 61, 0};
  ok &= rvq::io::write_npy(dir + "/npy/zero_width.npy", static_cast<const std::uint8_t*>(nullptr),
                           rvq::span<const std::size_t>(zero_width))
            .ok();
  const std::uint8_t packed[6] = {0x02, 0x80, 0x12, 0x00, 0x03, 0xff};
  std::FILE* f = std::fopen((dir + "/packed/rows.bin").c_str(), "wb");
  ok &= f && std::fwrite(packed, 1, sizeof packed, f) == sizeof packed;
  if (f) std::fclose(f);
  return ok ? 0 : 1;
}
