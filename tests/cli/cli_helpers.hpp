// What the CLI test files share: running the rvq tool (through the emulator on cross builds) and
// writing small data files.
#pragma once
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#if __has_include(<sys/wait.h>)
#include <sys/wait.h>
#endif

namespace rvq_test {

struct run_result {
  int code;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// The command that starts the CLI (cross builds: through RVQ_CLI_LAUNCHER, e.g. "qemu-aarch64 ...").
inline std::string cli_command() {
  const std::string launcher = RVQ_CLI_LAUNCHER;
  return (launcher.empty() ? "" : launcher + " ") + "\"" + RVQ_CLI_PATH + "\"";
}

/// Runs a shell command line; its exit code (128 when it did not exit normally).
inline int shell(const std::string& cmd) {
  int status = std::system(cmd.c_str());
#ifdef WEXITSTATUS
  status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
#endif
  return status;
}

/// Runs the CLI with `args`; `env` ("NAME=value ...") is set for that run only.
inline run_result rvq_cli(const std::string& args, const std::string& env = "") {
  const std::string out = temp_path("stdout.txt"), err = temp_path("stderr.txt");
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + cli_command() + " " + args + " > \"" + out +
                          "\" 2> \"" + err + "\" < /dev/null";
  const int status = shell(cmd);
  return {status, slurp(out), slurp(err)};
}

/// Runs the CLI with `args` in the folder `dir` (relative paths resolve there).
inline run_result rvq_cli_in(const std::string& dir, const std::string& args) {
  const std::string out = temp_path("stdout.txt"), err = temp_path("stderr.txt");
  const int status = shell("cd \"" + dir + "\" && " + cli_command() + " " + args + " > \"" + out + "\" 2> \"" + err +
                           "\" < /dev/null");
  return {status, slurp(out), slurp(err)};
}

/// n x d Gaussian float32 vectors in a new .npy file in the test folder; its path.
inline std::string write_data(const std::string& name, std::size_t n, std::size_t d, unsigned seed) {
  const std::string p = temp_path(name);
  const auto x = gaussian(n, d, seed);
  const std::size_t shape[2] = {n, d};
  REQUIRE(rvq::io::write_npy(p, x.data(), rvq::span<const std::size_t>(shape)).ok());
  return p;
}

/// One float32 tensor of a safetensors file.
struct tensor {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

/// Writes a safetensors file (8-byte header length, JSON header, little-endian data) of `ts`.
inline void write_safetensors(const std::string& path, const std::vector<tensor>& ts) {
  std::string header = "{";
  std::size_t offset = 0;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    std::string shape;
    for (std::size_t j = 0; j < ts[i].shape.size(); ++j) shape += (j ? "," : "") + std::to_string(ts[i].shape[j]);
    const std::size_t bytes = 4 * ts[i].values.size();
    header += (i ? "," : "") + std::string("\"") + ts[i].name + "\":{\"dtype\":\"F32\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  std::vector<unsigned char> b(8 + header.size());
  rvq::io::detail::put_u64le(b.data(), header.size());
  std::copy(header.begin(), header.end(), b.begin() + 8);
  for (const tensor& t : ts)
    for (float v : t.values) {
      unsigned char f[4];
      rvq::io::detail::put_f32le(f, v);
      b.insert(b.end(), f, f + 4);
    }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

}  // namespace rvq_test
