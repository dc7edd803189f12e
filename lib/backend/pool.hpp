// Internal: attograd's worker threads, which run the parts of one parallel call.
//
//   run_parts(threads, parts, [&](std::int64_t part, int slot) { compute(part); });
//
// The calling thread and up to threads - 1 workers take the parts one at a time, each part by exactly
// one of them, until none is left. The caller starts on the first part at once and does not wait for
// a worker that has not started: a worker that wakes late (it was asleep, or its core runs another
// program) finds the parts taken and goes back to waiting. So a parallel call costs the caller at most
// the part a worker is still computing when the caller runs out, never a whole wake-up or time slice,
// and is never much slower than the same parts on one thread. (An OpenMP team cannot do this: each of
// its threads has its share fixed when the region starts, and the region ends when the slowest ends.)
//
// slot: 0 for the caller, 1 .. threads - 1 for the worker that took the part; a part may use the
// slot's own scratch (a oneDNN product's working memory). Which thread takes which part varies from
// call to call, so a part must compute the same bits whoever takes it.
//
// A worker that finds no new call spins for kSpin, so that a step's back-to-back calls find it awake,
// then sleeps until a call wakes it. Calls from a worker, or from a second thread while the workers
// serve another caller, run on the calling thread alone. An exception from a part is rethrown on the
// caller after every part taken has ended.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace attograd::backend {

// How long an idle worker stays awake for the next call before it sleeps.
inline constexpr std::chrono::microseconds kSpin{50};

// The most parts one call has (a call with more runs on the calling thread).
inline constexpr std::int64_t kMostParts = 4096;

// A reference to the caller's callable (which outlives the call).
struct PartTask {
  void (*call)(void* body, std::int64_t part, int slot);
  void* body;
};

void run_parts(int threads, std::int64_t parts, PartTask task);

template <class Body>
void run_parts(int threads, std::int64_t parts, Body&& body) {
  using B = std::remove_reference_t<Body>;
  run_parts(threads, parts,
            PartTask{[](void* b, std::int64_t part, int slot) { (*static_cast<B*>(b))(part, slot); },
                     const_cast<void*>(static_cast<const void*>(&body))});
}

// The workers started so far (tests).
int pool_workers();

}  // namespace attograd::backend
