// Exercise 6: cross-entropy from logits. Text: exercises/README.md, "6. cross_entropy".
#include "exercises.hpp"

namespace course {

using autograd::Context;

// L = (1/N) sum_n -log softmax(X_n)[t_n] = (1/N) sum_n (log sum_c e^{X_nc} - X_n,t_n)
// X [N, C] logits, t [N] int64 class indices, L []
const autograd::CustomOp cross_entropy_op({.name = "my_cross_entropy", .rule = "dX = dL (softmax(X) - onehot(T)) / N",
                                           .derivation = "loss.md#cross_entropy"});

Tensor my_cross_entropy(const Tensor& logits, const Tensor& targets) {
  if (logits.dim() != 2 || targets.dim() != 1 || targets.shape()[0] != logits.shape()[0]) {
    throw ShapeError(fmt::format("my_cross_entropy: logits must be [N, C] and targets [N], got {} and {}",
                                 logits.shape(), targets.shape()));
  }
  const std::int64_t n = logits.shape()[0], c = logits.shape()[1];
  return cross_entropy_op.apply(
      {logits, targets},
      [n, c](Context& ctx, const Tensors& in) {
        Tensor shifted = in[0] - max(in[0], {1}, true);
        Tensor log_probs = shifted - log(exp(shifted).sum({1}, true));  // [N, C], stable (exercise 5)
        // onehot [N, C]: 1 where column c is row n's target
        Tensor onehot = eq(arange(static_cast<double>(c), {.dtype = kInt64}).unsqueeze(0), in[1].unsqueeze(1))
                            .to(in[0].dtype());
        ctx.save(exp(log_probs));  // softmax(X)
        ctx.save(onehot);
        return -(log_probs * onehot).sum() / static_cast<double>(n);
      },
      [n](const Context& ctx, const Tensor& dL) -> Tensors {
        const Tensor& P = ctx.saved(0);       // softmax(X) [N, C]
        const Tensor& onehot = ctx.saved(1);  // [N, C]
        // BEGIN SOLUTION
        // dX = dL (softmax(X) - onehot(t)) / N    the targets get no gradient
        return {dL * (P - onehot) / static_cast<double>(n), Tensor()};  // PLANTED: return {dL * (P - onehot), Tensor()};
        // END SOLUTION
      });
}

}  // namespace course
