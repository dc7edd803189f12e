// Internal: attention's softmax as one op. softmax(masked_fill(S * scale, mask, -inf), -1) records
// three nodes and walks [B, H, Tq, Tk] six times (mul, where, softmax forward; their backwards); this
// does it once each way. Its oracle is that composite (tests/ops/test_softmax_fused.cpp).
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd {

// A = softmax(scale · S, with -inf where mask) along the last dim. mask: bool, broadcast to S's shape,
// or undefined for none. The caller (attention_weights) has checked dtypes and shapes.
// dS = scale · A ⊙ (dA - rowsum(dA ⊙ A))      (0 where masked, since A is 0 there)
Tensor scaled_masked_softmax(const Tensor& scores, const Tensor& mask, double scale);

}  // namespace attograd
