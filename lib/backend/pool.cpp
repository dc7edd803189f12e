// attograd's worker threads (pool.hpp).
//
// One call at a time is published in a single 64-bit word: its number, its thread count, its part
// count, and the next part to take. Taking a part is one compare-and-swap on that word, which fails
// once the call is over or another call has started, so a late worker can never take a part of a
// call that is not the one it saw. Idle workers sleep on a futex; a call wakes them only when some
// sleep.
#include "backend/pool.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include <immintrin.h>
#include <omp.h>

namespace attograd::backend {

namespace {

using Clock = std::chrono::steady_clock;

// The word: call number (24 bits) | threads (8) | parts (16) | next part (16).
struct Word {
  std::uint32_t call, threads, parts, next;
};
constexpr std::uint64_t pack(Word w) {
  return (std::uint64_t{w.call & 0xFFFFFFu} << 40) | (std::uint64_t{w.threads & 0xFFu} << 32) |
         (std::uint64_t{w.parts & 0xFFFFu} << 16) | std::uint64_t{w.next & 0xFFFFu};
}
constexpr Word unpack(std::uint64_t v) {
  return {static_cast<std::uint32_t>(v >> 40), static_cast<std::uint32_t>((v >> 32) & 0xFFu),
          static_cast<std::uint32_t>((v >> 16) & 0xFFFFu), static_cast<std::uint32_t>(v & 0xFFFFu)};
}
static_assert(kMostParts < 0xFFFF);
constexpr int kMostThreads = 255;

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

std::uint32_t* futex_word(std::atomic<std::uint32_t>& a) { return reinterpret_cast<std::uint32_t*>(&a); }
void futex_wait(std::atomic<std::uint32_t>& a, std::uint32_t expected) {
  syscall(SYS_futex, futex_word(a), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake(std::atomic<std::uint32_t>& a) {
  syscall(SYS_futex, futex_word(a), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

thread_local bool on_worker = false;

class Pool {
 public:
  // Runs one call; false when the pool serves another caller (the caller then runs the parts itself).
  bool run(int threads, std::int64_t parts, PartTask task) {
    bool idle = false;
    if (!busy_.compare_exchange_strong(idle, true, std::memory_order_acquire)) return false;
    threads = std::min(threads, start_workers(threads - 1) + 1);
    if (threads <= 1) {
      busy_.store(false, std::memory_order_release);
      return false;
    }
    task_ = task;
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    const std::uint32_t call = ++call_;
    word_.store(pack({call, static_cast<std::uint32_t>(threads), static_cast<std::uint32_t>(parts), 0}),
                std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      wake_.fetch_add(1, std::memory_order_seq_cst);
      futex_wake(wake_);
    }
    take_parts(call & 0xFFFFFFu, 0);
    wait_done(static_cast<std::uint32_t>(parts));
    const std::exception_ptr error = error_;
    busy_.store(false, std::memory_order_release);
    if (error) std::rethrow_exception(error);
    return true;
  }

  int workers() const { return started_.load(std::memory_order_relaxed); }

 private:
  // Starts workers until there are `wanted`; returns how many there are (fewer when the system
  // refuses a thread). Called by the one caller the busy flag admits.
  int start_workers(int wanted) {
    wanted = std::min(wanted, kMostThreads - 1);
    int have = started_.load(std::memory_order_relaxed);
    while (have < wanted) {
      try {
        std::thread(&Pool::worker, this, have + 1, unpack(word_.load()).call).detach();
      } catch (const std::system_error&) {
        break;
      }
      started_.store(++have, std::memory_order_relaxed);
    }
    return have;
  }

  // Takes and computes parts of call `call` until none is left or the call is over.
  void take_parts(std::uint32_t call, int slot) {
    std::uint64_t v = word_.load(std::memory_order_acquire);
    for (;;) {
      const Word w = unpack(v);
      if (w.call != call || w.next >= w.parts || slot >= static_cast<int>(w.threads)) return;
      if (!word_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      try {
        task_.call(task_.body, w.next, slot);
      } catch (...) {
        const std::lock_guard lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == w.parts &&
          caller_waiting_.load(std::memory_order_seq_cst)) {
        futex_wake(done_);
      }
      v = word_.load(std::memory_order_acquire);
    }
  }

  // The caller, every part taken: waits for the parts workers are still computing.
  void wait_done(std::uint32_t parts) {
    const Clock::time_point until = Clock::now() + kSpin;
    while (done_.load(std::memory_order_acquire) < parts) {
      for (int i = 0; i < 64; ++i) _mm_pause();
      if (Clock::now() < until) continue;
      caller_waiting_.store(true, std::memory_order_seq_cst);
      for (std::uint32_t d; (d = done_.load(std::memory_order_seq_cst)) < parts;) futex_wait(done_, d);
      caller_waiting_.store(false, std::memory_order_relaxed);
    }
  }

  // A worker: a oneDNN primitive it runs stays on it, and kernels it runs do not start calls.
  void worker(int slot, std::uint32_t seen) {
    omp_set_num_threads(1);
    on_worker = true;
    for (;;) {
      seen = wait_for_call(seen);
      take_parts(seen, slot);
    }
  }

  // Spins for kSpin, then sleeps, until a call other than `seen` is published; returns its number.
  std::uint32_t wait_for_call(std::uint32_t seen) {
    const Clock::time_point until = Clock::now() + kSpin;
    do {
      for (int i = 0; i < 64; ++i) _mm_pause();
      if (const std::uint32_t call = unpack(word_.load(std::memory_order_acquire)).call; call != seen) return call;
    } while (Clock::now() < until);
    for (;;) {
      const std::uint32_t ticket = wake_.load(std::memory_order_seq_cst);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      std::uint32_t call = unpack(word_.load(std::memory_order_seq_cst)).call;
      if (call == seen) futex_wait(wake_, ticket);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      call = unpack(word_.load(std::memory_order_acquire)).call;
      if (call != seen) return call;
    }
  }

  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> word_{0};
  std::uint32_t call_ = 0;  // the last call's number; the busy flag guards it
  PartTask task_{};
  std::exception_ptr error_;
  std::mutex error_mutex_;
  std::atomic<std::uint32_t> done_{0}, wake_{0};
  std::atomic<int> sleepers_{0}, started_{0};
  std::atomic<bool> caller_waiting_{false};
};

Pool& pool() {
  static Pool* const instance = new Pool;  // never destroyed: its detached workers use it until exit
  return *instance;
}

}  // namespace

void run_parts(int threads, std::int64_t parts, PartTask task) {
  if (parts <= 0) return;
  if (threads > 1 && parts > 1 && parts <= kMostParts && !on_worker && pool().run(std::min<std::int64_t>(threads, parts), parts, task)) return;
  for (std::int64_t p = 0; p < parts; ++p) task.call(task.body, p, 0);
}

int pool_workers() { return pool().workers(); }

}  // namespace attograd::backend
