// libFuzzer target: the FAISS IndexResidualQuantizer reader, and the import of its vectors as an
// index (rvq::io::index_from_faiss) when it parses.
#include <rvq/io/faiss.hpp>
#include <rvq/io/faiss_index.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  rvq::io::faiss_rq rq;
  if (!rvq::io::parse_faiss_rq(bytes, rq)) return 0;
  if (rq.inner_product)
    (void)rvq::io::index_from_faiss<rvq::quantizer<rvq::config<rvq::f32, rvq::ip>>>(rq);
  else
    (void)rvq::io::index_from_faiss<rvq::quantizer<>>(rq);
  return 0;
}
