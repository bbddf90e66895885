/// @file held_array.hpp
/// @brief An array that is owned (a std::vector) or viewed where it lies, in a memory-mapped file.
#pragma once
#include "../config.hpp"
#if RVQ_NO_HEAP
#error "rvq/detail/held_array.hpp owns its values on the heap"
#endif
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace rvq::detail {

/// An array of T: owned (a std::vector), or a view of `n` values that live elsewhere (a mapped
/// file), kept alive by a shared handle. Reads are the same either way; own() turns a view into
/// an owned copy first, so a change never writes through a view.
template <class T>
class held_array {
 public:
  const T* data() const noexcept { return view_ ? view_ : own_.data(); }
  std::size_t size() const noexcept { return view_ ? n_ : own_.size(); }
  bool empty() const noexcept { return size() == 0; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + size(); }
  /// True when the values are viewed in place (not owned).
  bool viewed() const noexcept { return view_ != nullptr; }

  /// Views [p, p + n), which `keep` keeps alive and unchanged; drops what was owned.
  void view(const T* p, std::size_t n, std::shared_ptr<const void> keep) {
    std::vector<T>().swap(own_);
    view_ = n ? p : nullptr;
    n_ = n ? n : 0;
    keep_ = n ? std::move(keep) : nullptr;
  }
  /// Empty, neither owning nor viewing anything.
  void reset() noexcept {
    std::vector<T>().swap(own_);
    view_ = nullptr;
    n_ = 0;
    keep_.reset();
  }
  /// The owned values, for a change: a view is copied into them first (and released).
  std::vector<T>& own() {
    if (view_) {
      own_.assign(view_, view_ + n_);
      view_ = nullptr;
      n_ = 0;
      keep_.reset();
    }
    return own_;
  }

 private:
  std::vector<T> own_;
  const T* view_ = nullptr;
  std::size_t n_ = 0;
  std::shared_ptr<const void> keep_;
};

}  // namespace rvq::detail
