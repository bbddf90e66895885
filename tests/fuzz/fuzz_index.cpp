// libFuzzer target: the .rvqi reader, and a search of every index it accepts.
#include <rvq/io/index_file.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  (void)rvq::io::visit_index_memory(bytes, [](auto&& ix) {
    std::vector<float> q(ix.dim(), 0.5f);
    rvq::search_options so;
    so.k = 3;
    so.nprobe = 1;
    so.rerank = ix.size() < 5 ? 3 : 5;
    (void)ix.search(rvq::matrix_view<const float>(q.data(), 1, ix.dim()), so);
  });
  return 0;
}
