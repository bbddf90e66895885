// rvq._core: the type-erased model and index over a concrete model type (see core.hpp), for
// models.cpp (single models and indexes) and pipelines.cpp (pipelines): two translation units
// that compile in parallel.
#pragma once

#include "core.hpp"

#include <rvq/io/visit_model.hpp>

namespace rvq_python {

template <class Q>
class index_of final : public search_index {
 public:
  explicit index_of(rvq::code_index<Q> ix) : ix_(std::move(ix)) {}
  std::size_t size() const override { return ix_.size(); }
  std::size_t dim() const override { return ix_.dim(); }
  const rvq::index_options& options() const override { return ix_.options(); }
  std::size_t memory_bytes() const override { return ix_.memory_bytes(); }
  std::size_t code_size() const override { return ix_.code_size(); }
  bool has_ids() const override { return ix_.has_ids(); }
  bool mapped() const override { return ix_.mapped(); }
  std::size_t first_codewords() const override { return ix_.model().codewords(0); }
  rvq::status add(rvq::matrix_view<const float> x, rvq::span<const std::int64_t> ids) override {
    return ids.empty() ? ix_.add(x) : ix_.add_with_ids(x, ids);
  }
  std::size_t remove(rvq::span<const std::int64_t> ids) override { return ix_.remove_ids(ids); }
  rvq::status search(rvq::matrix_view<const float> q, const rvq::search_options& o, rvq::matrix_view<float> d,
                     rvq::matrix_view<std::int64_t> l) const override {
    return ix_.search(q, o, d, l);
  }
  rvq::status save(const std::string& path) const override { return rvq::io::save_index(ix_, path); }
  rvq::status to_bytes(std::vector<unsigned char>& out) const override { return rvq::io::index_bytes(ix_, out); }
  rvq::status model_bytes(std::vector<unsigned char>& out) const override {
    return rvq::io::model_bytes(ix_.model(), out);
  }

 private:
  rvq::code_index<Q> ix_;
};

/// A single model whose codewords are dense f32 values (what codebooks, compact and compress
/// read); pipelines and other kinds are not.
template <class Q, class = void>
struct is_dense_f32 : std::false_type {};
template <class Q>
struct is_dense_f32<Q, std::enable_if_t<!is_pipeline<Q>::value>>
    : std::integral_constant<bool,
                             !Q::is_product && !Q::is_integer && std::is_same<typename Q::element, rvq::f32>::value> {};

template <class Q>
class model_of final : public model {
  static constexpr bool pipe = is_pipeline<Q>::value;

 public:
  explicit model_of(Q q) : q_(std::move(q)) {}

  std::size_t layers() const override { return q_.layers(); }
  std::size_t dim() const override { return q_.dim(); }
  std::size_t codewords(std::size_t l) const override { return q_.codewords(l); }
  std::size_t min_codewords() const override { return q_.min_codewords(); }
  std::size_t max_codewords() const override { return q_.max_codewords(); }
  std::size_t bits_per_vector() const override { return q_.bits_per_vector(); }
  std::size_t packed_bytes() const override { return rvq::packed_bytes(q_); }
  rvq::status encode(rvq::matrix_view<const float> x, rvq::matrix_view<std::uint8_t> c,
                     const rvq::encode_options& o) const override {
    return q_.encode_batch(x, c, o);
  }
  rvq::status encode(rvq::matrix_view<const float> x, rvq::matrix_view<std::uint16_t> c,
                     const rvq::encode_options& o) const override {
    return q_.encode_batch(x, c, o);
  }
  rvq::status pack(rvq::matrix_view<const std::uint16_t> c, rvq::matrix_view<std::uint8_t> out) const override {
    return rvq::pack_codes_batch(q_, c, out);
  }
  rvq::status unpack(rvq::matrix_view<const std::uint8_t> in, rvq::matrix_view<std::uint16_t> c) const override {
    return rvq::unpack_codes_batch(q_, in, c);
  }
  rvq::status decode(rvq::matrix_view<const std::uint8_t> c, rvq::matrix_view<float> y, std::size_t n) const override {
    return q_.decode_batch(c, y, n);
  }
  rvq::status decode(rvq::matrix_view<const std::uint16_t> c, rvq::matrix_view<float> y, std::size_t n) const override {
    return q_.decode_batch(c, y, n);
  }
  rvq::result<rvq::eval_report> evaluate(rvq::matrix_view<const float> x, const rvq::eval_options& o) const override {
    return rvq::evaluate(q_, x, o);
  }
  rvq::status save(const std::string& path) const override {
    if constexpr (pipe)
      return rvq::io::save_pipeline(q_, path);
    else
      return rvq::io::save_model(q_, path);
  }
  rvq::status codegen(const std::string& path, const rvq::io::codegen_options& o) const override {
    if constexpr (pipe)
      return {rvq::errc::unsupported, "a pipeline has projections: firmware headers are written for single models"};
    else
      return rvq::io::write_model_header(q_, path, o);
  }
  const float* dense_values() const override {
    if constexpr (is_dense_f32<Q>::value)
      return q_.codeword(0, 0);
    else
      return nullptr;
  }

