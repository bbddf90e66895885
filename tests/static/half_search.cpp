// Must not compile: f16 is a storage format, not an element a quantizer searches in.
#include <rvq/quantizer.hpp>
rvq::quantizer<rvq::config<rvq::f16>> q;
