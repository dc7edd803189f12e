// The per-thread cache of freed storage blocks (lib/core/storage_cache.cpp): a freed block comes back
// for the next request of its size, never for another size, the cache stays under its limit, and
// tensors built on reused blocks compute as on fresh ones.
#include "support/test.hpp"

#include <cstdint>
#include <thread>

#include "core/storage_cache.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % storage_cache::kAlign == 0; }

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheOn = false;
#else
constexpr bool kCacheOn = true;
#endif

}  // namespace

BOOST_AUTO_TEST_SUITE(storage_cache_tests)

BOOST_AUTO_TEST_CASE(a_freed_block_is_reused_for_the_same_size_only) {
  if (!kCacheOn) return;  // off under AddressSanitizer, by design
  storage_cache::trim();
  void* a = storage_cache::allocate(1000);
  BOOST_TEST(aligned(a));
  storage_cache::release(a, 1000);
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
  const std::size_t big = storage_cache::kLimitBytes / 2 + 64;  // two do not fit
  void* a = storage_cache::allocate(big);
  void* b = storage_cache::allocate(big);
  BOOST_TEST(aligned(a));
  BOOST_TEST(aligned(b));
  storage_cache::release(a, big);
  storage_cache::release(b, big);  // over the limit: goes back to the system
  BOOST_TEST(storage_cache::cached_bytes() == (kCacheOn ? big : 0u));
  BOOST_TEST(storage_cache::cached_bytes() <= storage_cache::kLimitBytes);
  storage_cache::trim();
}

BOOST_AUTO_TEST_CASE(each_thread_has_its_own_cache) {
  if (!kCacheOn) return;
  storage_cache::trim();
  void* a = storage_cache::allocate(4096);
  storage_cache::release(a, 4096);
  std::size_t seen_by_other = 1;
  std::thread([&] { seen_by_other = storage_cache::cached_bytes(); }).join();
  BOOST_TEST(seen_by_other == 0u);
  BOOST_TEST(storage_cache::cached_bytes() == 4096u);
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
