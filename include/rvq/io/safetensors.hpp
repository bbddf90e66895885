/// @file safetensors.hpp
/// @brief The safetensors format (read): tensors of PyTorch checkpoints, and codebooks picked from
/// them by name pattern (vector-quantize-pytorch's ResidualVQ, EnCodec, DAC).
///
/// A file is an 8-byte little-endian header length `n`, `n` bytes of JSON (an object mapping each
/// tensor name to `{"dtype": ..., "shape": [...], "data_offsets": [begin, end]}`, plus an optional
/// `"__metadata__"` object of strings), then the data buffer; offsets are relative to its start
/// and data is little-endian, row-major. The parser accepts headers up to 100 MB, nesting up to 8
/// levels, checks every tensor's byte range against the buffer and its shape, and refuses
/// anything else with the byte offset.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>
#include "../core/status.hpp"
#include "../detail/meta.hpp"
#include "../pipeline.hpp"
#include "../storage/projection.hpp"
#include "file.hpp"
#include "npy.hpp"

namespace rvq::io {

/// One tensor of a safetensors file.
struct safetensor {
  std::string name;                ///< its key in the header
  std::string dtype;               ///< "F32", "F16", "BF16", "I64", ... as written
  std::vector<std::size_t> shape;  ///< dimensions (empty: a scalar)
  std::size_t begin = 0;           ///< first byte, relative to the data buffer
  std::size_t end = 0;             ///< one past the last byte
};

/// A parsed safetensors file: its bytes and the tensor index.
struct safetensors_file {
  std::vector<unsigned char> bytes;  ///< the whole file
  std::size_t data_start = 0;        ///< offset of the data buffer in `bytes`
  std::vector<safetensor> tensors;   ///< in header order
  /// The tensor called `name`, or nullptr.
  const safetensor* find(const std::string& name) const noexcept {
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
};

namespace detail {

/// Bytes per element of a safetensors dtype (0: unknown).
inline std::size_t safetensors_itemsize(const std::string& dtype) noexcept {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

/// A small JSON reader for the header: objects, arrays, strings, numbers, literals.
class json_reader {
 public:
  json_reader(const unsigned char* p, std::size_t n, std::size_t base) noexcept : p_(p), n_(n), base_(base) {}
  std::size_t offset() const noexcept { return base_ + i_; }
  status fail(const char* what) const { return {errc::corrupt_file, what, offset(), "byte"}; }
  void ws() noexcept {
    while (i_ < n_ && (p_[i_] == ' ' || p_[i_] == '\t' || p_[i_] == '\n' || p_[i_] == '\r')) ++i_;
  }
  bool peek(char c) noexcept {
    ws();
    return i_ < n_ && p_[i_] == static_cast<unsigned char>(c);
  }
  bool eat(char c) noexcept {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  bool at_end() noexcept {
    ws();
    return i_ == n_;
  }
  /// A JSON string (escapes decoded; \u escapes kept as '?' outside ASCII).
  status string(std::string& out) {
    out.clear();
    if (!eat('"')) return fail("expected a string in the safetensors header");
    while (i_ < n_) {
      const unsigned char c = p_[i_++];
      if (c == '"') return {};
      if (c < 0x20) return fail("control character in a header string");
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        continue;
      }
      if (i_ >= n_) break;
      const unsigned char e = p_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(static_cast<char>(e));
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          unsigned v = 0;
          for (int k = 0; k < 4; ++k) {
            if (i_ >= n_) return fail("truncated \\u escape");
            const unsigned char h = p_[i_++];
            const int d = h >= '0' && h <= '9'   ? h - '0'
                          : h >= 'a' && h <= 'f' ? h - 'a' + 10
                          : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                 : -1;
            if (d < 0) return fail("bad \\u escape");
            v = v * 16 + static_cast<unsigned>(d);
          }
          out.push_back(v < 0x80 ? static_cast<char>(v) : '?');
          break;
        }
        default:
          return fail("bad escape in a header string");
      }
    }
    return fail("unterminated string in the safetensors header");
  }
  /// A non-negative integer that fits size_t.
  status integer(std::size_t& v) {
    ws();
    const std::size_t start = i_;
    v = 0;
    while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') {
      const std::size_t d = p_[i_] - '0';
      if (v > (static_cast<std::size_t>(-1) - d) / 10) return fail("integer too large in the safetensors header");
      v = v * 10 + d;
      ++i_;
    }
    if (i_ == start) return fail("expected a non-negative integer");
    if (i_ < n_ && (p_[i_] == '.' || p_[i_] == 'e' || p_[i_] == 'E')) return fail("expected an integer");
    return {};
  }
  /// [int, int, ...]
  status integers(std::vector<std::size_t>& out) {
    out.clear();
    if (!eat('[')) return fail("expected an array of integers");
    if (eat(']')) return {};
    for (;;) {
      std::size_t v = 0;
      RVQ_TRY(integer(v));
      if (out.size() >= 64) return fail("array too long (more than 64 integers)");
      out.push_back(v);
      if (eat(']')) return {};
      if (!eat(',')) return fail("expected ',' or ']'");
    }
  }
  /// Skips any JSON value (depth-limited).
  status skip(int depth) {
    if (depth > 8) return fail("header nested too deeply");
    ws();
    if (i_ >= n_) return fail("truncated safetensors header");
    const unsigned char c = p_[i_];
    if (c == '"') {
      std::string s;
      return string(s);
    }
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      if (eat(close)) return {};
      for (;;) {
        if (c == '{') {
          std::string k;
          RVQ_TRY(string(k));
          if (!eat(':')) return fail("expected ':'");
        }
        RVQ_TRY(skip(depth + 1));
        if (eat(close)) return {};
        if (!eat(',')) return fail("expected ',' or the end of a container");
      }
    }
    const std::size_t start = i_;
    while (i_ < n_ && (std::isalnum(p_[i_]) || p_[i_] == '-' || p_[i_] == '+' || p_[i_] == '.')) ++i_;
    if (i_ == start) return fail("unexpected character in the safetensors header");
    return {};
  }

