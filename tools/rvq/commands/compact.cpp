// rvq compact: drop duplicate and unused codewords.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace compact_command_impl {

int run(const args& a) {
  const std::string mp = a.need("model"), out = a.need("output"), remap_path = a.get("remap");
  const rvq::io::model_info info = single_model_header(mp);
  if (info.product)
    throw data_error{mp + ": compaction works on dense f32 models (this one is " +
                     std::string(rvq::to_string(info.storage)) + "); compact the dense model, then compress it"};
  if (info.element != rvq::element_id::f32)
    throw data_error{mp + ": compaction works on f32 models (this one is " + std::string(rvq::to_string(info.element)) +
                     "); compact the f32 model, then quantize it"};
  rvq::io::ndarray<float> x;
  const std::string calib = a.get("calibrate-on");
  if (!calib.empty()) x = read_matrix(calib);
  return with_metric(info.metric, [&](auto m) {
    using q_t = rvq::quantizer<rvq::config<rvq::f32, decltype(m)>>;
    const q_t q = load<typename q_t::config_type>(mp);
    if (!calib.empty()) check_dim(q, x, calib);
    const auto xv = calib.empty() ? rvq::matrix_view<const float>() : x.view();
    q_t c;
    std::vector<std::vector<std::uint32_t>> remap;
    rvq::compact_report rep;
    const rvq::status s = rvq::compact(q, xv, c, &remap, &rep);
    if (!s) fail_file(calib.empty() ? mp : calib, s);
    // The promise, checked: every calibration vector reconstructs exactly as before.
    const std::size_t n = x.rows(), nl = q.layers(), d = q.dim();
    if (!calib.empty()) {
      std::vector<std::uint16_t> ca(n * nl), cb(n * nl);
      std::vector<float> ya(n * d), yb(n * d);
      rvq::status e = q.encode_batch(xv, rvq::matrix_view<std::uint16_t>(ca.data(), n, nl));
      if (e) e = c.encode_batch(xv, rvq::matrix_view<std::uint16_t>(cb.data(), n, nl));
      if (e)
        e = q.decode_batch(rvq::matrix_view<const std::uint16_t>(ca.data(), n, nl),
                           rvq::matrix_view<float>(ya.data(), n, d));
      if (e)
        e = c.decode_batch(rvq::matrix_view<const std::uint16_t>(cb.data(), n, nl),
                           rvq::matrix_view<float>(yb.data(), n, d));
      if (!e) fail_file(calib, e);
      if (ya != yb)
        throw data_error{calib + ": vectors reconstruct differently after compaction (a bug: please report it)"};
    }
    if (!remap_path.empty()) {  // int32, L x max K: the new index of each old codeword, -1 past K_l
      std::size_t kmax = 0;
      for (const auto& r : remap) kmax = std::max(kmax, r.size());
      std::vector<std::int32_t> table(remap.size() * kmax, -1);
      for (std::size_t l = 0; l < remap.size(); ++l)
        for (std::size_t k = 0; k < remap[l].size(); ++k) table[l * kmax + k] = static_cast<std::int32_t>(remap[l][k]);
      const std::size_t shape[2] = {remap.size(), kmax};
      const rvq::status ws = rvq::io::write_npy(remap_path, table.data(), rvq::span<const std::size_t>(shape));
      if (!ws) fail_file(remap_path, ws);
    }
    save(c, out);
    if (!a.flag("quiet")) {
      say("  layer  codewords  duplicates   dead   kept\n");
      for (std::size_t l = 0; l < rep.codewords_before.size(); ++l)
        say("  %5zu  %9zu  %10zu  %5zu  %5zu\n", l + 1, rep.codewords_before[l], rep.duplicates[l], rep.dead[l],
            rep.codewords_after[l]);
      say("codebook bytes   %zu -> %zu (%zu saved, %.1f%%)\n", rep.bytes_before, rep.bytes_after,
          rep.bytes_before - rep.bytes_after,
          100.0 * double(rep.bytes_before - rep.bytes_after) / double(rep.bytes_before));
      if (!calib.empty())
        say("calibration      all %zu vectors of %s reconstruct exactly as before\n", n, calib.c_str());
      else
        say("calibration      none (--calibrate-on): exact duplicates only\n");
      say("wrote %s%s%s\n", out.c_str(), remap_path.empty() ? "" : " and ", remap_path.c_str());
    }
    return 0;
  });
}

}  // namespace compact_command_impl
}  // namespace

const command compact_command{
    "compact",
    "drop duplicate codewords and, with X, codewords X never selects: X reconstructs as before (f32 models)",
    compact_command_impl::run,
    {
        opt::model("an f32 dense model"),
        opt::output("M2.rvq"),
        opt::calibrate_on("vectors whose reconstruction must not change"),
        opt::writes("remap", "R.npy", "write int32 L x K: the new index of each old codeword, -1 past a layer's K"),
        opt::quiet(),
    }};

}  // namespace rvq_cli
