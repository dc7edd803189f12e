// The calling thread's small-block cache in glibc's malloc, filled once (malloc_cache.hpp says why).
#include "backend/malloc_cache.hpp"

#include <array>
#include <cstddef>
#include <cstdlib>

namespace attograd::backend {

namespace {

// glibc's defaults: the cache keeps up to 7 freed blocks of each size, for requests of up to 1032
// bytes, in 64 sizes 16 bytes apart (24, 40, ..., 1032 bytes asked for).
constexpr int kBlocksPerSize = 7;
constexpr std::size_t kSmallest = 24, kLargest = 1032, kStep = 16;
constexpr std::size_t kSizes = (kLargest - kSmallest) / kStep + 1;

}  // namespace

void prime_malloc_cache() {
  thread_local bool primed = false;
  if (primed) return;
  primed = true;
  // All taken before any is freed, so that each size gets 7 blocks of its own (a block freed early
  // would be handed out again by the next request of its size).
  // Called through volatile pointers: the compiler may drop a malloc whose block is only freed.
  void* (*volatile take)(std::size_t) = std::malloc;
  void (*volatile give_back)(void*) = std::free;
  std::array<void*, kSizes * kBlocksPerSize> blocks{};
  std::size_t n = 0;
  for (std::size_t size = kSmallest; size <= kLargest; size += kStep) {
    for (int i = 0; i < kBlocksPerSize; ++i) blocks[n++] = take(size);
  }
  for (void* block : blocks) give_back(block);  // free(nullptr), after a failed malloc, does nothing
}

}  // namespace attograd::backend
