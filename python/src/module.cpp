// rvq._core: the Python binding. Thin by design: it converts arrays, releases the GIL and maps
// statuses to exceptions; every behaviour is the C++ library's. The Python package (rvq/) adds
// the pure-Python conveniences (progress bar, sweep, result classes) on top.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core.hpp"

#include <rvq/io/codegen.hpp>
#include <rvq/io/faiss.hpp>
#include <rvq/io/safetensors.hpp>
#include <rvq/io/visit_model.hpp>
#include <rvq/parallel/dynamic_threads.hpp>
#include <rvq/rvq.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace rvq_python {

// ---- arrays ---------------------------------------------------------------------------------

/// A float32 matrix the library reads: the caller's own buffer when it is C-contiguous float32,
/// else a float32 copy made once. `array` keeps the buffer alive.
struct float_matrix {
  py::array array;
  rvq::matrix_view<const float> view;
  bool copied = false;
};

/// `x` (a NumPy array, 2-D; the Python layer has turned __array__/DLPack objects into one) as a
/// float32 matrix. Integer, boolean, complex and object arrays are a TypeError.
float_matrix as_matrix(const py::handle& x, const char* what) {
  if (!py::isinstance<py::array>(x))
    fail(kind::type, std::string(what) + ": expected a NumPy array (or an object with __array__ or __dlpack__), got " +
                         std::string(py::str(py::type::of(x).attr("__name__"))));
  py::array a = py::reinterpret_borrow<py::array>(x);
  const char k = a.dtype().kind();
  if (k != 'f')
    fail(kind::type, std::string(what) + ": expected floating-point values (float32 is used without a copy), got " +
                         std::string(py::str(a.dtype())));
  if (a.ndim() != 2)
    fail(kind::value, std::string(what) + ": expected a 2-D array (N x D), got " + std::to_string(a.ndim()) + "-D");
  float_matrix m;
  const bool direct = a.dtype().is(py::dtype::of<float>()) && (a.flags() & py::array::c_style) &&
                      (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_);
  if (direct) {
    m.array = a;
  } else {
    m.array = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!m.array) throw py::error_already_set();
    m.copied = true;
  }
  m.view = rvq::matrix_view<const float>(static_cast<const float*>(m.array.data()),
                                         static_cast<std::size_t>(m.array.shape(0)),
                                         static_cast<std::size_t>(m.array.shape(1)));
  return m;
}

/// Optional calibration data: an empty view for None.
float_matrix as_optional_matrix(const py::object& x, const char* what) {
  if (x.is_none()) return {};
  return as_matrix(x, what);
}

/// Codes (N x L) as uint8 or uint16 without a copy when they already are, C-contiguous; other
/// integer types are checked (0 to 65535) and converted once.
struct code_matrix {
  py::array array;
  bool wide = true;  // uint16, else uint8
  std::size_t rows = 0, cols = 0;
};

code_matrix as_codes(const py::handle& x, const char* what) {
  if (!py::isinstance<py::array>(x))
    fail(kind::type, std::string(what) + ": expected a NumPy array of integer codes, got " +
                         std::string(py::str(py::type::of(x).attr("__name__"))));
  py::array a = py::reinterpret_borrow<py::array>(x);
  const char k = a.dtype().kind();
  if (k != 'u' && k != 'i')
    fail(kind::type,
         std::string(what) + ": expected integer codes (uint8 or uint16), got " + std::string(py::str(a.dtype())));
  if (a.ndim() != 2)
    fail(kind::value, std::string(what) + ": expected a 2-D array (N x L), got " + std::to_string(a.ndim()) + "-D");
  code_matrix c;
  c.rows = static_cast<std::size_t>(a.shape(0));
  c.cols = static_cast<std::size_t>(a.shape(1));
  const bool contiguous = (a.flags() & py::array::c_style) && (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_);
  if (contiguous && a.dtype().is(py::dtype::of<std::uint16_t>())) {
    c.array = a;
  } else if (contiguous && a.dtype().is(py::dtype::of<std::uint8_t>())) {
    c.array = a;
    c.wide = false;
  } else {
    // Checked on the way: a negative or too large value is a ValueError, not a wrapped code.
    py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> wide =
        py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!wide) throw py::error_already_set();
    py::array_t<std::uint16_t> out({c.rows, c.cols});
    const std::int64_t* in = wide.data();
    std::uint16_t* o = out.mutable_data();
    for (std::size_t i = 0; i < c.rows * c.cols; ++i) {
      if (in[i] < 0 || in[i] > 65535)
        fail(kind::value, std::string(what) + ": code " + std::to_string(in[i]) + " at row " +
                              std::to_string(i / (c.cols ? c.cols : 1)) + " is not a code (0 to 65535)");
      o[i] = static_cast<std::uint16_t>(in[i]);
    }
    c.array = out;
  }
  return c;
}

/// The thread count of a call: None is every hardware thread, n >= 1 at most n.
std::size_t thread_count(const py::object& threads) {
  if (threads.is_none()) return 0;
  const long long n = threads.cast<long long>();
  if (n < 1) fail(kind::value, "threads must be at least 1 (or None for every core), got " + std::to_string(n));
  return static_cast<std::size_t>(n);
}

// ---- names ----------------------------------------------------------------------------------

