// Internal: attention's softmax on one contiguous float32 row, forward and backward, in vectors of
// eight floats (four doubles for the sums), each compiled for AVX-512, AVX2 and the baseline
// (ATTOGRAD_WIDEST_SIMD). backend/reduce.cpp calls them for every float32 row; they give the same bits
// as its general loops (tests/backend/test_softmax_rows.cpp), which they replaced for speed: they were
// the largest part of a gpt step outside the matrix products (docs/performance.md).
//
//   if (!scaled_masked_row_f32(s, mask, 1, c, a, n)) { /* NaN or +inf in the row: the general loop */ }
//   softmax_backward_row_f32(a, da, c, ds, n);
#pragma once

#include <cstdint>

namespace attograd::backend {

// a = softmax(c s, -inf where masked) of one row of n, the mask read at mask[r * mask_step] (null:
// none); a must not overlap s. Returns false, with a unspecified, when the row holds a NaN or +inf
// after masking: the caller computes that row the general way.
bool scaled_masked_row_f32(const float* s, const bool* mask, std::int64_t mask_step, float c, float* a,
                           std::int64_t n);

// The largest entry of a contiguous float32 row (-inf for none), NaN when the row holds one: the value
// of softmax's scalar loop, in vectors (the sign of a zero maximum may differ; softmax_rows.cpp says why
// no softmax output sees it).
float row_max_f32(const float* p, std::int64_t n);

// row_sum(n, double(q[r])), the sum of a contiguous float32 row in double on row_sum's four chains, in
// the lanes of a vector: the same bits.
double row_sum_f32(const float* q, std::int64_t n);

// ds = c a (da - sum(da a)) over one row of n, the sum in double on four chains as row_sum adds them.
void softmax_backward_row_f32(const float* a, const float* da, float c, float* ds, std::int64_t n);

}  // namespace attograd::backend
