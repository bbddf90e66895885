/// @file faiss.hpp
/// @brief Import of FAISS residual quantizers: an `IndexResidualQuantizer` written by faiss's
/// `write_index` (fourcc `IxRq`), as faiss 1.7.x writes it.
///
/// The file holds, little-endian: the fourcc; the index header (`d` int32, `ntotal` int64, two
/// int64 placeholders, `is_trained` byte, `metric_type` int32, and `metric_arg` float32 for
/// metrics above 1); the additive quantizer (`d` and `M` as uint64, `nbits` as a uint64 count and
/// that many uint64, `is_trained` byte, the codebooks as a uint64 count and that many float32,
/// `search_type` int32, `norm_min` and `norm_max` float32, then for the search types with
/// quantized norms (6 to 9) the norm centroids and for the 2x4 ones (8, 9) also the norm tables,
/// each a uint64 count and that many float32); the residual quantizer's `train_type` and `max_beam_size` (int32); the
/// index's `code_size` (uint64) and codes (uint64 count and bytes). Codebooks are layer after layer, `2^nbits[l]`
/// codewords of `d` floats each: exactly rvq's layout, so K may differ per layer. Every count is checked against the
/// bytes left before anything is allocated.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>
#include "../core/status.hpp"
#include "../detail/meta.hpp"
#include "file.hpp"

namespace rvq::io {

/// A residual quantizer read from a FAISS index file.
struct faiss_rq {
  std::size_t dim = 0;                 ///< d
  std::vector<std::size_t> codewords;  ///< K of each layer (2^nbits)
  std::vector<float> codebooks;        ///< sum(K) x d, layer after layer
  bool inner_product = false;          ///< metric: FAISS's METRIC_INNER_PRODUCT (else L2)
  int search_type = 0;                 ///< FAISS's AdditiveQuantizer::Search_type_t
  int train_type = 0;                  ///< FAISS's ResidualQuantizer::train_type flags
  int max_beam_size = 1;               ///< FAISS's encoding beam width
  std::uint64_t ntotal = 0;            ///< vectors stored in the index
  float norm_min = 0;                  ///< smallest norm of the uniform norm encodings (search types 4, 5)
  float norm_max = 0;                  ///< largest norm of the uniform norm encodings
  std::vector<float> norm_centroids;   ///< levels of the k-means norm encodings (search types 6, 7), FAISS's order
  std::size_t code_size = 0;           ///< bytes per stored vector: packed codes, then its norm bits
  std::vector<unsigned char> codes;    ///< ntotal x code_size bytes
};

namespace detail {

/// Bounds-checked little-endian reader with the offset for error messages.
class byte_reader {
 public:
  explicit byte_reader(const std::vector<unsigned char>& b) noexcept : b_(b) {}
  std::size_t offset() const noexcept { return pos_; }
  std::size_t left() const noexcept { return b_.size() - pos_; }
  bool bytes(std::size_t n, const unsigned char*& p) noexcept {
    if (left() < n) return false;
    p = b_.data() + pos_;
    pos_ += n;
    return true;
  }
  bool u8(std::uint8_t& v) noexcept {
    const unsigned char* p = nullptr;
    if (!bytes(1, p)) return false;
    v = p[0];
    return true;
  }
  bool u32(std::uint32_t& v) noexcept {
    const unsigned char* p = nullptr;
    if (!bytes(4, p)) return false;
    v = get_u32le(p);
    return true;
  }
  bool i32(int& v) noexcept {
    std::uint32_t u = 0;
    if (!u32(u)) return false;
    v = static_cast<int>(static_cast<std::int32_t>(u));
    return true;
  }
  bool u64(std::uint64_t& v) noexcept {
    const unsigned char* p = nullptr;
    if (!bytes(8, p)) return false;
    v = get_u64le(p);
    return true;
  }

