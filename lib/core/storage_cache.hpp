// Internal: where Storage gets its bytes. A training step allocates the same sizes every step (each
// op's result, each saved value, each gradient), and frees them all when the step's graph goes. Freed
// blocks therefore wait in a per-thread cache keyed by their size, and the next request of that size
// takes one back: no malloc, and no page faults on memory the kernel maps and zeroes afresh (the
// transformers' 1-4 MB tensors are above glibc's mmap threshold, so without the cache every step
// mapped and faulted in all of them: about a tenth of the step, docs/performance.md).
//
//   void* p = storage_cache::allocate(4096);   // 64-byte aligned
//   storage_cache::release(p, 4096);           // the same size it was allocated with
//
// The cache holds at most kLimitBytes per thread; beyond that, freed blocks go back to the system.
// Under AddressSanitizer it is off, so that a use after free is still reported.
#pragma once

#include <cstddef>

namespace attograd::storage_cache {

inline constexpr std::size_t kAlign = 64;  // a cache line, and the widest vector load
inline constexpr std::size_t kLimitBytes = std::size_t{256} << 20;

// A block of at least `bytes` (> 0), aligned to kAlign. Throws std::bad_alloc.
void* allocate(std::size_t bytes);
// Gives back a block from allocate(bytes), with the same bytes.
void release(void* block, std::size_t bytes);

// What the calling thread's cache holds now (tests).
std::size_t cached_bytes();
// Frees every block the calling thread's cache holds.
void trim();

}  // namespace attograd::storage_cache
