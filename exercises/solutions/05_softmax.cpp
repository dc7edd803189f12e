// Exercise 5: softmax and log-softmax. Text: exercises/README.md, "5. softmax and log_softmax".
#include "exercises.hpp"

namespace course {

using autograd::Context;

// Y = softmax(X) along dim: Y_i = e^{X_i} / sum_j e^{X_j}
const autograd::CustomOp softmax_op({.name = "my_softmax", .rule = "dX = Y * (dY - sum(dY * Y))",
                                     .derivation = "softmax.md#softmax"});

Tensor my_softmax(const Tensor& x, std::int64_t dim) {
  return softmax_op.apply(
      {x},
      [dim](Context& ctx, const Tensors& in) {
        // e^{X - max}: the same Y (the max cancels), and no e^{1000} = inf
        Tensor e = exp(in[0] - max(in[0], {dim}, true));
        Tensor y = e / e.sum({dim}, true);
        ctx.save(y);
        return y;
      },
      [dim](const Context& ctx, const Tensor& dY) -> Tensors {
        const Tensor& Y = ctx.saved(0);
        // BEGIN SOLUTION
        // dX = Y * (dY - sum(dY * Y))    the sum along dim, kept as size 1 so that it broadcasts back
        return {Y * (dY - (dY * Y).sum({dim}, true))};  // PLANTED: return {Y * dY};
        // END SOLUTION
      });
}

// Y = log_softmax(X) = X - m - log(sum_j e^{X_j - m}) along dim, m = max X
const autograd::CustomOp log_softmax_op({.name = "my_log_softmax", .rule = "dX = dY - e^Y * sum(dY)",
                                         .derivation = "softmax.md#log_softmax"});

Tensor my_log_softmax(const Tensor& x, std::int64_t dim) {
  return log_softmax_op.apply(
      {x},
      [dim](Context& ctx, const Tensors& in) {
        Tensor shifted = in[0] - max(in[0], {dim}, true);
        Tensor y = shifted - log(exp(shifted).sum({dim}, true));
        ctx.save(y);
        return y;
      },
      [dim](const Context& ctx, const Tensor& dY) -> Tensors {
        const Tensor& Y = ctx.saved(0);
        // BEGIN SOLUTION
        // dX = dY - softmax(X) * sum(dY)    softmax(X) = e^Y
        return {dY - exp(Y) * dY.sum({dim}, true)};
        // END SOLUTION
      });
}

}  // namespace course
