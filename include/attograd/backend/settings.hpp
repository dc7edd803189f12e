/// \file
/// How many threads the numeric kernels use, which kernels compute
/// float32 matrix products, and in what precision.
///
/// \code
/// set_num_threads(1);                 // every kernel, oneDNN's included, runs on one thread
/// fmt::print("{}\n", num_threads());  // 1
/// reset_num_threads();                // back to the default (below)
/// {
///   MatmulBackendGuard reference(MatmulBackend::Reference);  // float32 matmuls on attograd's loops
///   Tensor c = matmul(a, b);                                  // e.g. to compare with oneDNN's result
/// }                                                           // back to oneDNN
/// MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);      // float32 matmuls with bf16 inputs
/// \endcode
///
/// Threads: attograd runs its kernels and the pieces of oneDNN's products on its own worker threads.
/// Each op picks its thread count from its size: below a grain of work (262144 elements for
/// attograd's kernels, 32 MFLOP for a product) it runs on the calling thread, where waking a second
/// thread would cost more CPU time than it takes off the wall. The parts of a parallel op are taken
/// one at a time, so a worker that wakes late, or whose core runs another program, never holds up the
/// caller: the caller takes its parts. The thread count caps that:
/// - set_num_threads(n) or OMP_NUM_THREADS: at most n threads, whatever else runs on the machine;
/// - by default: the cores this process may use (its CPU affinity and cgroup quota; under mpirun,
///   divided among the ranks on the node), less the cores other processes are busy on, measured from
///   /proc/stat every tenth of a second while ops ask for threads. A program beside a build, a test
///   run or another training run takes the cores that are free rather than competing for busy ones
///   (docs/performance.md has the measurements).
///
/// The count is for the whole process, every thread included. Results are the same bits at any count:
/// attograd's kernels split only work whose parts are computed exactly as on one thread, and a product
/// is cut into pieces by its shapes alone (docs/architecture.md).
///
/// Matmul backend: float32 products run on oneDNN (MatmulBackend::Auto) unless the reference path is
/// chosen. float64 always runs on the reference kernel: oneDNN has no float64 matmul on the CPU. The
/// choice is per thread, like NoGradGuard: a guard in one thread does not affect another.
///
/// Matmul precision: MatmulPrecision::BFloat16 is an opt-in mixed-precision mode. Every float32 matmul
/// (forward and backward: the gradients' products too) rounds both operands to bfloat16, to nearest
/// even, and multiplies and sums in float32; tensors, parameters, gradients and optimiser state stay
/// float32 ("float32 master weights"). bfloat16 keeps float32's range and 8 of its 24 significant
/// bits: each input moves by at most 2^-9 of itself, so each element of a product is within about
/// 2^-8·(|A|·|B|) of the float32 one (0.4% of the sum of its terms' sizes). (oneDNN's conversion also
/// flushes subnormal inputs, below 2^-126, to zero; the reference kernel keeps them.) On a CPU with
/// avx512_bf16 oneDNN multiplies bf16 at about twice the float32 rate (docs/performance.md). float64 is
/// never affected. The choice is per thread, like the backend's; backward() runs on the calling
/// thread, so a guard around a training step covers its gradients.
#pragma once

namespace attograd {

/// Sets the most threads one op runs on, for the whole process. Throws ValueError for n < 1.
void set_num_threads(int n);
/// Goes back to the default: the free cores of this process's share, measured as it runs.
void reset_num_threads();
/// The most threads one op runs on: the last set_num_threads() value, else OMP_NUM_THREADS when set,
/// else this process's cores (under mpirun, its share of the node's); by default fewer run while other
/// processes keep cores busy.
int num_threads();

/// Which kernels run matrix products (per thread).
enum class MatmulBackend {
  Auto,       ///< float32 on oneDNN, float64 on the reference kernel
  Reference,  ///< every dtype on attograd's reference kernel (slow: for tests and debugging)
};

/// The calling thread's choice.
void set_matmul_backend(MatmulBackend backend);
MatmulBackend matmul_backend();  ///< the calling thread's choice (Auto unless set)

/// Chooses a backend for one scope of the calling thread, then restores the previous choice.
class MatmulBackendGuard {
 public:
  /// sets `backend` until the guard is destroyed
  explicit MatmulBackendGuard(MatmulBackend backend) : previous_(matmul_backend()) { set_matmul_backend(backend); }
  ~MatmulBackendGuard() { set_matmul_backend(previous_); }
  MatmulBackendGuard(const MatmulBackendGuard&) = delete;
  MatmulBackendGuard& operator=(const MatmulBackendGuard&) = delete;

 private:
  MatmulBackend previous_;
};

/// How float32 matrix products round their operands (per thread; docs/performance.md).
enum class MatmulPrecision {
  Strict,    ///< float32 in, float32 out (the default)
  BFloat16,  ///< float32 operands rounded to bfloat16, products summed in float32
};

/// The calling thread's choice. Throws ValueError for a value that is not a MatmulPrecision.
void set_matmul_precision(MatmulPrecision precision);
MatmulPrecision matmul_precision();  ///< the calling thread's choice (Strict unless set)

/// Chooses a precision for one scope of the calling thread, then restores the previous choice.
class MatmulPrecisionGuard {
 public:
  /// Sets `precision` until the guard is destroyed.
  explicit MatmulPrecisionGuard(MatmulPrecision precision) : previous_(matmul_precision()) {
    set_matmul_precision(precision);
  }
  ~MatmulPrecisionGuard() { set_matmul_precision(previous_); }
  MatmulPrecisionGuard(const MatmulPrecisionGuard&) = delete;
  MatmulPrecisionGuard& operator=(const MatmulPrecisionGuard&) = delete;

 private:
  MatmulPrecision previous_;
};

}  // namespace attograd
