// Internal: batched matrix products on plain buffers.
//
// c = a·b where a is [.., M, K], b is [.., K, N] and c is [.., M, N], contiguous and allocated by the
// caller; the batch dims of a and b broadcast to c's. a and b may be strided views (a transpose is a
// view), so no operand is copied just to be transposed.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// The product, on the fastest path available for the dtype: float32 on oneDNN (see onednn.hpp for the
// layouts it takes as they are and those it copies first), float64 on matmul_reference, float32 too
// when MatmulBackend::Reference is chosen (attograd/backend/settings.hpp).
void matmul(const Tensor& a, const Tensor& b, Tensor& c);

// c = a·b + bias with bias [N] added to every row: a Linear layer's forward. On oneDNN the addition
// is fused into the product (one pass over c); elsewhere it follows the reference product.
void matmul_bias(const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& c);

// attograd's own loops: float64 always, float32 when the reference path is forced.
void matmul_reference(const Tensor& a, const Tensor& b, Tensor& c);

}  // namespace attograd::backend
