/// @file code_index.hpp
/// @brief rvq::code_index: a database kept as RVQ codes and searched without decoding it
/// (k-nearest neighbours by squared L2, inner product or cosine, through per-layer lookup tables;
/// see adc.hpp), with optional exact re-ranking of a shortlist.
#pragma once
#include "../config.hpp"
#if RVQ_NO_HEAP
#error "rvq/search/code_index.hpp owns its codes on the heap; firmware scans codes with rvq::adc_scan (adc.hpp)"
#endif
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>
#include "../core/status.hpp"
#include "../detail/held_array.hpp"
#include "../encode/workspace.hpp"
#include "../metric/metric_traits.hpp"
#include "../quantizer.hpp"
#include "../simd/fast_scan.hpp"
#include "adc.hpp"
#include "norms.hpp"
#include "topk.hpp"

namespace rvq {

/// @ingroup search
/// How a code index is built.
struct index_options {
  /// What nearest means at search time: metric_id::l2, metric_id::ip or metric_id::cosine
  /// (independent of the metric the model was trained with).
  metric_id metric = metric_id::l2;
  /// How the norm of each reconstruction is kept (l2 and cosine need one; ip needs none).
  norm_encoding norm = norm_encoding::f32;
  /// How add() encodes vectors (beam width, ICM rounds).
  encode_options encode{};
  /// Inverted lists: group the vectors by their first code, so that a search scans only the
  /// lists of the `nprobe` first-layer codewords nearest to the query (search_options::nprobe).
  bool ivf = false;
  /// Fast scan, for models whose layers all have at most 16 codewords (4-bit codes), searched by
  /// l2 or ip: the index keeps its codes 4 bits each in blocks of 32 vectors, and search() sums
  /// 8-bit tables in registers (`pshufb`, NEON `tbl`) to find the few codes that can enter the
  /// top-k, then scores those exactly. The results are those of the plain scan, bit for bit.
  /// Half a byte per layer per vector, and for l2 the norm: an 8- or 4-bit norm is kept in the
  /// blocks themselves (one byte or half a byte in all, as FAISS's fast scan keeps it); f32 and
  /// `tables` add a 4-bit level of the norm to the blocks (rounded up to whole bytes).
  bool fast_scan = false;
};

/// @ingroup search
/// The norm encoding an index of `m` uses unless told otherwise: f32 for l2 and cosine, none for ip.
constexpr norm_encoding default_norm(metric_id m) noexcept {
  return m == metric_id::ip ? norm_encoding::none : norm_encoding::f32;
}

/// @ingroup search
/// Options of one search.
struct search_options {
  std::size_t k = 10;  ///< neighbours per query (1 to 2^20)
  /// Re-ranking: keep the best `rerank` candidates by the table distance (rerank >= k), then
  /// order them by the exact distance to their reconstruction, or to `originals` when given.
  /// 0: no re-ranking (the table distance is the answer).
  std::size_t rerank = 0;
  /// Inverted-list indexes (index_options::ivf): first-layer lists scanned per query (1 to K_0;
  /// K_0 scans everything). Flat indexes ignore it.
  std::size_t nprobe = 8;
  /// The original database vectors for re-ranking, row i holding the vector of id i (a flat
  /// index without caller ids: its positions; so the database as it was added); empty: re-rank on
  /// the decoded vectors.
  matrix_view<const float> originals{};
};

/// @ingroup search
/// Results of a search: row i holds query i's neighbours, best first. Missing neighbours (fewer
/// than k vectors) have label -1 and distance +inf (l2) or -inf (ip, cosine).
struct search_result {
  std::size_t queries = 0;           ///< rows
  std::size_t k = 0;                 ///< columns
  std::vector<float> distances;      ///< squared L2 distances (ascending), or similarities (descending)
  std::vector<std::int64_t> labels;  ///< ids of the neighbours
  /// Distance (or similarity) of query i's j-th neighbour.
  float distance(std::size_t i, std::size_t j) const noexcept { return distances[i * k + j]; }
  /// Id of query i's j-th neighbour.
  std::int64_t label(std::size_t i, std::size_t j) const noexcept { return labels[i * k + j]; }
};

/// @ingroup search
/// Most neighbours per query (search_options::k and rerank).
inline constexpr std::size_t max_search_k = std::size_t{1} << 20;
/// @ingroup search
/// Largest codebook cross-product tables a `tables` norm encoding builds (256 MiB).
inline constexpr std::size_t max_norm_table_bytes = std::size_t{256} << 20;

/**
 * @ingroup search
 * @brief A database of RVQ codes searched in the compressed domain.
 *
 * @tparam QuantizerType an rvq::quantizer with dynamic extents and float search (f32, pq, rpq) or
 *         integer elements (their codewords are dequantized for the tables); not binary.
 *
 * It holds the quantizer, the codes of every vector (byte-aligned: uint8 when every layer has at
 * most 256 codewords, else uint16), the norm of each reconstruction in the chosen encoding, and
 * ids when the caller gives them (else a vector's id is its position, and remove_ids()
 * renumbers). search() builds one table per layer per query (`<q, C_l[k]>`, the quantizer's own
 * kernels), scans the codes in blocks that stay in cache for a batch of queries, and keeps an
 * exact top-k of the table distance: ties go to the earlier-added vector. The parallel policy of
 * the quantizer's Config splits the queries (or, for fewer queries than workers, the database);
 * the results are the same for every strategy.
 */
template <class QuantizerType>
class code_index {
  using Quantizer = std::remove_cv_t<QuantizerType>;  // code_index<decltype(q)> of a const q works too
  static_assert(!Quantizer::is_static,
                "rvq::code_index: use a quantizer with rvq::dynamic_extents (firmware scans "
                "codes with rvq::adc_scan)");
  static_assert(!std::is_same<typename Quantizer::element, binary>::value,
                "rvq::code_index: binary (hamming) models have no float tables to search codes with");

 public:
  using quantizer_type = Quantizer;                                       ///< the model's type
  using store_type = typename Quantizer::store_type;                      ///< its codebook store
  using parallel_traits_type = typename Quantizer::parallel_traits_type;  ///< how work is split

  /// An empty index without a model; create() makes a usable one.
  code_index() = default;

  /**
   * @brief An empty index over model `q`.
   * @return the index, or an error: no codebooks; a metric other than l2, ip and cosine; l2
   * without norms (`none`); `tables` whose cross-product tables would exceed max_norm_table_bytes.
   */
  static result<code_index> create(Quantizer q, const index_options& opt = {}) {
    if (q.layers() == 0) return status{errc::empty_input, msg::no_codebooks};
    if (opt.metric != metric_id::l2 && opt.metric != metric_id::ip && opt.metric != metric_id::cosine)
      return status{errc::invalid_argument, "an index searches by l2, ip or cos"};
    if (opt.metric == metric_id::l2 && opt.norm == norm_encoding::none)
      return status{errc::invalid_argument,
                    "l2 search needs the norms of the reconstructions: f32, int8, cint8, int4, cint4 or tables"};
    if (opt.norm < norm_encoding::f32 || opt.norm > norm_encoding::none)
      return status{errc::invalid_argument, "unknown norm encoding"};
    if (opt.encode.beam == 0 || opt.encode.beam > q.min_codewords()) return status{errc::bad_beam, msg::bad_beam};
    if (opt.fast_scan) {
      if (opt.metric == metric_id::cosine)
        return status{errc::unsupported,
                      "fast scan searches by l2 or ip (cosine over unit-norm data ranks as ip): use a plain index"};
      for (std::size_t l = 0; l < q.layers(); ++l)
        if (q.codewords(l) > simd::fast_scan::levels)
          return status{errc::unsupported, "fast scan needs 4-bit layers (at most 16 codewords each)", l, "layer"};
      const std::size_t norm_tables = opt.metric != metric_id::l2    ? 0
                                      : norm_levels(opt.norm) == 256 ? 2
                                                                     : 1;  // as fs_tables()
      if (q.layers() + norm_tables > simd::fast_scan::max_tables)
        return status{errc::unsupported, "fast scan takes at most 255 layers (254 with 8-bit norms)"};
    }
    code_index ix;
    ix.model_ = std::move(q);
    ix.opt_ = opt;
    ix.codec_ = norm_codec(opt.norm);
    RVQ_TRY(ix.prepare());
    return ix;
  }

  // ---- shape and contents ------------------------------------------------------------------

