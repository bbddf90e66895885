// Must not compile: int is not a metric policy.
#include <rvq/quantizer.hpp>
rvq::quantizer<rvq::config<rvq::f32, int>> q;
