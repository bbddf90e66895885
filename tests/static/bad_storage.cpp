// Must not compile: int is not a storage policy.
#include <rvq/quantizer.hpp>
rvq::quantizer<rvq::config<rvq::f32, rvq::l2, int>> q;
