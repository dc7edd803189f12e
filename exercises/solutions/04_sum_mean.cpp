// Exercise 4: sum and mean over some dims. Text: exercises/README.md, "4. sum and mean over dims".
#include "exercises.hpp"

namespace course {

using autograd::Context;

namespace {

// X's shape with each dim in `dims` (negative counts from the end) set to 1: Y's shape with keepdim.
Shape kept_shape(Shape x, const Shape& dims) {
  for (std::int64_t d : dims) x[static_cast<int>(d)] = 1;
  return x;
}

}  // namespace

// Y = sum of X over dims    X [..]  Y: X's shape without dims (with them as 1 if keepdim)
const autograd::CustomOp sum_op({.name = "my_sum", .rule = "dX = dY expanded over the summed dims",
                                 .derivation = "reduction.md#sum"});

Tensor my_sum(const Tensor& x, const Shape& dims, bool keepdim) {
  const Shape kept = kept_shape(x.shape(), dims);
  return sum_op.apply(
      {x}, [dims, keepdim](Context&, const Tensors& in) { return in[0].sum(dims, keepdim); },
      [kept](const Context& ctx, const Tensor& dY) -> Tensors {
        // kept: Y's shape as if keepdim were true. ctx.input_shape(0): X's shape.
        // BEGIN SOLUTION
        // dX = dY put back at the summed dims and copied along them
        return {contiguous(dY.reshape(kept).expand(ctx.input_shape(0)))};
        // END SOLUTION
      });
}

// Y = mean of X over dims = sum / n, n the number of elements summed into each Y
const autograd::CustomOp mean_op({.name = "my_mean", .rule = "dX = dY / n expanded over the averaged dims",
                                  .derivation = "reduction.md#mean"});

Tensor my_mean(const Tensor& x, const Shape& dims, bool keepdim) {
  const Shape kept = kept_shape(x.shape(), dims);
  const double n = static_cast<double>(x.numel()) / static_cast<double>(kept.numel());
  return mean_op.apply(
      {x}, [dims, keepdim](Context&, const Tensors& in) { return in[0].mean(dims, keepdim); },
      [kept, n](const Context& ctx, const Tensor& dY) -> Tensors {
        // BEGIN SOLUTION
        // dX = dY / n put back at the averaged dims and copied along them
        return {contiguous(dY.reshape(kept).expand(ctx.input_shape(0))) / n};  // PLANTED: return {contiguous(dY.reshape(kept).expand(ctx.input_shape(0)))};
        // END SOLUTION
      });
}

}  // namespace course
