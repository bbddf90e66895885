// Must not compile: mixed static and dynamic extents.
#include <rvq/quantizer.hpp>
rvq::quantizer<rvq::default_config, rvq::extents<8, rvq::dynamic_extent, 100>> q;
