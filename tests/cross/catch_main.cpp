// Catch2's main for the cross-compiled test binaries (no Catch2 library for the target).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
