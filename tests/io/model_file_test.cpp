// The .rvq format: one header struct, one writer, one parser; every version still loads.
//
// tests/data/models holds files of every format version, written by an earlier build
// (tests/data/models/make_fixtures.sh). Each must load, decode its stored codes to the vectors
// that build decoded, and save back to the very same bytes.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "../helpers.hpp"

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_io_model_file_test {

namespace {
const std::string fixtures = std::string(RVQ_TEST_DATA) + "/models/";

template <class T>
struct is_pipeline : std::false_type {};
template <class C>
struct is_pipeline<rvq::pipeline<C>> : std::true_type {};

std::vector<unsigned char> bytes_of(const std::string& path) {
  std::vector<unsigned char> b;
  REQUIRE(rvq::io::read_file(path, b).ok());
  return b;
}
}  // namespace

TEST_CASE("files of every format version load, decode as when written and save to the same bytes",
          "[io][model][format]") {
  const char* names[] = {"v1_f32_l2",
                         "v1_f32_ip",
                         "v1_f32_cos",
                         "v2_int8",
                         "v2_q15_layer",
                         "v2_q7_pow2",
                         "v2_int4_dim",
                         "v2_int2",
                         "v2_binary",
                         "v2_f16",
                         "v2_bf16",
                         "v3_pq",
                         "v3_rpq_seeded_shared",
                         "v3_pq_int8",
                         "v4_dac",
                         "v4_dac_rpq_projections"};
  for (const std::string name : names) {
    CAPTURE(name);
    const std::string path = fixtures + name + ".rvq";
    const std::vector<unsigned char> file = bytes_of(path);
    auto info = rvq::io::read_model_info(path);
    REQUIRE(info.ok());
    const unsigned version = static_cast<unsigned>(name[1] - '0');
    CHECK(info->version == version);
    CHECK(info->file_bytes == file.size());
    if (version < 4) CHECK(info->version == rvq::io::layout_version(info->element, info->storage));

    rvq::io::ndarray<std::uint16_t> codes;
    rvq::io::ndarray<float> expected;
    REQUIRE(rvq::io::read_npy(fixtures + name + "_codes.npy", codes).ok());
    REQUIRE(rvq::io::read_npy(fixtures + name + "_decoded.npy", expected).ok());
    std::size_t calls = 0;
    const rvq::status st = rvq::io::visit_model(path, [&](const auto& m) {
      ++calls;
      using model_t = std::decay_t<decltype(m)>;
      REQUIRE(codes.cols() == m.layers());
      REQUIRE(expected.cols() == m.dim());
      std::vector<float> y(codes.rows() * m.dim());
      REQUIRE(m.decode_batch(codes.view(), rvq::matrix_view<float>(y.data(), codes.rows(), m.dim())).ok());
      for (std::size_t i = 0; i < y.size(); ++i) {  // sums of the same codewords; projections may fuse differently
        CAPTURE(i);
        CHECK(std::fabs(y[i] - expected.values[i]) <= 1e-5f * (1.0f + std::fabs(expected.values[i])));
      }
      std::vector<unsigned char> again;
      if constexpr (is_pipeline<model_t>::value) {
        REQUIRE(rvq::io::pipeline_bytes(m, again).ok());
        CHECK(again == file);
      } else if (info->element != rvq::element_id::f16 && info->element != rvq::element_id::bf16) {
        REQUIRE(rvq::io::model_bytes(m, again).ok());  // f16/bf16 are widened into f32 quantizers
        CHECK(again == file);
      }
    });
    REQUIRE(st.ok());
    CHECK(calls == 1);

    std::vector<unsigned char> again;
    if (version == 2) {
      auto q = rvq::io::load_quantized(path);
      REQUIRE(q.ok());
      CHECK(q->metric == info->metric);
      REQUIRE(rvq::io::quantized_bytes(q->codebooks, q->metric, again).ok());
      CHECK(again == file);
    } else if (version == 3) {
      auto p = rvq::io::load_product(path);
      REQUIRE(p.ok());
      CHECK(p->metric == info->metric);
      REQUIRE(rvq::io::product_bytes(p->codebooks, p->metric, again).ok());
      CHECK(again == file);
    } else {  // the kind-specific loaders refuse what is not theirs
      CHECK(rvq::io::load_quantized(path).error().code() == rvq::errc::invalid_argument);
      CHECK(rvq::io::load_product(path).error().code() == rvq::errc::invalid_argument);
    }
  }
}

TEST_CASE("the header parser derives the layout from the ids and refuses a version that disagrees",
          "[io][model][format][errors]") {
  using rvq::element_id;
  using rvq::storage_id;
  CHECK(rvq::io::layout_version(element_id::f32, storage_id::dense) == 1);
  CHECK(rvq::io::layout_version(element_id::int8, storage_id::dense) == 2);
  CHECK(rvq::io::layout_version(element_id::f16, storage_id::dense) == 2);
  CHECK(rvq::io::layout_version(element_id::f32, storage_id::rpq) == 3);
  CHECK(rvq::io::layout_version(element_id::int8, storage_id::pq) == 3);

  // One writer: the header struct of a parsed file writes back its bytes.
  for (const char* name : {"v1_f32_l2", "v2_int4_dim", "v2_f16", "v3_pq_int8", "v3_rpq_seeded_shared"}) {
    CAPTURE(name);
    const std::vector<unsigned char> file = bytes_of(fixtures + name + ".rvq");
    rvq::io::detail::model_header h;
    REQUIRE(rvq::io::detail::parse_header(file.data(), file.size(), h).ok());
    const std::vector<unsigned char> head = rvq::io::detail::write_header(h);
    REQUIRE(head.size() == h.bytes());
    CHECK(std::equal(head.begin(), head.end(), file.begin()));
    CHECK(rvq::io::detail::expected_payload(h) == file.size() - head.size() - 4);
  }

  auto refused = [](std::vector<unsigned char> b, std::uint32_t version, const char* what) {
    rvq::io::detail::put_u32le(b.data() + 8, version);
    rvq::io::detail::model_header h;
    const rvq::status s = rvq::io::detail::parse_header(b.data(), b.size(), h);
    INFO(rvq::describe(s));
    CHECK(s.code() == rvq::errc::corrupt_file);
    CHECK(rvq::describe(s).find(what) != std::string::npos);
  };
  refused(bytes_of(fixtures + "v2_int8.rvq"), 1, "f32 models are format version 1");
  refused(bytes_of(fixtures + "v3_pq.rvq"), 1, "versions 1 and 2 hold dense models");
  refused(bytes_of(fixtures + "v1_f32_l2.rvq"), 3, "version 3 holds pq (2) or rpq (3) models");
  refused(bytes_of(fixtures + "v2_q7_pow2.rvq"), 3, "pq/rpq sub-codebooks are f32 (1) or int8 (4)");
}

}  // namespace rvq_test_io_model_file_test
