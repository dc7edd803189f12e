// Internal: float32 matrix products on oneDNN. The only file that includes oneDNN is onednn.cpp (and
// flash_onednn.cpp, fused attention's block products); this interface speaks attograd tensors.
//
//   if (!onednn::matmul(a, b, c)) matmul_reference(a, b, c);   // what backend::matmul does
//
// How a call is made cheap (creating a primitive, or even finding it in oneDNN's own primitive cache,
// costs more than executing a small product; bench/matmul_overhead measures what attograd adds):
// - one engine and one stream for the process;
// - a cache of primitives keyed by everything that defines them: both operands' shapes and strides
//   (c's follow: it is contiguous) and the precision (MatmulPrecision, attograd/backend/settings.hpp);
// - each cached primitive keeps its dnnl::memory objects; a call only points them at the data.
//
// Threads. A product of more than a few MFLOP is cut into pieces by its shapes alone (along a batch
// dim, its rows or its columns: onednn_problem.hpp), each piece a one-thread primitive, and the
// threads allowed now (backend/threads.hpp) share out the pieces. Every element is then computed by
// the same kernel call at any thread count: the same bits with 1, 2 or 16 threads, which oneDNN's own
// threading does not give (it cuts a product by the thread count, for some shapes its K sum too).
//
// Layouts. Batch dims broadcast (size 1 or stride 0) are given to oneDNN as size 1, which it
// broadcasts itself; trailing batch dims that the rhs broadcasts along and that are contiguous in the
// lhs are folded into M (a [B, T, C]·[C, N] becomes one [B·T, C]·[C, N] product). Transposes, slices
// and permuted batch dims go to oneDNN as strides, no copy: each matrix needs one dim of stride 1 and
// the other any larger stride, the batch strides can be anything. A matrix with no dim of stride 1
// (for example every other column of a matrix) would get oneDNN's reference implementation, hundreds
// of times slower: such an operand is copied to a contiguous tensor first. Products with an empty dim
// are left to the reference kernel (oneDNN 2.6 divides by zero creating them).
//
// bfloat16 (MatmulPrecision::BFloat16): two reorders convert the float32 operands, as laid out above,
// to dense bfloat16 (round to nearest even, the unit-stride dim kept), then a bf16·bf16 -> f32
// primitive (with the f32 bias) reads them. On a CPU with avx512_bf16 the bf16 kernel
// (brg:avx512_core_bf16) is faster than the f32 one, and a conversion is small beside a product
// (docs/performance.md, "The bf16 mode", gives the measured figures). A parameter's converted
// operand is kept until its version changes, so a weight is converted once per optimiser step rather
// than in every product (kept_copies.hpp). fpmath_mode::bf16 on the f32 primitive would be the
// one-line alternative, but oneDNN 2.6 ignores it without AMX (same kernel, bit-identical results),
// so the f32 primitive stays strict.
//
// Thread safety: any thread may call matmul(); one mutex guards the cache and the reused memory
// objects, so concurrent products run one after another, each on the threads its size is worth
// (backend/threads.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/tensor.hpp"
#include "backend/matmul.hpp"

namespace attograd::backend::onednn {

// c = a·b for float32 a [.., M, K], b [.., K, N] and c [.., M, N] (batch dims of a and b broadcast to
// c's), then the epilogue (matmul.hpp) applied by oneDNN's kernel to each block of c as it is
// computed: bias [N] on every row (a Linear layer's forward), a tensor laid out as c (a residual).
// c is contiguous, or its rows have unit stride and its elements fill a block of memory in some
// order of its dims (a [B, H, T, D] view of a [B, T, H, D] tensor: the head transpose with no copy).
// Returns false, having done nothing, when oneDNN is not used for this product (another dtype, an
// empty dim, another layout of c or of the added tensor, no implementation); the caller then runs the
// reference kernel.
bool matmul(const Tensor& a, const Tensor& b, Tensor& c, const Epilogue& epilogue);
inline bool matmul(const Tensor& a, const Tensor& b, Tensor& c, const Tensor& bias = {}) {
  return onednn::matmul(a, b, c, Epilogue::with_bias(bias));
}

// Whether oneDNN has a bf16 matmul kernel on this CPU (AVX-512 and later). Without one, the bf16 mode
// rounds the operands to bf16 values and multiplies them in float32 (backend/matmul.cpp).
bool native_bf16();

// What matmul() does with these operands (building the cached primitive if needed), for tests.
struct MatmulPlan {
  bool on_onednn = false;      // false: matmul() declines and the reference kernel runs
  std::string implementation;  // oneDNN's name for the kernel it chose, e.g. "brg:avx512_core"
  bool copies_lhs = false;     // the lhs is copied to a contiguous tensor first (see Layouts above)
  bool copies_rhs = false;
  int rank = 0;                // the rank of the product oneDNN computes, after folding batch dims
  std::int64_t rows = 0;       // its M, after folding
  int pieces = 0;              // the pieces it is cut into (onednn_problem.hpp), fixed by the shapes
  int threads = 0;             // the threads it would run on now: at most one per piece
  bool strict_math = false;    // float32 throughout: fpmath mode strict (no silent bf16/tf32
                               // down-conversion) and no bf16 conversion of our own
  bool bf16 = false;           // the operands are converted to bfloat16 (MatmulPrecision::BFloat16)
};
MatmulPlan plan(const Tensor& a, const Tensor& b, const Tensor& c, const Epilogue& epilogue);
inline MatmulPlan plan(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& bias = {}) {
  return onednn::plan(a, b, c, Epilogue::with_bias(bias));
}

// Counters since the process started (tests use them to tell which path ran).
struct CacheStats {
  std::size_t entries = 0;     // primitives in the cache now
  std::uint64_t hits = 0;      // lookups that found their primitive
  std::uint64_t misses = 0;    // lookups that built one (or found that oneDNN has none worth using)
  std::uint64_t products = 0;  // products oneDNN computed
  // oneDNN primitives run for them: a product's pieces, and the bf16 mode's conversions when oneDNN
  // computes in bf16, one per operand not read from a kept copy (kept_copies.hpp) (the bench's timer
  // checks that it saw every one).
  std::uint64_t executions = 0;
};
CacheStats cache_stats();
// Drops every cached primitive (they are rebuilt on demand).
void clear_cache();
// The cache is cleared when it would exceed this many primitives: a program whose shapes keep
// changing does not grow without bound.
inline constexpr std::size_t kCacheCapacity = 1024;

}  // namespace attograd::backend::onednn
