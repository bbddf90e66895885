// rvq._core's shared declarations: the type-erased model and code index of the binding's three
// translation units. models.cpp instantiates them for every single model type (the long
// compile), pipelines.cpp for every pipeline type, and module.cpp converts arrays and declares
// the Python module: they compile in parallel, in pip's build as in the tree's.
#pragma once

#include <rvq/io/faiss.hpp>
#include <rvq/parallel/dynamic_threads.hpp>
#include <rvq/rvq.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace rvq_python {

using par = rvq::dynamic_threads;  // every model runs on the shared pool, threads= per call

// ---- errors ---------------------------------------------------------------------------------

/// What a failure becomes in Python (classes of rvq/_errors.py).
enum class kind { value, file, type, memory };

/// Thrown by the binding; translated to rvq.DataError (ValueError), rvq.FileError (OSError, with
/// the path), rvq.DTypeError (TypeError) or MemoryError.
struct failure {
  kind k;
  std::string message;
  std::string path;
};

[[noreturn]] inline void fail(kind k, std::string message, std::string path = {}) {
  throw failure{k, std::move(message), std::move(path)};
}

/// The exception of a status from work on data (ValueError; out of memory: MemoryError).
[[noreturn]] inline void fail_data(const rvq::status& s, const std::string& what = {}) {
  const std::string m = (what.empty() ? "" : what + ": ") + rvq::describe(s);
  fail(s.code() == rvq::errc::out_of_memory ? kind::memory : kind::value, m);
}

/// The exception of a status from reading or writing `path`: rvq.FileError carrying the path.
[[noreturn]] inline void fail_file(const rvq::status& s, const std::string& path) {
  if (s.code() == rvq::errc::out_of_memory) fail(kind::memory, path + ": " + rvq::describe(s));
  fail(kind::file, rvq::describe(s), path);
}

// ---- the type-erased model ------------------------------------------------------------------

class model;
using model_ptr = std::shared_ptr<model>;
class search_index;
using index_ptr = std::shared_ptr<search_index>;

/// A code index (rvq::code_index) of any model type, behind one interface.
class search_index {
 public:
  virtual ~search_index() = default;
  virtual std::size_t size() const = 0;
  virtual std::size_t dim() const = 0;
  virtual const rvq::index_options& options() const = 0;
  virtual std::size_t memory_bytes() const = 0;
  virtual std::size_t code_size() const = 0;
  virtual bool has_ids() const = 0;
  virtual bool mapped() const = 0;
  virtual std::size_t first_codewords() const = 0;
  virtual rvq::status add(rvq::matrix_view<const float> x, rvq::span<const std::int64_t> ids) = 0;
  virtual std::size_t remove(rvq::span<const std::int64_t> ids) = 0;
  virtual rvq::status search(rvq::matrix_view<const float> q, const rvq::search_options& o, rvq::matrix_view<float> d,
                             rvq::matrix_view<std::int64_t> l) const = 0;
  virtual rvq::status save(const std::string& path) const = 0;
  virtual rvq::status to_bytes(std::vector<unsigned char>& out) const = 0;
  virtual rvq::status model_bytes(std::vector<unsigned char>& out) const = 0;
};

/// A loaded model or pipeline of any element, metric and storage, behind one interface.
class model {
 public:
  virtual ~model() = default;
  rvq::io::model_info info;          ///< the ids and shape of its file
  std::vector<unsigned char> bytes;  ///< the `.rvq` file it was loaded from

  virtual std::size_t layers() const = 0;
  virtual std::size_t dim() const = 0;
  virtual std::size_t codewords(std::size_t l) const = 0;
  virtual std::size_t min_codewords() const = 0;
  virtual std::size_t max_codewords() const = 0;
  virtual std::size_t bits_per_vector() const = 0;
  virtual std::size_t packed_bytes() const = 0;
  virtual rvq::status encode(rvq::matrix_view<const float> x, rvq::matrix_view<std::uint8_t> c,
                             const rvq::encode_options& o) const = 0;
  virtual rvq::status encode(rvq::matrix_view<const float> x, rvq::matrix_view<std::uint16_t> c,
                             const rvq::encode_options& o) const = 0;
  virtual rvq::status pack(rvq::matrix_view<const std::uint16_t> c, rvq::matrix_view<std::uint8_t> out) const = 0;
  virtual rvq::status unpack(rvq::matrix_view<const std::uint8_t> in, rvq::matrix_view<std::uint16_t> c) const = 0;
  virtual rvq::status decode(rvq::matrix_view<const std::uint8_t> c, rvq::matrix_view<float> y,
                             std::size_t n) const = 0;
  virtual rvq::status decode(rvq::matrix_view<const std::uint16_t> c, rvq::matrix_view<float> y,
                             std::size_t n) const = 0;
  virtual rvq::result<rvq::eval_report> evaluate(rvq::matrix_view<const float> x, const rvq::eval_options& o) const = 0;
  virtual rvq::status save(const std::string& path) const = 0;
  virtual rvq::status codegen(const std::string& path, const rvq::io::codegen_options& o) const = 0;
  /// The dense f32 codewords (contiguous, layer after layer), or null.
  virtual const float* dense_values() const = 0;
  virtual std::vector<unsigned char> quantize(const rvq::quantize_options& o, rvq::matrix_view<const float> x,
                                              rvq::quantize_report& rep) const = 0;
  virtual std::vector<unsigned char> compress(const rvq::compress_options& o, rvq::matrix_view<const float> x,
                                              bool projections) const = 0;
  /// A new, empty code index over this model.
  virtual index_ptr make_index(const rvq::index_options& o) const = 0;
  virtual std::vector<unsigned char> compact(rvq::matrix_view<const float> x,
                                             std::vector<std::vector<std::uint32_t>>& remap) const = 0;
};

template <class T>
struct is_pipeline : std::false_type {};
template <class C>
struct is_pipeline<rvq::pipeline<C>> : std::true_type {};

/// The model held in `bytes` (a whole `.rvq` file), of whatever type it holds; `origin` names it
/// in errors (a path, or what made the bytes). Throws `failure`.
model_ptr from_bytes(std::vector<unsigned char> bytes, const std::string& origin);

/// from_bytes() of a single model (models.cpp) and of a pipeline (pipelines.cpp): the object,
/// without its info and bytes.
model_ptr single_from_bytes(const std::vector<unsigned char>& bytes, const std::string& origin);
model_ptr pipeline_from_bytes(const std::vector<unsigned char>& bytes, const std::string& origin);

/// The index held in `bytes` (a whole `.rvqi` file). Throws `failure`.
index_ptr index_from_bytes(const std::vector<unsigned char>& bytes, const std::string& origin);

/// The index file at `path`, memory-mapped and searched in place (rvq::io::visit_index_mapped).
/// Needs no GIL.
rvq::status index_from_mapped(const std::string& path, index_ptr& out);

/// The index of FAISS's IndexResidualQuantizer `rq` (its codes and norms).
rvq::status index_from_faiss(const rvq::io::faiss_rq& rq, index_ptr& out);

/// A model made in memory (trained, imported): through its bytes, as a file would load.
template <class Q>
model_ptr from_quantizer(const Q& q, const std::string& origin) {
  std::vector<unsigned char> bytes;
  rvq::status s;
  if constexpr (is_pipeline<Q>::value)
    s = rvq::io::pipeline_bytes(q, bytes);
  else
    s = rvq::io::model_bytes(q, bytes);
  if (!s) fail_data(s, origin);
  return from_bytes(std::move(bytes), origin);
}

}  // namespace rvq_python