  const Quantizer& model() const noexcept { return model_; }       ///< the quantizer
  const index_options& options() const noexcept { return opt_; }   ///< how it was built
  std::size_t size() const noexcept { return n_; }                 ///< vectors held
  std::size_t dim() const noexcept { return model_.dim(); }        ///< D
  std::size_t layers() const noexcept { return model_.layers(); }  ///< L
  /// Bytes of one code (L, or 2 L when some layer has more than 256 codewords).
  std::size_t code_size() const noexcept { return layers() * (wide() ? 2 : 1); }
  bool wide() const noexcept { return model_.max_codewords() > 256; }  ///< true when codes are uint16
  bool is_ivf() const noexcept { return opt_.ivf; }                    ///< true for inverted lists
  bool is_fast_scan() const noexcept { return opt_.fast_scan; }        ///< true for fast scan
  /// Inverted lists: the positions [list_begin()[c], list_begin()[c + 1]) hold the vectors whose
  /// first code is c (empty for a flat index).
  const std::vector<std::size_t>& list_begin() const noexcept { return list_begin_; }
  bool has_ids() const noexcept { return explicit_ids_; }      ///< true when the caller gave ids
  const norm_codec& codec() const noexcept { return codec_; }  ///< the norm levels
  /// True once the norm levels are placed (the first add() of a quantized norm encoding).
  bool norms_fitted() const noexcept { return fitted_; }
  /// The codes, size() x layers(), uint8 (wide() false) or uint16. A fast-scan index keeps its
  /// codes only in its 4-bit blocks, and this is empty: read them with code().
  span<const std::uint8_t> codes8() const noexcept { return {codes8_.data(), codes8_.size()}; }
  span<const std::uint16_t> codes16() const noexcept { return {codes16_.data(), codes16_.size()}; }  ///< see codes8()
  /// The encoded norms, norm_bytes(options().norm, size()) bytes. A fast-scan l2 index keeps 8-
  /// and 4-bit norms in its blocks only, and this is empty: read them with encoded_norms().
  span<const std::uint8_t> norm_data() const noexcept { return {norms_.data(), norms_.size()}; }
  /// The encoded norms in norm_data()'s layout, from any index (a copy).
  std::vector<std::uint8_t> encoded_norms() const {
    if (!fs_norm_codes()) return std::vector<std::uint8_t>(norms_.begin(), norms_.end());
    std::vector<std::uint8_t> out(norm_bytes(opt_.norm, n_));
    for (std::size_t i = 0; i < n_; ++i) put_level(out.data(), i, level_index(i));
    return out;
  }
  /// Stored ids: the caller's (has_ids()), or an inverted-list index's numbering; else empty.
  span<const std::int64_t> ids() const noexcept { return {ids_.data(), ids_.size()}; }  ///< ids (has_ids())
  /// True when the codes, norms and ids are viewed in place in a memory-mapped `.rvqi` file
  /// (rvq::io::map_index()); the first change copies them into memory.
  bool mapped() const noexcept { return norms_.viewed() || codes8_.viewed() || codes16_.viewed() || ids_.viewed(); }
  /// Code of layer `l` of the vector at position `i` (both in range), from any index.
  std::size_t code(std::size_t i, std::size_t l) const noexcept { return code_at(i, l); }
  /// Id of the vector at position i.
  std::int64_t id_at(std::size_t i) const noexcept { return ids_.empty() ? static_cast<std::int64_t>(i) : ids_[i]; }
  /// The largest id held (-1 when empty).
  std::int64_t max_id() const noexcept {
    if (ids_.empty()) return static_cast<std::int64_t>(n_) - 1;
    std::int64_t m = -1;
    for (std::int64_t id : ids_) m = std::max(m, id);
    return m;
  }
  /// Bytes the database takes: codes, norms and ids (not the model).
  std::size_t memory_bytes() const noexcept {
    return codes8_.size() + codes16_.size() * 2 + norms_.size() + ids_.size() * sizeof(std::int64_t) +
           fs_blocks_.size();
  }

  // ---- adding and removing -----------------------------------------------------------------

  /**
   * @brief Encodes the rows of `x` (options().encode) and appends them; their ids continue the
   * positions. The first add() (or add_codes()) of an 8- or 4-bit norm encoding places its
   * levels on these vectors' norms, and later norms outside them go to the end levels: add the
   * database in one call, or encode it in parts and add_codes() once (as `rvq index` does).
   * @return dimension_mismatch, non_finite (the row), or the encoder's error; nothing is added then.
   */
  status add(matrix_view<const float> x) {
    if (explicit_ids_ && n_ != 0) return {errc::invalid_argument, "this index has ids: use add_with_ids"};
    return append(x, {});
  }
  /**
   * @brief Places the levels of an 8- or 4-bit norm encoding on the squared norms `norms` (for
   * example of a training set's reconstructions) instead of on the first vectors added. The
   * index must be empty. Errors: invalid_argument (not empty, no quantized norms, no norms),
   * non_finite.
   */
  status fit_norms(span<const float> norms) {
    RVQ_TRY(check_levels_settable());
    if (norms.empty()) return {errc::empty_input, "no norms to fit the levels on"};
    const std::size_t bad = detail::first_non_finite(norms.data(), norms.size());
    if (bad != norms.size()) return {errc::non_finite, "a norm is NaN or Inf", bad, "element"};
    std::vector<float> scratch(norms.size());
    codec_.fit(norms, scratch.data());
    fitted_ = true;
    return {};
  }
  /// Sets the levels of an 8- or 4-bit norm encoding (norm_levels() ascending finite values, as
  /// another index or FAISS holds them); the index must be empty.
  status set_norm_levels(span<const float> levels) {
    RVQ_TRY(check_levels_settable());
    if (!codec_.set_levels(levels))
      return {errc::invalid_argument, "norm levels must be 256 (8-bit) or 16 (4-bit) ascending finite values"};
    fitted_ = true;
    return {};
  }

  /// add() with an id (0 or more) per row; an index holds ids for all its vectors or for none.
  status add_with_ids(matrix_view<const float> x, span<const std::int64_t> ids) {
    if (ids.size() != x.rows()) return {errc::dimension_mismatch, "add_with_ids needs one id per row"};
    if (!explicit_ids_ && n_ != 0) return {errc::invalid_argument, "this index numbers its vectors: use add"};
    return append(x, ids);
  }
  /**
   * @brief Appends codes encoded elsewhere (a FAISS index, a previous run): `codes` is N x
   * layers(); `ids` empty or one per row; `norms` the squared norms of their reconstructions as
   * stored elsewhere (then kept in this index's encoding), or empty: computed from the decoded
   * vectors.
   * @return code_out_of_range (the row) and nothing added when a code is not below its layer's K.
   */
  template <class Code>
  status add_codes(matrix_view<const Code> codes, span<const std::int64_t> ids = {}, span<const float> norms = {}) {
    static_assert(std::is_same<Code, std::uint8_t>::value || std::is_same<Code, std::uint16_t>::value,
                  "rvq::code_index::add_codes: codes are std::uint8_t or std::uint16_t");
    RVQ_TRY(check_ids(codes.rows(), ids));
    if (!norms.empty() && norms.size() != codes.rows())
      return {errc::dimension_mismatch, "norms must be empty or one per row of codes"};
    const std::size_t bad = detail::first_non_finite(norms.data(), norms.size());
    if (bad != norms.size()) return {errc::non_finite, "a norm is NaN or Inf", bad, "row"};
    if (!codes.valid()) return {errc::invalid_argument, msg::malformed_view};
    if (codes.cols() != layers()) return {errc::dimension_mismatch, msg::codes_length};
    for (std::size_t i = 0; i < codes.rows(); ++i)
      for (std::size_t l = 0; l < layers(); ++l)
        if (codes(i, l) >= model_.codewords(l)) return {errc::code_out_of_range, msg::code_out_of_range, i, "row"};
    const std::size_t first = n_;
    for (std::size_t i = 0; i < codes.rows(); ++i)
      for (std::size_t l = 0; l < layers(); ++l) push_code(codes(i, l));
    return finish_append(first, codes.rows(), ids, norms);
  }