 private:
  const unsigned char* p_;
  std::size_t n_, base_, i_ = 0;
};

inline status parse_tensor_entry(json_reader& j, safetensor& t) {
  if (!j.eat('{')) return j.fail("a tensor entry must be an object");
  bool has_dtype = false, has_shape = false, has_offsets = false;
  if (!j.eat('}'))
    for (;;) {
      std::string key;
      RVQ_TRY(j.string(key));
      if (!j.eat(':')) return j.fail("expected ':'");
      if (key == "dtype") {
        RVQ_TRY(j.string(t.dtype));
        has_dtype = true;
      } else if (key == "shape") {
        RVQ_TRY(j.integers(t.shape));
        has_shape = true;
      } else if (key == "data_offsets") {
        std::vector<std::size_t> o;
        RVQ_TRY(j.integers(o));
        if (o.size() != 2 || o[0] > o[1]) return j.fail("data_offsets must be [begin, end] with begin <= end");
        t.begin = o[0];
        t.end = o[1];
        has_offsets = true;
      } else {
        RVQ_TRY(j.skip(2));
      }
      if (j.eat('}')) break;
      if (!j.eat(',')) return j.fail("expected ',' or '}'");
    }
  if (!has_dtype || !has_shape || !has_offsets) return j.fail("a tensor entry needs dtype, shape and data_offsets");
  return {};
}

}  // namespace detail

/**
 * @brief Parse a safetensors file held in memory (takes the bytes).
 * @return corrupt_file with the byte offset (header length beyond the file or 100 MB, malformed
 *         JSON, a tensor whose byte range leaves the buffer or disagrees with its shape and dtype,
 *         an unknown dtype), empty_input for a file without tensors.
 */
