/// @file exceptions.hpp
/// @brief Opt-in convenience layer for hosted builds: readable messages and, where exceptions
/// are enabled, throwing wrappers. The library itself never throws.
#pragma once
#include "config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <stdexcept>
#include <string>
#include <utility>
#include "core/status.hpp"

namespace rvq {

/// "message (row 12)" — the message with its location, if any.
inline std::string describe(const status& s) {
  std::string m = s.message();
  if (s.has_where()) {
    m += " (";
    m += s.where_unit() ? s.where_unit() : "at";
    m += ' ';
    m += std::to_string(s.where());
    m += ')';
  }
  return m;
}

#if RVQ_HAS_EXCEPTIONS
/// @brief The exception thrown by the convenience wrappers; carries the status.
class error : public std::runtime_error {
 public:
  /// An exception carrying `s`; what() is describe(s).
  explicit error(const status& s) : std::runtime_error(describe(s)), status_(s) {}
  /// The status that was raised.
  const status& code() const noexcept { return status_; }

 private:
  status status_;
};

/// Throws rvq::error when `s` is not ok.
inline void throw_if_error(const status& s) {
  if (!s.ok()) throw error(s);
}

/// The value of `r`, or throws rvq::error.
template <class T>
T value_or_throw(result<T> r) {
  if (!r.ok()) throw error(r.error());
  return std::move(r).value();
}
#endif

}  // namespace rvq
