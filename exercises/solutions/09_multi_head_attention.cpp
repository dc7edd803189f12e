// Exercise 9: multi-head self-attention, its backward end to end. Text: exercises/README.md,
// "9. multi-head attention".
#include "exercises.hpp"

namespace course {

using autograd::Context;

namespace {

// [B, T, K] -> [B, H, T, K/H]: each head's slice of the width, as its own batch of sequences
Tensor split_heads(const Tensor& t, std::int64_t heads) {
  const Shape& s = t.shape();
  return contiguous(t.reshape({s[0], s[1], heads, s[2] / heads}).transpose(1, 2));
}

// [B, H, T, D] -> [B, T, H·D]: the heads side by side again
Tensor merge_heads(const Tensor& t) {
  const Shape& s = t.shape();
  return contiguous(t.transpose(1, 2)).reshape({s[0], s[2], s[1] * s[3]});
}

// The product of two [B, T, K] tensors over every position: Aᵀ·C summed over B and T, [K, K]
Tensor over_positions(const Tensor& a, const Tensor& c) {
  const std::int64_t k = a.shape()[-1];
  return matmul(a.reshape({-1, k}).mT(), c.reshape({-1, c.shape()[-1]}));
}

}  // namespace

// Q = X Wq   K = X Wk   V = X Wv                     each [B, T, K], then split: [B, H, T, D], D = K/H
// A = softmax(c Q Kᵀ) per head, c = 1/sqrt(D)      [B, H, T, T]
// Z = merge(A V)    Y = Z Wo                         [B, T, K]
const autograd::CustomOp mha_op(
    {.name = "my_multi_head_attention",
     .rule = "from dY: dX = dQ Wqᵀ + dK Wkᵀ + dV Wvᵀ   dWq = Xᵀ dQ   dWk = Xᵀ dK   dWv = Xᵀ dV   dWo = Zᵀ dY",
     .derivation = "attention.md#two-paths-from-the-input-to-the-output"});

Tensor my_multi_head_attention(const Tensor& x, const Tensor& wq, const Tensor& wk, const Tensor& wv,
                               const Tensor& wo, std::int64_t heads) {
  const std::int64_t k = x.dim() == 3 ? x.shape()[2] : 0;
  if (x.dim() != 3 || heads < 1 || k % heads != 0) {
    throw ShapeError(fmt::format("my_multi_head_attention: X must be [B, T, K] with K a multiple of heads, got {} "
                                 "and {} heads", x.shape(), heads));
  }
  for (const Tensor* w : {&wq, &wk, &wv, &wo}) {
    if (w->shape() != Shape{k, k}) {
      throw ShapeError(fmt::format("my_multi_head_attention: each weight must be [{}, {}], got {}", k, k, w->shape()));
    }
  }
  // The scale of one head's dot products: its width is K/H, not K (the lecture's slide 20).
  const double c = 1.0 / std::sqrt(static_cast<double>(k / heads));
  return mha_op.apply(
      {x, wq, wk, wv, wo},
      [c, heads](Context& ctx, const Tensors& in) {
        const Tensor &X = in[0], &Wq = in[1], &Wk = in[2], &Wv = in[3], &Wo = in[4];
        Tensor q = split_heads(matmul(X, Wq), heads);  // [B, H, T, D]
        Tensor kk = split_heads(matmul(X, Wk), heads);
        Tensor v = split_heads(matmul(X, Wv), heads);
        Tensor s = c * matmul(q, kk.mT());  // [B, H, T, T]
        Tensor e = exp(s - max(s, {-1}, true));
        Tensor a = e / e.sum({-1}, true);
        Tensor z = merge_heads(matmul(a, v));  // [B, T, K]
        for (const Tensor& t : {X, Wq, Wk, Wv, Wo, q, kk, v, a, z}) ctx.save(t);
        return matmul(z, Wo);
      },
      [c, heads](const Context& ctx, const Tensor& dY) -> Tensors {
        const Tensor &X = ctx.saved(0), &Wq = ctx.saved(1), &Wk = ctx.saved(2), &Wv = ctx.saved(3),
                     &Wo = ctx.saved(4);
        const Tensor &Q = ctx.saved(5), &K = ctx.saved(6), &V = ctx.saved(7);  // [B, H, T, D]
        const Tensor &A = ctx.saved(8);                                         // [B, H, T, T]
        const Tensor &Z = ctx.saved(9);                                         // [B, T, K]
        // split_heads and merge_heads (above) move a gradient between [B, T, K] and [B, H, T, D].
        // BEGIN SOLUTION
        // dWo = Zᵀ dY   dZ = dY Woᵀ   then per head as exercise 8 with three inputs:
        // dV = Aᵀ dO   dS = A * (dA - sum(dA * A)), dA = dO Vᵀ   dQ = c dS K   dK = c dSᵀ Q
        // dWq = Xᵀ dQ (and so for K, V)    dX = dQ Wqᵀ + dK Wkᵀ + dV Wvᵀ
        Tensor dWo = over_positions(Z, dY);
        Tensor dO = split_heads(matmul(dY, Wo.mT()), heads);  // [B, H, T, D]
        Tensor dV = matmul(A.mT(), dO);                       // the values' path
        Tensor dA = matmul(dO, V.mT());
        Tensor dS = A * (dA - (dA * A).sum({-1}, true));      // through the softmax
        Tensor dQ = merge_heads(c * matmul(dS, K));           // [B, T, K]
        Tensor dK = merge_heads(c * matmul(dS.mT(), Q));
        Tensor dVm = merge_heads(dV);
        Tensor dX = matmul(dQ, Wq.mT()) + matmul(dK, Wk.mT()) + matmul(dVm, Wv.mT());  // PLANTED: Tensor dX = matmul(dQ, Wq.mT()) + matmul(dVm, Wv.mT());
        return {dX, over_positions(X, dQ), over_positions(X, dK), over_positions(X, dVm), dWo};
        // END SOLUTION
      });
}

}  // namespace course
