/// @file file.hpp
/// @brief Hosted file helpers: bounded reads, little-endian fields, writes that lose nothing.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <atomic>
#include <cerrno>
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

/// Most bytes read_file() takes from a pipe, a device or another file that is not regular
/// (`--input /dev/stdin`, a FIFO, `<(zcat x.npy.gz)`): past it the read stops with an error, so a
/// source without end (`/dev/zero`) cannot exhaust memory. Regular files are read at their size.
inline constexpr std::size_t stream_read_limit = std::size_t{1} << 30;

/**
 * @brief Read a whole file into `out`. A regular file is read at its size (memory in proportion
 * to it); a pipe or character device is read up to `limit` bytes (stream_read_limit), and a
 * folder, socket or block device is refused.
 * Errors: io_error (cannot open or read; not a file; a stream longer than `limit`).
 */
inline status read_file(const std::string& path, std::vector<unsigned char>& out,
                        std::size_t limit = stream_read_limit) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return {errc::io_error, "cannot open the file for reading"};
  out.clear();
  bool regular = true;
#if RVQ_HAS_MMAP
  struct stat st;
  if (::fstat(::fileno(f), &st) != 0) {
    std::fclose(f);
    return {errc::io_error, "cannot read the file's status"};
  }
  if (S_ISDIR(st.st_mode)) {
    std::fclose(f);
    return {errc::io_error, "a folder, not a file"};
  }
  regular = S_ISREG(st.st_mode);
  if (!regular && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    std::fclose(f);
    return {errc::io_error, "not a regular file, pipe or character device"};
  }
  if (regular) out.reserve(static_cast<std::size_t>(st.st_size));
#endif
  unsigned char buf[1 << 16];
  std::size_t n;
  bool too_long = false;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (!regular && out.size() + n > limit) {
      too_long = true;
      break;
    }
    out.insert(out.end(), buf, buf + n);
  }
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (too_long) {
    out.clear();
    out.shrink_to_fit();
    return {errc::io_error, "a pipe or device longer than the 1 GiB limit of streamed input: save it to a file first"};
  }
  if (bad) return {errc::io_error, "read error"};
  return {};
}

/// True when `a` and `b` name the same existing file (same device and inode, through links).
inline bool same_file(const std::string& a, const std::string& b) noexcept {
#if RVQ_HAS_MMAP
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
#else
  return a == b;
#endif
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

namespace detail {
/// Follows `path` through symbolic links (up to 40) to the file they name, which may not exist
/// yet: a relative link resolves against the folder of the link.
inline status resolve_links(const std::string& path, std::string& out) {
#if RVQ_HAS_MMAP
  std::string p = path;
  for (int hop = 0; hop < 40; ++hop) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      out = p;
      return {};
    }
    std::vector<char> buf(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1);
    const ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size());
    if (n < 0 || static_cast<std::size_t>(n) >= buf.size())
      return {errc::io_error, "cannot read the symbolic link at the output path"};
    const std::string link(buf.data(), static_cast<std::size_t>(n));
    const std::size_t slash = p.rfind('/');
    p = link.front() == '/' || slash == std::string::npos ? link : p.substr(0, slash + 1) + link;
  }
  return {errc::io_error, "too many levels of symbolic links at the output path"};
#else
  out = path;
  return {};
#endif
}

/// The folder of `path` ("." for a bare name), for temporary files beside it.
inline std::string folder_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// A short temporary name in `folder`, whatever the length of the target's name.
inline std::string temp_name(const std::string& folder) {
  static std::atomic<unsigned> counter{0};
#ifdef RVQ_HAS_UNISTD
  const unsigned long pid = static_cast<unsigned long>(::getpid());
#else
  const unsigned long pid = 0;
#endif
  char name[48];
  std::snprintf(name, sizeof name, ".rvq-%lx-%x.tmp", pid, counter++);
  return (folder == "/" ? "" : folder) + "/" + name;
}
}  // namespace detail

/**
 * @brief Writes a file so that nothing is lost: the old file stays whole until the new one is.
 *
 * - A regular file (or a new path) is written to a temporary file in the target's folder, which
 *   replaces the target only on commit(); readers never see a half-written file. On Linux the
 *   temporary file has no name until commit() (`O_TMPFILE`), so even a `kill -9` leaves nothing
 *   behind; elsewhere it has a short name (`.rvq-<pid>-<n>.tmp`) removed on any failure.
 * - A symbolic link is followed: its target is replaced, in the target's folder, and the link stays.
 * - A replaced file keeps its permission bits; a read-only file is refused.
 * - A pipe, a character device (`/dev/null`, a terminal) or `-` (standard output) is written
 *   through, streaming, with no temporary file; a write error there is still an error.
 * - A folder, socket or block device at the path is refused.
 */
class atomic_writer {
 public:
  atomic_writer() = default;
  atomic_writer(const atomic_writer&) = delete;
  atomic_writer& operator=(const atomic_writer&) = delete;
  ~atomic_writer() { abort(); }

