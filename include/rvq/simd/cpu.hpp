/// @file cpu.hpp
/// @brief The instruction sets the dispatch backend (rvq::dispatch) compiles its kernels for, what
/// this CPU runs, and the one the process uses: the best the CPU has, or the `RVQ_ISA`
/// environment variable's choice, or set_isa()'s.
///
/// On x86-64 the targets are `sse2` (the baseline every x86-64 CPU has, or whatever the compiler
/// flags already target), `avx2` (AVX2 with FMA) and `avx512` (AVX-512 F). Elsewhere there is one
/// target, the compile target (`neon` on AArch64, `scalar` otherwise). The choice is made once
/// per process and read once per kernel call, a block of rows: never per row.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include "../config.hpp"
#include "../core/names.hpp"
#include "../core/status.hpp"
#if RVQ_HOSTED
#include <cstdlib>
#endif
/// @def RVQ_DISPATCH_X86
/// 1 when the dispatch backend compiles kernels for several x86 targets (GCC and clang on x86).
/// @def RVQ_ISA_LIST
/// The target names of this architecture, as messages list them.
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#define RVQ_DISPATCH_X86 1
#else
#define RVQ_DISPATCH_X86 0
#endif
#if RVQ_DISPATCH_X86
#define RVQ_ISA_LIST "sse2, avx2, avx512"
#elif defined(__aarch64__) || defined(__ARM_NEON)
#define RVQ_ISA_LIST "neon"
#else
#define RVQ_ISA_LIST "scalar"
#endif