template <class E, std::size_t N>
E parse_choice(const std::string& key, const std::string& v, const rvq::named<E> (&table)[N],
               std::initializer_list<E> allowed = {}) {
  auto ok = [&](E e) { return allowed.size() == 0 || std::find(allowed.begin(), allowed.end(), e) != allowed.end(); };
  E out{};
  if (rvq::parse_name(table, v.c_str(), out) && ok(out)) return out;
  std::string list;
  for (std::size_t i = 0; i < N; ++i)
    if (rvq::is_own_name(table, i) && ok(table[i].value))
      list += (list.empty() ? "'" : ", '") + std::string(table[i].name) + "'";
  fail(kind::value, key + " must be one of " + list + ", got '" + v + "'");
}

rvq::metric_id parse_metric(const std::string& m) {
  return parse_choice("metric", m, rvq::metric_names, {rvq::metric_id::l2, rvq::metric_id::ip, rvq::metric_id::cosine});
}

/// f(M{}) for a float metric id.
template <class F>
void with_metric(rvq::metric_id m, F&& f) {
  if (!rvq::io::visit_float_metric(m, f)) fail(kind::value, "the hamming metric belongs to binary models");
}

// ---- module functions -----------------------------------------------------------------------

model_ptr load(const std::string& path) {
  std::vector<unsigned char> bytes;
  {
    py::gil_scoped_release nogil;
    const rvq::status s = rvq::io::read_file(path, bytes);
    if (!s) fail_file(s, path);
  }
  return from_bytes(std::move(bytes), path);
}

model_ptr load_bytes(const py::bytes& b) {
  const std::string s = b;
  return from_bytes(std::vector<unsigned char>(s.begin(), s.end()), "<bytes>");
}

model_ptr train(const py::handle& x, std::size_t layers, std::vector<std::size_t> codewords, std::size_t beam,
                std::size_t icm, std::size_t holdout, std::size_t beam_entries, std::size_t iterations,
                std::size_t refine, std::uint64_t seed, const std::string& metric, std::size_t sample,
                const std::string& init, std::size_t progressive, std::size_t progressive_iterations,
                const py::object& progress, const py::object& threads) {
  const float_matrix m = as_matrix(x, "x");
  rvq::train_options opt;
  opt.layers = layers;
  opt.codewords = std::move(codewords);
  opt.beam = beam;
  opt.icm_rounds = icm;
  opt.refine_holdout = holdout;
  opt.beam_entries = beam_entries;
  opt.iterations = iterations;
  opt.refine = refine;
  opt.seed = seed;
  opt.sample = sample;
  opt.progressive_steps = progressive;
  opt.progressive_iterations = progressive_iterations;
  if (!rvq::parse_name(rvq::kmeans_init_names, init.c_str(), opt.init))
    fail(kind::value, "init must be 'kmeans++', 'greedy-kmeans++' or 'random', got '" + init + "'");
  if (opt.codewords.empty()) fail(kind::value, "codewords: give one K, or one K per layer");
  if (beam == 0) fail(kind::value, "beam must be at least 1");
  const rvq::metric_id mid = parse_metric(metric);
  const std::size_t nthreads = thread_count(threads);
  // Every call checks for Ctrl-C (KeyboardInterrupt stops the training: the exception goes
  // through train(), nothing is returned), then reports to the caller's callable.
  opt.progress = [&progress](const rvq::train_progress& p) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!progress.is_none()) progress(p);
  };
  model_ptr out;
  with_metric(mid, [&](auto mt) {
    using config = rvq::config<rvq::f32, decltype(mt), rvq::dense, par>;
    std::optional<rvq::result<rvq::quantizer<config>>> r;
    {
      py::gil_scoped_release nogil;
      par::scope threads_of_call(nthreads);
      r.emplace(rvq::train<config>(m.view, opt));
    }
    if (!*r) fail_data(r->error(), "train");
    out = from_quantizer(r->value(), "train");
  });
  return out;
}

model_ptr from_codebooks(const py::list& books, const std::string& metric) {
  std::vector<float> values;
  std::vector<std::size_t> ks;
  std::size_t dim = 0;
  for (std::size_t l = 0; l < books.size(); ++l) {
    const std::string what = "codebooks[" + std::to_string(l) + "]";
    const float_matrix m = as_matrix(books[l], what.c_str());
    if (l == 0) dim = m.view.cols();
    if (m.view.cols() != dim)
      fail(kind::value,
           what + ": " + std::to_string(m.view.cols()) + " dimensions, layer 0 has " + std::to_string(dim));
    ks.push_back(m.view.rows());
    for (std::size_t r = 0; r < m.view.rows(); ++r) values.insert(values.end(), m.view.row(r), m.view.row(r) + dim);
  }
  model_ptr out;
  with_metric(parse_metric(metric), [&](auto mt) {
    using q_t = rvq::quantizer<rvq::config<rvq::f32, decltype(mt), rvq::dense, par>>;
    auto q = q_t::from_codebooks(rvq::span<const float>(values), rvq::span<const std::size_t>(ks), dim);
    if (!q) fail_data(q.error(), "codebooks");
    out = from_quantizer(*q, "codebooks");
  });
  return out;
}

model_ptr import_faiss(const std::string& path, const std::string& metric) {
  rvq::io::faiss_rq rq;
  {
    py::gil_scoped_release nogil;
    const rvq::status s = rvq::io::read_faiss_rq(path, rq);
    if (!s) fail_file(s, path);
  }
  model_ptr out;
  with_metric(parse_metric(metric), [&](auto mt) {
    using q_t = rvq::quantizer<rvq::config<rvq::f32, decltype(mt), rvq::dense, par>>;
    auto q =
        q_t::from_codebooks(rvq::span<const float>(rq.codebooks), rvq::span<const std::size_t>(rq.codewords), rq.dim);
    if (!q) fail_file(q.error(), path);
    out = from_quantizer(*q, path);
  });
  return out;
}