inline status parse_safetensors(std::vector<unsigned char> bytes, safetensors_file& out) {
  if (bytes.size() < 8) return {errc::corrupt_file, "file too short for a safetensors header length", 0, "byte"};
  const std::uint64_t n = detail::get_u64le(bytes.data());
  if (n > 100'000'000u || n > bytes.size() - 8)
    return {errc::corrupt_file, "header length beyond the file (or above 100 MB)", 0, "byte"};
  safetensors_file f;
  f.data_start = 8 + static_cast<std::size_t>(n);
  const std::size_t data_size = bytes.size() - f.data_start;
  detail::json_reader j(bytes.data() + 8, static_cast<std::size_t>(n), 8);
  if (!j.eat('{')) return j.fail("the safetensors header must be a JSON object");
  if (!j.eat('}'))
    for (;;) {
      std::string name;
      RVQ_TRY(j.string(name));
      if (!j.eat(':')) return j.fail("expected ':'");
      if (name == "__metadata__") {
        RVQ_TRY(j.skip(1));
      } else {
        const std::size_t at = j.offset();
        safetensor t;
        t.name = name;
        RVQ_TRY(detail::parse_tensor_entry(j, t));
        const std::size_t item = detail::safetensors_itemsize(t.dtype);
        if (item == 0) return {errc::corrupt_file, "unknown tensor dtype", at, "byte"};
        std::size_t count = 1;
        for (std::size_t s : t.shape)
          if (!rvq::detail::checked_mul(count, s, count))
            return {errc::corrupt_file, "tensor shape overflows", at, "byte"};
        std::size_t nbytes = 0;
        if (!rvq::detail::checked_mul(count, item, nbytes) || t.end - t.begin != nbytes)
          return {errc::corrupt_file, "tensor byte range disagrees with its shape and dtype", at, "byte"};
        if (t.end > data_size) return {errc::corrupt_file, "tensor data lies beyond the end of the file", at, "byte"};
        if (f.tensors.size() >= 1'000'000) return {errc::corrupt_file, "too many tensors", at, "byte"};
        f.tensors.push_back(std::move(t));
      }
      if (j.eat('}')) break;
      if (!j.eat(',')) return j.fail("expected ',' or '}'");
    }
  if (!j.at_end()) return j.fail("unexpected bytes after the safetensors header object");
  if (f.tensors.empty()) return {errc::empty_input, "the file holds no tensor"};
  f.bytes = std::move(bytes);
  out = std::move(f);
  return {};
}

/// Read a safetensors file (see parse_safetensors()).
inline status read_safetensors(const std::string& path, safetensors_file& out) {
  std::vector<unsigned char> bytes;
  RVQ_TRY(read_file(path, bytes));
  return parse_safetensors(std::move(bytes), out);
}

/**
 * @brief A tensor's values as float (F32, F16 and BF16 are converted exactly).
 * @return unsupported for other dtypes, non_finite (where = element) for NaN or Inf.
 */
inline status tensor_floats(const safetensors_file& f, const safetensor& t, std::vector<float>& out) {
  const unsigned char* p = f.bytes.data() + f.data_start + t.begin;
  const std::size_t item = detail::safetensors_itemsize(t.dtype), n = item ? (t.end - t.begin) / item : 0;
  out.resize(n);
  if (t.dtype == "F32") {
    for (std::size_t i = 0; i < n; ++i) out[i] = detail::get_f32le(p + 4 * i);
  } else if (t.dtype == "F16") {
    for (std::size_t i = 0; i < n; ++i)
      out[i] = half_to_float(static_cast<std::uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
  } else if (t.dtype == "BF16") {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t bits = static_cast<std::uint32_t>(p[2 * i] | (p[2 * i + 1] << 8)) << 16;
      float v;
      std::memcpy(&v, &bits, sizeof v);
      out[i] = v;
    }
  } else {
    return {errc::unsupported, "tensor dtype is not F32, F16 or BF16"};
  }
  const std::size_t bad = rvq::detail::first_non_finite(out.data(), out.size());
  if (bad != out.size()) return {errc::non_finite, "tensor contains NaN or Inf", bad, "element"};
  return {};
}

/// Residual codebooks found in a safetensors file.
struct safetensors_codebooks {
  std::string pattern;                 ///< the name pattern that matched
  std::vector<std::string> names;      ///< the tensors, layer 0 first
  std::vector<std::size_t> codewords;  ///< K of each layer
  std::size_t dim = 0;                 ///< D
  std::vector<float> values;           ///< sum(K) x D, layer after layer
  /// DAC: each layer's projection of the residual into its codebook space (`in_proj`), empty
  /// when the codebooks have no projections.
  std::vector<linear_map> in_proj;
  std::vector<linear_map> out_proj;  ///< DAC: each layer's projection back (`out_proj`)
  std::size_t latent_dim = 0;        ///< with projections: the dimension of the residual
  /// True when every layer has an input and an output projection.
  bool projected() const noexcept { return !in_proj.empty(); }
};

