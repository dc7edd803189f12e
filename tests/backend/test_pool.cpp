// The worker threads (lib/backend/pool.cpp): every part runs once; a worker that does not come does
// not hold the caller; errors, nested calls and concurrent callers. (The kernels that use the pool and
// their same bits at any thread count are tested in test_parallel.cpp and test_onednn.cpp.)
#include "support/test.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "backend/pool.hpp"

using namespace attograd;
using namespace attograd::backend;
using namespace std::chrono_literals;

namespace {

// Runs a call of `parts` parts on `threads` threads; returns how many times each part ran.
std::vector<int> times_each_part_ran(int threads, std::int64_t parts) {
  std::vector<std::atomic<int>> ran(static_cast<std::size_t>(parts));
  run_parts(threads, parts, [&](std::int64_t part, int) { ran[static_cast<std::size_t>(part)].fetch_add(1); });
  std::vector<int> counts;
  for (const auto& r : ran) counts.push_back(r.load());
  return counts;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pool)

BOOST_AUTO_TEST_CASE(every_part_runs_exactly_once) {
  for (const int threads : {1, 2, 3, 8}) {
    for (const std::int64_t parts : {0, 1, 2, 7, 64, 1000}) {
      for (int repeat = 0; repeat < 20; ++repeat) {
        const std::vector<int> counts = times_each_part_ran(threads, parts);
        for (std::int64_t p = 0; p < parts; ++p) {
          BOOST_TEST_REQUIRE(counts[static_cast<std::size_t>(p)] == 1,
                             "threads " << threads << " parts " << parts << " part " << p);
        }
      }
    }
  }
  BOOST_TEST(pool_workers() >= 2);  // 8 threads were asked for: the pool started workers
}

BOOST_AUTO_TEST_CASE(slots_are_below_the_thread_count_and_a_slot_runs_one_part_at_a_time) {
  std::vector<std::atomic<int>> inside(3);
  std::atomic<bool> overlap{false}, out_of_range{false};
  for (int repeat = 0; repeat < 50; ++repeat) {
    run_parts(3, 64, [&](std::int64_t, int slot) {
      if (slot < 0 || slot >= 3) {
        out_of_range = true;
        return;
      }
      if (inside[static_cast<std::size_t>(slot)].fetch_add(1) != 0) overlap = true;
      std::this_thread::sleep_for(10us);
      inside[static_cast<std::size_t>(slot)].fetch_sub(1);
    });
  }
  BOOST_TEST(!out_of_range.load());
  BOOST_TEST(!overlap.load());
}

BOOST_AUTO_TEST_CASE(a_worker_that_is_held_up_leaves_the_other_parts_to_the_caller) {
  // A worker's part here stays until the caller has done every other part (as if the worker had lost
  // its core). Parts taken one at a time: the caller takes them all while the worker waits. Parts fixed
  // per thread when the call starts, as in an OpenMP loop, would leave half to the waiting worker.
  constexpr std::int64_t kParts = 100;
  for (int repeat = 0; repeat < 10; ++repeat) {
    std::atomic<int> by_caller{0};
    std::atomic<bool> stuck{false};
    run_parts(2, kParts, [&](std::int64_t, int slot) {
      if (slot == 0) {
        by_caller.fetch_add(1);
        return;
      }
      const auto give_up = std::chrono::steady_clock::now() + 5s;
      while (by_caller.load() < kParts - 1) {
        if (std::chrono::steady_clock::now() > give_up) {
          stuck = true;
          return;
        }
        std::this_thread::yield();
      }
    });
    BOOST_TEST_REQUIRE(!stuck.load());
    BOOST_TEST(by_caller.load() >= kParts - 1);
  }
}

BOOST_AUTO_TEST_CASE(an_error_in_a_part_reaches_the_caller_after_the_other_parts) {
  std::atomic<int> ran{0};
  BOOST_CHECK_THROW(run_parts(2, 16,
                              [&](std::int64_t part, int) {
                                ran.fetch_add(1);
                                if (part == 5) throw std::runtime_error("part 5 failed");
                              }),
                    std::runtime_error);
  BOOST_TEST(ran.load() == 16);
  // The pool serves the next call as before.
  const std::vector<int> counts = times_each_part_ran(2, 33);
  for (const int c : counts) BOOST_TEST(c == 1);
}

BOOST_AUTO_TEST_CASE(a_call_from_inside_a_part_runs_on_its_thread) {
  std::atomic<int> inner_total{0};
  std::atomic<bool> inner_left_its_thread{false};
  run_parts(2, 8, [&](std::int64_t, int) {
    const std::thread::id outer = std::this_thread::get_id();
    run_parts(2, 4, [&](std::int64_t, int slot) {
      if (std::this_thread::get_id() != outer || slot != 0) inner_left_its_thread = true;
      inner_total.fetch_add(1);
    });
  });
  BOOST_TEST(inner_total.load() == 32);
  BOOST_TEST(!inner_left_its_thread.load());
}

BOOST_AUTO_TEST_CASE(callers_on_several_threads_each_get_all_their_parts) {
  constexpr int kCallers = 4, kCalls = 200;
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        for (const int count : times_each_part_ran(2, 17)) {
          if (count != 1) wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : callers) t.join();
  BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_CASE(calls_after_the_workers_sleep_still_use_them) {
  // After an idle pause the workers sleep (past kSpin); a call must wake them, not just run alone.
  std::atomic<int> by_workers{0};
  for (int i = 0; i < 20 && by_workers.load() == 0; ++i) {
    std::this_thread::sleep_for(kSpin * 4);
    run_parts(2, 64, [&](std::int64_t, int slot) {
      std::this_thread::sleep_for(20us);
      if (slot != 0) by_workers.fetch_add(1);
    });
  }
  BOOST_TEST(by_workers.load() > 0);
}

BOOST_AUTO_TEST_SUITE_END()
