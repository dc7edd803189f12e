// softmax and log_softmax along a dim. The forward is one stable kernel (backend/reduce.cpp); the
// backward is written with ops from the Jacobian-vector product.
#include "attograd/ops/softmax.hpp"

#include "attograd/autograd/node.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/reduction.hpp"
#include "backend/reduce.hpp"
#include "ops/pointwise.hpp"

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
    node->backward = [Y = node->save(y), d](const Tensor& dY, Grads& g) {
      g[0] = Y * (dY - sum(dY * Y, {d}, true));
    };
  }
  return y;
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