model_ptr import_safetensors(const std::string& path, const std::string& pattern, const py::object& metric) {
  rvq::io::safetensors_file f;
  rvq::io::safetensors_codebooks cb;
  {
    py::gil_scoped_release nogil;
    rvq::status s = rvq::io::read_safetensors(path, f);
    if (!s) fail_file(s, path);
    s = rvq::io::find_codebooks(f, pattern, cb);
    if (!s) fail_file(s, path);
  }
  // DAC's projections make a pipeline, cosine unless a metric is given (as `rvq import` does).
  const rvq::metric_id mid = metric.is_none() ? (cb.projected() ? rvq::metric_id::cosine : rvq::metric_id::l2)
                                              : parse_metric(metric.cast<std::string>());
  model_ptr out;
  with_metric(mid, [&](auto mt) {
    using config = rvq::config<rvq::f32, decltype(mt), rvq::dense, par>;
    if (cb.projected()) {
      auto p = rvq::io::to_pipeline<config>(cb);
      if (!p) fail_file(p.error(), path);
      out = from_quantizer(*p, path);
    } else {
      auto q = rvq::quantizer<config>::from_codebooks(rvq::span<const float>(cb.values),
                                                      rvq::span<const std::size_t>(cb.codewords), cb.dim);
      if (!q) fail_file(q.error(), path);
      out = from_quantizer(*q, path);
    }
  });
  return out;
}

// ---- methods --------------------------------------------------------------------------------

void check_beam(const model& m, std::size_t beam) {
  if (beam < 1 || beam > m.min_codewords())
    fail(kind::value, "beam must be in 1 to " + std::to_string(m.min_codewords()) + " (the smallest layer's K), got " +
                          std::to_string(beam));
}

void check_dim(const model& m, const float_matrix& x, const char* what) {
  if (x.view.cols() != m.dim())
    fail(kind::value, std::string(what) + ": vectors have " + std::to_string(x.view.cols()) +
                          " dimensions, the model has " + std::to_string(m.dim()));
}

py::array encode(const model& m, const py::handle& x, std::size_t beam, std::size_t icm, bool packed,
                 const py::object& threads) {
  const float_matrix v = as_matrix(x, "x");
  check_dim(m, v, "x");
  check_beam(m, beam);
  const std::size_t n = v.view.rows(), nl = m.layers(), nt = thread_count(threads);
  auto run = [&](auto code) {
    using code_t = decltype(code);
    py::array_t<code_t> codes({n, nl});
    rvq::matrix_view<code_t> cv(codes.mutable_data(), n, nl);
    rvq::status s;
    {
      py::gil_scoped_release nogil;
      par::scope threads_of_call(nt);
      s = m.encode(v.view, cv, rvq::encode_options{beam, icm});
    }
    if (!s) fail_data(s, "x");
    return codes;
  };
  if (!packed) {
    if (m.max_codewords() <= 256) return run(std::uint8_t{});
    return run(std::uint16_t{});
  }
  py::array_t<std::uint16_t> codes = run(std::uint16_t{});
  const std::size_t bytes = m.packed_bytes();
  py::array_t<std::uint8_t> out({n, bytes});
  rvq::status s;
  {
    py::gil_scoped_release nogil;
    s = m.pack(rvq::matrix_view<const std::uint16_t>(codes.data(), n, nl),
               rvq::matrix_view<std::uint8_t>(out.mutable_data(), n, bytes));
  }
  if (!s) fail_data(s, "codes");
  return std::move(out);
}

py::array_t<float> decode(const model& m, const py::handle& codes, const py::object& layers, bool packed,
                          const py::object& threads) {
  const std::size_t nl = m.layers(), nt = thread_count(threads);
  std::size_t n_layers = nl;
  if (!layers.is_none()) {
    const long long l = layers.cast<long long>();
    if (l < 1 || static_cast<std::size_t>(l) > nl)
      fail(kind::value, "layers must be in 1 to " + std::to_string(nl) + ", got " + std::to_string(l));
    n_layers = static_cast<std::size_t>(l);
  }
  code_matrix c;
  if (packed) {
    const code_matrix p = as_codes(codes, "codes");
    if (p.wide || p.cols != m.packed_bytes())
      fail(kind::value, "codes: expected packed codes, uint8 of shape N x " + std::to_string(m.packed_bytes()) +
                            " (as encode(x, packed=True) returns them)");
    py::array_t<std::uint16_t> un({p.rows, nl});
    rvq::status s;
    {
      py::gil_scoped_release nogil;
      s = m.unpack(
          rvq::matrix_view<const std::uint8_t>(static_cast<const std::uint8_t*>(p.array.data()), p.rows, p.cols),
          rvq::matrix_view<std::uint16_t>(un.mutable_data(), p.rows, nl));
    }
    if (!s) fail_data(s, "codes");
    c.array = un;
    c.rows = p.rows;
    c.cols = nl;
  } else {
    c = as_codes(codes, "codes");
  }
  if (c.cols != nl)
    fail(kind::value,
         "codes: expected N x " + std::to_string(nl) + " codes (one per layer), got N x " + std::to_string(c.cols));
  py::array_t<float> y({c.rows, m.dim()});
  rvq::matrix_view<float> yv(y.mutable_data(), c.rows, m.dim());
  rvq::status s;
  {
    py::gil_scoped_release nogil;
    par::scope threads_of_call(nt);
    if (c.wide)
      s = m.decode(
          rvq::matrix_view<const std::uint16_t>(static_cast<const std::uint16_t*>(c.array.data()), c.rows, c.cols), yv,
          n_layers);
    else
      s = m.decode(
          rvq::matrix_view<const std::uint8_t>(static_cast<const std::uint8_t*>(c.array.data()), c.rows, c.cols), yv,
          n_layers);
  }
  if (!s) fail_data(s, "codes");
  return y;
}

