// Exercise 8: the lecture's self-attention, with no parameters. Text: exercises/README.md,
// "8. self-attention: two paths".
#include "exercises.hpp"

namespace course {

using autograd::Context;

// S = c X Xᵀ    A = softmax(S) along the last dim    Y = A X        c = 1/sqrt(K)
// X [.., T, K]  S, A [.., T, T]  Y [.., T, K]
// X reaches Y twice: as the values (linear: Aᵀ dY) and through the weights (non-linear: the softmax)
const autograd::CustomOp self_attention_op(
    {.name = "my_self_attention", .rule = "dX = Aᵀ dY + c (dS + dSᵀ) X   with dA := dY Xᵀ, dS := A * (dA - sum(dA * A))",
     .derivation = "attention.md#two-paths-from-the-input-to-the-output"});

Tensor my_self_attention(const Tensor& x) {
  if (x.dim() < 2) throw ShapeError(fmt::format("my_self_attention: X must be [.., T, K], got {}", x.shape()));
  const double c = 1.0 / std::sqrt(static_cast<double>(x.shape()[-1]));
  return self_attention_op.apply(
      {x},
      [c](Context& ctx, const Tensors& in) {
        const Tensor& X = in[0];
        Tensor s = c * matmul(X, X.mT());
        Tensor e = exp(s - max(s, {-1}, true));
        Tensor a = e / e.sum({-1}, true);  // each row sums to 1
        ctx.save(X);
        ctx.save(a);
        return matmul(a, X);
      },
      [c](const Context& ctx, const Tensor& dY) -> Tensors {
        const Tensor& X = ctx.saved(0);  // [.., T, K]
        const Tensor& A = ctx.saved(1);  // [.., T, T]
        // BEGIN SOLUTION
        // dA = dY Xᵀ    dS = A * (dA - sum(dA * A))    dX = Aᵀ dY + c (dS + dSᵀ) X
        Tensor values_path = matmul(A.mT(), dY);               // [.., T, K]
        Tensor dA = matmul(dY, X.mT());                        // [.., T, T]
        Tensor dS = A * (dA - (dA * A).sum({-1}, true));       // [.., T, T]
        Tensor weights_path = c * matmul(dS + dS.mT(), X);     // [.., T, K]
        return {values_path + weights_path};  // PLANTED: return {values_path};
        // END SOLUTION
      });
}

}  // namespace course
