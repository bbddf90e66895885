/// @file file.hpp
/// @brief Hosted file helpers: bounded reads, little-endian fields, atomic writes.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include "../core/status.hpp"
#if __has_include(<unistd.h>)
#include <unistd.h>
#define RVQ_HAS_UNISTD 1
#endif

namespace rvq::io {

/// Read a whole file; fails cleanly when it cannot be opened or read.
inline status read_file(const std::string& path, std::vector<unsigned char>& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return {errc::io_error, "cannot open the file for reading"};
  out.clear();
  unsigned char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) return {errc::io_error, "read error"};
  return {};
}

namespace detail {
inline std::uint32_t get_u32le(const unsigned char* p) noexcept {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}
inline std::uint64_t get_u64le(const unsigned char* p) noexcept {
  return std::uint64_t{get_u32le(p)} | std::uint64_t{get_u32le(p + 4)} << 32;
}
inline void put_u32le(unsigned char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline void put_u64le(unsigned char* p, std::uint64_t v) noexcept {
  put_u32le(p, static_cast<std::uint32_t>(v));
  put_u32le(p + 4, static_cast<std::uint32_t>(v >> 32));
}
inline float get_f32le(const unsigned char* p) noexcept {
  const std::uint32_t u = get_u32le(p);
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline void put_f32le(unsigned char* p, float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  put_u32le(p, u);
}
}  // namespace detail

/**
 * @brief Writes a file atomically: data goes to a temporary file in the same folder, which
 * replaces the target only on commit(). Readers never see a half-written file; on any failure
 * (or when destroyed without commit) the temporary file is removed and the target is untouched.
 */
class atomic_writer {
 public:
  atomic_writer() = default;
  atomic_writer(const atomic_writer&) = delete;
  atomic_writer& operator=(const atomic_writer&) = delete;
  ~atomic_writer() { abort(); }

  /// Starts writing `path` (through a temporary file in the same folder).
  status open(const std::string& path) {
    abort();
    target_ = path;
    static std::atomic<unsigned> counter{0};
#ifdef RVQ_HAS_UNISTD
    const unsigned long pid = static_cast<unsigned long>(::getpid());
#else
    const unsigned long pid = static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(&counter) & 0xffffu);
#endif
    temp_ = path + ".tmp-" + std::to_string(pid) + "-" + std::to_string(counter++);
    file_ = std::fopen(temp_.c_str(), "wb");
    if (!file_) {
      temp_.clear();
      return {errc::io_error, "cannot create a file in the output folder"};
    }
    failed_ = false;
    return {};
  }

  /// Appends bytes; an error sticks until commit() reports it.
  void write(const void* data, std::size_t n) {
    if (!file_ || failed_ || n == 0) return;
    if (std::fwrite(data, 1, n, file_) != n) failed_ = true;
  }

  /// Flushes, syncs and renames the temporary file over the target.
  status commit() {
    if (!file_) return {errc::io_error, "no file is open for writing"};
    bool ok = !failed_ && std::fflush(file_) == 0;
#ifdef RVQ_HAS_UNISTD
    ok = ok && ::fsync(::fileno(file_)) == 0;
#endif
    ok = (std::fclose(file_) == 0) && ok;
    file_ = nullptr;
    if (!ok) {
      std::remove(temp_.c_str());
      temp_.clear();
      return {errc::io_error, "write error (disk full?)"};
    }
    if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
      std::remove(temp_.c_str());
      temp_.clear();
      return {errc::io_error, "cannot replace the output file"};
    }
    temp_.clear();
    return {};
  }

  /// Drops the temporary file, leaving the target as it was.
  void abort() noexcept {
    if (file_) {
      std::fclose(file_);
      file_ = nullptr;
    }
    if (!temp_.empty()) {
      std::remove(temp_.c_str());
      temp_.clear();
    }
  }

 private:
  std::FILE* file_ = nullptr;
  std::string target_, temp_;
  bool failed_ = false;
};

}  // namespace rvq::io
