/// @file span.hpp
/// @brief Non-owning views: span<T> (contiguous) and matrix_view<T> (strided row-major).
#pragma once
#include <cstddef>
#include <type_traits>

namespace rvq {

/// @brief A contiguous run of `size()` elements (a C++17 stand-in for std::span).
template <class T>
class span {
 public:
  using element_type = T;  ///< the element type, possibly const
  /// An empty span.
  constexpr span() noexcept = default;
  /// `size` elements from `data`.
  constexpr span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
  /// A whole C array.
  template <std::size_t N>
  constexpr span(T (&a)[N]) noexcept : data_(a), size_(N) {}
  /// Any container with data() and size() whose elements convert (vector, array).
  template <class C, class = decltype(std::declval<C&>().data()), class = decltype(std::declval<C&>().size()),
            class = std::enable_if_t<std::is_convertible<decltype(std::declval<C&>().data()), T*>::value>>
  constexpr span(C& c) noexcept : data_(c.data()), size_(c.size()) {}
  /// span<T> converts to span<const T>.
  template <class U, class = std::enable_if_t<std::is_convertible<U*, T*>::value && !std::is_same<U, T>::value>>
  constexpr span(span<U> o) noexcept : data_(o.data()), size_(o.size()) {}

  constexpr T* data() const noexcept { return data_; }                        ///< first element
  constexpr std::size_t size() const noexcept { return size_; }               ///< number of elements
  constexpr bool empty() const noexcept { return size_ == 0; }                ///< true when size() is 0
  constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }  ///< element i (unchecked)
  constexpr T* begin() const noexcept { return data_; }                       ///< iterator to the first element
  constexpr T* end() const noexcept { return data_ + size_; }                 ///< iterator past the last element
  /// Elements [offset, offset + count) (unchecked).
  constexpr span subspan(std::size_t offset, std::size_t count) const noexcept { return span(data_ + offset, count); }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// @brief A `rows x cols` row-major matrix whose rows start `stride` elements apart (stride >= cols).
///
/// Views never copy: a batch API reads or writes the caller's memory in place.
template <class T>
class matrix_view {
 public:
  using element_type = T;  ///< the element type, possibly const
  /// An empty view.
  constexpr matrix_view() noexcept = default;
  /// A dense `rows x cols` matrix (stride = cols).
  constexpr matrix_view(T* data, std::size_t rows, std::size_t cols) noexcept
      : data_(data), rows_(rows), cols_(cols), stride_(cols) {}
  /// Rows start `stride` elements apart (stride >= cols; see valid()).
  constexpr matrix_view(T* data, std::size_t rows, std::size_t cols, std::size_t stride) noexcept
      : data_(data), rows_(rows), cols_(cols), stride_(stride) {}
  /// matrix_view<T> converts to matrix_view<const T>.
  template <class U, class = std::enable_if_t<std::is_convertible<U*, T*>::value && !std::is_same<U, T>::value>>
  constexpr matrix_view(matrix_view<U> o) noexcept
      : data_(o.data()), rows_(o.rows()), cols_(o.cols()), stride_(o.stride()) {}

  constexpr T* data() const noexcept { return data_; }                            ///< first element of row 0
  constexpr std::size_t rows() const noexcept { return rows_; }                   ///< number of rows
  constexpr std::size_t cols() const noexcept { return cols_; }                   ///< elements per row
  constexpr std::size_t stride() const noexcept { return stride_; }               ///< elements between row starts
  constexpr bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }      ///< no element at all
  constexpr T* row(std::size_t i) const noexcept { return data_ + i * stride_; }  ///< start of row i
  /// Row i as a span of cols() elements.
  constexpr span<T> row_span(std::size_t i) const noexcept { return span<T>(row(i), cols_); }
  /// Element (i, j) (unchecked).
  constexpr T& operator()(std::size_t i, std::size_t j) const noexcept { return data_[i * stride_ + j]; }
  /// Rows [first, first + count).
  constexpr matrix_view row_range(std::size_t first, std::size_t count) const noexcept {
    return matrix_view(data_ + first * stride_, count, cols_, stride_);
  }
  /// True when the view is well formed (stride covers a row, data present when non-empty).
  constexpr bool valid() const noexcept { return stride_ >= cols_ && (data_ != nullptr || rows_ == 0 || cols_ == 0); }

 private:
  T* data_ = nullptr;
  std::size_t rows_ = 0, cols_ = 0, stride_ = 0;
};

}  // namespace rvq
