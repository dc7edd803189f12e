// Internal: fused attention's float32 block products on oneDNN, and the rule that picks them or
// attograd's own loops (flash_products.hpp) for a call of the kernel (backend/flash_attention.cpp).
//
//   const FlashProductF32 product = flash_product_for(D, Dv);   // by the head's size alone
//   product(false, true, 64, Dv, 64, p, 64, v, Dv, o, Dv);      // O += P·V, one block
//
// Issue 20 asks for the products "on oneDNN or a kernel of our own, whichever measures faster".
// bench/flash_block_products runs the whole fused forward + backward both ways: ours was as fast or
// faster for heads of 8 to 32 dims (a oneDNN call's fixed cost is large beside a 64 x 16 product),
// oneDNN's 2-15% faster at 64 dims and 15-23% at 128 (its kernels use FMA, ours multiply and add
// separately for the same bits on every SIMD width). docs/performance.md, "Block products: ours or oneDNN's", has the
// figures.
//
// Each product is a oneDNN matmul primitive made for its shape and layout (m, n, kk, the leading dims,
// whether A is read transposed, whether it adds into C: a sum post-op), strict float32 (no bf16 or tf32
// down-conversion), one thread inside (the kernel's own threads already share out the blocks). Each
// thread keeps its own primitives, stream, memory objects and working memory, built on first use, so
// calls from several OpenMP threads at once need no lock, and a call only points the memory objects at
// the block. A block product is computed on one thread by the primitive its shapes select, so the
// results are the same bits at any thread count (on one CPU: oneDNN's kernels differ between AVX2 and
// AVX-512). A shape for which oneDNN offers only its reference implementation runs on our loops.
#pragma once

#include <cstdint>
#include <string>

#include "backend/flash_attention.hpp"

namespace attograd::backend {

// From this many dims per head (D and Dv both) the fused kernel's float32 products run on oneDNN.
inline constexpr std::int64_t kFlashOnednnMinHead = 64;

// C[m, n] = (accumulate ? C : 0) + op(A)·B as FlashProductF32 says, on oneDNN.
void flash_product_onednn(bool a_transposed, bool accumulate, std::int64_t m, std::int64_t n, std::int64_t kk,
                          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
                          std::int64_t ldc);

// The products the fused kernel uses for float32 heads of D (queries, keys) and Dv (values) dims:
// oneDNN's from kFlashOnednnMinHead dims on, ours below, and ours whatever the size under
// MatmulBackendGuard(MatmulBackend::Reference) (attograd/backend/settings.hpp), which keeps oneDNN out.
// Decided by the shapes and that setting alone, never by the load or a timing.
FlashProductF32 flash_product_for(std::int64_t D, std::int64_t Dv);

// What flash_product_onednn runs for one shape and layout on the calling thread (building it if
// needed), for tests and the bench.
struct FlashOnednnPlan {
  bool on_onednn = false;      // false: oneDNN offered only its reference implementation; ours run
  std::string implementation;  // oneDNN's name for its kernel, e.g. "gemm:jit"
  bool strict_math = false;    // float32 throughout (fpmath mode strict)
};
FlashOnednnPlan flash_onednn_plan(bool a_transposed, bool accumulate, std::int64_t m, std::int64_t n,
                                  std::int64_t kk, std::int64_t lda, std::int64_t ldb, std::int64_t ldc);

// Block products executed on oneDNN since the process started, by every thread: bench_attograd's
// matmul timer (bench/attograd_side/matmul_timer.hpp) sees these besides onednn.hpp's executions.
std::uint64_t flash_onednn_executions();

}  // namespace attograd::backend
