/// @file npy_stream.hpp
/// @brief Rows of a `.npy` file read and written a tile at a time, so that encoding, decoding and
/// evaluating a file takes the same memory whatever its size (out-of-core).
///
/// rvq::io::npy_rows reads any rows of a regular `.npy` file on demand, converted as read_npy()
/// converts them; rvq::io::npy_row_writer writes one row after another into a new `.npy` file
/// that replaces its target only when every row is in (rvq::io::atomic_writer).
///
/// Rows are read with `pread` into a buffer of the tile's size, not through a mapping of the
/// whole file: a mapping would count the whole file against an address-space limit
/// (`ulimit -v`), and would end the process with SIGBUS if the file shrank while read. A file that
/// changes under the reader gives an io_error instead.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>
#include "../core/status.hpp"
#include "../detail/meta.hpp"
#include "file.hpp"
#include "npy.hpp"

namespace rvq::io {

/// Largest `.npy` header rvq::io::npy_rows reads (numpy writes a few hundred bytes).
inline constexpr std::size_t npy_rows_header_limit = std::size_t{1} << 20;

/**
 * @brief The rows of a regular `.npy` file, read on demand: rows() x cols() elements (the first
 * extent, and the product of the others), any dtype rvq reads.
 *
 * Opening checks what read_npy() checks (magic, version, dtype, order, and that the file holds
 * exactly the bytes its shape needs) from the header alone. Movable, not copyable.
 */
class npy_rows {
 public:
  npy_rows() = default;
  npy_rows(const npy_rows&) = delete;
  npy_rows& operator=(const npy_rows&) = delete;
  npy_rows(npy_rows&& o) noexcept { swap(o); }  ///< takes o's file; o is left closed
  /// Closes this file and takes o's; o is left closed.
  npy_rows& operator=(npy_rows&& o) noexcept {
    if (this != &o) {
      close();
      swap(o);
    }
    return *this;
  }
  ~npy_rows() { close(); }

