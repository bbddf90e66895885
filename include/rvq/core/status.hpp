/// @file status.hpp
/// @brief status and result<T>: every fallible rvq function reports through these, never by throwing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>
#include "messages.hpp"

namespace rvq {

/// @brief What went wrong; `ok` is success.
enum class errc : std::uint8_t {
  ok = 0,
  invalid_argument,     ///< an option is out of its range
  dimension_mismatch,   ///< a vector, view or array has the wrong shape
  empty_input,          ///< no data where some is needed
  non_finite,           ///< NaN or Inf in input data or codebooks
  too_many_codewords,   ///< K above the training set size or the code type
  bad_beam,             ///< beam width 0 or above K
  code_out_of_range,    ///< a code is not below its layer's K
  io_error,             ///< a file cannot be opened, read or written
  corrupt_file,         ///< a file's contents are malformed or fail their checksum
  unsupported_version,  ///< a file's format version is unknown to this build
  unsupported,          ///< a valid request this configuration cannot serve
  out_of_memory         ///< an allocation failed
};

/// @brief Short name of an error code.
constexpr const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid argument";
    case errc::dimension_mismatch:
      return "dimension mismatch";
    case errc::empty_input:
      return "empty input";
    case errc::non_finite:
      return "non-finite value";
    case errc::too_many_codewords:
      return "too many codewords";
    case errc::bad_beam:
      return "bad beam width";
    case errc::code_out_of_range:
      return "code out of range";
    case errc::io_error:
      return "i/o error";
    case errc::corrupt_file:
      return "corrupt file";
    case errc::unsupported_version:
      return "unsupported version";
    case errc::unsupported:
      return "unsupported";
    case errc::out_of_memory:
      return "out of memory";
  }
  return "unknown error";
}

/// @brief Success or an error code with a static message and an optional position.
///
/// The message is a string literal (no allocation); `where` carries a number that locates the
/// problem (a row, a layer, a byte offset, named by where_unit()) when one is known, else `npos`.
class [[nodiscard]] status {
 public:
  /// "No location" value of where().
  static constexpr std::uint64_t npos = ~std::uint64_t{0};

  /// Success.
  constexpr status() noexcept = default;
  /// A failure.
  /// @param code    what went wrong
  /// @param message a string literal saying why (never freed)
  /// @param where   row, layer, byte offset or element index of the problem, or npos
  /// @param unit what `where` counts ("row", "layer", "byte", "element"), or null
  constexpr status(errc code, const char* message, std::uint64_t where = npos, const char* unit = nullptr) noexcept
      : code_(code), message_(message), where_(where), unit_(unit) {}

  /// The success value.
  static constexpr status success() noexcept { return status{}; }

  constexpr bool ok() const noexcept { return code_ == errc::ok; }    ///< true on success
  constexpr explicit operator bool() const noexcept { return ok(); }  ///< same as ok()
  constexpr errc code() const noexcept { return code_; }              ///< the error code (errc::ok on success)
  /// Human-readable reason (never null).
  constexpr const char* message() const noexcept { return message_; }
  /// Row, layer or byte offset the message refers to, or `npos`.
  constexpr std::uint64_t where() const noexcept { return where_; }
  constexpr bool has_where() const noexcept { return where_ != npos; }  ///< true when where() locates the problem
  /// What `where` counts ("row", "layer", "byte", "element"), or null.
  constexpr const char* where_unit() const noexcept { return unit_; }

 private:
  errc code_ = errc::ok;
  const char* message_ = "ok";
  std::uint64_t where_ = npos;
  const char* unit_ = nullptr;
};

/// @brief A value of type T or a failed status (an `expected`-style result, no exceptions).
template <class T>
class [[nodiscard]] result {
 public:
  /// A successful result holding a copy of v.
  result(const T& v) : status_{}, has_(true) { ::new (static_cast<void*>(&storage_)) T(v); }
  /// A successful result holding v.
  result(T&& v) noexcept(std::is_nothrow_move_constructible<T>::value) : status_{}, has_(true) {
    ::new (static_cast<void*>(&storage_)) T(std::move(v));
  }
  /// A failed result; `s` must not be ok.
  result(status s) noexcept
      : status_(s.ok() ? status{errc::invalid_argument, "result built from an ok status without a value"} : s),
        has_(false) {}

  /// Copies the value or the error.
  result(const result& o) : status_(o.status_), has_(o.has_) {
    if (has_) ::new (static_cast<void*>(&storage_)) T(o.value());
  }
  /// Moves the value or copies the error.
  result(result&& o) noexcept(std::is_nothrow_move_constructible<T>::value) : status_(o.status_), has_(o.has_) {
    if (has_) ::new (static_cast<void*>(&storage_)) T(std::move(o.value()));
  }
  /// Replaces this result with a copy of o.
  result& operator=(const result& o) {
    if (this != &o) {
      reset();
      status_ = o.status_;
      if (o.has_) {
        ::new (static_cast<void*>(&storage_)) T(o.value());
        has_ = true;
      }
    }
    return *this;
  }
  /// Replaces this result with o, moved.
  result& operator=(result&& o) noexcept(std::is_nothrow_move_constructible<T>::value) {
    if (this != &o) {
      reset();
      status_ = o.status_;
      if (o.has_) {
        ::new (static_cast<void*>(&storage_)) T(std::move(o.value()));
        has_ = true;
      }
    }
    return *this;
  }
  ~result() { reset(); }

  bool ok() const noexcept { return has_; }                 ///< true when a value is held
  explicit operator bool() const noexcept { return has_; }  ///< same as ok()
  /// The failure (an ok status when a value is held).
  const status& error() const noexcept { return status_; }
  /// The value; only valid when ok().
  T& value() & noexcept { return *ptr(); }
  const T& value() const& noexcept { return *ptr(); }      ///< the value; only valid when ok()
  T&& value() && noexcept { return std::move(*ptr()); }    ///< the value, moved out; only when ok()
  T* operator->() noexcept { return ptr(); }               ///< member access; only when ok()
  const T* operator->() const noexcept { return ptr(); }   ///< member access; only when ok()
  T& operator*() & noexcept { return *ptr(); }             ///< the value; only when ok()
  const T& operator*() const& noexcept { return *ptr(); }  ///< the value; only when ok()

 private:
  T* ptr() noexcept { return std::launder(reinterpret_cast<T*>(&storage_)); }
  const T* ptr() const noexcept { return std::launder(reinterpret_cast<const T*>(&storage_)); }
  void reset() noexcept {
    if (has_) {
      ptr()->~T();
      has_ = false;
    }
  }

  status status_;
  bool has_;
  typename std::aligned_storage<sizeof(T), alignof(T)>::type storage_;
};

/// Returns the status from the enclosing function when it is not ok.
#define RVQ_TRY(expr)                                  \
  do {                                                 \
    ::rvq::status rvq_try_status_ = (expr);            \
    if (!rvq_try_status_.ok()) return rvq_try_status_; \
  } while (0)

}  // namespace rvq
