// Shared pieces of the rvq command-line tool: option parsing, errors, loading files and models.
#pragma once
#include <rvq/rvq.hpp>

#include "command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <initializer_list>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>
#if __has_include(<unistd.h>)
#include <unistd.h>
#define RVQ_CLI_ISATTY(fd) ::isatty(fd)
#else
#define RVQ_CLI_ISATTY(fd) 0
#endif

namespace rvq_cli {

/// A closed pipe at `--output -` and a file-size limit (ulimit -f) are write errors that leave the
/// old file whole (exit 1), not a silent death by signal: main() of each tool calls this first.
inline void ignore_write_signals() {
#ifdef SIGPIPE
  std::signal(SIGPIPE, SIG_IGN);
#endif
#ifdef SIGXFSZ
  std::signal(SIGXFSZ, SIG_IGN);
#endif
}

/// Where summaries go: stdout, or stderr when stdout carries an output (`--output -`).
inline std::FILE*& summary_file() {
  static std::FILE* f = stdout;
  return f;
}

/// printf to summary_file(): what a command reports about its work, never its data.
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
inline void
say(const char* format, ...) {
  std::va_list ap;
  va_start(ap, format);
  std::vfprintf(summary_file(), format, ap);
  va_end(ap);
}

[[noreturn]] inline void fail_file(const std::string& file, const rvq::status& s) {
  throw data_error{file + ": " + rvq::describe(s)};
}

/**
 * The value of enum option --key, spelled as the library's name table spells it: its declared
 * default when absent (a required option must be given), one of `allowed` (every value of the
 * table when empty). Anything else is a usage error that lists the valid names.
 */
template <class E, std::size_t N>
E parse_choice(const args& a, const std::string& key, const rvq::named<E> (&table)[N],
               std::initializer_list<E> allowed = {}) {
  auto ok = [&](E v) { return allowed.size() == 0 || std::find(allowed.begin(), allowed.end(), v) != allowed.end(); };
  const std::string v = a.value(key);
  E out{};
  if (rvq::parse_name(table, v.c_str(), out) && ok(out)) return out;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < N; ++i)
    if (rvq::is_own_name(table, i) && ok(table[i].value)) names.push_back(table[i].name);
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i)
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  throw usage_error{a.command + ": --" + key + " must be " + list + ", got '" + v + "'"};
}

/**
 * Refuses a command line that would overwrite one of its own inputs (the same file by device and
 * inode, however it is spelled: a link, `./x`, another path) or write two outputs to one file.
 * Runs before any work, for every command: options declared as files (file_role) and the
 * positional arguments, which are always inputs. Exit 1 with both files named. An output of `-`
 * (standard output) sends the command's summaries to stderr, and only one output may be `-`.
 */
inline void refuse_overwriting_inputs(const args& a) {
  std::vector<std::pair<std::string, std::string>> ins, outs;  // (--option, path)
  for (const auto& [key, path] : a.opts) {
    const option* o = a.spec ? a.spec->find(key) : nullptr;
    if (o && o->file == file_role::writes && path == "-") {  // stdout carries data
      if (summary_file() == stderr) throw usage_error{a.command + ": only one output can be standard output (-)"};
      summary_file() = stderr;
    }
    if (!o || path == "-") continue;
    if (o->file == file_role::reads) ins.emplace_back("--" + key, path);
    if (o->file == file_role::writes) outs.emplace_back("--" + key, path);
  }
  for (const std::string& p : a.positional) ins.emplace_back("the input", p);
  for (std::size_t i = 0; i < outs.size(); ++i) {
    for (const auto& in : ins)
      if (rvq::io::same_file(outs[i].second, in.second))
        throw data_error{outs[i].second + ": " + outs[i].first + " is the same file as " + in.first + " (" + in.second +
                         "); refusing to overwrite an input"};
    for (std::size_t j = 0; j < i; ++j)
      if (outs[i].second == outs[j].second || rvq::io::same_file(outs[i].second, outs[j].second))
        throw usage_error{a.command + ": " + outs[j].first + " and " + outs[i].first + " name the same file"};
  }
}

inline rvq::metric_id parse_metric(const args& a) {
  return parse_choice(a, "metric", rvq::metric_names, {rvq::metric_id::l2, rvq::metric_id::ip, rvq::metric_id::cosine});
}

