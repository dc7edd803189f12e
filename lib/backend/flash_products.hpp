// Internal: the block products of fused attention (backend/flash_attention.cpp), loops of attograd's
// own. C[m, n] += op(A)·B, row-major with leading dims lda, ldb, ldc; op(A) = A [m, kk] (gemm_acc) or,
// in gemm_acc_ta, the stored [kk, m] read as its transpose (Pᵀ·dY and dSᵀ·Q read P and dS as they
// are). Each element of C adds its kk terms in the order p = 0, 1, .., a multiply then an add (no FMA:
// the library is built with -ffp-contract=off), whatever the path through the loops or the SIMD width,
// so the results are the same bits on every CPU. bench/flash_block_products.cpp measures them against
// oneDNN's (docs/performance.md, "Long sequences").
#pragma once

#include <cstdint>

namespace attograd::backend {

void gemm_acc(std::int64_t m, std::int64_t n, std::int64_t kk, const float* a, std::int64_t lda, const float* b,
              std::int64_t ldb, float* c, std::int64_t ldc);
void gemm_acc(std::int64_t m, std::int64_t n, std::int64_t kk, const double* a, std::int64_t lda, const double* b,
              std::int64_t ldb, double* c, std::int64_t ldc);
void gemm_acc_ta(std::int64_t m, std::int64_t n, std::int64_t kk, const float* a, std::int64_t lda, const float* b,
                 std::int64_t ldb, float* c, std::int64_t ldc);
void gemm_acc_ta(std::int64_t m, std::int64_t n, std::int64_t kk, const double* a, std::int64_t lda,
                 const double* b, std::int64_t ldb, double* c, std::int64_t ldc);

// C[m, n] = (accumulate ? C : 0) + op(A)·B in float32 through the two above: the fused kernel's
// FlashProductF32 of our own (flash_onednn.hpp says when it is used).
void flash_product_ours(bool a_transposed, bool accumulate, std::int64_t m, std::int64_t n, std::int64_t kk,
                        const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
                        std::int64_t ldc);

}  // namespace attograd::backend