namespace rvq {

/// @ingroup simd
/// @brief A kernel target of the dispatch backend, in increasing order of capability.
enum class isa : std::uint8_t {
  baseline,  ///< the compile target: SSE2 on x86-64 without -m flags, NEON on AArch64
  avx2,      ///< AVX2 + FMA (x86-64-v3)
  avx512,    ///< AVX-512 F (x86-64-v4)
};

/// Spellings of isa values (`RVQ_ISA`, `rvq info --cpu`); "auto" is not an isa but a request.
inline constexpr named<isa> isa_names[] = {
#if RVQ_DISPATCH_X86
    {"sse2", isa::baseline},
#elif defined(__aarch64__) || defined(__ARM_NEON)
    {"neon", isa::baseline},
#else
    {"scalar", isa::baseline},
#endif
    {"avx2", isa::avx2},
    {"avx512", isa::avx512},
    {"baseline", isa::baseline},
};

/// The name of an isa as reports print it.
constexpr const char* to_string(isa v) noexcept { return name_of(isa_names, v); }

/// @ingroup simd
/// @brief What this CPU offers that rvq's kernels can use (all false off x86).
struct cpu_features {
  bool sse4_2 = false;      ///< SSE4.2
  bool avx2 = false;        ///< AVX2
  bool fma = false;         ///< FMA3
  bool avx512f = false;     ///< AVX-512 F
  bool avx512bw = false;    ///< AVX-512 BW
  bool avx512dq = false;    ///< AVX-512 DQ
  bool avx512vl = false;    ///< AVX-512 VL
  bool avx512vnni = false;  ///< AVX-512 VNNI (vpdpbusd on zmm)
  bool avx_vnni = false;    ///< AVX-VNNI (vpdpbusd on ymm, VEX)
};

/// One feature of cpu_features, as reports name it.
struct cpu_feature_name {
  const char* name;          ///< the name (as /proc/cpuinfo spells it, mostly)
  bool cpu_features::*flag;  ///< the member that holds it
};

/// Every feature of cpu_features, in the order reports list them.
inline constexpr cpu_feature_name cpu_feature_names[] = {
    {"sse4.2", &cpu_features::sse4_2},     {"avx2", &cpu_features::avx2},
    {"fma", &cpu_features::fma},           {"avx512f", &cpu_features::avx512f},
    {"avx512bw", &cpu_features::avx512bw}, {"avx512dq", &cpu_features::avx512dq},
    {"avx512vl", &cpu_features::avx512vl}, {"avx512vnni", &cpu_features::avx512vnni},
    {"avx_vnni", &cpu_features::avx_vnni}};

/// Every kernel target, in increasing order of capability.
inline constexpr isa all_isas[] = {isa::baseline, isa::avx2, isa::avx512};

/// The features of the CPU this process runs on (the operating system's support of the wider
/// registers included, as `__builtin_cpu_supports` checks it).
inline cpu_features detect_cpu() noexcept {
  cpu_features f;
#if RVQ_DISPATCH_X86
  __builtin_cpu_init();
  f.sse4_2 = __builtin_cpu_supports("sse4.2");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  unsigned a = 0, b = 0, c = 0, d = 0;  // AVX-VNNI: CPUID leaf 7, sub-leaf 1, EAX bit 4
  if (f.avx2 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx_vnni = (a >> 4) & 1u;
#endif
  return f;
}

/// True when this CPU runs the kernels of target `t`.
inline bool isa_supported(isa t, const cpu_features& f = detect_cpu()) noexcept {
  switch (t) {
    case isa::baseline:
      return true;
    case isa::avx2:
      return RVQ_DISPATCH_X86 && f.avx2 && f.fma;
    case isa::avx512:
      return RVQ_DISPATCH_X86 && f.avx512f;
  }
  return false;
}

/// The most capable target this CPU runs.
inline isa best_isa() noexcept {
  const cpu_features f = detect_cpu();
  return isa_supported(isa::avx512, f) ? isa::avx512 : isa_supported(isa::avx2, f) ? isa::avx2 : isa::baseline;
}

namespace detail {
inline constexpr int isa_unset = -1;
/// The process's target (isa_unset until first used).
inline std::atomic<int> active_isa_{isa_unset};
/// Why `RVQ_ISA` was not followed (nullptr when it was, or is not set).
inline std::atomic<const char*> isa_env_note_{nullptr};

/// Parses `RVQ_ISA` ("auto" or a target name) into `out`; returns nullptr or why it is refused.
inline const char* isa_from_text(const char* text, isa& out) noexcept {
  if (same_text(text, "auto") || same_text(text, "")) return out = best_isa(), nullptr;
  if (!parse_name(isa_names, text, out)) return out = best_isa(), "it names no target (valid: auto, " RVQ_ISA_LIST ")";
  if (!isa_supported(out)) return out = best_isa(), "it names a target this CPU cannot run";
  return nullptr;
}
}  // namespace detail

/// @ingroup simd
/// @brief The target the dispatch backend runs: set_isa()'s choice, else `RVQ_ISA` (hosted
/// builds: auto, sse2/neon/scalar, avx2, avx512), else best_isa(). Read on every kernel call (one
/// relaxed atomic load); decided on the first.
inline isa active_isa() noexcept {
  const int v = detail::active_isa_.load(std::memory_order_relaxed);
  if (v != detail::isa_unset) return static_cast<isa>(v);
  isa t = best_isa();
#if RVQ_HOSTED
  if (const char* env = std::getenv("RVQ_ISA")) detail::isa_env_note_.store(detail::isa_from_text(env, t));
#endif
  int expected = detail::isa_unset;
  detail::active_isa_.compare_exchange_strong(expected, static_cast<int>(t));
  return static_cast<isa>(detail::active_isa_.load(std::memory_order_relaxed));
}

/// Why the `RVQ_ISA` environment variable was not followed (the best target runs instead), or
/// nullptr. Tools report it; the rvq CLI refuses to run with it (exit 2).
inline const char* isa_env_note() noexcept {
  (void)active_isa();
  return detail::isa_env_note_.load();
}

/// @ingroup simd
/// @brief Makes `t` the process's target (benchmarks and tests force each in turn). Fails,
/// changing nothing, when this CPU cannot run it. Not meant to race with running kernels: a call
/// that is under way finishes on the target it started with.
inline status set_isa(isa t) noexcept {
  if (!isa_supported(t)) return status{errc::unsupported, "this CPU cannot run the kernels of that target"};
  detail::active_isa_.store(static_cast<int>(t));
  return status::success();
}

/// set_isa() by name: "auto" (the best target) or a name of isa_names.
inline status set_isa(const char* name) noexcept {
  isa t = isa::baseline;
  if (detail::same_text(name, "auto")) return set_isa(best_isa());
  if (!parse_name(isa_names, name, t))
    return status{errc::invalid_argument, "unknown target (valid: auto, " RVQ_ISA_LIST ")"};
  return set_isa(t);
}

}  // namespace rvq
