// Internal: the thread count every parallel kernel uses.
//
// OpenMP keeps its team size per thread: omp_set_num_threads() in the main thread does not reach a
// std::thread started by the user. set_num_threads() therefore records the count for the process, and
// each kernel calls apply_num_threads() before it runs in parallel (or creates a oneDNN primitive,
// which fixes its thread count when it is created).
#pragma once

namespace attograd::backend {

// Makes the calling thread's OpenMP team size the process-wide setting (when one was set) and returns
// the number of threads a parallel region started now would use.
int apply_num_threads();

}  // namespace attograd::backend
