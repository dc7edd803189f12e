// Internal: fills the calling thread's cache of small freed blocks in glibc's malloc, once per thread,
// before the thread runs its first oneDNN product.
//
// Why (docs/performance.md, "Two threads' peak memory"): oneDNN 2.6's gemm:jit allocates its packing
// buffers with posix_memalign at every execution (474 KB aligned to 128 bytes, 16 KB aligned to a
// page). glibc 2.36's memalign takes alignment + 32 bytes more than asked and frees the leftovers
// before and after the aligned block. A leftover under 1 KB goes into the thread's cache of small
// freed blocks (tcache: up to 7 blocks of each size up to 1032 bytes) when its size has room there,
// and the heap counts a block in that cache as in use. So the leftover just past a buffer stays put,
// and when the buffer is freed it cannot merge with the free space beyond: the hole it leaves is a
// little too small for the next memalign of the same size, which takes new memory. Each leftover
// caught this way costs a whole buffer, until the cache is full; on two threads the worker's own
// arena grew to 11.7 MB for at most 0.5 MB in use.
//
// Filling every size of the cache first (7 blocks of each, allocated and freed at once, about 240 KB
// that the thread's own small allocations reuse) leaves the leftovers no room: they go to the heap's
// free lists, merge at the next large request, and the next buffer reuses the last one's place. This
// changes no setting of the process, only what the calling thread's cache holds (which the thread's
// own use would fill anyway). With another malloc it is a few hundred allocations that do nothing.
#pragma once

namespace attograd::backend {

// Fills the calling thread's small-block cache the first time it is called on that thread; afterwards
// it only reads a thread_local flag.
void prime_malloc_cache();

}  // namespace attograd::backend