/// Default codebook name patterns, tried in order: vector-quantize-pytorch's ResidualVQ and
/// EnCodec (`...layers.N._codebook.embed`), then DAC (`quantizer.quantizers.N.codebook.weight`).
inline const std::vector<std::string>& default_codebook_patterns() {
  static const std::vector<std::string> p = {"*layers.{}._codebook.embed", "*quantizers.{}.codebook.weight"};
  return p;
}

namespace detail {
/// The digits a `{}` at `ni` takes (greedy, at most 6, no backtracking): the end of the number.
inline std::size_t layer_digits(const std::string& name, std::size_t ni) noexcept {
  std::size_t k = ni;
  while (k < name.size() && name[k] >= '0' && name[k] <= '9' && k - ni < 6) ++k;
  return k;
}

/// Names longer than this never match a pattern (no checkpoint names a tensor so): the match table
/// stays below a few MiB.
inline constexpr std::size_t max_matched_name = std::size_t{1} << 16;

/**
 * @brief Matches `name` against a pattern of literal text, `*` (any text) and `{}` (a layer
 * number, up to 6 digits), in O(pattern x name) time and memory: a table of which pattern suffix
 * matches which name suffix, then one walk through it that takes each `*` as short as possible.
 * `layer` is the number at the first `{}` of that match, and `got` says whether there was one.
 */
inline bool match_pattern(const std::string& pat, const std::string& name, std::size_t& layer, bool& got) {
  const std::size_t m = pat.size(), n = name.size();
  if (n > max_matched_name) return false;
  std::vector<unsigned char> ok((m + 1) * (n + 1), 0);
  auto at = [&](std::size_t pi, std::size_t ni) -> unsigned char& { return ok[pi * (n + 1) + ni]; };
  at(m, n) = 1;
  for (std::size_t pi = m; pi-- > 0;) {
    const bool layer_here = pat.compare(pi, 2, "{}") == 0;
    if (pat[pi] == '}' && pi > 0 && pat[pi - 1] == '{') continue;  // the second half of a {}
    for (std::size_t ni = n + 1; ni-- > 0;) {
      if (pat[pi] == '*') {
        at(pi, ni) = at(pi + 1, ni) || (ni < n && at(pi, ni + 1));
      } else if (layer_here) {
        const std::size_t k = layer_digits(name, ni);
        at(pi, ni) = k > ni && at(pi + 2, k);
      } else {
        at(pi, ni) = ni < n && name[ni] == pat[pi] && at(pi + 1, ni + 1);
      }
    }
  }
  if (!at(0, 0)) return false;
  std::size_t pi = 0, ni = 0;
  while (pi < m) {
    if (pat[pi] == '*') {
      if (at(pi + 1, ni))
        ++pi;
      else
        ++ni;
    } else if (pat.compare(pi, 2, "{}") == 0) {
      const std::size_t k = layer_digits(name, ni);
      if (!got) {
        std::size_t v = 0;
        for (std::size_t i = ni; i < k; ++i) v = v * 10 + std::size_t(name[i] - '0');
        layer = v;
        got = true;
      }
      pi += 2;
      ni = k;
    } else {
      ++pi;
      ++ni;
    }
  }
  return true;
}
}  // namespace detail