  /**
   * @brief Removes the vectors whose ids are in `ids` (unknown ids are ignored) and returns how
   * many were removed. In a flat index without caller ids, the vectors after a removed one move
   * down and take their new positions as ids (as FAISS's flat indexes do); inverted-list indexes
   * keep every id.
   */
  std::size_t remove_ids(span<const std::int64_t> ids) {
    own_all();
    if (opt_.fast_scan) fs_unpack();
    std::vector<std::int64_t> gone(ids.begin(), ids.end());
    std::sort(gone.begin(), gone.end());
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      if (std::binary_search(gone.begin(), gone.end(), id_at(i))) continue;
      if (kept != i) {
        if (wide())
          std::copy_n(codes16_.own().begin() + static_cast<std::ptrdiff_t>(i * layers()), layers(),
                      codes16_.own().begin() + static_cast<std::ptrdiff_t>(kept * layers()));
        else
          std::copy_n(codes8_.own().begin() + static_cast<std::ptrdiff_t>(i * layers()), layers(),
                      codes8_.own().begin() + static_cast<std::ptrdiff_t>(kept * layers()));
        if (!ids_.empty()) ids_.own()[kept] = ids_[i];
        move_norm(i, kept);
      }
      ++kept;
    }
    const std::size_t removed = n_ - kept;
    n_ = kept;
    codes8_.own().resize(wide() ? 0 : n_ * layers());
    codes16_.own().resize(wide() ? n_ * layers() : 0);
    if (!ids_.empty()) ids_.own().resize(n_);
    norms_.own().resize(norm_bytes(opt_.norm, n_));
    if (opt_.ivf) count_lists();
    if (opt_.fast_scan) {
      fs_repack();
      fs_drop_bytes();
    }
    return removed;
  }

  /// The reconstruction of the vector at position `i` (dim() values).
  status reconstruct(std::size_t i, span<float> out) const noexcept {
    if (i >= n_) return {errc::invalid_argument, "position beyond the index's size", i, "position"};
    if (out.size() != dim()) return {errc::dimension_mismatch, "output must hold dim() values"};
    if (opt_.fast_scan) {  // 4-bit codes, at most 255 layers
      std::uint8_t row[simd::fast_scan::max_tables];
      for (std::size_t l = 0; l < layers(); ++l) row[l] = static_cast<std::uint8_t>(code_at(i, l));
      return model_.decode(span<const std::uint8_t>(row, layers()), out);
    }
    return wide() ? model_.decode(span<const std::uint16_t>(codes16_.data() + i * layers(), layers()), out)
                  : model_.decode(span<const std::uint8_t>(codes8_.data() + i * layers(), layers()), out);
  }

  // ---- search ------------------------------------------------------------------------------

  /**
   * @brief The `opt.k` nearest codes to each query: `distances` and `labels` are queries.rows()
   * x at least k. l2 reports squared distances `||q||^2 - 2 sum_l <q, C_l[i_l]> + norm`
   * (ascending); ip the inner product and cosine the cosine similarity (descending). With
   * re-ranking, the reported values are the exact ones.
   * @return dimension_mismatch, non_finite (the query row), invalid_argument (k or rerank out of
   * range, malformed views); nothing is written then.
   */
  status search(matrix_view<const float> queries, const search_options& opt, matrix_view<float> distances,
                matrix_view<std::int64_t> labels) const {
    if (layers() == 0) return {errc::empty_input, "the index has no model (use code_index::create)"};
    if (!queries.valid() || !distances.valid() || !labels.valid() || !opt.originals.valid())
      return {errc::invalid_argument, msg::malformed_view};
    if (queries.cols() != dim()) return {errc::dimension_mismatch, "queries have a different dimension than the model"};
    if (opt.k == 0 || opt.k > max_search_k) return {errc::invalid_argument, "k must be between 1 and 2^20"};
    if (opt.rerank != 0 && (opt.rerank < opt.k || opt.rerank > max_search_k))
      return {errc::invalid_argument, "rerank must be 0 or between k and 2^20"};
    if (distances.rows() != queries.rows() || labels.rows() != queries.rows() || distances.cols() < opt.k ||
        labels.cols() < opt.k)
      return {errc::dimension_mismatch, "distances and labels must be queries x k"};
    if (!opt.originals.empty() &&
        (opt.originals.cols() != dim() || (n_ && opt.originals.rows() <= static_cast<std::size_t>(max_id()))))
      return {errc::dimension_mismatch, "originals must be dim() wide, with a row for every id (row i: id i)"};
    if (opt_.ivf && (opt.nprobe == 0 || opt.nprobe > model_.codewords(0)))
      return {errc::invalid_argument, "nprobe must be between 1 and the first layer's K"};
    if (!opt.originals.empty() && opt.rerank == 0)
      return {errc::invalid_argument, "originals are used to re-rank: set rerank (at least k)"};
    for (std::size_t i = 0; i < queries.rows(); ++i) RVQ_TRY(encoders::check_finite_row(queries.row(i), dim(), i));
    if (wide())
      run_search<std::uint16_t>(codes16_.data(), queries, opt, distances, labels);
    else
      run_search<std::uint8_t>(codes8_.data(), queries, opt, distances, labels);
    return {};
  }

  /// search() into a new rvq::search_result.
  result<search_result> search(matrix_view<const float> queries, const search_options& opt = {}) const {
    search_result r;
    r.queries = queries.rows();
    r.k = opt.k;
    std::size_t cells = 0;
    if (opt.k > max_search_k || !detail::checked_mul(r.queries, r.k, cells))
      return status{errc::invalid_argument, "k must be between 1 and 2^20"};
    r.distances.resize(cells);
    r.labels.resize(cells);
    RVQ_TRY(search(queries, opt, matrix_view<float>(r.distances.data(), r.queries, r.k),
                   matrix_view<std::int64_t>(r.labels.data(), r.queries, r.k)));
    return r;
  }

  // ---- assembly from stored parts (rvq::io::load_index) ------------------------------------

