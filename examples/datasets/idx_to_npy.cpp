// rvq-idx2npy: convert an (uncompressed) IDX image file, as MNIST and Fashion-MNIST ship, into a
// float32 .npy array of shape N x (rows * cols), pixels scaled to [0, 1].
//   gzip -dc train-images-idx3-ubyte.gz > train.idx && rvq-idx2npy train.idx train.npy
#include <rvq/io/npy.hpp>
#include <rvq/exceptions.hpp>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fputs("usage: rvq-idx2npy IMAGES.idx OUT.npy\n", stderr);
    return 2;
  }
  std::vector<unsigned char> b;
  if (!rvq::io::read_file(argv[1], b)) {
    std::fprintf(stderr, "rvq-idx2npy: %s: cannot read\n", argv[1]);
    return 1;
  }
  auto be32 = [&](std::size_t o) {
    return std::size_t{b[o]} << 24 | std::size_t{b[o + 1]} << 16 | std::size_t{b[o + 2]} << 8 | b[o + 3];
  };
  if (b.size() < 16 || b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] != 3) {
    std::fprintf(stderr, "rvq-idx2npy: %s: not an IDX3 uint8 image file\n", argv[1]);
    return 1;
  }
  const std::size_t n = be32(4), rows = be32(8), cols = be32(12), d = rows * cols;
  if (d == 0 || n == 0 || (b.size() - 16) / d < n || b.size() - 16 != n * d) {
    std::fprintf(stderr, "rvq-idx2npy: %s: size disagrees with the header (%zu x %zu x %zu)\n", argv[1], n, rows, cols);
    return 1;
  }
  std::vector<float> x(n * d);
  for (std::size_t i = 0; i < n * d; ++i) x[i] = static_cast<float>(b[16 + i]) / 255.0f;
  const std::size_t shape[2] = {n, d};
  const rvq::status s = rvq::io::write_npy(argv[2], x.data(), rvq::span<const std::size_t>(shape));
  if (!s) {
    std::fprintf(stderr, "rvq-idx2npy: %s: %s\n", argv[2], rvq::describe(s).c_str());
    return 1;
  }
  return 0;
}
