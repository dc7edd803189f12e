// Exercise 2: add, with broadcasting. Text: exercises/README.md, "2. add with broadcasting".
#include "exercises.hpp"

namespace course {

using autograd::Context;

// C = A + B    A and B broadcast against each other: C has the larger shape
const autograd::CustomOp add_op({.name = "my_add", .rule = "dA = sum_to(dC, A)   dB = sum_to(dC, B)",
                                 .derivation = "elementwise.md#broadcasting-sum-back-over-the-broadcast-dims"});

Tensor my_add(const Tensor& a, const Tensor& b) {
  return add_op.apply(
      {a, b}, [](Context&, const Tensors& in) { return in[0] + in[1]; },  // nothing to save
      [](const Context& ctx, const Tensor& dC) -> Tensors {
        // ctx.input_shape(0) and ctx.input_shape(1) are A's and B's shapes.
        // BEGIN SOLUTION
        // dA = dC summed to A's shape    dB = dC summed to B's shape
        return {sum_to(dC, ctx.input_shape(0)), sum_to(dC, ctx.input_shape(1))};  // PLANTED: return {sum_to(dC, ctx.input_shape(0)), dC};
        // END SOLUTION
      });
}

}  // namespace course
