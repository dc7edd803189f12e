// The per-thread cache of freed storage blocks (lib/core/storage_cache.cpp): a freed block comes back
// for the next request of its size, never for another size; the cache stays under its limit by
// freeing its least recently used sizes, so a run whose shapes keep changing stays within a bounded
// memory; a size unused for kStaleBytes of traffic is freed; big blocks freed leave the process even
// between live ones; giving a block back never throws; and tensors built on reused blocks compute as
// on fresh ones. Under the sanitizers the cache is off (storage_cache::kEnabled): every case checks that then.
#include "support/test.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <thread>
#include <vector>

#include <unistd.h>

#include "core/storage_cache.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % storage_cache::kAlign == 0; }

constexpr bool kCacheOn = storage_cache::kEnabled;

// While set, every operator new of the program fails: the cache's own bookkeeping then cannot grow.
std::atomic<bool> fail_new{false};

// The process's resident memory, in bytes (Linux).
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

// The program's operator new and delete (replacing the standard ones for the library too), so that a
// test can make the cache's bookkeeping run out of memory.
void* operator new(std::size_t bytes) {
  if (fail_new.load(std::memory_order_relaxed)) throw std::bad_alloc();
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

BOOST_AUTO_TEST_SUITE(storage_cache_tests)

BOOST_AUTO_TEST_CASE(a_freed_block_is_reused_for_the_same_size_only) {
  storage_cache::trim();
  void* a = storage_cache::allocate(1000);
  BOOST_TEST(aligned(a));
  storage_cache::release(a, 1000);
  if (!kCacheOn) {  // under the sanitizers every block goes straight back to the system
    BOOST_TEST(storage_cache::cached_bytes() == 0u);
    return;
  }
  BOOST_TEST(storage_cache::cached_bytes() == 1024u);  // 1000 rounded up to whole 64-byte lines
  void* other = storage_cache::allocate(5000);  // another size: not the cached block
  BOOST_TEST(other != a);
  BOOST_TEST(storage_cache::cached_bytes() == 1024u);
  void* again = storage_cache::allocate(1000);
  BOOST_TEST(again == a);
  BOOST_TEST(storage_cache::cached_bytes() == 0u);
  void* same_lines = nullptr;
  storage_cache::release(again, 1000);
  same_lines = storage_cache::allocate(1020);  // rounds to the same 1024 bytes: may take the block
  BOOST_TEST(same_lines == a);
  storage_cache::release(same_lines, 1020);
  storage_cache::release(other, 5000);
  BOOST_TEST(storage_cache::cached_bytes() == 1024u + 5056u);
  storage_cache::trim();
  BOOST_TEST(storage_cache::cached_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(the_cache_stays_under_its_limit) {
  storage_cache::trim();
  const std::size_t big = storage_cache::kLimitBytes / 2 + storage_cache::kPageBytes;  // two do not fit
  void* a = storage_cache::allocate(big);
  void* b = storage_cache::allocate(big);
  BOOST_TEST(aligned(a));
  BOOST_TEST(aligned(b));
  storage_cache::release(a, big);
  storage_cache::release(b, big);  // over the limit, and only its own size to make room: freed
  BOOST_TEST(storage_cache::cached_bytes() == (kCacheOn ? big : 0u));
  void* huge = storage_cache::allocate(storage_cache::kLimitBytes + 1);
  storage_cache::release(huge, storage_cache::kLimitBytes + 1);  // larger than the whole cache: freed
  BOOST_TEST(storage_cache::cached_bytes() == (kCacheOn ? big : 0u));
  storage_cache::trim();
}

// The blocks are allocated and never written, so the system maps no memory for them.
BOOST_AUTO_TEST_CASE(a_full_cache_frees_its_least_recently_used_sizes) {
  storage_cache::trim();
  const std::size_t quarter = storage_cache::kLimitBytes / 4, page = storage_cache::kPageBytes;
  const std::size_t sizes[4] = {quarter, quarter - page, quarter - 2 * page, quarter - 3 * page};
  for (std::size_t s : sizes) storage_cache::release(storage_cache::allocate(s), s);
  const std::size_t full = 4 * quarter - 6 * page;
  BOOST_TEST(storage_cache::cached_bytes() == (kCacheOn ? full : 0u));
  // Use sizes[0] again: sizes[1] is now the least recently used.
  storage_cache::release(storage_cache::allocate(sizes[0]), sizes[0]);
  // A new size does not fit: sizes[1]'s bin is freed to make room, and the new block is kept.
  const std::size_t fresh = quarter - 4 * page;
  storage_cache::release(storage_cache::allocate(fresh), fresh);
  BOOST_TEST(storage_cache::cached_bytes() == (kCacheOn ? full - sizes[1] + fresh : 0u));
  // What is left is found again: taking a cached block lowers cached_bytes by its size.
  for (std::size_t s : {fresh, sizes[0], sizes[2], sizes[3]}) {
    const std::size_t before = storage_cache::cached_bytes();
    void* block = storage_cache::allocate(s);
    BOOST_TEST_INFO("size " << s);
    BOOST_TEST(before - storage_cache::cached_bytes() == (kCacheOn ? s : 0u));
    storage_cache::release(block, s);
  }
  const std::size_t before = storage_cache::cached_bytes();
  void* block = storage_cache::allocate(sizes[1]);  // evicted: comes from the system
  BOOST_TEST(storage_cache::cached_bytes() == before);
  storage_cache::release(block, sizes[1]);
  storage_cache::trim();
}

BOOST_AUTO_TEST_CASE(ever_changing_shapes_stay_within_the_limit) {
  ThreadCount one(1);  // one cache, this thread's, sees every block
  storage_cache::trim();
  const std::size_t start = resident_bytes();
  std::size_t peak = start;
  // 120 steps of three 1-1.5 MB tensors, every step a new shape (a page longer): 450 MB allocated,
  // written and freed.
  for (std::int64_t step = 0; step < 120; ++step) {
    const Tensor a = full({(1 << 18) + 1024 * step}, 1.0);
    const Tensor b = a * 2.0;
    const Tensor c = a + b;
    BOOST_TEST_REQUIRE(c.data<float>()[1024 * step] == 3.0f);
    peak = std::max(peak, resident_bytes());
    BOOST_TEST_REQUIRE(storage_cache::cached_bytes() <= storage_cache::kLimitBytes);
  }
  // The bound of docs/architecture.md: live tensors (4.5 MB here) plus kLimitBytes per thread; the
  // blocks are mapped, so malloc's heap keeps none of them. Under AddressSanitizer the freed memory
  // sits in its quarantine instead (256 MB), with shadow memory on top: only the cache's part is
  // checked there.
  if (kCacheOn) {
    BOOST_TEST(peak - start <= storage_cache::kLimitBytes + (std::size_t{16} << 20),
               "resident memory grew by " << (peak - start) / 1024 / 1024 << " MB");
  }
  // The cache holds the recent sizes, not the first ones: the last step's size is taken from it.
  const std::size_t last = ((1 << 18) + 1024 * 119) * sizeof(float);
  const std::size_t cached = storage_cache::cached_bytes();
  void* block = storage_cache::allocate(last);
  BOOST_TEST(cached - storage_cache::cached_bytes() == (kCacheOn ? last : 0u));
  storage_cache::release(block, last);
  storage_cache::trim();
}

// The blocks cycled here are never written, so the system maps no memory for them.
BOOST_AUTO_TEST_CASE(a_size_unused_for_a_while_is_freed) {
  storage_cache::trim();
  const std::size_t rare = 3 << 16, often = 5 << 16, cycled = std::size_t{64} << 20;
  storage_cache::release(storage_cache::allocate(rare), rare);
  storage_cache::release(storage_cache::allocate(often), often);
  const storage_cache::Stats start = storage_cache::stats();
  BOOST_TEST(start.cached_bytes == (kCacheOn ? rare + often : 0u));
  // Traffic of more than kStaleBytes in one other size, `often` used along the way, `rare` never.
  std::size_t traffic = 0;
  while (traffic <= storage_cache::kStaleBytes) {
    storage_cache::release(storage_cache::allocate(cycled), cycled);
    storage_cache::release(storage_cache::allocate(often), often);
    traffic += 2 * (cycled + often);
  }
  const storage_cache::Stats end = storage_cache::stats();
  if (!kCacheOn) {
    BOOST_TEST(end.cached_bytes == 0u);
    return;
  }
  BOOST_TEST(end.cached_bytes == cycled + often);  // `rare` went stale; the reused sizes stayed
  BOOST_TEST(end.sizes == 2u);
  BOOST_TEST(end.stale_bytes - start.stale_bytes == rare);
  BOOST_TEST(end.traffic_bytes - start.traffic_bytes == traffic);
  BOOST_TEST(end.misses - start.misses == 1u);  // the first `cycled`; every later request was a hit
  BOOST_TEST(end.hits - start.hits == traffic / (cycled + often) - 1);
  storage_cache::trim();
}

// Freed big blocks between live ones: from malloc's heap (where they land once glibc has raised its
// mmap threshold, as it does when a mapped chunk is freed) they would stay resident behind the live
// block above them; mapped, they leave the process when the cache frees them.
BOOST_AUTO_TEST_CASE(big_blocks_freed_between_live_ones_leave_the_process) {
  ThreadCount one(1);
  storage_cache::trim();
  const std::size_t mb = std::size_t{1} << 20;
  storage_cache::release(storage_cache::allocate(2 * mb), 2 * mb);
  storage_cache::trim();  // a freed 2 MB block: glibc would now serve 1 MB from its heap
  const std::size_t start = resident_bytes();
  std::vector<void*> blocks;
  for (int i = 0; i < 64; ++i) {  // 64 MB, written
    blocks.push_back(storage_cache::allocate(mb));
    std::memset(blocks.back(), 1, mb);
  }
  const std::size_t written = resident_bytes();
  for (int i = 0; i < 63; ++i) storage_cache::release(blocks[i], mb);  // all but the last
  storage_cache::trim();
  const std::size_t after = resident_bytes();
  if (kCacheOn) {  // under AddressSanitizer freed memory waits in its quarantine
    BOOST_TEST(written - start >= 60 * mb);
    BOOST_TEST(after - start <= 8 * mb, "still resident after the blocks were freed: " << (after - start) / mb
                                                                                       << " MB");
  }
  storage_cache::release(blocks[63], mb);
  storage_cache::trim();
}

BOOST_AUTO_TEST_CASE(giving_a_block_back_never_throws) {
  BOOST_TEST(noexcept(storage_cache::release(nullptr, 0)));
  storage_cache::trim();
  void* block = storage_cache::allocate(3 << 12);
  // A new size needs a new bin, and the bin cannot be made: the block goes back to the system.
  bool threw = false;
  fail_new = true;
  try {
    storage_cache::release(block, 3 << 12);
  } catch (...) {
    threw = true;
  }
  fail_new = false;  // before any assertion: Boost.Test allocates
  BOOST_TEST(!threw);
  BOOST_TEST(storage_cache::cached_bytes() == 0u);
  // And with memory, the same size is cached as usual.
  storage_cache::release(storage_cache::allocate(3 << 12), 3 << 12);
  BOOST_TEST(storage_cache::cached_bytes() == (kCacheOn ? std::size_t{3 << 12} : 0u));
  storage_cache::trim();
}

BOOST_AUTO_TEST_CASE(each_thread_has_its_own_cache) {
  storage_cache::trim();
  void* a = storage_cache::allocate(4096);
  storage_cache::release(a, 4096);
  std::size_t seen_by_other = 1;
  std::thread([&] { seen_by_other = storage_cache::cached_bytes(); }).join();
  BOOST_TEST(seen_by_other == 0u);
  BOOST_TEST(storage_cache::cached_bytes() == (kCacheOn ? 4096u : 0u));
  // A block allocated here and freed on another thread joins that thread's cache, not this one's.
  void* b = storage_cache::allocate(8192);
  std::size_t other_after_release = 0;
  std::thread([&] {
    storage_cache::release(b, 8192);
    other_after_release = storage_cache::cached_bytes();
  }).join();
  BOOST_TEST(other_after_release == (kCacheOn ? 8192u : 0u));
  BOOST_TEST(storage_cache::cached_bytes() == (kCacheOn ? 4096u : 0u));
  storage_cache::trim();
}

BOOST_AUTO_TEST_CASE(tensors_on_reused_blocks_compute_as_on_fresh_ones) {
  storage_cache::trim();
  for (int round = 0; round < 3; ++round) {
    Tensor x = tensor({1.0, 2.0, 3.0, 4.0}).reshape({2, 2}).requires_grad_();
    Tensor y = (x * x).sum();
    y.backward();
    check_values(x.grad(), {2.0, 4.0, 6.0, 8.0});
    BOOST_TEST(y.item() == 30.0);
    // zeros() on a block that held values must still be zeros.
    check_values(zeros({2, 2}), {0.0, 0.0, 0.0, 0.0});
  }
}

BOOST_AUTO_TEST_SUITE_END()
