// Exercise 1: mul and tanh, one number at a time. Text: exercises/README.md, "1. mul and tanh".
#include "exercises.hpp"

namespace course {

using autograd::Context;

// C = A * B    A, B, C of one shape
const autograd::CustomOp mul_op({.name = "my_mul", .rule = "dA = dC * B   dB = dC * A",
                                 .derivation = "elementwise.md#the-four-operations"});

Tensor my_mul(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) {
    throw ShapeError(fmt::format("my_mul: A {} and B {} must have one shape (exercise 2 broadcasts)", a.shape(),
                                 b.shape()));
  }
  return mul_op.apply(
      {a, b},
      [](Context& ctx, const Tensors& in) {
        ctx.save(in[0]);  // A
        ctx.save(in[1]);  // B
        return in[0] * in[1];
      },
      [](const Context& ctx, const Tensor& dC) -> Tensors {
        const Tensor& A = ctx.saved(0);
        const Tensor& B = ctx.saved(1);
        // BEGIN SOLUTION
        // dA = dC * B    dB = dC * A
        return {dC * B, dC * A};
        // END SOLUTION
      });
}

// Y = tanh(X)
const autograd::CustomOp tanh_op({.name = "my_tanh", .rule = "dX = dY * (1 - Y²)",
                                  .derivation = "elementwise.md#functions-of-one-tensor"});

Tensor my_tanh(const Tensor& x) {
  return tanh_op.apply(
      {x},
      [](Context& ctx, const Tensors& in) {
        Tensor y = tanh(in[0]);
        ctx.save(y);  // Y: the derivative is cheaper from the output than from the input
        return y;
      },
      [](const Context& ctx, const Tensor& dY) -> Tensors {
        const Tensor& Y = ctx.saved(0);
        // BEGIN SOLUTION
        // dX = dY * (1 - Y²)
        return {dY * (1.0 - Y * Y)};  // PLANTED: return {dY * (1.0 - Y)};
        // END SOLUTION
      });
}

}  // namespace course
