// rvq sweep: results.csv, read back to resume a sweep and rewritten after every point.
#include "sweep.hpp"

#include <filesystem>

namespace rvq_cli::sweep {
const char* const csv_header =
    "layers,codewords,element,storage,beam,bits_per_vector,codebook_bytes,scratch_bytes,macs_per_vector,"
    "lookups_per_vector,mse,rel_mse,encode_us_per_vector,train_seconds,icm";
const char* const csv_header_without_icm =
    "layers,codewords,element,storage,beam,bits_per_vector,codebook_bytes,scratch_bytes,macs_per_vector,"
    "lookups_per_vector,mse,rel_mse,encode_us_per_vector,train_seconds";

std::string base_name(const std::string& p) {
  const std::size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool file_exists(const std::string& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

/// The whole file as text (rvq::io::read_file; a file that cannot be read is an error naming it).
std::string read_text(const std::string& p) {
  std::vector<unsigned char> bytes;
  const rvq::status s = rvq::io::read_file(p, bytes);
  if (!s) fail_file(p, s);
  return std::string(bytes.begin(), bytes.end());
}

void write_text(const std::string& path, const std::string& text) {
  rvq::io::atomic_writer w;
  rvq::status s = w.open(path);
  if (s) {
    w.write(text.data(), text.size());
    s = w.commit();
  }
  if (!s) fail_file(path, s);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t at = s.find(sep, pos);
    out.push_back(s.substr(pos, at == std::string::npos ? std::string::npos : at - pos));
    if (at == std::string::npos) return out;
    pos = at + 1;
  }
}

/// Reads the points of an earlier run; any malformed line is an error naming the file and line.
std::vector<point> read_results(const std::string& path) {
  std::vector<point> out;
  if (!file_exists(path)) return out;
  std::istringstream in(read_text(path));
  std::string line;
  std::size_t no = 0, fields = csv_fields;
  auto bad = [&](const std::string& why) -> data_error {
    return data_error{path + ":" + std::to_string(no) + ": " + why + " (delete the file to start over)"};
  };
  while (std::getline(in, line)) {
    ++no;
    if (no == 1) {
      if (line == csv_header_without_icm)  // an earlier version's file: every point without ICM
        fields = csv_fields - 1;
      else if (line != csv_header)
        throw bad("not a results file of this rvq version (unexpected header)");
      continue;
    }
    if (line.empty()) continue;
    auto f = split(line, ',');
    if (f.size() != fields) throw bad("expected " + std::to_string(fields) + " fields");
    if (fields != csv_fields) f.push_back("0");
    point p;
    try {
      std::size_t used = 0;
      auto whole = [&](const std::string& v) {  // digits only: stoull would wrap "-1" to 2^64 - 1
        if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
          throw std::invalid_argument(v);
        return static_cast<std::size_t>(std::stoull(v, &used));
      };
      auto real = [&](const std::string& v) {
        const double d = std::stod(v, &used);
        if (used != v.size() || !std::isfinite(d)) throw std::invalid_argument(v);
        return d;
      };
      p.layers = whole(f[0]);
      p.codewords = whole(f[1]);
      p.element = f[2];
      p.storage = f[3];
      p.beam = whole(f[4]);
      p.bits = whole(f[5]);
      p.codebook_bytes = whole(f[6]);
      p.scratch_bytes = whole(f[7]);
      p.macs = whole(f[8]);
      p.lookups = whole(f[9]);
      p.mse = real(f[10]);
      p.rel_mse = real(f[11]);
      p.encode_us = real(f[12]);
      p.train_seconds = real(f[13]);
      p.icm = whole(f[14]);
    } catch (const std::exception&) {
      throw bad("a field is not a number (counts are whole numbers, measures finite)");
    }
    if (p.layers == 0 || p.layers > rvq::max_layers || p.codewords < 2 || p.codewords > rvq::max_codewords ||
        p.beam == 0 || p.beam > p.codewords || p.icm > 1000 || p.bits == 0 || p.mse < 0 || p.rel_mse < 0)
      throw bad("a field is out of range (layers, codewords, beam, icm, bits, mse)");
    out.push_back(p);
  }
  return out;
}

}  // namespace rvq_cli::sweep
