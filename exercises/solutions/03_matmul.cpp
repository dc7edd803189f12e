// Exercise 3: the matrix product. Text: exercises/README.md, "3. matmul".
#include "exercises.hpp"

namespace course {

using autograd::Context;

// C = A·B    A [M, K]  B [K, N]  C [M, N]
const autograd::CustomOp matmul_op({.name = "my_matmul", .rule = "dA = dC·Bᵀ   dB = Aᵀ·dC",
                                    .derivation = "matmul.md#two-matrices"});

Tensor my_matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2) {
    throw ShapeError(fmt::format("my_matmul: A {} and B {} must both be matrices", a.shape(), b.shape()));
  }
  return matmul_op.apply(
      {a, b},
      [](Context& ctx, const Tensors& in) {
        ctx.save(in[0]);
        ctx.save(in[1]);
        return matmul(in[0], in[1]);
      },
      [](const Context& ctx, const Tensor& dC) -> Tensors {
        const Tensor& A = ctx.saved(0);  // [M, K]
        const Tensor& B = ctx.saved(1);  // [K, N]
        // BEGIN SOLUTION
        // dA = dC·Bᵀ    dB = Aᵀ·dC
        Tensor dA = matmul(dC, B.mT());  // [M, N]·[N, K] = [M, K]
        Tensor dB = matmul(A.mT(), dC);  // [K, M]·[M, N] = [K, N]   // PLANTED: Tensor dB = matmul(A, dC);
        return {dA, dB};
        // END SOLUTION
      });
}

}  // namespace course