  /**
   * @brief An index from its stored parts, every one checked: `codes` (n x layers() codes of the
   * width wide() gives, as little-endian bytes), `norms` (norm_bytes(opt.norm, n)), `levels`
   * (norm_levels(opt.norm) ascending finite values), `ids` (empty, or n ids of 0 or more).
   */
  static result<code_index> assemble(Quantizer q, const index_options& opt, std::size_t n,
                                     span<const std::uint8_t> codes, span<const std::uint8_t> norms,
                                     span<const float> levels, span<const std::int64_t> ids, bool caller_ids,
                                     std::shared_ptr<const void> backing = nullptr) {
    auto made = create(std::move(q), opt);
    if (!made) return made.error();
    code_index ix = std::move(made).value();
    std::size_t cells = 0;
    if (!detail::checked_mul(n, ix.code_size(), cells) || codes.size() != cells)
      return status{errc::corrupt_file, "the code section's size differs from vectors x code bytes"};
    if (norms.size() != norm_bytes(opt.norm, n))
      return status{errc::corrupt_file, "the norm section's size differs from what the norm encoding takes"};
    if (!ids.empty() && ids.size() != n) return status{errc::corrupt_file, "the id section needs one id per vector"};
    if (norm_levels(opt.norm) && !ix.codec_.set_levels(levels))
      return status{errc::corrupt_file, "the norm levels are not ascending finite values"};
    RVQ_TRY(check_ids(n, ids));
    const std::size_t nl = ix.layers();
    if (backing) {  // every section viewed where it lies (uint16 codes: little-endian, aligned)
      if (ix.wide())
        ix.codes16_.view(reinterpret_cast<const std::uint16_t*>(codes.data()), n * nl, backing);
      else
        ix.codes8_.view(codes.data(), codes.size(), backing);
    } else if (ix.wide()) {
      auto& c16 = ix.codes16_.own();
      c16.resize(n * nl);
      for (std::size_t i = 0; i < n * nl; ++i)
        c16[i] = static_cast<std::uint16_t>(codes[2 * i] | (codes[2 * i + 1] << 8));
    } else {
      ix.codes8_.own().assign(codes.begin(), codes.end());
    }
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t l = 0; l < nl; ++l) {
        const std::size_t c = ix.wide() ? ix.codes16_[i * nl + l] : ix.codes8_[i * nl + l];
        if (c >= ix.model_.codewords(l)) return status{errc::corrupt_file, msg::code_out_of_range, i, "vector"};
      }
    if (opt.norm == norm_encoding::f32)
      for (std::size_t i = 0; i < n; ++i) {
        float v;
        std::memcpy(&v, norms.data() + 4 * i, 4);
        if (!(v - v == 0.0f)) return status{errc::corrupt_file, "a stored norm is NaN or Inf", i, "vector"};
      }
    if (backing)
      ix.norms_.view(norms.data(), norms.size(), backing);
    else
      ix.norms_.own().assign(norms.begin(), norms.end());
    if (opt.ivf && ids.size() != n) return status{errc::corrupt_file, "an inverted-list index stores every id"};
    if (backing)
      ix.ids_.view(ids.data(), ids.size(), backing);
    else
      ix.ids_.own().assign(ids.begin(), ids.end());
    ix.explicit_ids_ = caller_ids && !ids.empty();
    for (std::int64_t id : ix.ids_) ix.next_id_ = std::max(ix.next_id_, id + 1);
    ix.fitted_ = norm_levels(opt.norm) != 0 && n != 0;
    ix.n_ = n;
    if (opt.ivf) {
      for (std::size_t i = 1; i < n; ++i)
        if (ix.first_code(i) < ix.first_code(i - 1))
          return status{errc::corrupt_file, "the inverted lists are not ordered by first code", i, "vector"};
      ix.count_lists();
    }
    if (opt.fast_scan) {
      ix.fs_repack();
      ix.fs_drop_bytes();
    }
    return ix;
  }

 private:
  static constexpr std::size_t block_codes = 1024;      // codes scanned per block (L1/L2 resident)
  static constexpr std::size_t lut_budget = 64 * 1024;  // floats of tables per query batch (256 KiB)

  static constexpr bool dots_store = encoders::detail::has_dots<store_type>::value;

  status check_levels_settable() const noexcept {
    if (!norm_levels(opt_.norm))
      return {errc::invalid_argument, "the norm encoding has no levels (int8, cint8, int4, cint4 do)"};
    if (n_ != 0) return {errc::invalid_argument, "norm levels are set before the first vector is added"};
    return {};
  }

  static status check_ids(std::size_t rows, span<const std::int64_t> ids) noexcept {
    if (!ids.empty() && ids.size() != rows) return {errc::dimension_mismatch, "one id per row"};
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] < 0) return {errc::invalid_argument, "ids must be 0 or more (-1 marks a missing neighbour)", i, "row"};
    return {};
  }

  // Offsets of each layer's table, the codewords' squared norms and, for the `tables` norm
  // encoding, the cross-product tables; no copy of the codewords is kept.
  status prepare() {
    const std::size_t nl = layers(), d = dim();
    first_.assign(nl + 1, 0);
    for (std::size_t l = 0; l < nl; ++l) first_[l + 1] = first_[l] + model_.codewords(l);
    std::vector<float> buf(d), buf2(d);
    cw_norms_.resize(first_[nl]);
    for (std::size_t l = 0; l < nl; ++l)
      for (std::size_t c = 0; c < model_.codewords(l); ++c) {
        const float* w = codeword_ptr(l, c, buf.data());
        cw_norms_[first_[l] + c] = dot(w, w, d);
      }
    if (opt_.norm != norm_encoding::tables) return {};
    std::size_t floats = 0;
    cross_off_.assign(nl * nl, 0);
    for (std::size_t l = 0; l < nl; ++l)
      for (std::size_t j = 0; j < l; ++j) {
        cross_off_[j * nl + l] = floats;
        floats += model_.codewords(j) * model_.codewords(l);
        if (floats > max_norm_table_bytes / sizeof(float))
          return {errc::unsupported,
                  "the codebook cross-product tables of the 'tables' norm encoding would exceed 256 MiB: use f32 or "
                  "int8 norms"};
      }
    cross_.assign(floats, 0.0f);
    for (std::size_t l = 1; l < nl; ++l)
      for (std::size_t j = 0; j < l; ++j)
        for (std::size_t a = 0; a < model_.codewords(j); ++a) {
          const float* x = codeword_ptr(j, a, buf.data());
          float* row = cross_.data() + cross_off_[j * nl + l] + a * model_.codewords(l);
          if constexpr (dots_store) {
            model_.store().dots(l, &x, 1, row, model_.codewords(l));
          } else {
            for (std::size_t b = 0; b < model_.codewords(l); ++b) row[b] = dot(x, codeword_ptr(l, b, buf2.data()), d);
          }
        }
    return {};
  }

  static float dot(const float* x, const float* y, std::size_t d) noexcept {
    float s = 0.0f;
    for (std::size_t t = 0; t < d; ++t) s += x[t] * y[t];
    return s;
  }

  // Codeword c of layer l as floats: in place where the store holds floats, else expanded into buf.
  const float* codeword_ptr(std::size_t l, std::size_t c, float* buf) const noexcept {
    if constexpr (detail::has_codeword<store_type>::value) {
      return (void)buf, model_.codeword(l, c);
    } else {
      model_.store().expand(l, c, buf);
      return buf;
    }
  }

  // Copies whatever is viewed in a mapped file into memory, before a change.
  void own_all() {
    codes8_.own();
    codes16_.own();
    norms_.own();
    ids_.own();
  }

  void push_code(std::size_t c) {
    if (wide())
      codes16_.own().push_back(static_cast<std::uint16_t>(c));
    else
      codes8_.own().push_back(static_cast<std::uint8_t>(c));
  }

  status append(matrix_view<const float> x, span<const std::int64_t> ids) {
    if (layers() == 0) return {errc::empty_input, "the index has no model (use code_index::create)"};
    if (!x.valid()) return {errc::invalid_argument, msg::malformed_view};
    if (x.cols() != dim()) return {errc::dimension_mismatch, "vectors have a different dimension than the model"};
    RVQ_TRY(check_ids(x.rows(), ids));
    const std::size_t first = n_, nl = layers();
    auto encode = [&](auto& codes) {  // a fast-scan index holds byte codes from c8_base_ only
      using code_t = typename std::decay_t<decltype(codes)>::value_type;
      const std::size_t held = n_ - c8_base_;
      codes.resize((held + x.rows()) * nl);
      const status s = model_.encode_batch(x, matrix_view<code_t>(codes.data() + held * nl, x.rows(), nl), opt_.encode);
      if (!s) codes.resize(held * nl);
      return s;
    };
    own_all();
    RVQ_TRY(wide() ? encode(codes16_.own()) : encode(codes8_.own()));
    return finish_append(first, x.rows(), ids);
  }

  // The norms and ids of the rows [first, first + n) just appended to the codes.
  status finish_append(std::size_t first, std::size_t n, span<const std::int64_t> ids, span<const float> given = {}) {
    if (stores_norms(opt_.norm)) {
      std::vector<float> norms(given.begin(), given.end()), buf(dim());
      if (given.empty()) norms.resize(n);
      for (std::size_t i = 0; i < n && given.empty(); ++i) {
        decode_at(first + i, buf.data());
        float v = 0.0f;
        for (float t : buf) v += t * t;
        norms[i] = v;
      }
      if (norm_levels(opt_.norm) && !fitted_) {
        std::vector<float> scratch(n);
        codec_.fit(span<const float>(norms.data(), n), scratch.data());
        fitted_ = n != 0;
      }
      const std::size_t base = norm_base();  // a fast scan's held norms start at c8_base_
      norms_.own().resize(norm_bytes(opt_.norm, first + n - base));
      codec_.encode(norms.data(), first - base, n, norms_.own().data());
    }
    if (!ids.empty()) {
      ids_.own().insert(ids_.own().end(), ids.begin(), ids.end());
      explicit_ids_ = true;
    } else if (opt_.ivf) {  // positions change when the lists regroup: ids in order of addition
      for (std::size_t i = 0; i < n; ++i) ids_.own().push_back(next_id_ + static_cast<std::int64_t>(i));
    }
    if (!explicit_ids_) next_id_ += static_cast<std::int64_t>(n);
    n_ = first + n;
    if (opt_.fast_scan && opt_.ivf) fs_unpack();
    if (opt_.ivf) regroup();
    if (opt_.fast_scan) {
      if (opt_.ivf)
        fs_repack();
      else
        fs_pack(first, n);
      fs_drop_bytes();
    }
    return {};
  }

  std::size_t first_code(std::size_t i) const noexcept { return code_at(i, 0); }

  // Inverted lists: a stable counting sort of every vector by its first code.
  void regroup() {
    const std::size_t nl = layers();
    count_lists();
    std::vector<std::size_t> at(list_begin_.begin(), list_begin_.end() - 1), order(n_);
    for (std::size_t i = 0; i < n_; ++i) order[at[first_code(i)]++] = i;
    auto permute = [&](auto& v, std::size_t width) {
      auto out = v;
      for (std::size_t j = 0; j < n_; ++j)
        std::copy_n(v.begin() + static_cast<std::ptrdiff_t>(order[j] * width), width,
                    out.begin() + static_cast<std::ptrdiff_t>(j * width));
      v.swap(out);
    };
    if (wide())
      permute(codes16_.own(), nl);
    else
      permute(codes8_.own(), nl);
    permute(ids_.own(), 1);
    if (opt_.norm == norm_encoding::f32) {
      permute(norms_.own(), 4);
    } else if (norm_levels(opt_.norm)) {  // level indices, re-packed
      std::vector<std::uint8_t> idx(n_);
      for (std::size_t j = 0; j < n_; ++j) idx[j] = level_index(order[j]);
      for (std::size_t j = 0; j < n_; ++j) set_level_index(j, idx[j]);
    }
  }

  // list_begin_ from the (grouped) first codes.
  void count_lists() {
    list_begin_.assign(model_.codewords(0) + 1, 0);
    for (std::size_t i = 0; i < n_; ++i) ++list_begin_[first_code(i) + 1];
    for (std::size_t c = 0; c < model_.codewords(0); ++c) list_begin_[c + 1] += list_begin_[c];
  }

  // A fast-scan l2 index with 8- or 4-bit norms keeps their level indices in its blocks (table
  // layers(): the index, or its high nibble; table layers() + 1: the low nibble), and norms_
  // holds those of positions norm_base() .. n_ only, as codes8_ holds the byte codes.
  bool fs_norm_codes() const noexcept {
    return opt_.fast_scan && opt_.metric == metric_id::l2 && norm_levels(opt_.norm) != 0;
  }
  std::size_t norm_base() const noexcept { return fs_norm_codes() ? c8_base_ : 0; }

  // Level index of position i (8- and 4-bit encodings).
  std::uint8_t level_index(std::size_t i) const noexcept {
    const bool byte = norm_levels(opt_.norm) == 256;
    if (i < norm_base()) {
      namespace fs = simd::fast_scan;
      const std::size_t nt = fs_tables(), nl = layers();
      const std::uint8_t hi = fs::get(fs_blocks_.data(), nt, i, nl);
      return byte ? static_cast<std::uint8_t>((hi << 4) | fs::get(fs_blocks_.data(), nt, i, nl + 1)) : hi;
    }
    const std::size_t j = i - norm_base();
    return byte ? norms_[j] : static_cast<std::uint8_t>((norms_[j / 2] >> (j % 2 ? 4 : 0)) & 0x0F);
  }
  void set_level_index(std::size_t i, std::uint8_t q) noexcept { put_level(norms_.own().data(), i - norm_base(), q); }
  // Writes level index q of position j into `bytes` (norm_bytes() layout).
  void put_level(std::uint8_t* bytes, std::size_t j, std::uint8_t q) const noexcept {
    if (norm_levels(opt_.norm) == 256) {
      bytes[j] = q;
      return;
    }
    std::uint8_t& b = bytes[j / 2];
    b = j % 2 ? static_cast<std::uint8_t>((b & 0x0F) | (q << 4)) : static_cast<std::uint8_t>((b & 0xF0) | q);
  }

  // The reconstruction of the (valid) codes at position i.
  void decode_at(std::size_t i, float* out) const noexcept {
    for (std::size_t t = 0; t < dim(); ++t) out[t] = 0.0f;
    for (std::size_t l = 0; l < layers(); ++l) model_.store().add_codeword(l, code_at(i, l), out);
  }

  void decode_norms(std::size_t first, std::size_t n, float* out) const noexcept {
    if (fs_norm_codes()) {
      for (std::size_t i = 0; i < n; ++i) out[i] = codec_.levels()[level_index(first + i)];
    } else if (stores_norms(opt_.norm)) {
      codec_.decode(norms_.data(), first, n, out);
    }
  }

  // Moves the stored norm of position `from` to position `to` (< from), exactly.
  void move_norm(std::size_t from, std::size_t to) noexcept {
    switch (opt_.norm) {
      case norm_encoding::f32:
        std::memmove(norms_.own().data() + 4 * to, norms_.own().data() + 4 * from, 4);
        break;
      case norm_encoding::int8:
      case norm_encoding::cint8:
        norms_.own()[to] = norms_[from];
        break;
      case norm_encoding::int4:
      case norm_encoding::cint4:
        set_level_index(to, level_index(from));
        break;
      default:
        break;
    }
  }

  scan_kind kind() const noexcept {
    return opt_.metric == metric_id::ip       ? scan_kind::ip
           : opt_.metric == metric_id::cosine ? scan_kind::cos
                                              : scan_kind::l2;
  }

  // Tables `<q_i, C_l[k]>` of n queries (rows), query i's at out + i * total.
  void build_tables(const float* const* rows, std::size_t n, float* out) const {
    const std::size_t nl = layers(), total = first_[nl], d = dim();
    if constexpr (dots_store) {
      constexpr std::size_t br = store_type::block_rows;
      for (std::size_t b = 0; b < n; b += br) {
        const std::size_t m = n - b < br ? n - b : br;
        for (std::size_t l = 0; l < nl; ++l) model_.store().dots(l, rows + b, m, out + b * total + first_[l], total);
      }
    } else {
      std::vector<float> buf(d);
      for (std::size_t l = 0; l < nl; ++l)
        for (std::size_t c = 0; c < model_.codewords(l); ++c) {
          const float* w = codeword_ptr(l, c, buf.data());
          for (std::size_t i = 0; i < n; ++i) out[i * total + first_[l] + c] = dot(rows[i], w, d);
        }
    }
  }

  // Per code of [first, first + n): the term the scan kind adds (see rvq::adc_scan).
  template <class Code>
  void block_terms(const Code* codes, std::size_t first, std::size_t n, float* term) const noexcept {
    const std::size_t nl = layers();
    if (opt_.metric == metric_id::ip) return;
    if (opt_.norm == norm_encoding::none) {
      for (std::size_t i = 0; i < n; ++i) term[i] = 1.0f;  // cosine over unit-norm data
      return;
    }
    if (opt_.norm == norm_encoding::tables) {
      const float* norms[max_layers_on_stack];
      for (std::size_t l = 0; l < nl && l < max_layers_on_stack; ++l) norms[l] = cw_norms_.data() + first_[l];
      auto cross = [&](std::size_t j, std::size_t l, std::size_t a) {
        return cross_.data() + cross_off_[j * nl + l] + a * model_.codewords(l);
      };
      for (std::size_t i = 0; i < n; ++i)
        term[i] = nl <= max_layers_on_stack ? norm_from_tables(codes + (first + i) * nl, nl, norms, cross)
                                            : slow_norm(codes + (first + i) * nl);
    } else {
      decode_norms(first, n, term);
    }
    if (opt_.metric == metric_id::cosine)
      for (std::size_t i = 0; i < n; ++i) term[i] = term[i] > 0.0f ? 1.0f / std::sqrt(term[i]) : 0.0f;
  }
  template <class Code>
  float slow_norm(const Code* code) const noexcept {  // norm_from_tables() for very deep models
    const std::size_t nl = layers();
    float s = 0.0f;
    for (std::size_t l = 0; l < nl; ++l) {
      float c = 0.0f;
      for (std::size_t j = 0; j < l; ++j) c += cross_[cross_off_[j * nl + l] + code[j] * model_.codewords(l) + code[l]];
      s += cw_norms_[first_[l] + code[l]] + 2.0f * c;
    }
    return s;
  }
  static constexpr std::size_t max_layers_on_stack = 256;

  // Queries [q0, q1) against codes [c0, c1): each query's best kk into its slots of dist / pos
  // (kk per query, sorted, unfilled slots id -1).
  template <class Code>
  void scan(const Code* codes, matrix_view<const float> queries, std::size_t q0, std::size_t q1, std::size_t c0,
            std::size_t c1, std::size_t kk, float* dist, std::int64_t* pos) const {
    const std::size_t nl = layers(), total = first_[nl];
    const std::size_t batch = std::max<std::size_t>(1, std::min<std::size_t>(64, lut_budget / (total ? total : 1)));
    std::vector<float> lut(batch * total), term(block_codes);
    std::vector<const float*> ptrs(batch * nl);
    std::vector<topk> heaps;
    heaps.reserve(batch);
    std::vector<fs_query> fsq(opt_.fast_scan ? batch : 0);
    for (std::size_t qb = q0; qb < q1; qb += batch) {
      const std::size_t nb = std::min(batch, q1 - qb);
      const float* rows[64];
      for (std::size_t j = 0; j < nb; ++j) rows[j] = queries.row(qb + j);
      build_tables(rows, nb, lut.data());
      heaps.clear();
      for (std::size_t j = 0; j < nb; ++j) {
        heaps.emplace_back(dist + (qb + j) * kk, pos + (qb + j) * kk, kk);
        for (std::size_t l = 0; l < nl; ++l) ptrs[j * nl + l] = lut.data() + j * total + first_[l];
      }
      if (opt_.fast_scan) {
        for (std::size_t j = 0; j < nb; ++j) fsq[j].prepare(*this, ptrs.data() + j * nl);
        for (std::size_t b = c0; b < c1; b += block_codes)
          for (std::size_t j = 0; j < nb; ++j)
            fs_scan(b, std::min(c1, b + block_codes), ptrs.data() + j * nl, fsq[j], heaps[j]);
      } else {
        for (std::size_t b = c0; b < c1; b += block_codes) {
          const std::size_t n = std::min(block_codes, c1 - b);
          block_terms(codes, b, n, term.data());
          for (std::size_t j = 0; j < nb; ++j)
            scan_block(codes + b * nl, n, ptrs.data() + j * nl, term.data(), b, heaps[j]);
        }
      }
      for (topk& h : heaps) h.finish();
    }
  }

  // Inverted lists: queries [q0, q1), each against the `nprobe` lists whose first-layer codeword
  // scores best for it (ties: the lower codeword), into its kk slots of dist / pos.
  template <class Code>
  void scan_lists(const Code* codes, matrix_view<const float> queries, std::size_t q0, std::size_t q1,
                  std::size_t nprobe, std::size_t kk, float* dist, std::int64_t* pos) const {
    const std::size_t nl = layers(), total = first_[nl], k0 = model_.codewords(0);
    const std::size_t batch = std::max<std::size_t>(1, std::min<std::size_t>(64, lut_budget / (total ? total : 1)));
    std::vector<float> lut(batch * total), term(block_codes), pd(nprobe);
    std::vector<std::int64_t> probes(nprobe);
    std::vector<const float*> ptrs(nl);
    fs_query fsq;
    for (std::size_t qb = q0; qb < q1; qb += batch) {
      const std::size_t nb = std::min(batch, q1 - qb);
      const float* rows[64];
      for (std::size_t j = 0; j < nb; ++j) rows[j] = queries.row(qb + j);
      build_tables(rows, nb, lut.data());
      for (std::size_t j = 0; j < nb; ++j) {
        const float* t = lut.data() + j * total;
        topk lists(pd.data(), probes.data(), nprobe);
        for (std::size_t c = 0; c < k0; ++c) lists.push(coarse_score(t[c], c), static_cast<std::int64_t>(c));
        lists.finish();
        for (std::size_t l = 0; l < nl; ++l) ptrs[l] = t + first_[l];
        topk best(dist + (qb + j) * kk, pos + (qb + j) * kk, kk);
        if (opt_.fast_scan) fsq.prepare(*this, ptrs.data());
        for (std::size_t p = 0; p < nprobe && probes[p] >= 0; ++p) {
          const std::size_t c = static_cast<std::size_t>(probes[p]);
          if (opt_.fast_scan) {
            fs_scan(list_begin_[c], list_begin_[c + 1], ptrs.data(), fsq, best);
            continue;
          }
          for (std::size_t b = list_begin_[c]; b < list_begin_[c + 1]; b += block_codes) {
            const std::size_t n = std::min(block_codes, list_begin_[c + 1] - b);
            block_terms(codes, b, n, term.data());
            scan_block(codes + b * nl, n, ptrs.data(), term.data(), b, best);
          }
        }
        best.finish();
      }
    }
  }

  // ---- fast scan (index_options::fast_scan; simd/fast_scan.hpp) ---------------------------------
  //
  // Table t < L holds layer t's 4-bit codes. For l2, the norm term (block_terms()) follows: an 8-
  // or 4-bit norm's own level index (fs_norm_codes(): two tables, high and low nibble, or one),
  // else the index of the nearest of 16 evenly spaced levels to it. fs_norm_value() gives what
  // each entry of those tables stands for, and fs_delta_ bounds how far above the term the
  // entries of a vector may add up to. A query's float tables become 8-bit ones, `u = round((v - m_t) a)`
  // with one scale `a` for all, so that a vector's 16-bit sum U bounds its exact distance from
  // below: d >= U / a + sum_t m_t - (tables / 2) / a - fs_delta_ - (float rounding). The scan asks
  // the kernel for the vectors whose U can still reach the top-k, and scores only those, exactly
  // as scan_block() would: the results are the plain scan's.
  //
  // The blocks are the index's only copy of the codes: byte codes exist while the index changes
  // (codes8_ holds positions c8_base_ .. n_, or all of them for a regrouping or a removal) and are
  // dropped after. When a norm term is NaN or Inf (codewords near the float range), or a query's
  // table value, no level bounds it, and every vector is scored (`exhaustive`).
  std::size_t fs_tables() const noexcept {
    if (opt_.metric != metric_id::l2) return layers();
    return layers() + (fs_norm_codes() && norm_levels(opt_.norm) == 256 ? 2 : 1);
  }
  float fs_level(std::size_t j) const noexcept { return fs_lo_ + fs_step_ * static_cast<float>(j); }
  // Entry j of norm table t (0: the first after the layers' tables).
  double fs_norm_value(std::size_t t, std::size_t j) const noexcept {
    return fs_norm_codes() ? fs_norm_tab_[t * simd::fast_scan::levels + j] : static_cast<double>(fs_level(j));
  }
  // The norm tables of an 8- or 4-bit norm: the levels themselves (4-bit), or for 8 bits the
  // lowest level of each high nibble and, per low nibble, the least step above it (ascending
  // levels: the two add up to at most the level, up to rounding, which fs_delta_ takes).
  void fs_norm_tables() {
    namespace fs = simd::fast_scan;
    const span<const float> v = codec_.levels();
    fs_delta_ = 0.0;
    fs_finite_ = true;
    if (v.size() == fs::levels) {
      for (std::size_t j = 0; j < fs::levels; ++j) fs_norm_tab_[j] = v[j];
    } else {
      for (std::size_t h = 0; h < fs::levels; ++h) fs_norm_tab_[h] = v[h * fs::levels];
      for (std::size_t j = 0; j < fs::levels; ++j) {
        double m = std::numeric_limits<double>::infinity();
        for (std::size_t h = 0; h < fs::levels; ++h)
          m = std::min(m, static_cast<double>(v[h * fs::levels + j]) - static_cast<double>(v[h * fs::levels]));
        fs_norm_tab_[fs::levels + j] = m;
      }
      for (std::size_t c = 0; c < v.size(); ++c)
        fs_delta_ = std::max(fs_delta_, fs_norm_tab_[c / fs::levels] + fs_norm_tab_[fs::levels + c % fs::levels] -
                                            static_cast<double>(v[c]));
    }
    for (double t : fs_norm_tab_)
      if (!(t - t == 0.0)) fs_finite_ = false;
    if (!(fs_delta_ - fs_delta_ == 0.0)) fs_finite_ = false;
  }

  // Writes positions [first, first + n) into the blocks (levels placed on the first vectors).
  void fs_pack(std::size_t first, std::size_t n) {
    namespace fs = simd::fast_scan;
    const std::size_t nl = layers(), nt = fs_tables(), end = first + n;
    fs_blocks_.resize((end + fs::block - 1) / fs::block * fs::block_bytes(nt), 0);
    for (std::size_t i = first; i < end; ++i)
      for (std::size_t l = 0; l < nl; ++l)
        fs::put(fs_blocks_.data(), nt, i, l, static_cast<std::uint8_t>(code_at(i, l)));
    if (nt == nl || n == 0) return;
    if (fs_norm_codes()) {  // the level indices themselves
      if (!fs_fitted_) fs_norm_tables(), fs_fitted_ = true;
      const bool byte = norm_levels(opt_.norm) == 256;
      for (std::size_t i = first; i < end; ++i) {
        const std::uint8_t q = level_index(i);
        fs::put(fs_blocks_.data(), nt, i, nl, byte ? static_cast<std::uint8_t>(q >> 4) : q);
        if (byte) fs::put(fs_blocks_.data(), nt, i, nl + 1, static_cast<std::uint8_t>(q & 0x0F));
      }
      return;
    }
    std::vector<float> term(n);
    std::uint8_t row[fs::max_tables];
    if (opt_.norm == norm_encoding::tables) {
      for (std::size_t i = 0; i < n; ++i) term[i] = fs_term(fs_row(first + i, row), first + i);
    } else {
      decode_norms(first, n, term.data());
    }
    for (std::size_t i = 0; i < n; ++i)
      if (!(term[i] - term[i] == 0.0f)) fs_finite_ = false;
    if (!fs_finite_) return;  // every search scores every vector
    if (!fs_fitted_) {
      const auto mm = std::minmax_element(term.begin(), term.end());
      fs_lo_ = *mm.first;
      fs_step_ = (*mm.second - *mm.first) / static_cast<float>(fs::levels - 1);
      fs_fitted_ = true;
      if (!(fs_step_ - fs_step_ == 0.0f)) {  // the range overflows a float
        fs_finite_ = false;
        return;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const float x = fs_step_ > 0.0f ? (term[i] - fs_lo_) / fs_step_ : 0.0f;
      const std::size_t j = !(x > 0.0f)                               ? 0
                            : x >= static_cast<float>(fs::levels - 1) ? fs::levels - 1
                                                                      : static_cast<std::size_t>(x + 0.5f);
      fs::put(fs_blocks_.data(), nt, first + i, nl, static_cast<std::uint8_t>(j));
      fs_delta_ = std::max(fs_delta_, std::fabs(static_cast<double>(term[i]) - static_cast<double>(fs_level(j))));
    }
  }
  // Rebuilds the blocks of every vector (after a removal or a regrouping), levels included.
  void fs_repack() {
    fs_blocks_.clear();
    fs_fitted_ = false;
    fs_finite_ = true;
    fs_delta_ = 0.0;
    fs_pack(0, n_);
  }
  // Byte codes of every position (codes8_, c8_base_ 0), before a change that moves positions.
  void fs_unpack() {
    if (c8_base_ == 0) return;
    const std::size_t nl = layers();
    std::vector<std::uint8_t> all(n_ * nl);
    for (std::size_t i = 0; i < n_; ++i)
      for (std::size_t l = 0; l < nl; ++l) all[i * nl + l] = static_cast<std::uint8_t>(code_at(i, l));
    if (fs_norm_codes()) {
      std::vector<std::uint8_t> levels(norm_bytes(opt_.norm, n_));
      for (std::size_t i = 0; i < n_; ++i) put_level(levels.data(), i, level_index(i));
      norms_.own().swap(levels);
    }
    codes8_.own().swap(all);
    c8_base_ = 0;
  }
  // After a change: the blocks hold every code (and 8- or 4-bit norm); the bytes go.
  void fs_drop_bytes() {
    codes8_.reset();
    if (fs_norm_codes()) norms_.reset();
    c8_base_ = n_;
  }
  // The codes of position p, from the blocks, into `row` (fs::max_tables bytes).
  const std::uint8_t* fs_row(std::size_t p, std::uint8_t* row) const noexcept {
    if (p < c8_base_) {  // in the blocks only (every search: c8_base_ is size())
      simd::fast_scan::get_row(fs_blocks_.data(), fs_tables(), p, layers(), row);
    } else {
      for (std::size_t l = 0; l < layers(); ++l) row[l] = static_cast<std::uint8_t>(code_at(p, l));
    }
    return row;
  }
  // The norm term (l2) of position p with codes `row`, as block_terms() gives it.
  float fs_term(const std::uint8_t* row, std::size_t p) const noexcept {
    float t = 0.0f;
    if (opt_.norm == norm_encoding::tables)
      block_terms(row, 0, 1, &t);  // the codes of one vector, at position 0 of `row`
    else
      decode_norms(p, 1, &t);
    return t;
  }

  // One query's 8-bit tables and the constants that turn a distance bound into a threshold.
  struct fs_query {
    std::vector<std::uint8_t> lut;
    double scale = 1.0, offset = 0.0, slack = 0.0;

    bool ok = false;  // false: a table value is NaN or Inf, and this query takes the plain scan

    bool prepare(const code_index& ix, const float* const* tables) {
      namespace fs = simd::fast_scan;
      if (!ix.fs_finite_) return ok = false;
      const std::size_t nl = ix.layers(), nt = ix.fs_tables();
      const double f = ix.opt_.metric == metric_id::l2 ? -2.0 : -1.0;  // adc_distance's sign
      lut.assign(fs::padded_tables(nt) * fs::levels, 0);
      double range = 0.0, sum_min = 0.0, magnitude = 0.0;
      double lo[fs::max_tables];
      for (std::size_t t = 0; t < nt; ++t) {
        const std::size_t k = t < nl ? ix.model_.codewords(t) : fs::levels;
        double mn = std::numeric_limits<double>::infinity(), mx = -mn;
        for (std::size_t c = 0; c < k; ++c) {
          const double v = value(ix, tables, t, c, f);
          if (!(v - v == 0.0)) return ok = false;  // NaN or Inf
          mn = std::min(mn, v), mx = std::max(mx, v);
        }
        lo[t] = mn;
        sum_min += mn;
        range = std::max(range, mx - mn);
        magnitude += std::max(std::fabs(mn), std::fabs(mx));
      }
      ok = true;
      scale = range > 0.0 ? 255.0 / range : 1.0;
      for (std::size_t t = 0; t < nt; ++t) {
        const std::size_t k = t < nl ? ix.model_.codewords(t) : fs::levels;
        for (std::size_t c = 0; c < fs::levels; ++c) {
          const double u = c < k ? std::nearbyint((value(ix, tables, t, c, f) - lo[t]) * scale) : 255.0;
          lut[t * fs::levels + c] = static_cast<std::uint8_t>(u < 0.0 ? 0.0 : u > 255.0 ? 255.0 : u);
        }
      }
      offset = sum_min;
      // Rounding of the 8-bit tables (half a unit each, and a little for the clamp), the gap
      // between a norm and its level, and float rounding in the exact sum (generously bounded).
      slack = (0.5 * static_cast<double>(nt) + 0.01) / scale + ix.fs_delta_ +
              4.0 * static_cast<double>(nl + 4) * 1.2e-7 * (magnitude + ix.fs_delta_);
      return ok;
    }
    static double value(const code_index& ix, const float* const* tables, std::size_t t, std::size_t c, double f) {
      return t < ix.layers() ? f * static_cast<double>(tables[t][c]) : ix.fs_norm_value(t - ix.layers(), c);
    }
    // The largest 16-bit sum a vector may have and still be at most `bound`.
    std::uint16_t threshold(float bound) const noexcept {
      if (!(bound < std::numeric_limits<float>::infinity())) return 0xFFFF;
      const double v = (static_cast<double>(bound) - offset + slack) * scale;
      return v < 0.0 ? std::uint16_t{0} : v >= 65535.0 ? std::uint16_t{0xFFFF} : static_cast<std::uint16_t>(v);
    }
  };

  // Positions [c0, c1) of the fast-scan blocks against one query: the kernel finds the blocks
  // with candidates, which are scored exactly and offered to `best` (every vector when the
  // query's tables or the norms are not finite: q.ok false).
  void fs_scan(std::size_t c0, std::size_t c1, const float* const* lut, const fs_query& q, topk& best) const noexcept {
    namespace fs = simd::fast_scan;
    if (c0 >= c1) return;
    const std::size_t nl = layers(), nt = fs_tables(), bytes = fs::block_bytes(nt);
    const fs::kernel kern = Quantizer::kernels::fast_scan_kernel();
    const bool l2 = opt_.metric == metric_id::l2, exhaustive = !q.ok;
    std::size_t b = c0 / fs::block;
    const std::size_t b1 = (c1 + fs::block - 1) / fs::block;
    std::uint16_t thr = exhaustive ? std::uint16_t{0xFFFF} : q.threshold(best.bound());
    std::uint8_t row[fs::max_tables];
    while (b < b1) {
      std::uint32_t mask = 0xFFFFFFFFu;
      if (!exhaustive) b += fs::find(kern, fs_blocks_.data() + b * bytes, b1 - b, nt, q.lut.data(), thr, mask);
      if (b == b1) break;
      const std::size_t base = b * fs::block;
      if (base < c0) mask &= ~((std::uint32_t{1} << (c0 - base)) - 1);
      if (c1 - base < fs::block) mask &= (std::uint32_t{1} << (c1 - base)) - 1;
      for (; mask; mask &= mask - 1) {
        const std::size_t p = base + static_cast<std::size_t>(__builtin_ctz(mask));
        fs_row(p, row);
        const float term = l2 ? fs_term(row, p) : 0.0f;
        const float s = detail::adc_sum(row, lut, nl);
        const float d =
            l2 ? detail::adc_distance<scan_kind::l2>(s, term) : detail::adc_distance<scan_kind::ip>(s, 0.0f);
        if (d <= best.bound()) best.push(d, static_cast<std::int64_t>(p));
      }
      if (!exhaustive) thr = q.threshold(best.bound());
      ++b;
    }
  }

  // Code of layer l at position i: from the byte codes, or the fast-scan blocks below c8_base_.
  std::size_t code_at(std::size_t i, std::size_t l) const noexcept {
    if (i < c8_base_) return simd::fast_scan::get(fs_blocks_.data(), fs_tables(), i, l);
    return wide() ? codes16_[i * layers() + l] : codes8_[(i - c8_base_) * layers() + l];
  }

  // How near first-layer codeword c is to a query with `<q, c>` = dot (smaller is nearer).
  float coarse_score(float dot, std::size_t c) const noexcept {
    if (opt_.metric == metric_id::l2) return cw_norms_[c] - 2.0f * dot;
    if (opt_.metric == metric_id::ip) return -dot;
    return cw_norms_[c] > 0.0f ? -dot / std::sqrt(cw_norms_[c]) : 0.0f;
  }

  template <class Code>
  void scan_block(const Code* codes, std::size_t n, const float* const* lut, const float* term, std::size_t first,
                  topk& best) const noexcept {
    const std::size_t nl = layers();
    switch (kind()) {
      case scan_kind::l2:
        return adc_scan<scan_kind::l2>(codes, n, nl, nl, lut, term, first, best);
      case scan_kind::ip:
        return adc_scan<scan_kind::ip>(codes, n, nl, nl, lut, term, first, best);
      case scan_kind::cos:
        return adc_scan<scan_kind::cos>(codes, n, nl, nl, lut, term, first, best);
    }
  }

  template <class Code>
  void run_search(const Code* codes, matrix_view<const float> queries, const search_options& opt,
                  matrix_view<float> distances, matrix_view<std::int64_t> labels) const {
    const std::size_t nq = queries.rows(), kk = opt.rerank ? opt.rerank : opt.k;
    std::vector<float> cd(nq * kk);
    std::vector<std::int64_t> cp(nq * kk);
    const std::size_t workers = std::max<std::size_t>(1, parallel_traits_type::concurrency());
    if (opt_.ivf) {  // every query its own lists: split the queries
      const std::size_t chunk = (nq + workers - 1) / workers;
      parallel_traits_type::for_each(workers, [&](std::size_t w) {
        const std::size_t q0 = std::min(nq, w * chunk), q1 = std::min(nq, q0 + chunk);
        if (q0 < q1) scan_lists(codes, queries, q0, q1, opt.nprobe, kk, cd.data(), cp.data());
      });
    } else if (nq >= workers || n_ < 2 * block_codes) {  // split the queries
      const std::size_t chunk = (nq + workers - 1) / workers;
      parallel_traits_type::for_each(workers, [&](std::size_t w) {
        const std::size_t q0 = std::min(nq, w * chunk), q1 = std::min(nq, q0 + chunk);
        if (q0 < q1) scan(codes, queries, q0, q1, 0, n_, kk, cd.data(), cp.data());
      });
    } else {  // split the database; every part keeps its own best kk, merged in part order
      const std::size_t blocks = (n_ + block_codes - 1) / block_codes;
      const std::size_t per = (blocks + workers - 1) / workers * block_codes;
      std::vector<float> pd(workers * nq * kk);
      std::vector<std::int64_t> pp(workers * nq * kk);
      parallel_traits_type::for_each(workers, [&](std::size_t w) {
        const std::size_t c0 = std::min(n_, w * per), c1 = std::min(n_, c0 + per);
        if (c0 < c1) scan(codes, queries, 0, nq, c0, c1, kk, pd.data() + w * nq * kk, pp.data() + w * nq * kk);
      });
      for (std::size_t i = 0; i < nq; ++i) {
        topk best(cd.data() + i * kk, cp.data() + i * kk, kk);
        for (std::size_t w = 0; w < workers; ++w) {
          if (std::min(n_, w * per) >= std::min(n_, w * per + per)) continue;
          for (std::size_t j = 0; j < kk; ++j) {
            const std::int64_t p = pp[(w * nq + i) * kk + j];
            if (p >= 0) best.push(pd[(w * nq + i) * kk + j], p);
          }
        }
        best.finish();
      }
    }
    parallel_traits_type::for_each(nq, [&](std::size_t i) {
      finish_query(queries.row(i), opt, cd.data() + i * kk, cp.data() + i * kk, kk, distances.row(i), labels.row(i));
    });
  }

  // Query i's answer from its kk sorted candidates: re-ranked exactly when asked, then reported.
  void finish_query(const float* q, const search_options& opt, float* cd, std::int64_t* cp, std::size_t kk, float* dist,
                    std::int64_t* labels) const {
    const std::size_t d = dim(), nl = layers();
    float qn = 0.0f;
    for (std::size_t t = 0; t < d; ++t) qn += q[t] * q[t];
    if (opt.rerank) {
      std::vector<float> buf(d), ed(opt.k);
      std::vector<std::int64_t> ep(opt.k);
      topk best(ed.data(), ep.data(), opt.k);
      for (std::size_t j = 0; j < kk && cp[j] >= 0; ++j) {
        const std::size_t p = static_cast<std::size_t>(cp[j]);
        const float* x = buf.data();
        if (!opt.originals.empty()) {
          x = opt.originals.row(static_cast<std::size_t>(id_at(p)));
        } else {
          for (float& v : buf) v = 0.0f;
          for (std::size_t l = 0; l < nl; ++l) model_.store().add_codeword(l, code_at(p, l), buf.data());
        }
        best.push(exact_distance(q, x, qn), cp[j]);
      }
      best.finish();
      for (std::size_t j = 0; j < opt.k; ++j) report(ed[j], ep[j], qn, dist[j], labels[j], true);
      return;
    }
    for (std::size_t j = 0; j < opt.k; ++j) report(cd[j], cp[j], qn, dist[j], labels[j], false);
  }

  // The exact distance a re-ranked candidate is ordered by (smaller first).
  float exact_distance(const float* q, const float* x, float qn) const noexcept {
    const std::size_t d = dim();
    float s = 0.0f, xn = 0.0f;
    if (opt_.metric == metric_id::l2) {
      for (std::size_t t = 0; t < d; ++t) s += (q[t] - x[t]) * (q[t] - x[t]);
      return s;
    }
    for (std::size_t t = 0; t < d; ++t) s += q[t] * x[t], xn += x[t] * x[t];
    if (opt_.metric == metric_id::ip) return -s;
    return (void)qn, xn > 0.0f ? -s / std::sqrt(xn) : 0.0f;
  }

  // Converts an internal distance (smaller is better) at position p into what search() reports.
  void report(float d, std::int64_t p, float qn, float& out, std::int64_t& label, bool exact) const noexcept {
    const bool l2 = opt_.metric == metric_id::l2;
    if (p < 0) {
      out = l2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
      label = -1;
      return;
    }
    label = id_at(static_cast<std::size_t>(p));
    if (l2)
      out = exact ? d : d + qn;
    else if (opt_.metric == metric_id::ip)
      out = -d;
    else
      out = qn > 0.0f ? -d / std::sqrt(qn) : 0.0f;
  }

  Quantizer model_{};
  index_options opt_{};
  norm_codec codec_{};
  bool fitted_ = false, explicit_ids_ = false;
  std::size_t n_ = 0;
  std::int64_t next_id_ = 0;  // the id add() gives next in an inverted-list index
  std::vector<std::size_t> first_, cross_off_, list_begin_;
  std::vector<float> cw_norms_, cross_;
  // Codes, norms and ids: owned, or viewed in a mapped file (own_all() before any change).
  detail::held_array<std::uint8_t> codes8_, norms_;
  detail::held_array<std::uint16_t> codes16_;
  detail::held_array<std::int64_t> ids_;
  std::vector<std::uint8_t> fs_blocks_;   // fast scan: 4-bit codes in blocks of 32 vectors
  float fs_lo_ = 0.0f, fs_step_ = 0.0f;   // fast scan: the norm levels fs_lo_ + j fs_step_
  bool fs_finite_ = true;                 // fast scan: every norm term finite (else the plain scan)
  double fs_delta_ = 0.0;                 // fast scan: largest gap between a norm term and its level
  std::array<double, 32> fs_norm_tab_{};  // fast scan, fs_norm_codes(): the norm tables' values
  bool fs_fitted_ = false;
  std::size_t c8_base_ = 0;  // fast scan: codes8_ holds positions c8_base_ .. n_ (0 in other indexes)
};

}  // namespace rvq