  /// Starts writing `path` ("-": standard output). Errors: io_error (the reason).
  status open(const std::string& path) {
    abort();
    failed_ = stream_ = unnamed_ = false;
    if (path.empty()) return {errc::io_error, "no output path given"};
#if RVQ_HAS_MMAP
    int fd = -1;
    if (path == "-") {
      fd = ::dup(1);
      if (fd < 0) return {errc::io_error, "cannot write to standard output"};
      return start_stream(fd);
    }
    RVQ_TRY(detail::resolve_links(path, target_));
    struct stat st;
    const bool exists = ::stat(target_.c_str(), &st) == 0;
    if (exists) {
      if (S_ISDIR(st.st_mode)) return {errc::io_error, "the output path is a folder"};
      if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        fd = ::open(target_.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return {errc::io_error, "cannot open the pipe or device for writing"};
        return start_stream(fd);
      }
      if (!S_ISREG(st.st_mode)) return {errc::io_error, "the output path is not a regular file, pipe or device"};
      if (::access(target_.c_str(), W_OK) != 0) return {errc::io_error, "the output file is not writable"};
    }
    const std::string folder = detail::folder_of(target_);
#ifdef O_TMPFILE
    if (::access("/proc/self/fd", X_OK) == 0) {
      fd = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
      unnamed_ = fd >= 0;
    }
#endif
    for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
      temp_ = detail::temp_name(folder);
      fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
      temp_.clear();
      return {errc::io_error, "cannot create a file in the output folder"};
    }
    if (exists && ::fchmod(fd, st.st_mode & 07777) != 0) {
      ::close(fd);
      abort();
      return {errc::io_error, "cannot give the new file the mode of the old one"};
    }
    file_ = ::fdopen(fd, "wb");
    if (!file_) {
      ::close(fd);
      abort();
      return {errc::io_error, "cannot create a file in the output folder"};
    }
    return {};
#else
    target_ = path;
    temp_ = detail::temp_name(detail::folder_of(path));
    file_ = std::fopen(temp_.c_str(), "wb");
    if (!file_) {
      temp_.clear();
      return {errc::io_error, "cannot create a file in the output folder"};
    }
    return {};
#endif
  }

  /// Appends bytes; an error sticks until commit() reports it.
  void write(const void* data, std::size_t n) {
    if (!file_ || failed_ || n == 0) return;
    if (std::fwrite(data, 1, n, file_) != n) failed_ = true;
  }

  /// True when writing through to a pipe, device or standard output (no temporary file).
  bool streaming() const noexcept { return stream_; }

  /// Flushes, syncs and moves the new file into place (a stream: flushes and closes).
  status commit() {
    if (!file_) return {errc::io_error, "no file is open for writing"};
    bool ok = !failed_ && std::fflush(file_) == 0;
    if (stream_) {
      ok = (std::fclose(file_) == 0) && ok;
      file_ = nullptr;
      if (!ok) return {errc::io_error, "write error on the pipe or device"};
      return {};
    }
#ifdef RVQ_HAS_UNISTD
    ok = ok && ::fsync(::fileno(file_)) == 0;
#endif
    if (!ok) {
      abort();
      return {errc::io_error, "write error (disk full?)"};
    }
#if RVQ_HAS_MMAP && defined(O_TMPFILE)
    if (unnamed_) {  // give the finished file a name for the rename
      const std::string fd_path = "/proc/self/fd/" + std::to_string(::fileno(file_));
      const std::string folder = detail::folder_of(target_);
      bool linked = false;
      for (int attempt = 0; !linked && attempt < 16; ++attempt) {
        temp_ = detail::temp_name(folder);
        linked = ::linkat(AT_FDCWD, fd_path.c_str(), AT_FDCWD, temp_.c_str(), AT_SYMLINK_FOLLOW) == 0;
        if (!linked && errno != EEXIST) break;
      }
      if (!linked) {
        temp_.clear();
        abort();
        return {errc::io_error, "cannot name the new file in the output folder"};
      }
    }
#endif
    ok = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok) {
      abort();
      return {errc::io_error, "write error (disk full?)"};
    }
    if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
      abort();
      return {errc::io_error, "cannot replace the output file"};
    }
    temp_.clear();
#if RVQ_HAS_MMAP
    sync_folder();
#endif
    return {};
  }

  /// Drops the new file, leaving the target as it was.
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
#if RVQ_HAS_MMAP
  status start_stream(int fd) {
    file_ = ::fdopen(fd, "wb");
    if (!file_) {
      ::close(fd);
      return {errc::io_error, "cannot write to the pipe or device"};
    }
    stream_ = true;
    return {};
  }
  /// Makes the rename durable (best effort: some file systems refuse fsync on folders).
  void sync_folder() const noexcept {
    const int dfd = ::open(detail::folder_of(target_).c_str(), O_RDONLY | O_CLOEXEC);
    if (dfd < 0) return;
    (void)::fsync(dfd);
    ::close(dfd);
  }
#endif

  std::FILE* file_ = nullptr;
  std::string target_, temp_;
  bool failed_ = false, stream_ = false, unnamed_ = false;
};

}  // namespace rvq::io
