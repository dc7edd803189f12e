// exercises/exercises.hpp: the ops of the backpropagation course, one file each, in order.
//
// Each op is written with autograd::CustomOp (docs/custom-ops.md): its forward is given, its backward
// is yours. The grader (exercises/grader/) calls these functions and checks the gradients. The shape
// letters are those of docs/conventions.md: T positions, K the width of a vector, H heads.
#pragma once

#include <attograd/attograd.hpp>

namespace course {

using namespace attograd;

// 1. C = A * B (same shapes, no broadcasting)     Y = tanh(X)
Tensor my_mul(const Tensor& a, const Tensor& b);
Tensor my_tanh(const Tensor& x);

// 2. C = A + B, with broadcasting (B [3] is added to every row of A [2, 3])
Tensor my_add(const Tensor& a, const Tensor& b);

// 3. C = A·B     A [M, K]  B [K, N]  C [M, N]
Tensor my_matmul(const Tensor& a, const Tensor& b);

// 4. Y = the sum (or the mean) of X over `dims`, keeping them as size 1 if keepdim
Tensor my_sum(const Tensor& x, const Shape& dims, bool keepdim);
Tensor my_mean(const Tensor& x, const Shape& dims, bool keepdim);

// 5. Y = softmax(X) along dim     Y = log_softmax(X) = X - logsumexp(X) along dim
Tensor my_softmax(const Tensor& x, std::int64_t dim);
Tensor my_log_softmax(const Tensor& x, std::int64_t dim);

// 6. L = mean over rows n of -log softmax(X_n)[t_n]     X [N, C] logits, targets [N] int64 in [0, C)
Tensor my_cross_entropy(const Tensor& logits, const Tensor& targets);

// 7. Y = (X - mean) / sqrt(var + eps) * W + B over the last dim     X [.., K]  W, B [K]
Tensor my_layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

// 8. The lecture's self-attention, no parameters: Y = softmax(X Xᵀ / sqrt(K)) X     X [.., T, K]
Tensor my_self_attention(const Tensor& x);

// 9. Multi-head self-attention: Q = X Wq, K = X Wk, V = X Wv, split into H heads of K/H, attention
// per head scaled by 1/sqrt(K/H), heads concatenated, then Y = concat · Wo
// X [B, T, K]  Wq, Wk, Wv, Wo [K, K]  Y [B, T, K]
Tensor my_multi_head_attention(const Tensor& x, const Tensor& wq, const Tensor& wk, const Tensor& wv,
                               const Tensor& wo, std::int64_t heads);

}  // namespace course
