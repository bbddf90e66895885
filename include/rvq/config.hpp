/// @file config.hpp
/// @brief Configuration macros: each uses the user's definition when given, else autodetects.
#pragma once

/// 1 on hosted builds (files, threads, exceptions layer available), 0 on freestanding firmware.
#ifndef RVQ_HOSTED
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ == 0
#define RVQ_HOSTED 0
#else
#define RVQ_HOSTED 1
#endif
#endif

/// 1 forbids every heap allocation in the library (firmware); only static extents are usable.
#ifndef RVQ_NO_HEAP
#define RVQ_NO_HEAP 0
#endif

/// 1 makes rvq::xsimd (which needs xsimd) the default SIMD backend; set by the CMake target rvq::xsimd.
#ifndef RVQ_USE_XSIMD
#define RVQ_USE_XSIMD 0
#endif

/// 1 makes rvq::highway (which needs Highway) the default SIMD backend, unless RVQ_USE_XSIMD is
/// also 1; set by the CMake target rvq::highway.
#ifndef RVQ_USE_HIGHWAY
#define RVQ_USE_HIGHWAY 0
#endif

/// 1 makes rvq::dispatch (kernels for several instruction sets, chosen at run time) the default
/// SIMD backend. Default: 1 for hosted builds with GCC or clang on x86-64 that chose neither
/// rvq::xsimd nor rvq::highway, where a build without `-m` flags would otherwise run SSE2 only;
/// define it to 0 to keep the compile-time choice (rvq::scalar at the compiler's flags).
#ifndef RVQ_USE_DISPATCH
#if RVQ_HOSTED && defined(__GNUC__) && defined(__x86_64__) && !RVQ_USE_XSIMD && !RVQ_USE_HIGHWAY
#define RVQ_USE_DISPATCH 1
#else
#define RVQ_USE_DISPATCH 0
#endif
#endif

/// 1 when C++ exceptions are enabled; only the opt-in convenience layer (rvq/exceptions.hpp) uses them.
#ifndef RVQ_HAS_EXCEPTIONS
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define RVQ_HAS_EXCEPTIONS 1
#else
#define RVQ_HAS_EXCEPTIONS 0
#endif
#endif

/// @def RVQ_ARM_DSP
/// 1 when the integer search uses the Arm DSP-extension kernels (simd/arm_dsp.hpp; default: when the compiler
/// targets 32-bit Arm with `__ARM_FEATURE_SIMD32`); define it to 0 to use the portable code.
#ifndef RVQ_ARM_DSP
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32 && !defined(__aarch64__) && \
    (defined(__GNUC__) || defined(__clang__))
#define RVQ_ARM_DSP 1
#else
#define RVQ_ARM_DSP 0
#endif
#endif

/// @def RVQ_INT_PAIRS
/// 1 when the portable integer search scores two int8 codewords per pass (cores without a vector
/// unit or the Arm DSP extension: RV32IMC, Cortex-M0/M3); 0 where a compiler vectorizes the plain
/// loop (SSE2, NEON, RISC-V V, AltiVec) or the DSP kernels run.
#ifndef RVQ_INT_PAIRS
#if RVQ_ARM_DSP || defined(__SSE2__) || defined(__ARM_NEON) || defined(__riscv_vector) || defined(__ALTIVEC__) || \
    defined(_M_X64) || defined(_M_ARM64)
#define RVQ_INT_PAIRS 0
#else
#define RVQ_INT_PAIRS 1
#endif
#endif

/// Major version. The top-level VERSION file is the one place the version is set: CMake reads it
/// and refuses to configure when these macros disagree.
#define RVQ_VERSION_MAJOR 0
/// Minor version.
#define RVQ_VERSION_MINOR 1
/// Patch version.
#define RVQ_VERSION_PATCH 0
/// "major.minor.patch".
#define RVQ_VERSION_STRING "0.1.0"

/// @def RVQ_RESTRICT
/// The compiler's `restrict` qualifier, where it has one.
/// @def RVQ_ALWAYS_INLINE
/// `inline` that asks the compiler to always inline.
/// @def RVQ_UNROLL
/// Fully unroll the next loop (register-blocked kernels keep their accumulators in registers only
/// when the loops over rows and vectors are unrolled).
#if defined(__clang__)
#define RVQ_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define RVQ_UNROLL _Pragma("GCC unroll 32")
#else
#define RVQ_UNROLL
#endif

/// @def RVQ_MEMCPY
/// Copy of a few bytes (type punning, unaligned loads) that the compiler turns into plain loads
/// and stores even in freestanding builds, where `-ffreestanding` makes `memcpy` a real call.
#if defined(__GNUC__) || defined(__clang__)
#define RVQ_RESTRICT __restrict__
#define RVQ_ALWAYS_INLINE inline __attribute__((always_inline))
#define RVQ_MEMCPY(dst, src, n) __builtin_memcpy((dst), (src), (n))
#else
#define RVQ_RESTRICT
#define RVQ_ALWAYS_INLINE inline
#define RVQ_MEMCPY(dst, src, n) std::memcpy((dst), (src), (n))
#endif
