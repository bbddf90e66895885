/// @file codegen.hpp
/// @brief Firmware header export: a model as `constexpr` arrays plus the matching compile-time
/// quantizer type, so that `#include "model.hpp"` is all a firmware needs.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>
#include "../quantizer.hpp"
#include "file.hpp"

namespace rvq::io {

/// Options of write_model_header().
struct codegen_options {
  std::string name_space = "rvq_model";  ///< C++ namespace of the generated names (`a::b` allowed)
  std::string source = "";               ///< where the model came from, for the header's comment
};

namespace detail {

/// True for a word C++ (or C, whose compilers build the firmware) reserves: keywords, alternative
/// tokens, and names kept for the implementation (`__x`, `_X`).
inline bool reserved_word(const std::string& w) {
  static const char* const words[] = {"alignas",
                                      "alignof",
                                      "and",
                                      "and_eq",
                                      "asm",
                                      "auto",
                                      "bitand",
                                      "bitor",
                                      "bool",
                                      "break",
                                      "case",
                                      "catch",
                                      "char",
                                      "char8_t",
                                      "char16_t",
                                      "char32_t",
                                      "class",
                                      "compl",
                                      "concept",
                                      "const",
                                      "consteval",
                                      "constexpr",
                                      "constinit",
                                      "const_cast",
                                      "continue",
                                      "co_await",
                                      "co_return",
                                      "co_yield",
                                      "decltype",
                                      "default",
                                      "delete",
                                      "do",
                                      "double",
                                      "dynamic_cast",
                                      "else",
                                      "enum",
                                      "explicit",
                                      "export",
                                      "extern",
                                      "false",
                                      "float",
                                      "for",
                                      "friend",
                                      "goto",
                                      "if",
                                      "inline",
                                      "int",
                                      "long",
                                      "mutable",
                                      "namespace",
                                      "new",
                                      "noexcept",
                                      "not",
                                      "not_eq",
                                      "nullptr",
                                      "operator",
                                      "or",
                                      "or_eq",
                                      "private",
                                      "protected",
                                      "public",
                                      "register",
                                      "reinterpret_cast",
                                      "requires",
                                      "restrict",
                                      "return",
                                      "short",
                                      "signed",
                                      "sizeof",
                                      "static",
                                      "static_assert",
                                      "static_cast",
                                      "struct",
                                      "switch",
                                      "template",
                                      "this",
                                      "thread_local",
                                      "throw",
                                      "true",
                                      "try",
                                      "typedef",
                                      "typeid",
                                      "typename",
                                      "union",
                                      "unsigned",
                                      "using",
                                      "virtual",
                                      "void",
                                      "volatile",
                                      "wchar_t",
                                      "while",
                                      "xor",
                                      "xor_eq",
                                      "_Alignas",
                                      "_Bool",
                                      "_Complex",
                                      "_Generic",
                                      "_Noreturn",
                                      "_Static_assert",
                                      "_Thread_local"};
  for (const char* k : words)
    if (w == k) return true;
  return w.compare(0, 2, "__") == 0 || (w.size() > 1 && w[0] == '_' && w[1] >= 'A' && w[1] <= 'Z') ||
         w.find("__") != std::string::npos;
}

/// True for a C++ identifier that is not a reserved word (reserved_word()), or a `::`-separated
/// sequence of them: a name generated code may declare.
inline bool valid_namespace(const std::string& ns) {
  if (ns.empty()) return false;
  std::size_t i = 0;
  for (;;) {
    const std::size_t start = i;
    while (i < ns.size() && (ns[i] == '_' || (ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= 'A' && ns[i] <= 'Z') ||
                             (i > start && ns[i] >= '0' && ns[i] <= '9')))
      ++i;
    if (i == start || reserved_word(ns.substr(start, i - start))) return false;
    if (i == ns.size()) return true;
    if (ns.compare(i, 2, "::") != 0) return false;
    i += 2;
  }
}

/// Shortest text that reads back as exactly `v` in a C++ float literal.
inline std::string float_literal(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

template <class Config>
status write_int_header(const quantizer<Config>& q, const std::string& path, const codegen_options& opt);
template <class Config>
status write_float_header(const quantizer<Config>& q, const std::string& path, const codegen_options& opt);
template <class Config>
status write_product_header(const quantizer<Config>& q, const std::string& path, const codegen_options& opt);

}  // namespace detail

/**
 * @brief Write a C++17 header holding `q` for firmware: `layers`, `codewords`, `dim`, the
 * `codebooks` array (`constexpr`, so in flash), a `config`, the `quantizer` type with static
 * extents, a `constexpr` instance `model` and `static_assert`s of its footprint. Integer
 * models get their rvq::int_layer tables instead (integers only; values packed for int4/int2),
 * searched by the integer-only path (`model.encode_fixed()`). pq/rpq models get their
 * `sub_codebooks` (float; int8 sub-codebooks as the floats they stand for) and stored `indices`
 * (or the `seed` of seeded ones) and a quantizer with rvq::product_extents.
 * @return invalid_argument for a bad namespace, unsupported when layers differ in K (static
 *         extents need one K), io_error; the file is written atomically.
 */
template <class Config>
status write_model_header(const quantizer<Config>& q, const std::string& path, const codegen_options& opt = {}) {
  if (q.layers() == 0) return {errc::empty_input, msg::no_codebooks};
  if (!detail::valid_namespace(opt.name_space))
    return {errc::invalid_argument,
            "the namespace must be a C++ identifier that is not a reserved word (or such identifiers joined by ::)"};
  if (q.min_codewords() != q.max_codewords())
    return {errc::unsupported, "codegen needs every layer to have the same K (compile-time extents)"};
  if constexpr (quantizer<Config>::is_product) {
    return detail::write_product_header(q, path, opt);
  } else if constexpr (quantizer<Config>::is_integer) {
    return detail::write_int_header(q, path, opt);
  } else {
    return detail::write_float_header(q, path, opt);
  }
}

namespace detail {
template <class T>
void write_array(atomic_writer& w, const char* type, const std::string& name, const T* v, std::size_t n,
                 std::size_t per_line) {
  std::string line = "inline constexpr " + std::string(type) + " " + name + "[" + std::to_string(n) + "] = {\n";
  for (std::size_t i = 0; i < n; ++i) {
    line += std::to_string(v[i]);
    if (i + 1 < n) line += ",";
    if ((i + 1) % per_line == 0 || i + 1 == n) {
      line += "\n";
      w.write(line.data(), line.size());
      line.clear();
    } else {
      line += " ";
    }
  }
  line = "};\n";
  w.write(line.data(), line.size());
}

/// Integer models: the int_layer tables of the integer-only search as constexpr arrays (values
/// packed for int4/int2/binary), the config and a constexpr quantizer over them.
template <class Config>
status write_int_header(const quantizer<Config>& q, const std::string& path, const codegen_options& opt) {
  using et = element_traits<typename Config::element>;
  using mt = metric_traits<typename Config::metric>;
  const auto& model = q.store().model();
  const auto& tables = q.store().tables();
  const std::size_t L = q.layers(), K = q.max_codewords(), D = q.dim();
  const bool packed = et::bits < 8 && et::id != element_id::binary;
  const std::string metric_type = std::string("rvq::") + mt::name;
  std::string h;
  h += "// Generated by rvq codegen";
  if (!opt.source.empty()) h += " from " + opt.source;
  h += ". Do not edit.\n// " + std::to_string(L) + " layers x " + std::to_string(K) + " codewords x " +
       std::to_string(D) + " dims, element " + et::name + " (" + to_string(model.group) + " scales), metric " +
       mt::name + ", storage dense, " + std::to_string(q.bits_per_vector()) +
       " bits per vector.\n// Integer-only encode: call model.encode_fixed(x, frac_bits, codes) with fixed-point "
       "input.\n";
  h += "#pragma once\n#include <cstdint>\n#include <rvq/quantizer.hpp>\n\nnamespace " + opt.name_space + " {\n\n";
  h += "inline constexpr std::size_t layers = " + std::to_string(L) + ";\n";
  h += "inline constexpr std::size_t codewords = " + std::to_string(K) + ";\n";
  h += "inline constexpr std::size_t dim = " + std::to_string(D) + ";\n";
  h += "/// Fractional bits of the integer residual grid.\ninline constexpr int input_frac = " +
       std::to_string(tables.input_frac) + ";\n\n";
  atomic_writer w;
  RVQ_TRY(w.open(path));
  w.write(h.data(), h.size());
  std::vector<std::string> entries;
  std::size_t first = 0;
  for (std::size_t l = 0; l < L; ++l) {
    const auto& x = tables.layers[l];
    const std::string sl = std::to_string(l);
    std::size_t row_bytes = x.view.row_bytes;
    if (packed) {
      row_bytes = model.row_bytes();
      std::vector<unsigned> bytes(K * row_bytes);
      std::vector<unsigned char> row(row_bytes);
      for (std::size_t c = 0; c < K; ++c) {
        model.pack_row(first + c, row.data());
        for (std::size_t b = 0; b < row_bytes; ++b) bytes[c * row_bytes + b] = row[b];
      }
      write_array(w, "std::uint8_t", "values_" + sl, bytes.data(), bytes.size(), row_bytes);
    } else if (et::id == element_id::binary) {
      std::vector<unsigned> bytes(x.values.begin(), x.values.end());
      write_array(w, "std::uint8_t", "values_" + sl, bytes.data(), bytes.size(), row_bytes);
    } else if (sizeof(typename et::storage_type) == 2) {
      std::vector<int> v(K * D);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = model.values[first * D + i];
      write_array(w, "std::int16_t", "values_" + sl, v.data(), v.size(), D);
    } else {
      std::vector<int> v(K * D);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = model.values[first * D + i];
      write_array(w, "std::int8_t", "values_" + sl, v.data(), v.size(), D);
    }
    // Layer and tensor groups give K equal score multipliers, zero points and residual
    // multipliers: one entry each then stands for all codewords (int_layer::per_layer).
    auto uniform = [](const auto& vec) {
      return vec.empty() || std::all_of(vec.begin(), vec.end(), [&](auto v) { return v == vec.front(); });
    };
    const bool per_layer = uniform(x.smul) && (x.view.per_dim || (uniform(x.zero) && uniform(x.rmul)));
    auto arr = [&](const char* type, const char* name, const auto& vec, bool one) -> std::string {
      if (vec.empty()) return "nullptr";
      write_array(w, type, std::string(name) + "_" + sl, vec.data(), one ? 1 : vec.size(), 16);
      return std::string(name) + "_" + sl;
    };
    const bool one = per_layer && !x.view.per_dim;
    // Score constants as int32 when they all fit (4 bytes a codeword less flash).
    const bool bias_fits_32 = std::all_of(x.bias.begin(), x.bias.end(), [](std::int64_t v) {
      return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
    });
    const std::string bias = bias_fits_32 ? "nullptr" : arr("std::int64_t", "bias", x.bias, false),
                      bias32 = bias_fits_32 ? arr("std::int32_t", "bias32", x.bias, false) : "nullptr",
                      smul = arr("std::int32_t", "smul", x.smul, per_layer),
                      zero = arr("std::int32_t", "zero", x.zero, one), rmul = arr("std::int32_t", "rmul", x.rmul, one),
                      amul = arr("std::int32_t", "amul", x.amul, false);
    entries.push_back("    {values_" + sl + ", " + std::to_string(K) + ", " + std::to_string(row_bytes) + ", " + bias +
                      ", " + smul + ", " + zero + ", " + rmul + ", " + amul + ", " + std::to_string(x.view.act_shift) +
                      ", " + std::to_string(x.view.res_shift) + ", " + (x.view.per_dim ? "true" : "false") + ", " +
                      (packed ? "true" : "false") + ", " + (per_layer ? "true" : "false") + ", " + bias32 + "}");
    first += K;
    const std::string nl = "\n";
    w.write(nl.data(), nl.size());
  }
  h = "/// The layers as the integer-only search reads them.\ninline constexpr rvq::int_layer layer_table[" +
      std::to_string(L) + "] = {\n";
  for (std::size_t l = 0; l < L; ++l) h += entries[l] + (l + 1 < L ? ",\n" : "\n");
  h += "};\n\n/// The policies the model was built for.\nstruct config {\n  using element = rvq::" +
       std::string(et::name) + ";\n  using metric = " + metric_type +
       ";\n  using storage = rvq::dense;\n  using parallel = rvq::sequential;\n  using simd = rvq::scalar;\n};\n\n";
  h += "/// The compile-time quantizer of this model.\nusing quantizer = rvq::quantizer<config, rvq::extents<" +
       std::to_string(L) + ", " + std::to_string(K) + ", " + std::to_string(D) + ">>;\n\n";
  const char* mode = tables.mode == rounding::half_up        ? "half_up"
                     : tables.mode == rounding::half_to_even ? "half_to_even"
                                                             : "truncate";
  h += "/// Rounding of the model's rescales (a quantizer with other policies over the same tables needs it).\n";
  h += "inline constexpr rvq::rounding rounding_mode = rvq::rounding::" + std::string(mode) + ";\n\n";
  h += "/// The model itself: views of the tables above (flash); nothing is computed at start-up.\n";
  h += "inline constexpr quantizer model{layer_table, input_frac, rounding_mode};\n\n";
  const std::size_t value_bytes =
      packed ? model.value_bytes()
             : L * K * (et::id == element_id::binary ? (D + 7) / 8 : D * sizeof(typename et::storage_type));
  h += "static_assert(model.memory_footprint().codebook_bytes == " + std::to_string(value_bytes) +
       ", \"codebook bytes\");\n";
  h += "static_assert(model.memory_footprint().macs_per_vector == " + std::to_string(L * K * D) +
       ", \"multiply-accumulates of a greedy encode\");\n\n}  // namespace " + opt.name_space + "\n";
  w.write(h.data(), h.size());
  return w.commit();
}

/// Float models: the codebooks as a constexpr float array.
template <class Config>
status write_float_header(const quantizer<Config>& q, const std::string& path, const codegen_options& opt) {
  const std::size_t L = q.layers(), K = q.max_codewords(), D = q.dim(), n = L * K * D;
  using mt = metric_traits<typename Config::metric>;
  const char* metric_type = mt::id == metric_id::l2 ? "rvq::l2" : mt::id == metric_id::ip ? "rvq::ip" : "rvq::cosine";
  const std::string dims = std::to_string(L) + " * " + std::to_string(K) + " * " + std::to_string(D);

  std::string h;
  h += "// Generated by rvq codegen";
  if (!opt.source.empty()) h += " from " + opt.source;
  h += ". Do not edit.\n// " + std::to_string(L) + " layers x " + std::to_string(K) + " codewords x " +
       std::to_string(D) + " dims, element f32, metric " + mt::name + ", storage dense, " +
       std::to_string(q.bits_per_vector()) + " bits per vector.\n";
  h += "#pragma once\n#include <rvq/quantizer.hpp>\n\nnamespace " + opt.name_space + " {\n\n";
  h += "inline constexpr std::size_t layers = " + std::to_string(L) + ";\n";
  h += "inline constexpr std::size_t codewords = " + std::to_string(K) + ";\n";
  h += "inline constexpr std::size_t dim = " + std::to_string(D) + ";\n\n";
  h += "/// Codewords, layer after layer, row-major.\ninline constexpr float codebooks[" + dims + "] = {\n";
  atomic_writer w;
  RVQ_TRY(w.open(path));
  w.write(h.data(), h.size());
  std::string line;
  const float* cw = q.codebook_data();
  for (std::size_t i = 0; i < n; ++i) {
    line += detail::float_literal(cw[i]);
    line += i + 1 < n ? ", " : "";
    if ((i + 1) % D == 0 || i + 1 == n) {
      line += "\n";
      w.write(line.data(), line.size());
      line.clear();
    }
  }
  h = "};\n\n/// The policies the model was built for.\nstruct config {\n  using element = rvq::f32;\n  using metric "
      "= ";
  h += metric_type;
  h += ";\n  using storage = rvq::dense;\n  using parallel = rvq::sequential;\n  using simd = rvq::scalar;\n};\n\n";
  h += "/// The compile-time quantizer of this model.\nusing quantizer = rvq::quantizer<config, rvq::extents<" +
       std::to_string(L) + ", " + std::to_string(K) + ", " + std::to_string(D) + ">>;\n\n";
  h += "/// The model itself; its per-codeword constants are computed by the compiler.\n";
  h += "inline constexpr quantizer model{codebooks};\n\n";
  h += "static_assert(quantizer::static_footprint().codebook_bytes == " + std::to_string(n * 4) +
       ", \"codebook bytes\");\n";
  h += "static_assert(quantizer::static_footprint().flash_bytes == " + std::to_string(n * 4 + 2 * L * K * 4) +
       ", \"codebooks and per-codeword constants\");\n";
  h += "static_assert(quantizer::static_footprint().macs_per_vector == " + std::to_string(L * K * D) +
       ", \"multiply-accumulates of a greedy encode\");\n";
  h += "static_assert(quantizer::static_workspace(1).floats == " + std::to_string(D + 1) +
       ", \"greedy encode scratch, floats\");\n\n}  // namespace " + opt.name_space + "\n";
  w.write(h.data(), h.size());
  return w.commit();
}

/// pq/rpq models: the sub-codebooks (and stored indices) as constexpr arrays in the .rvq file's
/// layout, and a constexpr quantizer with rvq::product_extents over them.
template <class Config>
status write_product_header(const quantizer<Config>& q, const std::string& path, const codegen_options& opt) {
  using mt = metric_traits<typename Config::metric>;
  using st = storage_traits<typename Config::storage>;
  const product_codebooks& pc = q.store().model();
  const std::size_t L = q.layers(), K = q.max_codewords(), D = q.dim(), M = pc.subspaces, sd = pc.sub_dim(),
                    E = pc.entries(), nv = pc.value_count(), ni = pc.seeded ? 0 : pc.index_offset(L);
  const char* metric_type = mt::id == metric_id::l2 ? "rvq::l2" : mt::id == metric_id::ip ? "rvq::ip" : "rvq::cosine";
  // What rvq::product_store<product_extents> decides at compile time, for the static_asserts.
  const bool tables = E * D + 20 * K * M < K * D;
  const std::size_t macs = L * (tables ? E * D : K * D), lookups = tables ? L * K * M : 0;
  const std::size_t codebook_bytes = nv * 4 + ni;
  std::string h;
  h += "// Generated by rvq codegen";
  if (!opt.source.empty()) h += " from " + opt.source;
  h += ". Do not edit.\n// " + std::to_string(L) + " layers x " + std::to_string(K) + " codewords x " +
       std::to_string(D) + " dims, storage " + st::name + " (" + std::to_string(M) + " sub-spaces x 2^" +
       std::to_string(pc.bits) + " entries" + (pc.shared ? ", shared" : "") +
       (pc.seeded ? ", seeded indices" : ", stored indices") + "), metric " + mt::name + ", " +
       std::to_string(q.bits_per_vector()) + " bits per vector.\n";
  if (pc.element != element_id::f32)
    h += "// The int8 sub-codebooks are written as the floats they stand for (scale x value).\n";
  h += "#pragma once\n#include <cstdint>\n#include <rvq/quantizer.hpp>\n\nnamespace " + opt.name_space + " {\n\n";
  h += "inline constexpr std::size_t layers = " + std::to_string(L) + ";\n";
  h += "inline constexpr std::size_t codewords = " + std::to_string(K) + ";\n";
  h += "inline constexpr std::size_t dim = " + std::to_string(D) + ";\n";
  h += "inline constexpr std::size_t subspaces = " + std::to_string(M) + ";\n";
  h += "inline constexpr unsigned bits = " + std::to_string(pc.bits) + ";\n";
  if (pc.seeded)
    h += "/// Seed of the indices (rvq::seeded_index()).\ninline constexpr std::uint64_t seed = " +
         std::to_string(pc.seed) + "ull;\n";
  h += "\n/// Sub-codebooks: set (layer" + std::string(pc.shared ? "s share one" : "") + "), sub-space, entry, " +
       std::to_string(sd) + " values.\ninline constexpr float sub_codebooks[" + std::to_string(nv) + "] = {\n";
  atomic_writer w;
  RVQ_TRY(w.open(path));
  w.write(h.data(), h.size());
  std::string line;
  std::size_t i = 0;
  for (std::size_t set = 0; set < pc.sets(); ++set)
    for (std::size_t m = 0; m < M; ++m)
      for (std::size_t j = 0; j < E; ++j) {
        for (std::size_t t = 0; t < sd; ++t, ++i) {
          line += detail::float_literal(pc.value(set, m, j, t));
          line += i + 1 < nv ? ", " : "";
        }
        line += "\n";
        w.write(line.data(), line.size());
        line.clear();
      }
  line = "};\n\n";
  w.write(line.data(), line.size());
  if (!pc.seeded) {
    line = "/// Indices: layer, sub-space, codeword.\n";
    w.write(line.data(), line.size());
    write_array(w, "std::uint8_t", "indices", pc.indices.data(), ni, K < 32 ? K : 32);
    line = "\n";
    w.write(line.data(), line.size());
  }
  h = "/// The policies the model was built for.\nstruct config {\n  using element = rvq::f32;\n  using metric = ";
  h += metric_type;
  h += std::string(";\n  using storage = rvq::") + st::name +
       ";\n  using parallel = rvq::sequential;\n  using simd = rvq::scalar;\n};\n\n";
  h += "/// The compile-time shape: L, K, D, sub-spaces, bits, seeded, shared.\nusing extents = rvq::product_extents<" +
       std::to_string(L) + ", " + std::to_string(K) + ", " + std::to_string(D) + ", " + std::to_string(M) + ", " +
       std::to_string(pc.bits) + ", " + (pc.seeded ? "true" : "false") + ", " + (pc.shared ? "true" : "false") +
       ">;\n/// The compile-time quantizer of this model.\nusing quantizer = rvq::quantizer<config, extents>;\n\n";
  h += "/// The model itself; its per-codeword constants are computed by the compiler.\n";
  h += std::string("inline constexpr quantizer model{sub_codebooks, ") + (pc.seeded ? "seed" : "indices") + "};\n\n";
  h += "static_assert(quantizer::static_footprint().codebook_bytes == " + std::to_string(codebook_bytes) +
       ", \"sub-codebooks and stored indices\");\n";
  h += "static_assert(quantizer::static_footprint().flash_bytes == " + std::to_string(codebook_bytes + 2 * L * K * 4) +
       ", \"and the per-codeword constants\");\n";
  h += "static_assert(quantizer::static_footprint().macs_per_vector == " + std::to_string(macs) +
       ", \"multiply-accumulates of a greedy encode\");\n";
  h += "static_assert(quantizer::static_footprint().lookups_per_vector == " + std::to_string(lookups) +
       ", \"table lookups of a greedy encode\");\n";
  h += "static_assert(quantizer::static_footprint().scratch_bytes == " +
       std::to_string(D * 4 + (tables ? M * E * 4 : 0)) + ", \"greedy encode scratch: residual and table\");\n\n";
  h += "}  // namespace " + opt.name_space + "\n";
  w.write(h.data(), h.size());
  return w.commit();
}
}  // namespace detail

}  // namespace rvq::io