py::dict evaluate(const model& m, const py::handle& x, std::size_t beam, std::size_t icm, const py::object& threads) {
  const float_matrix v = as_matrix(x, "x");
  check_dim(m, v, "x");
  check_beam(m, beam);
  if (v.view.rows() == 0) fail(kind::value, "x: the array is empty");
  const std::size_t nt = thread_count(threads);
  rvq::eval_options eo;
  eo.beam = beam;
  eo.icm_rounds = icm;
  std::optional<rvq::result<rvq::eval_report>> r;
  {
    py::gil_scoped_release nogil;
    par::scope threads_of_call(nt);
    r.emplace(m.evaluate(v.view, eo));
  }
  if (!*r) fail_data(r->error(), "x");
  const rvq::eval_report& e = r->value();
  py::dict d;
  d["vectors"] = e.vectors;
  d["dim"] = e.dim;
  d["beam"] = e.beam;
  d["icm"] = icm;
  d["mse"] = e.mse;
  d["rel_mse"] = e.rel_mse;
  d["mean_squared_norm"] = e.mean_squared_norm;
  d["layer_rel_mse"] = e.layer_rel_mse;
  d["bits_per_vector"] = e.bits_per_vector;
  // As stored (as `rvq eval` reports it): a quantized model's payload, else the footprint's bytes.
  d["codebook_bytes"] = m.info.quantized && !m.info.pipeline ? m.info.payload_bytes : e.footprint.codebook_bytes;
  d["encode_seconds"] = e.encode_seconds;
  d["vectors_per_second"] = e.vectors_per_second;
  return d;
}

/// Seconds of the fastest of `repeats` encodes of x (uint8/uint16 codes) in C++, with no Python
/// in the timed region: the reference of the binding's overhead (docs/python.md).
double time_encode(const model& m, const py::handle& x, std::size_t beam, std::size_t repeats,
                   const py::object& threads) {
  const float_matrix v = as_matrix(x, "x");
  check_dim(m, v, "x");
  check_beam(m, beam);
  const std::size_t n = v.view.rows(), nl = m.layers(), nt = thread_count(threads);
  std::vector<std::uint16_t> c16(n * nl);
  std::vector<std::uint8_t> c8(n * nl);
  double best = 1e300;
  py::gil_scoped_release nogil;
  par::scope threads_of_call(nt);
  for (std::size_t i = 0; i < (repeats ? repeats : 1); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const rvq::status s =
        m.max_codewords() <= 256
            ? m.encode(v.view, rvq::matrix_view<std::uint8_t>(c8.data(), n, nl), rvq::encode_options{beam})
            : m.encode(v.view, rvq::matrix_view<std::uint16_t>(c16.data(), n, nl), rvq::encode_options{beam});
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!s) {
      py::gil_scoped_acquire gil;
      fail_data(s, "x");
    }
    best = std::min(best, t);
  }
  return best;
}

void save(const model& m, const std::string& path) {
  rvq::status s;
  {
    py::gil_scoped_release nogil;
    s = m.save(path);
  }
  if (!s) fail_file(s, path);
}

void codegen(const model& m, const std::string& path, const std::string& name_space) {
  rvq::io::codegen_options o;
  o.name_space = name_space;
  if (!rvq::io::detail::valid_namespace(o.name_space))
    fail(kind::value,
         "namespace must be a C++ identifier that is not a reserved word, or such identifiers joined by ::, got '" +
             name_space + "'");
  o.source = "the rvq Python package";
  rvq::status s;
  {
    py::gil_scoped_release nogil;
    s = m.codegen(path, o);
  }
  if (s.code() == rvq::errc::unsupported) fail_data(s);
  if (!s) fail_file(s, path);
}

py::object codebooks(const py::object& self) {
  const model& m = self.cast<const model&>();
  const float* v = m.dense_values();
  if (!v)
    fail(kind::value,
         std::string("codebooks are viewed for dense f32 models; this one is ") +
             (m.info.pipeline ? std::string("a pipeline")
                              : std::string(rvq::to_string(m.info.storage)) + ", " + rvq::to_string(m.info.element)));
  const std::size_t d = m.dim(), nl = m.layers();
  auto read_only = [](py::array a) {
    a.attr("setflags")(py::arg("write") = false);
    return a;
  };
  bool uniform = true;
  for (std::size_t l = 1; l < nl; ++l) uniform = uniform && m.codewords(l) == m.codewords(0);
  if (uniform)  // one (L, K, D) view of the model's own memory, which `self` keeps alive
    return read_only(py::array_t<float>({nl, m.codewords(0), d}, v, self));
  py::list out;
  std::size_t first = 0;
  for (std::size_t l = 0; l < nl; ++l) {
    out.append(read_only(py::array_t<float>({m.codewords(l), d}, v + first * d, self)));
    first += m.codewords(l);
  }
  return std::move(out);
}