/// Calls f(M{}) with the metric policy of a runtime float metric (rvq::io::visit_float_metric).
template <class F>
int with_metric(rvq::metric_id m, F&& f) {
  int rc = 0;
  if (!rvq::io::visit_float_metric(m, [&](auto metric) { rc = f(metric); }))
    throw data_error{"the hamming metric belongs to binary models (rvq quantize --element binary)"};
  return rc;
}

inline rvq::io::ndarray<float> read_matrix(const std::string& path) {
  rvq::io::ndarray<float> x;
  const rvq::status s = rvq::io::read_float_matrix(path, x);  // .npy, .fvecs, .bvecs or .ivecs
  if (!s) fail_file(path, s);
  if (x.shape.size() != 2)
    throw data_error{path + ": expected a 2-D array (N x D), found " + std::to_string(x.shape.size()) + "-D"};
  if (x.rows() == 0 || x.cols() == 0) throw data_error{path + ": the array is empty"};
  return x;
}

inline rvq::io::model_info model_header(const std::string& path) {
  auto info = rvq::io::read_model_info(path);
  if (!info) fail_file(path, info.error());
  return std::move(*info);
}

/// Throws the reason when `path` holds a pipeline and the command takes a single model.
inline void refuse_pipeline(const std::string& path, const rvq::io::model_info& info) {
  if (info.pipeline)
    throw data_error{path + ": a pipeline (" + std::to_string(info.stages) +
                     " stages with projections, format version 4): this command takes a single model "
                     "(encode, decode, eval, info and compress take pipelines)"};
}

/// The header of a file that must hold a single model (not a pipeline).
inline rvq::io::model_info single_model_header(const std::string& path) {
  const rvq::io::model_info info = model_header(path);
  refuse_pipeline(path, info);
  return info;
}

template <class Config>
rvq::quantizer<Config> load(const std::string& path) {
  auto q = rvq::io::load_model<Config>(path);
  if (!q) fail_file(path, q.error());
  return std::move(q).value();
}

/// Exits with the file's reason when a visit (rvq::io::visit_model()) could not load it; else
/// returns the exit code f gave.
inline int visit_result(const std::string& path, const rvq::status& s, int rc) {
  if (!s) fail_file(path, s);
  return rc;
}

/// Calls f(q) with the single model at `path` (f32, f16 and bf16 models in f32 quantizers, integer
/// models in integer quantizers, pq/rpq in f32 quantizers of their storage); pipelines are refused.
template <class F>
int with_model(const std::string& path, F&& f) {
  refuse_pipeline(path, model_header(path));
  int rc = 0;
  const rvq::status s = rvq::io::visit_single_model(path, [&](auto&& q) { rc = f(q); });
  return visit_result(path, s, rc);
}

/// As with_model(), and a pipeline file (format version 4) is handed to f as the rvq::pipeline of
/// its stages' config: f must take both (encode, decode, eval).
template <class F>
int with_model_or_pipeline(const std::string& path, F&& f) {
  int rc = 0;
  const rvq::status s = rvq::io::visit_model(path, [&](auto&& q) { rc = f(q); });
  return visit_result(path, s, rc);
}

template <class Config>
rvq::pipeline<Config> load_pipeline(const std::string& path) {
  auto p = rvq::io::load_pipeline<Config>(path);
  if (!p) fail_file(path, p.error());
  return std::move(p).value();
}

/// Memory-maps the f32 model at `path` and calls f(q) with the quantizer that views it in place
/// (rvq::io::map_model); other models are refused with the reason.
template <class F>
int with_mapped(const std::string& path, F&& f) {
  const rvq::io::model_info info = model_header(path);
  if (info.pipeline) throw data_error{path + ": --mmap views single f32 models in place; this one is a pipeline"};
  if (info.product)
    throw data_error{path + ": --mmap views dense f32 models in place; this one is " +
                     std::string(rvq::to_string(info.storage)) + " (drop --mmap)"};
  if (info.element != rvq::element_id::f32)
    throw data_error{path + ": --mmap views f32 models in place; this one is " +
                     std::string(rvq::to_string(info.element)) + " (drop --mmap)"};
  return with_metric(info.metric, [&](auto m) {
    rvq::io::mapped_model<rvq::config<rvq::f32, decltype(m)>> mm;
    const rvq::status s = rvq::io::map_model(path, mm);
    if (!s) fail_file(path, s);
    return f(mm.get());
  });
}

template <class Q>
void save(const Q& q, const std::string& path) {
  const rvq::status s = rvq::io::save_model(q, path);
  if (!s) fail_file(path, s);
}