  /**
   * @brief Opens `path`, a regular `.npy` file (pipes and devices cannot be read out of order:
   * read them whole with read_npy()).
   * Errors: io_error (cannot open; a folder; not a regular file), corrupt_file, unsupported,
   * unsupported_version (as parse_npy_header()), corrupt_file for a header above 1 MiB.
   */
  status open(const std::string& path) {
    close();
#if RVQ_HAS_MMAP
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {errc::io_error, "cannot open the file for reading"};
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return {errc::io_error, "cannot read the file's size"};
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return {errc::io_error, S_ISDIR(st.st_mode) ? "a folder, not a file" : "not a regular file"};
    }
    fd_ = fd;
    size_ = static_cast<std::size_t>(st.st_size);
#else
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) return {errc::io_error, "cannot open the file for reading"};
    if (std::fseek(file_, 0, SEEK_END) != 0 || std::ftell(file_) < 0) {
      close();
      return {errc::io_error, "cannot read the file's size"};
    }
    size_ = static_cast<std::size_t>(std::ftell(file_));
#endif
    unsigned char first[12] = {};
    const std::size_t got = size_ < sizeof first ? size_ : sizeof first;
    RVQ_TRY(fail_closed(read_at(0, first, got)));
    std::size_t header = npy_header_bytes(first, got);
    if (header == 0) header = got;  // parse_npy_header() names what is wrong
    if (header > npy_rows_header_limit)
      return fail_closed({errc::corrupt_file, "the .npy header is longer than 1 MiB", 8, "byte"});
    if (header > size_) header = size_;
    std::vector<unsigned char> h(header);
    RVQ_TRY(fail_closed(read_at(0, h.data(), header)));
    RVQ_TRY(fail_closed(parse_npy_header(h.data(), header, size_, h_)));
    rows_ = h_.shape.empty() ? 1 : h_.shape[0];
    cols_ = rows_ ? h_.count / rows_ : 1;
    if (rows_ == 0) {  // an empty array: the other extents, bounded by the header's parser
      cols_ = 1;
      for (std::size_t i = 1; i < h_.shape.size(); ++i) cols_ *= h_.shape[i];
    }
    row_bytes_ = cols_ * npy_itemsize(h_.dtype);
    return {};
  }

  /// True while a file is open.
  bool is_open() const noexcept {
#if RVQ_HAS_MMAP
    return fd_ >= 0;
#else
    return file_ != nullptr;
#endif
  }
  const npy_header& header() const noexcept { return h_; }       ///< what the header says
  npy_dtype dtype() const noexcept { return h_.dtype; }          ///< element type
  std::size_t rows() const noexcept { return rows_; }            ///< first extent
  std::size_t cols() const noexcept { return cols_; }            ///< product of the other extents
  std::size_t row_bytes() const noexcept { return row_bytes_; }  ///< bytes of one row in the file

  /**
   * @brief Rows [first, first + n) as T (n x cols() values into `out`): float from any dtype, as
   * read_npy() converts; std::uint16_t from uint8 or uint16 codes; std::uint8_t from uint8 only.
   * Errors: invalid_argument (rows past the end), unsupported (dtype for T), io_error (the file
   * changed or cannot be read).
   */
  template <class T>
  status read(std::size_t first, std::size_t n, T* out) {
    static_assert(
        std::is_same<T, float>::value || std::is_same<T, std::uint16_t>::value || std::is_same<T, std::uint8_t>::value,
        "rvq::io::npy_rows::read: float, std::uint16_t or std::uint8_t");
    if (!is_open()) return {errc::io_error, "no file is open"};
    if (first > rows_ || n > rows_ - first) return {errc::invalid_argument, "rows past the end of the array"};
    if constexpr (std::is_same<T, std::uint8_t>::value) {
      if (h_.dtype != npy_dtype::u8) return {errc::unsupported, "expected a uint8 array"};
    } else if constexpr (std::is_same<T, std::uint16_t>::value) {
      if (h_.dtype != npy_dtype::u8 && h_.dtype != npy_dtype::u16)
        return {errc::unsupported, "expected uint8 or uint16 codes"};
    }
    const std::size_t bytes = n * row_bytes_;
    if (bytes == 0) return {};
    buf_.resize(bytes);
    RVQ_TRY(read_at(h_.data_offset + first * row_bytes_, buf_.data(), bytes));
    detail::convert_npy(buf_.data(), h_.dtype, n * cols_, out);
    return {};
  }

  /// Closes the file (the object can open another).
  void close() noexcept {
#if RVQ_HAS_MMAP
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
#else
    if (file_) std::fclose(file_);
    file_ = nullptr;
#endif
    h_ = npy_header{};
    size_ = rows_ = cols_ = row_bytes_ = 0;
    std::vector<unsigned char>().swap(buf_);
  }

 private:
  status fail_closed(status s) noexcept {
    if (!s) close();
    return s;
  }

  status read_at(std::size_t offset, unsigned char* out, std::size_t n) {
#if RVQ_HAS_MMAP
    while (n > 0) {
      const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return {errc::io_error, "read error"};
      if (got == 0) return {errc::io_error, "the file is shorter than when it was opened (changed while read)"};
      out += got, offset += static_cast<std::size_t>(got), n -= static_cast<std::size_t>(got);
    }
    return {};
#else
    if (std::fseek(file_, static_cast<long>(offset), SEEK_SET) != 0) return {errc::io_error, "cannot seek in the file"};
    if (std::fread(out, 1, n, file_) != n) return {errc::io_error, "read error, or the file changed while read"};
    return {};
#endif
  }

  void swap(npy_rows& o) noexcept {
#if RVQ_HAS_MMAP
    std::swap(fd_, o.fd_);
#else
    std::swap(file_, o.file_);
#endif
    std::swap(h_, o.h_);
    std::swap(size_, o.size_);
    std::swap(rows_, o.rows_);
    std::swap(cols_, o.cols_);
    std::swap(row_bytes_, o.row_bytes_);
    buf_.swap(o.buf_);
  }

