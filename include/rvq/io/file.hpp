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
#include <utility>
#include <vector>
#include "../core/status.hpp"
#if __has_include(<unistd.h>)
#include <unistd.h>
#define RVQ_HAS_UNISTD 1
#endif
#if __has_include(<sys/mman.h>) && __has_include(<sys/stat.h>) && __has_include(<fcntl.h>) && \
    __has_include(<unistd.h>)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define RVQ_HAS_MMAP 1
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

/**
 * @brief A read-only view of a whole file: memory-mapped where the platform has `mmap`, else
 * read into memory. Movable, not copyable; the bytes stay at the same address until destroyed.
 */
class mapped_file {
 public:
  mapped_file() = default;                              ///< nothing open
  mapped_file(const mapped_file&) = delete;             ///< not copyable
  mapped_file& operator=(const mapped_file&) = delete;  ///< not copyable
  mapped_file(mapped_file&& o) noexcept { swap(o); }    ///< takes o's mapping; o is left empty
  /// Releases this mapping and takes o's; o is left empty.
  mapped_file& operator=(mapped_file&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }
  ~mapped_file() { release(); }  ///< unmaps

  /// Maps `path` (read-only). Errors: io_error when it cannot be opened, sized or mapped.
  status open(const std::string& path) {
    release();
#if RVQ_HAS_MMAP
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return {errc::io_error, "cannot open the file for reading"};
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return {errc::io_error, "not a regular file"};
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        size_ = 0;
        return {errc::io_error, "cannot map the file into memory"};
      }
      map_ = p;
    }
    ::close(fd);  // the mapping stays valid
    return {};
#else
    RVQ_TRY(read_file(path, copy_));
    size_ = copy_.size();
    return {};
#endif
  }

  /// The file's bytes (nullptr when empty or not open).
  const unsigned char* data() const noexcept {
    return map_ ? static_cast<const unsigned char*>(map_) : (copy_.empty() ? nullptr : copy_.data());
  }
  /// Bytes in the file.
  std::size_t size() const noexcept { return size_; }
  /// True when the bytes are a memory mapping (false: a copy in memory, or nothing open).
  bool mapped() const noexcept { return map_ != nullptr; }

 private:
  void release() noexcept {
#if RVQ_HAS_MMAP
    if (map_) ::munmap(map_, size_);
#endif
    map_ = nullptr;
    size_ = 0;
    copy_.clear();
  }
  void swap(mapped_file& o) noexcept {
    std::swap(map_, o.map_);
    std::swap(size_, o.size_);
    copy_.swap(o.copy_);
  }

  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::vector<unsigned char> copy_;
};

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
