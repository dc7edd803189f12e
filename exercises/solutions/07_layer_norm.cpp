// Exercise 7: layer norm. Text: exercises/README.md, "7. layer_norm".
#include "exercises.hpp"

namespace course {

using autograd::Context;

// Over the last dim, of size K:
//   mu = mean(X)    var = mean((X - mu)²)    r = 1 / sqrt(var + eps)    Xh = (X - mu) r
//   Y = Xh * W + B                              X, Y [.., K]  W, B [K]
const autograd::CustomOp layer_norm_op(
    {.name = "my_layer_norm", .rule = "dX = r (dY W - mean(dY W) - Xh mean(dY W Xh))   dW = sum(dY * Xh)   dB = sum(dY)",
     .derivation = "layer_norm.md#backward"});

Tensor my_layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const std::int64_t k = x.dim() > 0 ? x.shape()[-1] : 0;
  if (x.dim() == 0 || weight.shape() != Shape{k} || bias.shape() != Shape{k}) {
    throw ShapeError(fmt::format("my_layer_norm: X [.., K] with W and B [K], got X {}, W {}, B {}", x.shape(),
                                 weight.shape(), bias.shape()));
  }
  return layer_norm_op.apply(
      {x, weight, bias},
      [eps](Context& ctx, const Tensors& in) {
        Tensor centred = in[0] - in[0].mean({-1}, true);
        Tensor r = 1.0 / sqrt((centred * centred).mean({-1}, true) + eps);  // [.., 1]
        Tensor xh = centred * r;                                            // [.., K]
        ctx.save(xh);
        ctx.save(r);
        ctx.save(in[1]);  // W
        return xh * in[1] + in[2];
      },
      [](const Context& ctx, const Tensor& dY) -> Tensors {
        const Tensor& Xh = ctx.saved(0);
        const Tensor& r = ctx.saved(1);
        const Tensor& W = ctx.saved(2);
        // BEGIN SOLUTION
        // dB = dY summed over the rows    dW = (dY * Xh) summed over the rows    dXh = dY * W
        // dX = r (dXh - mean(dXh) - Xh mean(dXh * Xh))    (both means over the last dim)
        Tensor dXh = dY * W;
        Tensor dX = r * (dXh - dXh.mean({-1}, true) - Xh * (dXh * Xh).mean({-1}, true));  // PLANTED: Tensor dX = r * (dXh - dXh.mean({-1}, true));
        Tensor dW = sum_to(dY * Xh, ctx.input_shape(1));
        Tensor dB = sum_to(dY, ctx.input_shape(2));
        return {dX, dW, dB};
        // END SOLUTION
      });
}

}  // namespace course