#if RVQ_HAS_MMAP
  int fd_ = -1;
#else
  std::FILE* file_ = nullptr;
#endif
  npy_header h_;
  std::size_t size_ = 0, rows_ = 0, cols_ = 0, row_bytes_ = 0;
  std::vector<unsigned char> buf_;
};

/**
 * @brief Writes a rows x cols `.npy` array of T (as write_npy()) one block of rows after another.
 * The target is replaced only by commit(), once every row is written; until then, and if the
 * writer is destroyed first (an error, an exception, a signal), the old file stays as it was
 * (rvq::io::atomic_writer). Not copyable.
 * @tparam T float, std::uint8_t, std::uint16_t, std::int8_t, std::int32_t or std::int64_t
 */
template <class T>
class npy_row_writer {
 public:
  /// Starts `path` ("-": standard output) for an array of `rows` x `cols`.
  /// Errors: invalid_argument (the shape overflows), io_error.
  status open(const std::string& path, std::size_t rows, std::size_t cols) {
    rows_ = rows, cols_ = cols, written_ = 0;
    std::size_t count = 0;
    if (!rvq::detail::checked_mul(rows, cols, count) || !rvq::detail::checked_mul(count, sizeof(T), count))
      return {errc::invalid_argument, "array shape overflows"};
    const std::size_t shape[2] = {rows, cols};
    const std::string preamble = detail::npy_preamble(detail::npy_type_of<T>(), span<const std::size_t>(shape));
    RVQ_TRY(w_.open(path));
    w_.write(preamble.data(), preamble.size());
    return {};
  }

  /// Appends `n` rows (n x cols values). Errors: invalid_argument (more rows than the shape).
  status write(const T* data, std::size_t n) {
    if (n > rows_ - written_) return {errc::invalid_argument, "more rows than the array's shape"};
    detail::put_npy_values(data, n * cols_, buf_);
    w_.write(buf_.data(), buf_.size());
    written_ += n;
    return {};
  }

  std::size_t written() const noexcept { return written_; }  ///< rows written so far

  /// Moves the finished file into place. Errors: invalid_argument (rows missing), io_error.
  status commit() {
    if (written_ != rows_) {
      w_.abort();
      return {errc::invalid_argument, "fewer rows written than the array's shape"};
    }
    return w_.commit();
  }

  /// Drops the new file, leaving the target as it was.
  void abort() noexcept { w_.abort(); }

 private:
  atomic_writer w_;
  std::size_t rows_ = 0, cols_ = 0, written_ = 0;
  std::vector<unsigned char> buf_;
};

#if RVQ_HAS_MMAP
/**
 * @brief One `.npy` file that several processes write at once, each its own rows at their
 * offset (distributed encode, rvq-mpi):
 * 1. one process create()s a temporary file beside the target, with the header and the size of
 *    the whole array;
 * 2. every process opens it for the rows it writes (open_rows()), writes them in order and
 *    close()s it;
 * 3. once every process has closed it without error, one process publish()es it (renamed over the
 *    target), or else discard()s it. The target stays as it was until publish().
 * A symbolic link at the target is followed, and a replaced file keeps its permission bits, as
 * with rvq::io::atomic_writer; a pipe or a device cannot take rows at offsets and is refused.
 * @tparam T as npy_row_writer
 */
template <class T>
class npy_shared_file {
 public:
  npy_shared_file() = default;
  npy_shared_file(const npy_shared_file&) = delete;
  npy_shared_file& operator=(const npy_shared_file&) = delete;
  ~npy_shared_file() {
    if (fd_ >= 0) ::close(fd_);
  }

