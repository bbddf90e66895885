/// @file policies.hpp
/// @brief Every policy of this build and `config<>`, the bundle a quantizer is parameterized by.
#pragma once
#include <type_traits>
#include "element/binary.hpp"
#include "element/f32.hpp"
#include "element/fixed.hpp"
#include "element/half.hpp"
#include "element/int8.hpp"
#include "element/packed.hpp"
#include "element/srs.hpp"
#include "metric/cosine.hpp"
#include "metric/hamming.hpp"
#include "metric/ip.hpp"
#include "metric/l2.hpp"
#include "parallel/sequential.hpp"
#include "simd/scalar/kernels.hpp"
#include "storage/dense.hpp"
#include "storage/dense_int.hpp"
#include "storage/product.hpp"
#if RVQ_HOSTED || RVQ_USE_DISPATCH
#include "simd/dispatch/kernels.hpp"
#endif
#if RVQ_USE_XSIMD
#include "simd/xsimd/kernels.hpp"
#endif
#if RVQ_USE_HIGHWAY
#include "simd/highway/kernels.hpp"
#endif

namespace rvq {

/// The SIMD backend this build uses by default: rvq::xsimd when RVQ_USE_XSIMD is 1 (the target
/// rvq::xsimd), else rvq::highway when RVQ_USE_HIGHWAY is 1, else rvq::dispatch when
/// RVQ_USE_DISPATCH is 1 (hosted x86-64 builds), else rvq::scalar.
#if RVQ_USE_XSIMD
using default_simd = xsimd;
#elif RVQ_USE_HIGHWAY
using default_simd = highway;
#elif RVQ_USE_DISPATCH
using default_simd = dispatch;
#else
using default_simd = scalar;
#endif

/**
 * @brief A policy bundle: one policy per axis. Each family's traits (element_traits,
 * metric_traits, storage_traits, parallel_traits, simd_traits) list the policies this build
 * has in their static_assert, and a user's own policy joins by specializing them
 * (docs/design.md).
 * @tparam Element  how values are stored and accumulated
 * @tparam Metric   what "nearest" means
 * @tparam Storage  how codewords are held; its traits name the store
 * @tparam Parallel how batches and large layers are spread over workers
 * @tparam Simd     which kernel backend (default_simd)
 *
 * Any type with the same five member aliases works as a config too.
 */
template <class Element = f32, class Metric = l2, class Storage = dense, class Parallel = sequential,
          class Simd = default_simd>
struct config {
  using element = Element;    ///< element policy
  using metric = Metric;      ///< metric policy
  using storage = Storage;    ///< storage policy
  using parallel = Parallel;  ///< parallel policy
  using simd = Simd;          ///< SIMD backend
};

/// f32, squared L2, dense, sequential, default_simd.
using default_config = config<>;

namespace detail {
template <class C, class = void>
struct has_element : std::false_type {};
template <class C>
struct has_element<C, std::void_t<typename C::element>> : std::true_type {};
template <class C, class = void>
struct has_metric : std::false_type {};
template <class C>
struct has_metric<C, std::void_t<typename C::metric>> : std::true_type {};
template <class C, class = void>
struct has_storage : std::false_type {};
template <class C>
struct has_storage<C, std::void_t<typename C::storage>> : std::true_type {};
template <class C, class = void>
struct has_parallel : std::false_type {};
template <class C>
struct has_parallel<C, std::void_t<typename C::parallel>> : std::true_type {};
template <class C, class = void>
struct has_simd : std::false_type {};
template <class C>
struct has_simd<C, std::void_t<typename C::simd>> : std::true_type {};

/// Fails with a readable message when a config lacks an axis.
template <class C>
struct check_config {
  static_assert(has_element<C>::value,
                "rvq: the Config must define `using element = ...;` (rvq::f32, rvq::int8, rvq::q15, rvq::q7, "
                "rvq::int4, rvq::int2, rvq::binary)");
  static_assert(has_metric<C>::value,
                "rvq: the Config must define `using metric = ...;` (rvq::l2, rvq::ip, rvq::cosine, rvq::hamming)");
  static_assert(has_storage<C>::value,
                "rvq: the Config must define `using storage = ...;` (rvq::dense, rvq::pq, rvq::rpq)");
  static_assert(has_parallel<C>::value,
                "rvq: the Config must define `using parallel = ...;` (rvq::sequential, rvq::threads<N>, "
                "rvq::openmp, rvq::fork_join<Platform>)");
  static_assert(
      has_simd<C>::value,
      "rvq: the Config must define `using simd = ...;` (rvq::scalar, rvq::scalar_pruned, rvq::dispatch, rvq::xsimd, "
      "rvq::highway)");
  static constexpr bool value = true;
};
}  // namespace detail

}  // namespace rvq
