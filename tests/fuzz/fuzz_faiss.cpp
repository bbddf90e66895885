// libFuzzer target: the FAISS IndexResidualQuantizer reader.
#include <rvq/io/faiss.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  rvq::io::faiss_rq rq;
  (void)rvq::io::parse_faiss_rq(bytes, rq);
  return 0;
}
