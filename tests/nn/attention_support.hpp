// Helpers for the attention module tests: permutation matrices, setting parameters by hand, and the
// module's computation downstream of its weights, written out again with ops (a test oracle).
#pragma once

#include <cmath>
#include <vector>

#include <attograd/attograd.hpp>

namespace attograd::testing {

// P [T, T] with P[i, perm[i]] = 1 for a random permutation: (P X)_i = X_perm[i]. float64.
inline Tensor permutation_matrix(std::int64_t T, Generator& gen) {
  const std::vector<std::int64_t> perm = randperm(T, gen).to_vector<std::int64_t>();
  std::vector<double> p(static_cast<std::size_t>(T * T), 0.0);
  for (std::int64_t i = 0; i < T; ++i) p[static_cast<std::size_t>(i * T + perm[static_cast<std::size_t>(i)])] = 1.0;
  return tensor(p, {T, T}, {.dtype = kFloat64});
}

// Overwrites a registered parameter in place (the module keeps the same tensor).
inline void set_parameter(Tensor& p, const Tensor& value) {
  NoGradGuard no_grad;
  p.copy_(value);
}

// L = sum(MHSA(x) * G) computed from given attention weights A [B, H, T, T] rather than the module's
// own: V = value(x) split into heads, Y = out(concat(A V)). With the module's A it equals the
// module's loss; perturbing A gives finite differences of dL/dA.
inline Tensor loss_from_weights(const nn::MultiHeadSelfAttention& m, const Tensor& x, const Tensor& A,
                                const Tensor& G) {
  const std::int64_t B = x.size(0), T = x.size(1), H = m.heads(), D = m.head_size();
  const Tensor v = linear(x, m.value.weight, m.value.bias).reshape({B, T, H, D}).transpose(1, 2);
  const Tensor y = linear(matmul(A, v).transpose(1, 2).reshape({B, T, H * D}), m.out.weight, m.out.bias);
  return (y * G).sum();
}

}  // namespace attograd::testing
