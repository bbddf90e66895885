// Must not compile: float is not an element policy.
#include <rvq/quantizer.hpp>
rvq::quantizer<rvq::config<float>> q;