template <class Q>
void check_dim(const Q& q, const rvq::io::ndarray<float>& x, const std::string& path) {
  if (x.cols() != q.dim())
    throw data_error{path + ": vectors have " + std::to_string(x.cols()) + " dimensions, the model has " +
                     std::to_string(q.dim())};
}

/// --beam, in 1 to `min_k` (the smallest layer's K): a usage error (exit 2) outside, in every command.
inline std::size_t beam_option(const args& a, std::size_t min_k) {
  const std::size_t b = a.number("beam", 1, 1u << 20);
  if (b > min_k)
    throw usage_error{a.command + ": --beam must be at most the smallest layer's K (" + std::to_string(min_k) + ")"};
  return b;
}

/// --beam for the model `q`.
template <class Q>
std::size_t beam_option(const args& a, const Q& q) {
  return beam_option(a, q.min_codewords());
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Rows of `cols` values of `value_bytes` each that make a tile of about 16 MiB (at least 1): the
/// unit in which encode, decode, eval and index stream a file. The environment variable
/// RVQ_TILE_ROWS sets another number of rows (1 or more), to bound memory further.
inline std::size_t tile_rows(std::size_t cols, std::size_t value_bytes = sizeof(float)) {
  if (const char* env = std::getenv("RVQ_TILE_ROWS")) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= (1ull << 40)) return static_cast<std::size_t>(v);
    throw usage_error{"RVQ_TILE_ROWS must be a number of rows, 1 or more; got '" + std::string(env) + "'"};
  }
  const std::size_t row = std::max<std::size_t>(1, cols * value_bytes);
  return std::max<std::size_t>(1, (std::size_t{16} << 20) / row);
}

/**
 * A progress line on stderr for work over `total` rows: rows done, rows per second and the time
 * left, redrawn at most 4 times a second; cleared when the work ends. Off unless `on` (the
 * commands turn it on when stderr is a terminal and neither --quiet nor --json is given).
 */
class progress_meter {
 public:
  progress_meter(bool on, std::size_t total, const char* what)
      : on_(on && total > 0), total_(total), what_(what), t0_(std::chrono::steady_clock::now()) {}
  progress_meter(const progress_meter&) = delete;
  progress_meter& operator=(const progress_meter&) = delete;
  ~progress_meter() { clear(); }

  /// `done` of the total rows are finished.
  void update(std::size_t done) {
    if (!on_) return;
    const double t = seconds_since(t0_);
    if (done < total_ && t - last_ < 0.25) return;
    last_ = t;
    const double rate = t > 0 ? double(done) / t : 0.0;
    const double left = rate > 0 ? double(total_ - done) / rate : 0.0;
    std::fprintf(stderr, "\r\033[K  %s: %zu / %zu rows (%.0f%%), %.0f rows/s, %s left", what_, done, total_,
                 100.0 * double(done) / double(total_), rate, duration(left).c_str());
    std::fflush(stderr);
    shown_ = true;
  }
  /// Removes the line (before a summary or an error message).
  void clear() {
    if (shown_) std::fputs("\r\033[K", stderr), std::fflush(stderr);
    shown_ = false;
  }

 private:
  static std::string duration(double s) {
    char b[32];
    if (s < 60)
      std::snprintf(b, sizeof b, "%.0f s", s);
    else if (s < 3600)
      std::snprintf(b, sizeof b, "%.0f min %02.0f s", std::floor(s / 60), std::fmod(s, 60.0));
    else
      std::snprintf(b, sizeof b, "%.0f h %02.0f min", std::floor(s / 3600), std::floor(std::fmod(s, 3600.0) / 60));
    return b;
  }

  bool on_, shown_ = false;
  std::size_t total_;
  const char* what_;
  std::chrono::steady_clock::time_point t0_;
  double last_ = -1.0;
};

/// `status` with its row moved on by `first` (an error in a tile that starts at row `first`).
inline rvq::status at_row(const rvq::status& s, std::size_t first) {
  return s.has_where() ? rvq::status{s.code(), s.message(), s.where() + first, s.where_unit()} : s;
}

/**
 * The rows of an input file, read a tile at a time: a regular `.npy` file streams from disk
 * (rvq::io::npy_rows; memory stays that of a tile whatever the file's size); anything else (a
 * pipe, a device, `.fvecs`, `.bvecs`, `.ivecs`) is read whole as before, within the bounds of
 * rvq::io::read_file(). T: float (data, any dtype converted), std::uint16_t (uint8 or uint16
 * codes), std::uint8_t (packed codes). Errors end the command with the file and the reason.
 */
