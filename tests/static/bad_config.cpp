// Must not compile: a config without a simd axis.
#include <rvq/quantizer.hpp>
struct my_config {
  using element = rvq::f32;
  using metric = rvq::l2;
  using storage = rvq::dense;
  using parallel = rvq::sequential;
};
rvq::quantizer<my_config> q;
