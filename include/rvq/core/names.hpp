/// @file names.hpp
/// @brief Names of enum values as files, reports and the CLI spell them: one `{name, value}`
/// table per enum, kept next to its to_string(), read by to_string() and by every parser.
#pragma once
#include <cstddef>

namespace rvq {

/// One spelling of an enum value. A table lists each value's own name first; later entries with
/// the same value are accepted aliases.
template <class E>
struct named {
  const char* name;  ///< the spelling
  E value;           ///< the value it names
};

namespace detail {
constexpr bool same_text(const char* a, const char* b) noexcept {
  for (; *a && *a == *b; ++a, ++b) {
  }
  return *a == *b;
}
}  // namespace detail

/// The value `s` names in `table`; false when no entry has that name.
template <class E, std::size_t N>
constexpr bool parse_name(const named<E> (&table)[N], const char* s, E& out) noexcept {
  for (const named<E>& n : table)
    if (detail::same_text(n.name, s)) return out = n.value, true;
  return false;
}

/// The own name of `v` (its first entry in `table`), or "unknown".
template <class E, std::size_t N>
constexpr const char* name_of(const named<E> (&table)[N], E v) noexcept {
  for (const named<E>& n : table)
    if (n.value == v) return n.name;
  return "unknown";
}

/// True when entry i of `table` is its value's own name (not an alias).
template <class E, std::size_t N>
constexpr bool is_own_name(const named<E> (&table)[N], std::size_t i) noexcept {
  for (std::size_t j = 0; j < i; ++j)
    if (table[j].value == table[i].value) return false;
  return true;
}

}  // namespace rvq