model_ptr quantize(const model& m, const std::string& element, const py::object& calibration, const std::string& method,
                   const std::string& granularity, bool pow2, bool symmetric, double percentile, std::size_t refit,
                   const std::string& rounding, std::size_t calibration_rows, const py::object& report) {
  rvq::quantize_options o;
  o.element =
      parse_choice("element", element, rvq::element_names,
                   {rvq::element_id::int8, rvq::element_id::q15, rvq::element_id::q7, rvq::element_id::int4,
                    rvq::element_id::int2, rvq::element_id::binary, rvq::element_id::f16, rvq::element_id::bf16});
  o.method = parse_choice("calibration_method", method, rvq::calibration_names);
  o.group = parse_choice("granularity", granularity, rvq::granularity_names);
  o.pow2 = pow2;
  o.symmetric = symmetric;
  if (!(percentile > 50.0 && percentile <= 100.0))
    fail(kind::value, "percentile must be in (50, 100], got " + std::to_string(percentile));
  o.percentile = percentile;
  o.refit = refit;
  o.mode = parse_choice("rounding", rounding, rvq::rounding_names);
  if (calibration_rows == 0) fail(kind::value, "calibration_rows must be at least 1");
  o.calibration_rows = calibration_rows;
  const float_matrix x = as_optional_matrix(calibration, "calibration");
  if (!calibration.is_none()) check_dim(m, x, "calibration");
  rvq::quantize_report rep;
  std::vector<unsigned char> bytes;
  {
    py::gil_scoped_release nogil;
    bytes = m.quantize(o, x.view, rep);
  }
  if (py::isinstance<py::dict>(report)) {
    py::dict d = report;
    d["weight_mse"] = rep.weight_mse;
    d["data_mse_float"] = rep.data_mse_float;
    d["data_mse"] = rep.data_mse;
    d["code_agreement"] = rep.code_agreement;
    d["float_bytes"] = rep.float_bytes;
    d["quantized_bytes"] = rep.quantized_bytes;
  }
  return from_bytes(std::move(bytes), "quantize");
}

model_ptr compress(const model& m, const std::string& storage, bool seeded, unsigned bits, std::size_t subspaces,
                   bool shared, const std::string& element, std::size_t iterations, std::uint64_t seed,
                   const py::object& calibration, bool projections) {
  rvq::compress_options o;
  o.storage = parse_choice("storage", storage, rvq::storage_names, {rvq::storage_id::pq, rvq::storage_id::rpq});
  if (bits < 1 || bits > 8) fail(kind::value, "bits must be in 1 to 8, got " + std::to_string(bits));
  o.bits = bits;
  o.subspaces = subspaces;
  o.shared = shared;
  o.seeded = seeded;
  if (seeded && o.storage == rvq::storage_id::pq)
    fail(kind::value, "seeded indices are rpq's (storage='rpq', seeded=True); pq stores its indices");
  o.element = parse_choice("element", element, rvq::element_names, {rvq::element_id::f32, rvq::element_id::int8});
  o.iterations = iterations;
  o.seed = seed;
  const float_matrix x = as_optional_matrix(calibration, "calibration");
  if (!calibration.is_none()) check_dim(m, x, "calibration");
  std::vector<unsigned char> bytes;
  {
    py::gil_scoped_release nogil;
    bytes = m.compress(o, x.view, projections);
  }
  return from_bytes(std::move(bytes), "compress");
}

py::object compact(const model& m, const py::object& calibration, bool remap) {
  const float_matrix x = as_optional_matrix(calibration, "calibration");
  if (!calibration.is_none()) check_dim(m, x, "calibration");
  std::vector<std::vector<std::uint32_t>> table;
  std::vector<unsigned char> bytes;
  {
    py::gil_scoped_release nogil;
    bytes = m.compact(x.view, table);
  }
  model_ptr c = from_bytes(std::move(bytes), "compact");
  if (!remap) return py::cast(c);
  std::size_t kmax = 0;  // int32, L x max K: the new index of each old codeword, -1 past K_l
  for (const auto& r : table) kmax = std::max(kmax, r.size());
  py::array_t<std::int32_t> t({table.size(), kmax});
  std::int32_t* p = t.mutable_data();
  std::fill(p, p + table.size() * kmax, -1);
  for (std::size_t l = 0; l < table.size(); ++l)
    for (std::size_t k = 0; k < table[l].size(); ++k) p[l * kmax + k] = static_cast<std::int32_t>(table[l][k]);
  return py::make_tuple(c, t);
}

// ---- search over codes ----------------------------------------------------------------------

/// ids: None, or a 1-D integer array of one id per row (0 or more), as int64.
std::vector<std::int64_t> as_ids(const py::object& ids, std::size_t rows, const char* what) {
  if (ids.is_none()) return {};
  py::array a = py::array::ensure(ids);
  if (!a || (a.dtype().kind() != 'i' && a.dtype().kind() != 'u'))
    fail(kind::type, std::string(what) + ": expected integer ids");
  if (a.ndim() != 1) fail(kind::value, std::string(what) + ": expected a 1-D array of ids");
  auto v = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!v) throw py::error_already_set();
  if (rows != static_cast<std::size_t>(-1) && static_cast<std::size_t>(v.size()) != rows)
    fail(kind::value, std::string(what) + ": expected one id per row (" + std::to_string(rows) + "), got " +
                          std::to_string(v.size()));
  return std::vector<std::int64_t>(v.data(), v.data() + v.size());
}

