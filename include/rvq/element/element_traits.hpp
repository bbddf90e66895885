/// @file element_traits.hpp
/// @brief Element policies: how codeword values are stored, multiplied and accumulated.
/// @defgroup element Element policies
/// An element policy is a tag type with an element_traits specialization. Every one declares
/// `storage_type` (one value in memory; packed types give the unpacked value type),
/// `accumulator_type`, `bits` (per value in memory), `is_integer`, `name` and `id` (stored in
/// .rvq files). Integer elements also declare `activation_type` (the residual values a layer's
/// codewords are multiplied with), the value range `qmin..qmax`, `pow2_scale` (scales are powers
/// of two, so every rescale is a shift) and `affine` (a zero point is allowed). Narrow storage,
/// wide accumulators: mixed precision is the default.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include "../core/names.hpp"
#include "../detail/meta.hpp"

namespace rvq {

/// @ingroup element
/// @brief Traits of an element policy; the primary template rejects unknown policies.
template <class Element>
struct element_traits {
  static_assert(detail::always_false<Element>,
                "rvq: unknown element policy. Valid element policies: rvq::f32 (<rvq/element/f32.hpp>), rvq::f16, "
                "rvq::bf16 (<rvq/element/half.hpp>), rvq::int8 (<rvq/element/int8.hpp>), rvq::q15, rvq::q7 "
                "(<rvq/element/fixed.hpp>), rvq::int4, rvq::int2 (<rvq/element/packed.hpp>), rvq::binary "
                "(<rvq/element/binary.hpp>)");
};

/// @ingroup element
/// Element ids as stored in .rvq files.
enum class element_id : std::uint32_t {
  f32 = 1,
  f16 = 2,
  bf16 = 3,
  int8 = 4,
  q15 = 5,
  q7 = 6,
  int4 = 7,
  int2 = 8,
  binary = 9
};

/// @ingroup element
/// Names of the element ids as used in files and the CLI.
inline constexpr named<element_id> element_names[] = {
    {"f32", element_id::f32},   {"f16", element_id::f16},   {"bf16", element_id::bf16},
    {"int8", element_id::int8}, {"q15", element_id::q15},   {"q7", element_id::q7},
    {"int4", element_id::int4}, {"int2", element_id::int2}, {"binary", element_id::binary}};

/// @ingroup element
/// Name of an id as used in files and the CLI.
constexpr const char* to_string(element_id e) noexcept { return name_of(element_names, e); }

/// @ingroup element
/// The id named `s` ("f32", "int8", ...); false when no element has that name.
constexpr bool parse_element(const char* s, element_id& out) noexcept { return parse_name(element_names, s, out); }

/// @ingroup element
/// @brief Static description of an element id (what element_traits says, at run time).
struct element_info {
  unsigned bits = 32;       ///< bits per value in memory
  bool is_integer = false;  ///< searched by the integer-only path
  bool pow2_scale = false;  ///< scales are powers of two
  bool affine = false;      ///< a zero point is allowed
  int qmin = 0;             ///< smallest integer value
  int qmax = 0;             ///< largest integer value
  unsigned act_bits = 0;    ///< bits of the residual values a layer multiplies (integer elements)
};

/// @ingroup element
/// The element_info of an id.
constexpr element_info info_of(element_id e) noexcept {
  switch (e) {
    case element_id::f32:
      return {32, false, false, false, 0, 0, 0};
    case element_id::f16:
    case element_id::bf16:
      return {16, false, false, false, 0, 0, 0};
    case element_id::int8:
      return {8, true, false, true, -128, 127, 8};
    case element_id::q15:
      return {16, true, true, false, -32768, 32767, 16};
    case element_id::q7:
      return {8, true, true, false, -128, 127, 8};
    case element_id::int4:
      return {4, true, false, true, -8, 7, 8};
    case element_id::int2:
      return {2, true, false, true, -2, 1, 8};
    case element_id::binary:
      return {1, true, false, false, 0, 1, 1};
  }
  return {};
}

namespace detail {
/// The real value of integer `q` in a group of scale `s` and zero point `z`: `s (q - z)`
/// (binary: `s (2 q - 1)`).
constexpr float dequantize(element_id e, std::int32_t q, float s, std::int32_t z) noexcept {
  return e == element_id::binary ? s * static_cast<float>(2 * q - 1) : s * static_cast<float>(q - z);
}
/// `round(v / s) + z` (to nearest, ties to even) saturated to [lo, hi]; binary: 1 for v >= 0, else 0.
constexpr std::int32_t quantize(element_id e, float v, float s, std::int32_t z, std::int32_t lo,
                                std::int32_t hi) noexcept {
  if (e == element_id::binary) return v >= 0.0f ? 1 : 0;
  double y = static_cast<double>(v) / static_cast<double>(s);
  const double ylo = static_cast<double>(lo) - z - 1.0, yhi = static_cast<double>(hi) - z + 1.0;
  y = y < ylo ? ylo : (y > yhi ? yhi : y);        // out of range either way; keeps the cast defined
  std::int64_t r = static_cast<std::int64_t>(y);  // toward zero; y - r is exact
  const double f = y - static_cast<double>(r);
  if (f > 0.5 || (f == 0.5 && (r & 1))) ++r;
  if (f < -0.5 || (f == -0.5 && (r & 1))) --r;
  r += z;
  return static_cast<std::int32_t>(r < lo ? lo : (r > hi ? hi : r));
}

/// Traits shared by the integer elements; `Id` selects the constants from info_of().
template <element_id Id, class Storage, class Activation>
struct integer_element_traits {
  using storage_type = Storage;        ///< one (unpacked) value
  using activation_type = Activation;  ///< residual values a layer's codewords multiply
  static constexpr element_id id = Id;
  static constexpr const char* name = to_string(Id);
  static constexpr bool is_integer = true;
  static constexpr unsigned bits = info_of(Id).bits;
  static constexpr bool pow2_scale = info_of(Id).pow2_scale;
  static constexpr bool affine = info_of(Id).affine;
  static constexpr int qmin = info_of(Id).qmin;
  static constexpr int qmax = info_of(Id).qmax;
  /// Largest |activation * value| of one product.
  static constexpr std::uint64_t max_product() noexcept {
    const std::uint64_t a = std::uint64_t{1} << (info_of(Id).act_bits - (info_of(Id).act_bits > 1 ? 1 : 0));
    const std::uint64_t q = static_cast<std::uint64_t>(-qmin > qmax ? -qmin : qmax);
    return a * q;
  }
  /// Dequantization rule: the real value of `q` with scale `s` and zero point `z`.
  static constexpr float dequantize(std::int32_t q, float s, std::int32_t z = 0) noexcept {
    return detail::dequantize(Id, q, s, z);
  }
  /// Quantization rule: the value nearest to `v / s + z`, ties to even, saturated to
  /// [lo, hi] (default the element's range; binary: the sign bit).
  static constexpr std::int32_t quantize(float v, float s, std::int32_t z = 0, std::int32_t lo = qmin,
                                         std::int32_t hi = qmax) noexcept {
    return detail::quantize(Id, v, s, z, lo, hi);
  }
  /// True when a dot product over `d` dimensions always fits an int32 accumulator.
  static constexpr bool fits_int32(std::size_t d) noexcept {
    return d <= static_cast<std::uint64_t>(INT32_MAX) / max_product();
  }
};
}  // namespace detail

namespace detail {
/// True for element policies searched by the integer-only path.
template <class E, class = void>
struct is_integer_element : std::false_type {};
template <class E>
struct is_integer_element<E, std::enable_if_t<element_traits<E>::is_integer>> : std::true_type {};
}  // namespace detail

/// @ingroup element
/// @brief The accumulator an integer element needs for a dot product over `D` dimensions:
/// int32 when `D * max|activation| * max|value|` fits it, else int64 (e.g. q15 for any D > 1).
/// The bound is checked at compile time.
template <class Element, std::size_t D>
struct accumulator_for {
  using traits = element_traits<Element>;  ///< the element's traits
  static_assert(traits::is_integer, "rvq::accumulator_for: integer elements only");
  static_assert(D <= static_cast<std::uint64_t>(INT64_MAX) / traits::max_product(),
                "rvq: the dot product of this element over D dimensions overflows even int64");
  /// int32 when the bound allows, else int64.
  using type = std::conditional_t<traits::fits_int32(D), std::int32_t, std::int64_t>;
};

/// @ingroup element
/// The accumulator type of accumulator_for.
template <class Element, std::size_t D>
using accumulator_for_t = typename accumulator_for<Element, D>::type;

}  // namespace rvq
