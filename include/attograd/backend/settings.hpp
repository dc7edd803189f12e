// attograd/backend/settings.hpp: how many threads the numeric kernels use, and which kernels compute
// float32 matrix products.
//
//   set_num_threads(1);                 // every kernel, oneDNN's included, runs on one thread
//   fmt::print("{}\n", num_threads());  // 1
//   {
//     MatmulBackendGuard reference(MatmulBackend::Reference);  // float32 matmuls on attograd's loops
//     Tensor c = matmul(a, b);                                  // e.g. to compare with oneDNN's result
//   }                                                           // back to oneDNN
//
// Threads: there is one pool, OpenMP's, shared by oneDNN and attograd's own kernels, so that two pools
// never compete for the same cores. By default it has OMP_NUM_THREADS threads, or one per core when
// that variable is unset. set_num_threads() changes it for the whole process, every thread included.
//
// Matmul backend: float32 products run on oneDNN (MatmulBackend::Auto) unless the reference path is
// chosen. float64 always runs on the reference kernel: oneDNN has no float64 matmul on the CPU. The
// choice is per thread, like NoGradGuard: a guard in one thread does not affect another.
#pragma once

namespace attograd {

// Sets the number of threads of the one pool (oneDNN's OpenMP pool). Throws ValueError for n < 1.
void set_num_threads(int n);
// The number of threads kernels use: the last set_num_threads() value, else OpenMP's default
// (OMP_NUM_THREADS, or the number of cores).
int num_threads();

enum class MatmulBackend {
  Auto,       // float32 on oneDNN, float64 on the reference kernel
  Reference,  // every dtype on attograd's reference kernel (slow: for tests and debugging)
};

// The calling thread's choice.
void set_matmul_backend(MatmulBackend backend);
MatmulBackend matmul_backend();

// Chooses a backend for one scope of the calling thread, then restores the previous choice.
class MatmulBackendGuard {
 public:
  explicit MatmulBackendGuard(MatmulBackend backend) : previous_(matmul_backend()) { set_matmul_backend(backend); }
  ~MatmulBackendGuard() { set_matmul_backend(previous_); }
  MatmulBackendGuard(const MatmulBackendGuard&) = delete;
  MatmulBackendGuard& operator=(const MatmulBackendGuard&) = delete;

 private:
  MatmulBackend previous_;
};

}  // namespace attograd