index_ptr make_index(const model& m, const std::string& metric, const std::string& norm, bool ivf, std::size_t beam,
                     std::size_t icm, bool fast_scan) {
  rvq::index_options o;
  o.metric = parse_metric(metric);
  o.norm = norm == "auto" ? rvq::default_norm(o.metric) : parse_choice("norm", norm, rvq::norm_encoding_names);
  o.ivf = ivf;
  o.fast_scan = fast_scan;
  check_beam(m, beam);
  o.encode = {beam, icm};
  return m.make_index(o);
}

void index_add(search_index& ix, const py::handle& x, const py::object& ids, const py::object& threads) {
  const float_matrix v = as_matrix(x, "x");
  if (v.view.cols() != ix.dim())
    fail(kind::value,
         "x: vectors have " + std::to_string(v.view.cols()) + " dimensions, the index has " + std::to_string(ix.dim()));
  const std::vector<std::int64_t> id = as_ids(ids, v.view.rows(), "ids");
  const std::size_t nt = thread_count(threads);
  rvq::status s;
  {
    py::gil_scoped_release nogil;
    par::scope threads_of_call(nt);
    s = ix.add(v.view, rvq::span<const std::int64_t>(id));
  }
  if (!s) fail_data(s, "x");
}

py::tuple index_search(const search_index& ix, const py::handle& q, std::size_t k, std::size_t rerank,
                       std::size_t nprobe, const py::object& originals, const py::object& threads) {
  const float_matrix v = as_matrix(q, "queries");
  if (v.view.cols() != ix.dim())
    fail(kind::value, "queries: vectors have " + std::to_string(v.view.cols()) + " dimensions, the index has " +
                          std::to_string(ix.dim()));
  if (k < 1 || k > rvq::max_search_k) fail(kind::value, "k must be in 1 to 2^20, got " + std::to_string(k));
  rvq::search_options o;
  o.k = k;
  o.rerank = rerank;
  o.nprobe = ix.options().ivf ? nprobe : 1;
  if (ix.options().ivf && (nprobe < 1 || nprobe > ix.first_codewords()))
    fail(kind::value, "nprobe must be in 1 to " + std::to_string(ix.first_codewords()) +
                          " (the first layer's K), got " + std::to_string(nprobe));
  const float_matrix orig = as_optional_matrix(originals, "originals");
  o.originals = orig.view;
  const std::size_t n = v.view.rows(), nt = thread_count(threads);
  py::array_t<float> d({n, k});
  py::array_t<std::int64_t> l({n, k});
  rvq::status s;
  {
    py::gil_scoped_release nogil;
    par::scope threads_of_call(nt);
    s = ix.search(v.view, o, rvq::matrix_view<float>(d.mutable_data(), n, k),
                  rvq::matrix_view<std::int64_t>(l.mutable_data(), n, k));
  }
  if (!s) fail_data(s, "queries");
  return py::make_tuple(d, l);
}

index_ptr load_index(const std::string& path, bool mmap) {
  if (mmap) {  // searched in place (rvq::io::visit_index_mapped)
    index_ptr out;
    rvq::status s;
    {
      py::gil_scoped_release nogil;
      s = index_from_mapped(path, out);
    }
    if (!s) fail_file(s, path);
    return out;
  }
  std::vector<unsigned char> bytes;
  {
    py::gil_scoped_release nogil;
    const rvq::status s = rvq::io::read_file(path, bytes);
    if (!s) fail_file(s, path);
  }
  return index_from_bytes(bytes, path);
}

index_ptr import_faiss_index(const std::string& path) {
  rvq::io::faiss_rq rq;
  index_ptr out;
  {
    py::gil_scoped_release nogil;
    const rvq::status s = rvq::io::read_faiss_rq(path, rq);
    if (!s) fail_file(s, path);
  }
  const rvq::status s = index_from_faiss(rq, out);
  if (!s) fail_file(s, path);
  return out;
}

py::bytes index_bytes(const search_index& ix) {
  std::vector<unsigned char> out;
  const rvq::status s = ix.to_bytes(out);
  if (!s) fail_data(s, "to_bytes");
  return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
}

std::string repr(const model& m) {
  std::string k = std::to_string(m.codewords(0));
  for (std::size_t l = 1; l < m.layers(); ++l)
    if (m.codewords(l) != m.codewords(0)) {
      k = "[";
      for (std::size_t i = 0; i < m.layers(); ++i) k += (i ? ", " : "") + std::to_string(m.codewords(i));
      k += "]";
      break;
    }
  std::string s = "rvq.Quantizer(layers=" + std::to_string(m.layers()) + ", codewords=" + k +
                  ", dim=" + std::to_string(m.dim()) + ", element='" + rvq::to_string(m.info.element) + "', metric='" +
                  rvq::to_string(m.info.metric) + "', storage='" + rvq::to_string(m.info.storage) + "'";
  if (m.info.pipeline) s += ", stages=" + std::to_string(m.info.stages);
  return s + ", bits_per_vector=" + std::to_string(m.bits_per_vector()) + ")";
}

}  // namespace rvq_python

