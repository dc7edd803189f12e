// The malloc cache filled before a thread's first oneDNN product (lib/backend/malloc_cache.cpp): on a
// new thread, the allocations of gemm:jit's executions (a few small blocks live while it memaligns a
// 474 KB packing buffer aligned to 128 bytes and 16 KB ones aligned to a page, then frees them) must
// reuse the heap rather than grow it. On glibc 2.36 without the filled cache, 200 such executions grow
// the thread's heap by about 13 MB (each leftover of memalign caught in the cache strands a buffer);
// with it, by about 0.5 MB.
#include "support/test.hpp"

#include <cstdlib>
#include <optional>
#include <thread>

#include <malloc.h>

#include "backend/malloc_cache.hpp"
#include "core/storage_cache.hpp"  // ATTOGRAD_SANITIZED

using namespace attograd;

namespace {

// The bytes every malloc arena holds from the system (glibc sums them over the arenas).
std::size_t heap_bytes() {
#if defined(__GLIBC__)
  return mallinfo2().arena;
#else
  return 0;
#endif
}

// What a gemm:jit execution asks of malloc, `rounds` times; returns how much the heap grew, or nothing
// when an allocation failed. (No test macros here: it runs on a thread of its own.)
std::optional<std::size_t> heap_growth_of_executions(int rounds) {
  const std::size_t before = heap_bytes();
  for (int round = 0; round < rounds; ++round) {
    void* small[5];  // the execution's argument map, live throughout
    for (void*& s : small) s = std::malloc(32);
    void* packing = nullptr;
    if (posix_memalign(&packing, 128, 484960) != 0) return std::nullopt;
    for (int i = 0; i < 3; ++i) {
      void* block = nullptr;
      if (posix_memalign(&block, 4096, 16640) != 0) return std::nullopt;
      std::free(block);
    }
    std::free(packing);
    for (void* s : small) std::free(s);
  }
  const std::size_t after = heap_bytes();
  return after > before ? after - before : 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(malloc_cache)

BOOST_AUTO_TEST_CASE(packing_buffers_reuse_the_heap_on_a_primed_thread) {
  std::optional<std::size_t> growth;
  std::thread([&] {
    backend::prime_malloc_cache();
    backend::prime_malloc_cache();  // a second call on the thread does nothing
    growth = heap_growth_of_executions(200);
  }).join();
  BOOST_TEST_REQUIRE(growth.has_value(), "posix_memalign failed");
#if defined(__GLIBC__) && !defined(ATTOGRAD_SANITIZED)
  // 200 executions of 474 KB buffers: four of them would be 1.9 MB.
  BOOST_TEST_MESSAGE("the heap grew " << *growth << " bytes");
  BOOST_TEST(*growth < std::size_t{2} << 20, "the heap grew " << *growth << " bytes");
#else
  BOOST_TEST_MESSAGE("not glibc's malloc: the heap's growth (" << *growth << " bytes) is not checked");
#endif
}

BOOST_AUTO_TEST_SUITE_END()
