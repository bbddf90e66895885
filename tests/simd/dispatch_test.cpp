// The dispatch backend: every target this CPU runs, forced in turn, against the scalar reference
// (the same codes except at near-ties, the same error to 1e-6 relative); the target names, the
// RVQ_ISA parser and set_isa()'s errors.
#include <catch2/catch.hpp>
#include <rvq/simd/dispatch/kernels.hpp>
#include "../helpers.hpp"

using rvq::matrix_view;
using rvq::span;

namespace {
template <class Simd>
using q_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, Simd>>;

/// Restores the process's target when a test ends.
struct isa_guard {
  rvq::isa saved = rvq::active_isa();
  ~isa_guard() { (void)rvq::set_isa(saved); }
};

std::size_t rows_differ(const std::vector<std::uint16_t>& a, const std::vector<std::uint16_t>& b, std::size_t n,
                        std::size_t l) {
  std::size_t differ = 0;
  for (std::size_t i = 0; i < n; ++i)
    differ += !std::equal(a.begin() + std::ptrdiff_t(i * l), a.begin() + std::ptrdiff_t((i + 1) * l),
                          b.begin() + std::ptrdiff_t(i * l));
  return differ;
}
}  // namespace

TEST_CASE("dispatch: target names and the RVQ_ISA parser", "[simd][dispatch]") {
  for (rvq::isa t : rvq::all_isas) {
    rvq::isa back = rvq::isa::avx512;
    REQUIRE(rvq::parse_name(rvq::isa_names, rvq::to_string(t), back));
    CHECK(back == t);
  }
  rvq::isa t = rvq::isa::avx2;
  CHECK(rvq::detail::isa_from_text("auto", t) == nullptr);
  CHECK(t == rvq::best_isa());
  t = rvq::isa::avx2;
  const char* note = rvq::detail::isa_from_text("avx1024", t);
  REQUIRE(note != nullptr);
  CHECK(std::string(note).find("valid: auto") != std::string::npos);
  CHECK(t == rvq::best_isa());
  CHECK(rvq::detail::isa_from_text("baseline", t) == nullptr);
  CHECK(t == rvq::isa::baseline);
  CHECK(rvq::isa_supported(rvq::isa::baseline));
}

TEST_CASE("dispatch: set_isa refuses unknown names and targets this CPU lacks, changing nothing", "[simd][dispatch]") {
  isa_guard g;
  REQUIRE(rvq::set_isa(rvq::isa::baseline).ok());
  const rvq::status s = rvq::set_isa("avx1024");
  CHECK(s.code() == rvq::errc::invalid_argument);
  CHECK(rvq::active_isa() == rvq::isa::baseline);
  for (rvq::isa t : {rvq::isa::avx2, rvq::isa::avx512})
    if (!rvq::isa_supported(t)) {
      CHECK(rvq::set_isa(t).code() == rvq::errc::unsupported);
      CHECK(rvq::active_isa() == rvq::isa::baseline);
    }
  CHECK(rvq::set_isa("auto").ok());
  CHECK(rvq::active_isa() == rvq::best_isa());
}

TEST_CASE("dispatch: every target this CPU runs gives the scalar reference's codes", "[simd][dispatch]") {
  isa_guard g;
  // Odd sizes: partial panels, partial row blocks (12 rows split into the targets' 6) and tails.
  const std::size_t n = 1501, d = 37, layers = 4, k = 50;
  const auto data = rvq_test::gaussian(n, d, 31);
  auto ref = rvq::train<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, rvq::scalar>>(
      matrix_view<const float>(data.data(), n, d), rvq_test::options(layers, k, 4));
  REQUIRE(ref.ok());
  auto fast = q_t<rvq::dispatch>::from_codebooks(span<const float>(ref->codebook_data(), layers * k * d), layers, k, d);
  REQUIRE(fast.ok());
  std::size_t targets = 0;
  for (rvq::isa t : rvq::all_isas) {
    if (!rvq::isa_supported(t)) {
      WARN("this CPU lacks " << rvq::to_string(t) << ": not tested here");
      continue;
    }
    REQUIRE(rvq::set_isa(t).ok());
    ++targets;
    INFO("target " << rvq::to_string(t));
    for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
      INFO("beam " << beam);
      std::vector<std::uint16_t> a(n * layers), b(n * layers), one(layers);
      REQUIRE(ref->encode_batch(matrix_view<const float>(data.data(), n, d),
                                matrix_view<std::uint16_t>(a.data(), n, layers), {beam})
                  .ok());
      REQUIRE(fast->encode_batch(matrix_view<const float>(data.data(), n, d),
                                 matrix_view<std::uint16_t>(b.data(), n, layers), {beam})
                  .ok());
      CHECK(rows_differ(a, b, n, layers) <= n / 200);  // near-ties only (FMA rounds once)
      std::size_t single_differ = 0;                   // the one-row kernel: single vectors as the batch encodes them
      for (std::size_t i = 0; i < 200; ++i) {
        REQUIRE(fast->encode(span<const float>(data.data() + i * d, d), span<std::uint16_t>(one), {beam}).ok());
        single_differ += !std::equal(one.begin(), one.end(), b.begin() + std::ptrdiff_t(i * layers));
      }
      CHECK(single_differ <= 2);
      rvq::eval_options eo;
      eo.beam = beam;
      const auto ea = rvq::evaluate(*ref, matrix_view<const float>(data.data(), n, d), eo);
      const auto eb = rvq::evaluate(*fast, matrix_view<const float>(data.data(), n, d), eo);
      REQUIRE(ea.ok());
      REQUIRE(eb.ok());
      CHECK(std::fabs(ea->mse - eb->mse) <= 1e-6 * ea->mse);
    }
  }
  CHECK(targets >= 1);
}
