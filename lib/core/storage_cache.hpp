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
// The rules (docs/architecture.md, "Data"):
// - Each thread's cache holds at most kLimitBytes of blocks, in at most kMaxSizes bins of one size
//   each. A block that would pass either limit makes room by freeing whole bins of the least recently
//   used sizes (a size is used when a block of it is taken or given back), so a run whose shapes keep
//   changing keeps only its recent sizes. A block larger than kLimitBytes is never kept.
// - A size that has not been used while the thread's cache saw kStaleBytes of traffic (the bytes of
//   every block taken or given back, hits and misses alike) is stale: its bin is freed. The cache so
//   holds what the program reuses, not everything it ever freed up to the limit: a rare shape (a
//   validation batch, the longest words' batch) costs its pages again when it comes back, which is
//   little against the kStaleBytes of work done in between.
// - Blocks of kMapBytes or more are mapped from the system (mmap) and unmapped when freed, so that a
//   freed bin's memory really leaves the process. From malloc they would land in its heap once glibc
//   raised its mmap threshold (it does when a mapped chunk is freed), where freed blocks between live
//   ones stay resident: 11_words held 334 MB of such free heap at step 3,000 (docs/performance.md).
// - A block joins the cache of the thread that releases it, whichever thread allocated it.
// - A thread's cache is freed when the thread ends; trim() frees it earlier.
// - release() never throws: if the cache cannot record a block, the block goes back to the system.
// - Under any sanitizer the cache is off and every block is exactly the size asked for, so that a read
//   past a tensor's end or after its storage is freed is reported.
#pragma once

#include <cstddef>

namespace attograd::storage_cache {

// Is this build sanitized (AddressSanitizer, MemorySanitizer, ThreadSanitizer, HWASan)? g++ says so
// with __SANITIZE_*__ macros; clang (the fuzz build) only through __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_HWADDRESS__)
#define ATTOGRAD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(hwaddress_sanitizer)
#define ATTOGRAD_SANITIZED 1
#endif
#endif

#if defined(ATTOGRAD_SANITIZED)
inline constexpr bool kEnabled = false;
#else
inline constexpr bool kEnabled = true;
#endif

inline constexpr std::size_t kAlign = 64;  // a cache line, and the widest vector load
inline constexpr std::size_t kLimitBytes = std::size_t{256} << 20;
inline constexpr std::size_t kMaxSizes = 4096;
inline constexpr std::size_t kStaleBytes = std::size_t{4} << 30;
inline constexpr std::size_t kMapBytes = std::size_t{128} << 10;  // glibc's own initial mmap threshold
inline constexpr std::size_t kPageBytes = 4096;  // mapped blocks are whole pages

// A block of at least `bytes` (> 0), aligned to kAlign: rounded up to whole kAlign lines (whole pages
// from kMapBytes on) when the cache is on, exactly `bytes` when it is off. Throws std::bad_alloc.
void* allocate(std::size_t bytes);
// Gives back a block from allocate(bytes), with the same bytes.
void release(void* block, std::size_t bytes) noexcept;

// What the calling thread's cache holds now (tests).
std::size_t cached_bytes();

// The calling thread's cache in numbers, for tests and for measuring a program's memory.
struct Stats {
  std::size_t cached_bytes = 0;   // held now
  std::size_t sizes = 0;          // bins held now, one per size
  std::size_t traffic_bytes = 0;  // of every block taken or given back since the thread started
  std::size_t hits = 0;           // requests served from the cache
  std::size_t misses = 0;         // requests that went to the system
  std::size_t stale_bytes = 0;    // freed because their size went stale (kStaleBytes)
  std::size_t full_bytes = 0;     // freed to make room under kLimitBytes or kMaxSizes
};
Stats stats();
// Frees every block the calling thread's cache holds.
void trim();

}  // namespace attograd::storage_cache