PYBIND11_MODULE(_core, mod) {
  using namespace rvq_python;
  mod.doc() = "rvq's C++ library, bound with pybind11 (use the `rvq` package, not this module).";

  // Failures become the exception classes of rvq._errors.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const failure& f) {
      py::module_ errors = py::module_::import("rvq._errors");
      const char* name = f.k == kind::file ? "FileError" : f.k == kind::type ? "DTypeError" : "DataError";
      if (f.k == kind::memory) {
        PyErr_SetString(PyExc_MemoryError, f.message.c_str());
        return;
      }
      py::object cls = errors.attr(name);
      py::object e = f.k == kind::file ? cls(f.message, f.path) : cls(f.message);
      PyErr_SetObject(cls.ptr(), e.ptr());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "rvq: out of memory");
    }
  });

  py::class_<rvq::train_progress>(mod, "TrainProgress", "Where a training is: passed to `progress` callables.")
      .def_readonly("layer", &rvq::train_progress::layer, "layer being trained (0-based); == layers while refining")
      .def_readonly("layers", &rvq::train_progress::layers, "layers in all")
      .def_readonly("iteration", &rvq::train_progress::iteration, "k-means iteration (or refinement round), 0-based")
      .def_readonly("iterations", &rvq::train_progress::iterations, "iterations (or rounds) planned")
      .def_readonly("mse", &rvq::train_progress::mse, "mean squared residual norm so far")
      .def_readonly("dims", &rvq::train_progress::dims, "dimensions k-means works in (progressive steps use fewer)")
      .def_property_readonly(
          "refining", [](const rvq::train_progress& p) { return p.layer == p.layers; },
          "True during the joint refinement after the layers")
      .def("__repr__", [](const rvq::train_progress& p) {
        return "rvq.TrainProgress(layer=" + std::to_string(p.layer) + ", layers=" + std::to_string(p.layers) +
               ", iteration=" + std::to_string(p.iteration) + ", iterations=" + std::to_string(p.iterations) +
               ", mse=" + std::to_string(p.mse) + ")";
      });

  py::class_<model, model_ptr>(mod, "Quantizer", "A residual vector quantizer (see the rvq package's docs).")
      .def_property_readonly("layers", &model::layers)
      .def_property_readonly("dim", &model::dim)
      .def_property_readonly("codewords",
                             [](const model& m) {
                               std::vector<std::size_t> k(m.layers());
                               for (std::size_t l = 0; l < k.size(); ++l) k[l] = m.codewords(l);
                               return k;
                             })
      .def_property_readonly("element", [](const model& m) { return std::string(rvq::to_string(m.info.element)); })
      .def_property_readonly("metric", [](const model& m) { return std::string(rvq::to_string(m.info.metric)); })
      .def_property_readonly("storage", [](const model& m) { return std::string(rvq::to_string(m.info.storage)); })
      .def_property_readonly("bits_per_vector", &model::bits_per_vector)
      .def_property_readonly("packed_bytes", &model::packed_bytes)
      .def_property_readonly("is_pipeline", [](const model& m) { return m.info.pipeline; })
      .def_property_readonly("stages", [](const model& m) { return m.info.pipeline ? m.info.stages : std::size_t{1}; })
      .def_property_readonly("codebooks", &codebooks)
      .def("encode", &encode, py::arg("x"), py::arg("beam") = 1, py::arg("icm") = 0, py::arg("packed") = false,
           py::arg("threads") = py::none())
      .def("decode", &decode, py::arg("codes"), py::arg("layers") = py::none(), py::arg("packed") = false,
           py::arg("threads") = py::none())
      .def("evaluate", &evaluate, py::arg("x"), py::arg("beam") = 1, py::arg("icm") = 0,
           py::arg("threads") = py::none())
      .def("save", &save, py::arg("path"))
      .def("to_bytes",
           [](const model& m) { return py::bytes(reinterpret_cast<const char*>(m.bytes.data()), m.bytes.size()); })
      .def("codegen", &codegen, py::arg("path"), py::arg("namespace") = "rvq_model")
      .def("quantize", &quantize, py::arg("element"), py::arg("calibration"), py::arg("method"), py::arg("granularity"),
           py::arg("pow2"), py::arg("symmetric"), py::arg("percentile"), py::arg("refit"), py::arg("rounding"),
           py::arg("calibration_rows"), py::arg("report"))
      .def("compress", &compress, py::arg("storage"), py::arg("seeded"), py::arg("bits"), py::arg("subspaces"),
           py::arg("shared"), py::arg("element"), py::arg("iterations"), py::arg("seed"), py::arg("calibration"),
           py::arg("projections"))
      .def("compact", &compact, py::arg("calibration") = py::none(), py::arg("remap") = false)
      .def("_time_encode", &time_encode, py::arg("x"), py::arg("beam") = 1, py::arg("repeats") = 3,
           py::arg("threads") = 1)
      .def("__repr__", &repr)
      .def("__eq__",
           [](const model& a, const py::object& b) {
             if (!py::isinstance<model>(b)) return false;
             return a.bytes == b.cast<const model&>().bytes;
           })
      .def(py::pickle(
          [](const model& m) { return py::bytes(reinterpret_cast<const char*>(m.bytes.data()), m.bytes.size()); },
          [](const py::bytes& b) { return load_bytes(b); }));

  py::class_<search_index, index_ptr>(mod, "Index",
                                      "A database of codes searched without decoding (see the rvq package).")
      .def("__len__", &search_index::size)
      .def_property_readonly("dim", &search_index::dim)
      .def_property_readonly("metric",
                             [](const search_index& ix) { return std::string(rvq::to_string(ix.options().metric)); })
      .def_property_readonly("norm",
                             [](const search_index& ix) { return std::string(rvq::to_string(ix.options().norm)); })
      .def_property_readonly("ivf", [](const search_index& ix) { return ix.options().ivf; })
      .def_property_readonly("fast_scan", [](const search_index& ix) { return ix.options().fast_scan; })
      .def_property_readonly("has_ids", &search_index::has_ids)
      .def_property_readonly("code_bytes", &search_index::code_size)
      .def_property_readonly("memory_bytes", &search_index::memory_bytes)
      .def_property_readonly("mapped", &search_index::mapped)
      .def("add", &index_add, py::arg("x"), py::arg("ids") = py::none(), py::arg("threads") = py::none())
      .def(
          "remove",
          [](search_index& ix, const py::object& ids) {
            const std::vector<std::int64_t> id = as_ids(ids, static_cast<std::size_t>(-1), "ids");
            return ix.remove(rvq::span<const std::int64_t>(id));
          },
          py::arg("ids"))
      .def("search", &index_search, py::arg("queries"), py::arg("k") = 10, py::arg("rerank") = 0, py::arg("nprobe") = 8,
           py::arg("originals") = py::none(), py::arg("threads") = py::none())
      .def(
          "save",
          [](const search_index& ix, const std::string& path) {
            rvq::status s;
            {
              py::gil_scoped_release nogil;
              s = ix.save(path);
            }
            if (!s) fail_file(s, path);
          },
          py::arg("path"))
      .def("to_bytes", &index_bytes)
      .def_property_readonly("model",
                             [](const search_index& ix) {
                               std::vector<unsigned char> b;
                               const rvq::status s = ix.model_bytes(b);
                               if (!s) fail_data(s, "model");
                               return from_bytes(std::move(b), "index");
                             })
      .def(py::pickle([](const search_index& ix) { return index_bytes(ix); },
                      [](const py::bytes& b) {
                        const std::string str = b;
                        return index_from_bytes(std::vector<unsigned char>(str.begin(), str.end()), "pickle");
                      }));
  mod.def("make_index", &make_index, py::arg("model"), py::arg("metric"), py::arg("norm"), py::arg("ivf"),
          py::arg("beam"), py::arg("icm"), py::arg("fast_scan") = false);
  mod.def("load_index", &load_index, py::arg("path"), py::arg("mmap") = false);
  mod.def("import_faiss_index", &import_faiss_index, py::arg("path"));
  mod.def(
      "index_from_bytes",
      [](const py::bytes& b) {
        const std::string str = b;
        return index_from_bytes(std::vector<unsigned char>(str.begin(), str.end()), "bytes");
      },
      py::arg("data"));
  mod.def("cpu", [] {
    const rvq::cpu_features f = rvq::detect_cpu();
    py::dict d;
    py::list features, targets;
    for (const rvq::cpu_feature_name& n : rvq::cpu_feature_names)
      if (f.*n.flag) features.append(n.name);
    for (rvq::isa t : rvq::all_isas)
      if (rvq::isa_supported(t, f)) targets.append(rvq::to_string(t));
    d["features"] = features;
    d["targets"] = targets;
    d["backend"] = rvq::simd_traits<rvq::default_simd>::name;
    d["isa"] = rvq::to_string(rvq::active_isa());
    d["best"] = rvq::to_string(rvq::best_isa());
    d["int8_kernel"] = rvq::simd::int8_panels::to_string(rvq::simd_traits<rvq::default_simd>::kernels::int8_kernel());
    d["q15_kernel"] = rvq::simd::q15_panels::to_string(rvq::simd_traits<rvq::default_simd>::kernels::q15_kernel());
    d["fast_scan_kernel"] =
        rvq::simd::fast_scan::to_string(rvq::simd_traits<rvq::default_simd>::kernels::fast_scan_kernel());
    const char* note = rvq::isa_env_note();
    d["note"] = note ? py::object(py::str(note)) : py::object(py::none());
    return d;
  });
  mod.def(
      "set_isa",
      [](const std::string& name) {
        if (const rvq::status s = rvq::set_isa(name.c_str()); !s) fail_data(s, "set_isa('" + name + "')");
      },
      py::arg("name"));
  mod.def("load", &load, py::arg("path"));
  mod.def("from_bytes", &load_bytes, py::arg("data"));
  mod.def("train", &train, py::arg("x"), py::arg("layers"), py::arg("codewords"), py::arg("beam"), py::arg("icm"),
          py::arg("holdout"), py::arg("beam_entries"), py::arg("iterations"), py::arg("refine"), py::arg("seed"),
          py::arg("metric"), py::arg("sample"), py::arg("init"), py::arg("progressive"),
          py::arg("progressive_iterations"), py::arg("progress"), py::arg("threads"));
  mod.def("from_codebooks", &from_codebooks, py::arg("codebooks"), py::arg("metric"));
  mod.def("import_faiss", &import_faiss, py::arg("path"), py::arg("metric"));
  mod.def("import_safetensors", &import_safetensors, py::arg("path"), py::arg("pattern"), py::arg("metric"));
  mod.def(
      "as_matrix", [](const py::handle& x) { return as_matrix(x, "x").array; }, py::arg("x"),
      "The float32 array the library reads for `x`: `x` itself when it is C-contiguous float32.");
  mod.def("hardware_threads", &rvq::thread_pool::hardware_threads);
  mod.attr("max_layers") = rvq::max_layers;
  mod.attr("max_codewords") = rvq::max_codewords;
}