namespace detail {
/// The tensor `base + suffix`, or nullptr.
inline const safetensor* find_suffix(const safetensors_file& f, const std::string& base, const char* suffix) {
  return f.find(base + suffix);
}

/// A `out x in [x 1]` weight as out x in floats.
inline status weight_matrix(const safetensors_file& f, const safetensor& t, std::size_t& out, std::size_t& in,
                            std::vector<float>& w) {
  std::vector<std::size_t> s = t.shape;
  while (s.size() > 2 && s.back() == 1) s.pop_back();
  if (s.size() != 2 || s[0] == 0 || s[1] == 0)
    return {errc::dimension_mismatch, "a projection weight is not out x in (or out x in x 1)"};
  out = s[0];
  in = s[1];
  return tensor_floats(f, t, w);
}

/**
 * @brief The linear map of the projection module `base` (`...in_proj`): a plain `weight`, or a
 * weight-normalized one (`weight_g`, `weight_v`, or the parametrizations' `original0` and
 * `original1`): W = g v / ||v|| with the norm of each output's row; plus `bias` when present.
 * @return invalid_argument when `base` has no weight (naming it), dimension_mismatch for shapes.
 */
inline status projection_at(const safetensors_file& f, const std::string& base, linear_map& m) {
  const safetensor* plain = find_suffix(f, base, ".weight");
  const safetensor* g = find_suffix(f, base, ".weight_g");
  const safetensor* v = find_suffix(f, base, ".weight_v");
  if (!g && !v) {
    g = find_suffix(f, base, ".parametrizations.weight.original0");
    v = find_suffix(f, base, ".parametrizations.weight.original1");
  }
  std::size_t out = 0, in = 0;
  std::vector<float> w;
  if (v) {
    if (!g) return {errc::invalid_argument, "a weight-normalized projection lacks its weight_g (original0) tensor"};
    RVQ_TRY(weight_matrix(f, *v, out, in, w));
    std::vector<float> gv;
    RVQ_TRY(tensor_floats(f, *g, gv));
    if (gv.size() != out) return {errc::dimension_mismatch, "weight_g does not hold one value per output"};
    for (std::size_t o = 0; o < out; ++o) {
      double n2 = 0;
      for (std::size_t t = 0; t < in; ++t) n2 += double(w[o * in + t]) * w[o * in + t];
      if (n2 == 0) return {errc::invalid_argument, "a weight_v row is zero (weight norm undefined)", o, "row"};
      const double k = gv[o] / std::sqrt(n2);
      for (std::size_t t = 0; t < in; ++t) w[o * in + t] = static_cast<float>(k * w[o * in + t]);
    }
  } else if (plain) {
    RVQ_TRY(weight_matrix(f, *plain, out, in, w));
  } else {
    return {errc::invalid_argument, "projection has no weight tensor"};
  }
  std::vector<float> b;
  if (const safetensor* bt = find_suffix(f, base, ".bias")) {
    RVQ_TRY(tensor_floats(f, *bt, b));
    if (b.size() != out) return {errc::dimension_mismatch, "projection bias does not hold one value per output"};
  }
  auto r = linear_map::dense(span<const float>(w), out, in, span<const float>(b));
  if (!r) return r.error();
  m = std::move(r).value();
  return {};
}
}  // namespace detail

/**
 * @brief Collect the codebooks of a residual quantizer: tensors whose names match `pattern`
 * (literal text, `*` for any text, `{}` for the layer number; empty: the default patterns in
 * order), layers 0 .. L-1 each `K x D` (leading dimensions of 1 are dropped, as in
 * vector-quantize-pytorch's `(1, K, D)`), all of the same D.
 * @return invalid_argument when nothing matches or layers are missing (naming the pattern),
 *         dimension_mismatch for shapes, and tensor_floats() errors. For DAC-style codebooks
 *         (`<base>.codebook.weight` beside `<base>.in_proj` and `<base>.out_proj`) each layer's
 *         projections are read too (see safetensors_codebooks::projected()).
 */