template <class T>
class row_source {
 public:
  explicit row_source(const std::string& path) : path_(path) {
    if (streamable(path)) {
      const rvq::status s = file_.open(path);
      if (!s) fail_file(path, s);
      streaming_ = true;
      ndim_ = file_.header().shape.size();
      rows_ = file_.rows();
      cols_ = file_.cols();
      if constexpr (std::is_same<T, std::uint8_t>::value) {
        if (file_.dtype() != rvq::io::npy_dtype::u8)
          fail_file(path, {rvq::errc::unsupported, "expected a uint8 array"});
      } else if constexpr (std::is_same<T, std::uint16_t>::value) {
        if (file_.dtype() != rvq::io::npy_dtype::u8 && file_.dtype() != rvq::io::npy_dtype::u16)
          fail_file(path, {rvq::errc::unsupported, "expected uint8 or uint16 codes"});
      }
    } else {
      rvq::status s;
      if constexpr (std::is_same<T, float>::value)
        s = rvq::io::read_float_matrix(path, whole_);
      else
        s = rvq::io::read_npy(path, whole_);
      if (!s) fail_file(path, s);
      ndim_ = whole_.shape.size();
      rows_ = whole_.rows();
      cols_ = whole_.cols();
    }
  }

  std::size_t dims() const noexcept { return ndim_; }  ///< dimensions of the array
  std::size_t rows() const noexcept { return rows_; }  ///< first extent
  std::size_t cols() const noexcept { return cols_; }  ///< product of the others
  bool streaming() const noexcept { return streaming_; }

  /// Refuses anything but a non-empty 2-D array, as read_matrix() does.
  const row_source& need_matrix() const {
    if (ndim_ != 2) throw data_error{path_ + ": expected a 2-D array (N x D), found " + std::to_string(ndim_) + "-D"};
    if (rows_ == 0 || cols_ == 0) throw data_error{path_ + ": the array is empty"};
    return *this;
  }

  /// Rows [first, first + n) (valid until the next call).
  rvq::matrix_view<const T> tile(std::size_t first, std::size_t n) {
    if (!streaming_) return whole_.view().row_range(first, n);
    buf_.resize(n * cols_);
    const rvq::status s = file_.read(first, n, buf_.data());
    if (!s) fail_file(path_, s);
    return rvq::matrix_view<const T>(buf_.data(), n, cols_);
  }

  /// Every row into `out` (rows() x cols()), its only copy: read a tile at a time, or moved.
  void take_all(std::vector<T>& out) {
    if (!streaming_) {
      out.swap(whole_.values);
      return;
    }
    out.resize(rows_ * cols_);
    const std::size_t tile = tile_rows(cols_, sizeof(T));
    for (std::size_t first = 0; first < rows_; first += tile) {
      const rvq::status s = file_.read(first, std::min(tile, rows_ - first), out.data() + first * cols_);
      if (!s) fail_file(path_, s);
    }
  }

  /// Copies the rows `rows` (ascending) into `out`, rows.size() x cols(), reading only those.
  void gather(const std::vector<std::size_t>& rows, std::vector<T>& out) {
    out.resize(rows.size() * cols_);
    for (std::size_t j = 0; j < rows.size();) {  // runs of consecutive rows in one read
      std::size_t run = 1;
      while (j + run < rows.size() && rows[j + run] == rows[j] + run && run < tile_rows(cols_, sizeof(T))) ++run;
      const auto v = tile(rows[j], run);
      std::copy(v.row(0), v.row(0) + run * cols_, out.begin() + static_cast<std::ptrdiff_t>(j * cols_));
      j += run;
    }
  }

 private:
  static bool streamable(const std::string& path) {
    for (const char* s : {".fvecs", ".bvecs", ".ivecs"}) {
      const std::string suffix(s);
      if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
        return false;
    }
#if RVQ_HAS_MMAP
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
#else
    return false;
#endif
  }

  std::string path_;
  bool streaming_ = false;
  rvq::io::npy_rows file_;
  rvq::io::ndarray<T> whole_;
  std::vector<T> buf_;
  std::size_t ndim_ = 0, rows_ = 0, cols_ = 0;
};

}  // namespace rvq_cli
