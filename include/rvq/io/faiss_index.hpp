/// @file faiss_index.hpp
/// @brief A FAISS `IndexResidualQuantizer` with its vectors (codebooks, codes and norms, as
/// `faiss.write_index` writes them) as an rvq::code_index: the same codes and the same norm
/// encoding, so it answers a search as FAISS does (`rvq index --from faiss`).
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq/io/faiss_index.hpp reads files: hosted builds only"
#endif
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#include "../quantizer.hpp"
#include "../search/code_index.hpp"
#include "faiss.hpp"

namespace rvq::io {

namespace detail {
/// rvq's norm encoding of a FAISS search type, and the bits FAISS stores per vector for it.
inline status faiss_norm(const faiss_rq& rq, norm_encoding& enc, unsigned& bits) {
  switch (rq.search_type) {
    case 0:  // ST_decompress: no norm stored; rvq keeps the exact one (inner product: none)
      enc = rq.inner_product ? norm_encoding::none : norm_encoding::f32, bits = 0;
      return {};
    case 1:  // ST_LUT_nonorm
      if (!rq.inner_product)
        return {errc::unsupported, "an L2 FAISS index with search type LUT_nonorm has no norms to search with"};
      enc = norm_encoding::none, bits = 0;
      return {};
    case 2:
      enc = norm_encoding::tables, bits = 0;
      return {};
    case 3:
      enc = norm_encoding::f32, bits = 32;
      return {};
    case 4:
      enc = norm_encoding::int8, bits = 8;
      return {};
    case 5:
      enc = norm_encoding::int4, bits = 4;
      return {};
    case 6:
      enc = norm_encoding::cint8, bits = 8;
      return {};
    case 7:
      enc = norm_encoding::cint4, bits = 4;
      return {};
    default:
      return {errc::unsupported,
              "FAISS's 2x4-bit norm quantizers (search types 8, 9) have no rvq equivalent; write the FAISS index "
              "with ST_norm_float or ST_norm_qint8"};
  }
}

/// Reads `nbits` bits at bit `at` of `p`, least significant first (FAISS's BitstringReader).
inline std::uint64_t read_bits(const unsigned char* p, std::size_t at, unsigned nbits) noexcept {
  std::uint64_t v = 0;
  for (unsigned b = 0; b < nbits; ++b, ++at) v |= std::uint64_t{(p[at / 8] >> (at % 8)) & 1u} << b;
  return v;
}
}  // namespace detail

/**
 * @brief The vectors of a FAISS `IndexResidualQuantizer` (read by rvq::io::read_faiss_rq()) as a
 * code index of `Q`, an f32 quantizer of the FAISS index's metric (rvq::l2 or rvq::ip). Codes and
 * norms are FAISS's own; the norm levels are FAISS's (bins between its norm_min and norm_max,
 * or its k-means centroids). Later add() calls encode with FAISS's beam width.
 * @return corrupt_file when the code size disagrees with the codebooks and search type;
 * unsupported for the 2x4-bit norm quantizers; the model's errors.
 */
template <class Q>
result<code_index<Q>> index_from_faiss(const faiss_rq& rq) {
  static_assert(std::is_same<typename Q::element, f32>::value && !Q::is_product,
                "rvq::io::index_from_faiss: an f32 dense quantizer");
  if (rq.inner_product != std::is_same<typename Q::metric, ip>::value)
    return status{errc::unsupported, "the FAISS index's metric is not the quantizer's"};
  index_options o;
  unsigned norm_bits = 0;
  RVQ_TRY(detail::faiss_norm(rq, o.norm, norm_bits));
  o.metric = rq.inner_product ? metric_id::ip : metric_id::l2;
  auto q = Q::from_codebooks(span<const float>(rq.codebooks), span<const std::size_t>(rq.codewords), rq.dim);
  if (!q) return q.error();
  std::size_t code_bits = norm_bits;
  std::vector<unsigned> nbits;
  for (std::size_t k : rq.codewords) {
    unsigned b = 0;
    while ((std::size_t{1} << b) < k) ++b;
    nbits.push_back(b);
    code_bits += b;
  }
  if (rq.ntotal && rq.code_size != (code_bits + 7) / 8)
    return status{errc::corrupt_file, "the FAISS code size differs from its codebooks and search type"};
  o.encode.beam = std::max<std::size_t>(
      1, std::min<std::size_t>(static_cast<std::size_t>(std::max(rq.max_beam_size, 1)), q->min_codewords()));
  auto made = code_index<Q>::create(std::move(q).value(), o);
  if (!made) return made.error();
  code_index<Q> ix = std::move(made).value();
  const std::size_t m = norm_levels(o.norm);
  std::vector<float> levels;
  if (m && (o.norm == norm_encoding::int8 || o.norm == norm_encoding::int4)) {
    for (std::size_t i = 0; i < m; ++i)  // FAISS decodes bin i at its centre
      levels.push_back(static_cast<float>((static_cast<double>(i) + 0.5) / static_cast<double>(m) *
                                              (static_cast<double>(rq.norm_max) - rq.norm_min) +
                                          rq.norm_min));
  } else if (m) {
    if (rq.norm_centroids.size() != m)
      return status{errc::corrupt_file, "the FAISS norm centroids are not 2^bits values"};
    levels = rq.norm_centroids;
    std::sort(levels.begin(), levels.end());
  }
  if (m) RVQ_TRY(ix.set_norm_levels(span<const float>(levels)));
  const std::size_t n = static_cast<std::size_t>(rq.ntotal), nl = nbits.size();
  std::vector<std::uint16_t> codes(n * nl);
  std::vector<float> norms(norm_bits ? n : 0);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* c = rq.codes.data() + i * rq.code_size;
    std::size_t at = 0;
    for (std::size_t l = 0; l < nl; at += nbits[l], ++l)
      codes[i * nl + l] = static_cast<std::uint16_t>(detail::read_bits(c, at, nbits[l]));
    if (!norm_bits) continue;
    const std::uint64_t v = detail::read_bits(c, at, norm_bits);
    if (norm_bits == 32) {
      const std::uint32_t u = static_cast<std::uint32_t>(v);
      std::memcpy(&norms[i], &u, 4);
    } else if (o.norm == norm_encoding::int8 || o.norm == norm_encoding::int4) {
      norms[i] = levels[v];
    } else {
      norms[i] = rq.norm_centroids[v];
    }
  }
  RVQ_TRY(ix.add_codes(matrix_view<const std::uint16_t>(codes.data(), n, nl), {}, span<const float>(norms)));
  return ix;
}

}  // namespace rvq::io