  /// Step 1: the temporary file for a rows x cols array beside `target`; its path.
  /// Errors: invalid_argument (shape), io_error (the reason), unsupported (a pipe or device).
  static result<std::string> create(const std::string& target, std::size_t rows, std::size_t cols) {
    std::size_t bytes = 0;
    if (!rvq::detail::checked_mul(rows, cols, bytes) || !rvq::detail::checked_mul(bytes, sizeof(T), bytes))
      return status{errc::invalid_argument, "array shape overflows"};
    std::string resolved;
    RVQ_TRY(detail::resolve_links(target, resolved));
    struct stat st;
    const bool exists = ::stat(resolved.c_str(), &st) == 0;
    if (exists) {
      if (S_ISDIR(st.st_mode)) return status{errc::io_error, "the output path is a folder"};
      if (!S_ISREG(st.st_mode))
        return status{errc::unsupported, "several processes write their rows at offsets: the output must be a file"};
      if (::access(resolved.c_str(), W_OK) != 0) return status{errc::io_error, "the output file is not writable"};
    }
    const std::string header = header_of(rows, cols), folder = detail::folder_of(resolved);
    std::string temp;
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
      temp = detail::temp_name(folder);
      fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) return status{errc::io_error, "cannot create a file in the output folder"};
    bool ok = !exists || ::fchmod(fd, st.st_mode & 07777) == 0;
    ok = ok && write_all(fd, header.data(), header.size(), 0);
    ok = ok && ::ftruncate(fd, static_cast<off_t>(header.size() + bytes)) == 0;
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
      ::unlink(temp.c_str());
      return status{errc::io_error, "cannot write the new file (disk full?)"};
    }
    return temp;
  }

  /// Step 2: opens `temp` (create()'s file of rows x cols) to write rows from `first` on.
  status open_rows(const std::string& temp, std::size_t rows, std::size_t cols, std::size_t first) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(temp.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) return {errc::io_error, "cannot open the shared output file (not on a file system all ranks see?)"};
    rows_ = rows, cols_ = cols, next_ = first;
    offset_ = header_of(rows, cols).size();
    return {};
  }

  /// Writes `n` rows (n x cols values) after those written before.
  status write(const T* data, std::size_t n) {
    if (fd_ < 0) return {errc::io_error, "no file is open for writing"};
    if (next_ > rows_ || n > rows_ - next_) return {errc::invalid_argument, "more rows than the array's shape"};
    detail::put_npy_values(data, n * cols_, buf_);
    if (!write_all(fd_, buf_.data(), buf_.size(), offset_ + next_ * cols_ * sizeof(T)))
      return {errc::io_error, "write error (disk full?)"};
    next_ += n;
    return {};
  }

  /// Syncs and closes this process's part.
  status close() {
    if (fd_ < 0) return {errc::io_error, "no file is open for writing"};
    const bool ok = ::fsync(fd_) == 0;
    const bool closed = ::close(fd_) == 0;
    fd_ = -1;
    return ok && closed ? status{} : status{errc::io_error, "write error (disk full?)"};
  }

  /// Step 3: moves the finished `temp` over `target`.
  static status publish(const std::string& temp, const std::string& target) {
    std::string resolved;
    RVQ_TRY(detail::resolve_links(target, resolved));
    if (std::rename(temp.c_str(), resolved.c_str()) != 0) {
      ::unlink(temp.c_str());
      return {errc::io_error, "cannot replace the output file"};
    }
    const int dfd = ::open(detail::folder_of(resolved).c_str(), O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) (void)::fsync(dfd), ::close(dfd);
    return {};
  }

  /// Or step 3: removes `temp`; the target stays as it was.
  static void discard(const std::string& temp) noexcept { ::unlink(temp.c_str()); }

 private:
  static std::string header_of(std::size_t rows, std::size_t cols) {
    const std::size_t shape[2] = {rows, cols};
    return detail::npy_preamble(detail::npy_type_of<T>(), span<const std::size_t>(shape));
  }
  static bool write_all(int fd, const void* p, std::size_t n, std::size_t offset) noexcept {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      const ssize_t w = ::pwrite(fd, c, n, static_cast<off_t>(offset));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      c += w, offset += static_cast<std::size_t>(w), n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  int fd_ = -1;
  std::size_t rows_ = 0, cols_ = 0, next_ = 0, offset_ = 0;
  std::vector<unsigned char> buf_;
};
#endif

}  // namespace rvq::io
