// A cache key of N machine words, zero-filled, and its hash: building, hashing and comparing one is a
// few dozen word operations (far below oneDNN's own primitive-cache lookup). The oneDNN product cache
// and the bf16 mode's kept copies use it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace attograd::backend {

template <std::size_t N>
struct WordKey {
  std::array<std::int64_t, N> words{};
  bool operator==(const WordKey&) const = default;
};

struct WordKeyHash {
  template <std::size_t N>
  std::size_t operator()(const WordKey<N>& key) const {
    std::uint64_t h = 0;
    for (std::int64_t w : key.words) {
      h = (h ^ static_cast<std::uint64_t>(w)) * 0x9E3779B97F4A7C15ull;
      h ^= h >> 29;
    }
    return h;
  }
};

}  // namespace attograd::backend