 private:
  const std::vector<unsigned char>& b_;
  std::size_t pos_ = 0;
};

inline status faiss_truncated(const byte_reader& r, const char* what) {
  return {errc::corrupt_file, what, r.offset(), "byte"};
}

}  // namespace detail

/**
 * @brief Parse an `IndexResidualQuantizer` file held in memory (see the file comment).
 * @return corrupt_file with the byte offset (wrong fourcc, truncated field, a count larger than
 *         the bytes left, `nbits` outside 1..16, inconsistent `d` or codebook size, non-finite
 *         codebooks, an unknown search type), empty_input for an empty file.
 */
inline status parse_faiss_rq(const std::vector<unsigned char>& bytes, faiss_rq& out) {
  using detail::faiss_truncated;
  if (bytes.empty()) return {errc::empty_input, "the file is empty"};
  detail::byte_reader r(bytes);
  const unsigned char* p = nullptr;
  if (!r.bytes(4, p)) return faiss_truncated(r, "file too short for a FAISS index");
  const std::string fourcc(reinterpret_cast<const char*>(p), 4);
  if (fourcc != "IxRq")
    return {
        errc::corrupt_file,
        "not a FAISS IndexResidualQuantizer (fourcc IxRq); write one with faiss.write_index(IndexResidualQuantizer)", 0,
        "byte"};
  faiss_rq rq;
  int d_index = 0, metric = 0;
  std::uint64_t dummy = 0;
  std::uint8_t trained = 0;
  if (!r.i32(d_index) || !r.u64(rq.ntotal) || !r.u64(dummy) || !r.u64(dummy) || !r.u8(trained) || !r.i32(metric))
    return faiss_truncated(r, "truncated index header");
  if (metric > 1) {
    std::uint32_t arg = 0;
    if (!r.u32(arg)) return faiss_truncated(r, "truncated index header (metric argument)");
  }
  if (metric != 0 && metric != 1)
    return {errc::corrupt_file, "unsupported metric (rvq imports L2 and inner-product quantizers)", 33, "byte"};
  rq.inner_product = metric == 0;
  if (trained == 0) return {errc::corrupt_file, "the index is not trained (it has no codebooks)", 32, "byte"};

  std::uint64_t d = 0, m = 0, nnbits = 0;
  const std::size_t d_at = r.offset();
  if (!r.u64(d) || !r.u64(m) || !r.u64(nnbits)) return faiss_truncated(r, "truncated quantizer header");
  if (d == 0 || d > (std::uint64_t{1} << 24) || static_cast<std::uint64_t>(d_index) != d)
    return {errc::corrupt_file, "quantizer dimension is out of range or differs from the index's", d_at, "byte"};
  if (m == 0 || m > 4096 || nnbits != m)
    return {errc::corrupt_file, "number of codebooks is out of range (1 to 4096) or differs from nbits", d_at + 8,
            "byte"};
  rq.dim = static_cast<std::size_t>(d);
  std::uint64_t total = 0;
  for (std::uint64_t l = 0; l < m; ++l) {
    std::uint64_t nb = 0;
    const std::size_t at = r.offset();
    if (!r.u64(nb)) return faiss_truncated(r, "truncated nbits");
    if (nb == 0 || nb > 16) return {errc::corrupt_file, "nbits out of range (1 to 16)", at, "byte"};
    rq.codewords.push_back(std::size_t{1} << nb);
    total += std::uint64_t{1} << nb;
  }
  std::uint64_t nfloats = 0;
  if (!r.u8(trained) || !r.u64(nfloats)) return faiss_truncated(r, "truncated codebook header");
  if (nfloats != total * d)
    return {errc::corrupt_file, "codebook size differs from sum(2^nbits) x d", r.offset() - 8, "byte"};
  if (nfloats > r.left() / 4) return faiss_truncated(r, "codebooks truncated");
  rq.codebooks.resize(static_cast<std::size_t>(nfloats));
  for (std::size_t i = 0; i < rq.codebooks.size(); ++i) {
    r.bytes(4, p);
    rq.codebooks[i] = detail::get_f32le(p);
  }
  const std::size_t bad = rvq::detail::first_non_finite(rq.codebooks.data(), rq.codebooks.size());
  if (bad != rq.codebooks.size())
    return {errc::non_finite, msg::codebook_non_finite, r.offset() - 4 * (rq.codebooks.size() - bad), "byte"};
  std::uint32_t norm_min = 0, norm_max = 0;
  const std::size_t st_at = r.offset();
  if (!r.i32(rq.search_type) || !r.u32(norm_min) || !r.u32(norm_max))
    return faiss_truncated(r, "truncated search parameters");
  // Search types of faiss 1.7: 0 decompress, 1 LUT_nonorm, 2 norm_from_LUT, 3 norm_float,
  // 4 norm_qint8, 5 norm_qint4, 6 norm_cqint8, 7 norm_cqint4, 8 norm_lsq2x4, 9 norm_rq2x4.
  const int st = rq.search_type;
  if (st < 0 || st > 9) return {errc::corrupt_file, "unknown FAISS search type", st_at, "byte"};
  std::memcpy(&rq.norm_min, &norm_min, 4);  // the values were read little-endian: only the type changes
  std::memcpy(&rq.norm_max, &norm_max, 4);
  for (int table = 0; table < (st >= 8 ? 2 : st >= 6 ? 1 : 0); ++table) {  // norm centroids, then norm tables
    std::uint64_t n = 0;
    if (!r.u64(n)) return faiss_truncated(r, "truncated norm tables");
    if (n > r.left() / 4) return faiss_truncated(r, "norm tables truncated");
    r.bytes(static_cast<std::size_t>(n) * 4, p);
    if (table == 0 && st < 8)
      for (std::size_t i = 0; i < n; ++i) rq.norm_centroids.push_back(detail::get_f32le(p + 4 * i));
  }
  if (!r.i32(rq.train_type) || !r.i32(rq.max_beam_size)) return faiss_truncated(r, "truncated training parameters");
  std::uint64_t code_size = 0, ncodes = 0;
  if (!r.u64(code_size) || !r.u64(ncodes)) return faiss_truncated(r, "truncated code array header");
  if (ncodes > r.left()) return faiss_truncated(r, "code array truncated");
  r.bytes(static_cast<std::size_t>(ncodes), p);
  if ((code_size && (ncodes % code_size || ncodes / code_size != rq.ntotal)) || (!code_size && ncodes))
    return {errc::corrupt_file, "the code array is not ntotal x code_size bytes", r.offset() - ncodes, "byte"};
  rq.code_size = static_cast<std::size_t>(code_size);
  rq.codes.assign(p, p + ncodes);
  if (r.left() != 0) return {errc::corrupt_file, "unexpected bytes after the index", r.offset(), "byte"};
  out = std::move(rq);
  return {};
}

/// Read an `IndexResidualQuantizer` file (see parse_faiss_rq() for the checks and errors).
inline status read_faiss_rq(const std::string& path, faiss_rq& out) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return parse_faiss_rq(bytes, out);
}

}  // namespace rvq::io
