/// @file crc32.hpp
/// @brief CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib and PNG compute it.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace rvq::detail {

constexpr std::array<std::uint32_t, 256> make_crc32_table() noexcept {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
inline constexpr std::array<std::uint32_t, 256> crc32_table = make_crc32_table();

/// Running CRC: start with crc32_update(0, ...), feed more bytes with the returned value.
inline std::uint32_t crc32_update(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = crc32_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

}  // namespace rvq::detail