inline status find_codebooks(const safetensors_file& f, const std::string& pattern, safetensors_codebooks& out) {
  const std::vector<std::string> pats =
      pattern.empty() ? default_codebook_patterns() : std::vector<std::string>{pattern};
  for (const std::string& pat : pats) {
    std::vector<std::pair<std::size_t, const safetensor*>> found;
    for (const auto& t : f.tensors) {
      std::size_t layer = 0;
      bool got = false;
      if (detail::match_pattern(pat, t.name, layer, got) && got) found.emplace_back(layer, &t);
    }
    if (found.empty()) continue;
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return a.first < b.first || (a.first == b.first && a.second->name < b.second->name);
    });
    for (std::size_t l = 0; l < found.size(); ++l)
      if (found[l].first != l)
        return {errc::invalid_argument,
                "codebook layers are not numbered 0, 1, 2, ... (a layer is missing or repeated)", l, "layer"};
    safetensors_codebooks cb;
    cb.pattern = pat;
    for (std::size_t l = 0; l < found.size(); ++l) {
      const safetensor& t = *found[l].second;
      std::vector<std::size_t> s = t.shape;
      while (s.size() > 2 && s.front() == 1) s.erase(s.begin());
      if (s.size() != 2 || s[0] == 0 || s[1] == 0)
        return {errc::dimension_mismatch, "a codebook tensor is not K x D (or 1 x K x D)", l, "layer"};
      if (l == 0) cb.dim = s[1];
      if (s[1] != cb.dim) return {errc::dimension_mismatch, "codebook dimensions differ between layers", l, "layer"};
      std::vector<float> v;
      RVQ_TRY(tensor_floats(f, t, v));
      cb.names.push_back(t.name);
      cb.codewords.push_back(s[0]);
      cb.values.insert(cb.values.end(), v.begin(), v.end());
    }
    // DAC projects the residual into each codebook's space and back (in_proj / out_proj).
    const std::string tail = ".codebook.weight";
    for (std::size_t l = 0; l < found.size(); ++l) {
      const std::string& name = cb.names[l];
      if (name.size() <= tail.size() || name.compare(name.size() - tail.size(), tail.size(), tail) != 0) break;
      const std::string base = name.substr(0, name.size() - tail.size());
      const bool has_in = f.find(base + ".in_proj.weight") || f.find(base + ".in_proj.weight_v") ||
                          f.find(base + ".in_proj.parametrizations.weight.original1");
      const bool has_out = f.find(base + ".out_proj.weight") || f.find(base + ".out_proj.weight_v") ||
                           f.find(base + ".out_proj.parametrizations.weight.original1");
      if (!has_in && !has_out) {
        if (l == 0) break;
        return {errc::invalid_argument, "some codebook layers have projections and others not", l, "layer"};
      }
      linear_map pin, pout;
      status s = detail::projection_at(f, base + ".in_proj", pin);
      if (!s) return {s.code(), s.message(), l, "layer"};
      s = detail::projection_at(f, base + ".out_proj", pout);
      if (!s) return {s.code(), s.message(), l, "layer"};
      if (l == 0) cb.latent_dim = pin.in;
      if (pin.in != cb.latent_dim || pin.out != cb.dim || pout.in != cb.dim || pout.out != cb.latent_dim)
        return {errc::dimension_mismatch, "projection shapes do not map the latent to the codebook dimension and back",
                l, "layer"};
      cb.in_proj.push_back(std::move(pin));
      cb.out_proj.push_back(std::move(pout));
    }
    out = std::move(cb);
    return {};
  }
  return {errc::invalid_argument, pattern.empty() ? "no codebook tensors found (tried '*layers.{}._codebook.embed' and "
                                                    "'*quantizers.{}.codebook.weight'); give --pattern"
                                                  : "no tensor matches the codebook pattern"};
}

/**
 * @brief The pipeline of found codebooks: with projections (DAC), one stage per layer with its
 * in/out projections (DAC picks by cosine: use a cosine Config to reproduce its codes); without,
 * one stage of every layer.
 * @tparam Config an f32 dense config (its metric decides the search).
 */
template <class Config = config<f32, cosine>>
result<pipeline<Config>> to_pipeline(const safetensors_codebooks& cb) {
  using q_t = quantizer<Config>;
  if (cb.codewords.empty()) return status{errc::empty_input, "no codebooks"};
  if (!cb.projected()) {
    std::vector<pipeline_stage<Config>> one(1);
    auto q = q_t::from_codebooks(span<const float>(cb.values), span<const std::size_t>(cb.codewords), cb.dim);
    if (!q) return q.error();
    one[0].q = std::move(q).value();
    return pipeline<Config>::make(cb.dim, std::move(one));
  }
  if (cb.in_proj.size() != cb.codewords.size() || cb.out_proj.size() != cb.codewords.size())
    return status{errc::invalid_argument, "every layer needs an input and an output projection"};
  std::vector<pipeline_stage<Config>> stages(cb.codewords.size());
  std::size_t first = 0;
  for (std::size_t l = 0; l < stages.size(); ++l) {
    const std::size_t k = cb.codewords[l];
    auto q = q_t::from_codebooks(span<const float>(cb.values.data() + first * cb.dim, k * cb.dim),
                                 span<const std::size_t>(&cb.codewords[l], 1), cb.dim);
    if (!q) return status{q.error().code(), q.error().message(), l, "layer"};
    stages[l].in = cb.in_proj[l];
    stages[l].q = std::move(q).value();
    stages[l].out = cb.out_proj[l];
    first += k;
  }
  return pipeline<Config>::make(cb.latent_dim, std::move(stages));
}

}  // namespace rvq::io
