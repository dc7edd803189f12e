// softmax and log_softmax along a dim, and attention's scaled, masked softmax. The forwards are one
// stable kernel (backend/reduce.cpp); softmax's backward is one kernel too (its Jacobian-vector product,
// the formula below), log_softmax's is written with ops.
#include "attograd/ops/softmax.hpp"

#include "attograd/autograd/node.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/reduction.hpp"
#include "backend/reduce.hpp"
#include "ops/pointwise.hpp"
#include "ops/softmax_fused.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

// Y_i = e^{X_i} / sum_j e^{X_j}
// dX_i = sum_j dY_j dY_j/dX_i = Y_i (dY_i - sum_j dY_j Y_j)
const Op softmax_op({.name = "softmax",
                     .rule = "dX = Y * (dY - sum(dY * Y))   (sums along the dim)",
                     .derivation = "softmax.md#softmax"});
Tensor softmax(const Tensor& x, std::int64_t dim) {
  pointwise::require_floating("softmax", x);
  const int d = normalize_dim("softmax", dim, x.dim());
  Tensor y = empty(x.shape(), x.dtype());
  backend::softmax(x, d, false, y);
  if (Node* node = record(softmax_op, y, {x})) {
    // Y * (dY - sum(dY * Y, {d}, true)) as one kernel: that composite is its oracle in the tests.
    node->backward = [Y = node->save(y), d](const Tensor& dY, Grads& g) {
      // dX over dY's memory when the engine offers it: the kernel sums a row before it writes it.
      const Tensor in = g.output_grad_offered() ? g.take_output_grad() : dY;
      Tensor dX = in.is_same(dY) ? empty(Y.shape(), Y.dtype()) : in;
      backend::softmax_backward(Y, in, d, 1.0, dX);
      g[0] = dX;
    };
  }
  return y;
}

// A = softmax(c S, -inf where mask)    dS = c A (dA - sum_j dA_j A_j)
// One node where attention would otherwise record mul, masked_fill and softmax.
const Op scaled_masked_softmax_op({.name = "softmax",
                                   .form = "c S, masked",
                                   .rule = "dS = c A * (dA - sum(dA * A))   (sums along the last dim)",
                                   .derivation = "softmax.md#softmax"});
Tensor scaled_masked_softmax(const Tensor& s, const Tensor& mask, double c) {
  Tensor a = empty(s.shape(), s.dtype());
  backend::scaled_masked_softmax(s, mask, c, a);
  if (Node* node = record(scaled_masked_softmax_op, a, {s})) {
    node->backward = [A = node->save(a), c](const Tensor& dA, Grads& g) {
      const Tensor in = g.output_grad_offered() ? g.take_output_grad() : dA;  // as softmax's
      Tensor dS = in.is_same(dA) ? empty(A.shape(), A.dtype()) : in;
      backend::softmax_backward(A, in, A.dim() - 1, c, dS);
      g[0] = dS;
    };
  }
  return a;
}

// Y_i = X_i - log sum_j e^{X_j}
// dX_i = dY_i - softmax(X)_i sum_j dY_j = dY_i - e^{Y_i} sum_j dY_j
const Op log_softmax_op({.name = "log_softmax",
                         .rule = "dX = dY - e^Y * sum(dY)   (sums along the dim)",
                         .derivation = "softmax.md#log_softmax"});
Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  pointwise::require_floating("log_softmax", x);
  const int d = normalize_dim("log_softmax", dim, x.dim());
  Tensor y = empty(x.shape(), x.dtype());
  backend::softmax(x, d, true, y);
  if (Node* node = record(log_softmax_op, y, {x})) {
    node->backward = [Y = node->save(y), d](const Tensor& dY, Grads& g) {
      g[0] = dY - exp(Y) * sum(dY, {d}, true);
    };
  }
  return y;
}

Tensor Tensor::softmax(std::int64_t dim) const { return attograd::softmax(*this, dim); }
Tensor Tensor::log_softmax(std::int64_t dim) const { return attograd::log_softmax(*this, dim); }

}  // namespace attograd