  std::vector<unsigned char> quantize(const rvq::quantize_options& o, rvq::matrix_view<const float> x,
                                      rvq::quantize_report& rep) const override {
    if constexpr (pipe) {
      fail(kind::value, "quantize takes a single f32 model, not a pipeline");
    } else if constexpr (!is_dense_f32<Q>::value || std::is_same<typename Q::metric, rvq::cosine>::value) {
      if (info.product)
        fail(kind::value, std::string("a ") + rvq::to_string(info.storage) +
                              " model: quantize the dense model, or compress with element='int8'");
      if (info.element != rvq::element_id::f32)
        fail(kind::value, std::string("the model is already quantized (") + rvq::to_string(info.element) +
                              "); quantize its f32 original");
      fail(kind::value, std::string("quantization needs an f32 model with the l2 or ip metric (this one is ") +
                            rvq::to_string(info.metric) + ")");
    } else {
      if (info.element != rvq::element_id::f32)
        fail(kind::value, std::string("the model is already quantized (") + rvq::to_string(info.element) +
                              "); quantize its f32 original");
      rvq::quantized_codebooks qc;
      const rvq::status s = rvq::quantize_codebooks(q_, x, o, qc, &rep);
      if (!s) fail_data(s, "quantize");
      const rvq::metric_id m = o.element == rvq::element_id::binary ? rvq::metric_id::hamming : info.metric;
      std::vector<unsigned char> out;
      const rvq::status ws = rvq::io::quantized_bytes(qc, m, out);
      if (!ws) fail_data(ws, "quantize");
      return out;
    }
  }

  std::vector<unsigned char> compress(const rvq::compress_options& o, rvq::matrix_view<const float> x,
                                      bool projections) const override {
    if (info.product || info.element != rvq::element_id::f32)
      fail(kind::value, std::string("compress takes a dense f32 model or pipeline (this one is ") +
                            rvq::to_string(info.storage) + ", " + rvq::to_string(info.element) + ")");
    std::vector<unsigned char> out;
    if constexpr (pipe) {
      if constexpr (std::is_same<typename Q::quantizer_type::element, rvq::f32>::value &&
                    !Q::quantizer_type::is_product) {
        auto finish = [&](auto r) {
          if (!r) fail_data(r.error(), "compress");
          const rvq::status s = rvq::io::pipeline_bytes(*r, out);
          if (!s) fail_data(s, "compress");
        };
        const rvq::compress_options* po = projections ? &o : nullptr;
        if (o.storage == rvq::storage_id::pq)
          finish(rvq::compress_pipeline<rvq::pq>(q_, o, po, x));
        else
          finish(rvq::compress_pipeline<rvq::rpq>(q_, o, po, x));
      } else {
        fail(kind::value, "compress takes a pipeline of dense f32 stages");
      }
    } else {
      if (projections) fail(kind::value, "projections=True is for pipelines; this is a single model");
      if constexpr (is_dense_f32<Q>::value) {
        if (o.subspaces && dim() % o.subspaces != 0)
          fail(kind::value,
               "subspaces=" + std::to_string(o.subspaces) + " does not divide the dimension " + std::to_string(dim()));
        auto pc = rvq::compress(q_, o, x);
        if (!pc) fail_data(pc.error(), "compress");
        const rvq::status s = rvq::io::product_bytes(*pc, info.metric, out);
        if (!s) fail_data(s, "compress");
      } else {
        fail(kind::value, "compress takes a dense f32 model");
      }
    }
    return out;
  }

  std::vector<unsigned char> compact(rvq::matrix_view<const float> x,
                                     std::vector<std::vector<std::uint32_t>>& remap) const override {
    if constexpr (is_dense_f32<Q>::value) {
      if (info.element != rvq::element_id::f32)
        fail(kind::value, std::string("compaction works on f32 models (this one is ") + rvq::to_string(info.element) +
                              "); compact the f32 model, then quantize it");
      Q c;
      rvq::compact_report rep;
      const rvq::status s = rvq::compact(q_, x, c, &remap, &rep);
      if (!s) fail_data(s, "compact");
      std::vector<unsigned char> out;
      const rvq::status ws = rvq::io::model_bytes(c, out);
      if (!ws) fail_data(ws, "compact");
      return out;
    } else {
      fail(kind::value, std::string("compaction works on dense f32 models (this one is ") +
                            (pipe ? std::string("a pipeline")
                                  : std::string(rvq::to_string(info.storage)) + ", " + rvq::to_string(info.element)) +
                            ")");
    }
  }

  index_ptr make_index(const rvq::index_options& o) const override {
    if constexpr (pipe) {
      fail(kind::value, "an index holds a single model, not a pipeline");
    } else if constexpr (std::is_same<typename Q::element, rvq::binary>::value) {
      fail(kind::value, "binary (hamming) models cannot be searched with float tables");
    } else {
      auto r = rvq::code_index<Q>::create(q_, o);
      if (!r) fail_data(r.error(), "index");
      return std::make_shared<index_of<Q>>(std::move(r).value());
    }
  }

 private:
  Q q_;
};

}  // namespace rvq_python
