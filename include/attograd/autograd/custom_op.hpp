/// \file
/// Writing your own differentiable op, forward and backward.
///
/// \code
/// // Y = X³    dX = dY * 3X²
/// const autograd::CustomOp cube_op({.name = "cube", .rule = "dX = dY * 3X²"});
///
/// Tensor cube(const Tensor& x) {
///   return cube_op.apply({x},
///       [](autograd::Context& ctx, const Tensors& in) {         // forward: records nothing
///         ctx.save(in[0]);                                      // kept for backward
///         return in[0] * in[0] * in[0];
///       },
///       [](const autograd::Context& ctx, const Tensor& dY) -> Tensors {
///         const Tensor& X = ctx.saved(0);
///         return {dY * 3.0 * X * X};                            // one gradient per input
///       });
/// }
/// \endcode
///
/// The op is registered like the library's own (op_registry.hpp), so the graph pictures (viz::to_dot),
/// the backward trace (viz::Explain) and anomaly mode name it and show its rule, and gradcheck checks
/// it like any other. Its backward's result is checked before the engine uses it: a gradient missing,
/// of the wrong shape or of the wrong dtype is an error naming the op, the input, what was expected and
/// how to fix it. docs/custom-ops.md walks through it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <source_location>
#include <string_view>
#include <vector>

#include "attograd/autograd/op_registry.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd {

/// A list of tensors: a custom op's inputs, or the gradients its backward returns.
using Tensors = std::vector<Tensor>;

namespace autograd {

/// What the forward of a custom op hands to its backward: the tensors it saved, and what the backward
/// may ask about the inputs.
class Context {
 public:
  /// Keeps t for backward; saved(0), saved(1), ... give them back in the order saved. The engine
  /// refuses to run backward if t is modified in place in between.
  void save(const Tensor& t);
  const Tensor& saved(std::size_t i) const;  ///< the i-th tensor saved with save(), in the order saved
  std::size_t saved_count() const { return saved_.size(); }  ///< how many tensors were saved

  /// Does input i need a gradient? A backward may skip the work for an input that does not (and return
  /// an undefined Tensor() in its place).
  bool needs_grad(std::size_t i) const;
  std::size_t input_count() const { return input_shapes_.size(); }  ///< how many inputs the op was applied to
  const Shape& input_shape(std::size_t i) const;  ///< the shape of input i (its gradient must have it)
  DType input_dtype(std::size_t i) const;  ///< the dtype of input i (its gradient must have it)

 private:
  friend class CustomOp;
  std::string_view op_;
  Tensors saved_;
  std::vector<bool> needs_grad_;
  std::vector<Shape> input_shapes_;
  std::vector<DType> input_dtypes_;
};

/// forward(ctx, inputs) returns the output; it runs with grad mode off, so the ops it calls record
/// nothing: the custom op is one node in the graph. backward(ctx, dY) returns one gradient per input,
/// in the order of the inputs, each with its input's shape and dtype.
using CustomForward = std::function<Tensor(Context& ctx, const Tensors& inputs)>;
/// backward(ctx, dY) returns one gradient per input (an undefined Tensor for an input that needs none).
using CustomBackward = std::function<Tensors(const Context& ctx, const Tensor& grad_output)>;

/// A differentiable op of your own: an object at namespace scope (like the library's autograd::Op),
/// alive for the whole program. Its OpInfo is as for the library's ops: .name (distinct from the
/// library's: "cube", "my_softmax"), .rule (the backward as maths, with the letters of the comment
/// above the op: the trace and the error messages name the inputs by them) and optionally
/// .derivation (a page and section of docs/derivations/).
class CustomOp {
 public:
  /// Registers the op under info.name; `where` (the line of the definition) goes into the op manifest.
  explicit CustomOp(OpInfo info, std::source_location where = std::source_location::current());

  /// Runs forward on the inputs and, if grad mode is on and an input requires grad, records one node
  /// whose backward is `backward`. Each output has one op: apply is called once per call of your op.
  Tensor apply(const Tensors& inputs, const CustomForward& forward, CustomBackward backward) const;

  const OpInfo& info() const { return op_.info(); }  ///< the op's registered name, rule and derivation

 private:
  Op op_;
};

}  // namespace autograd
}  // namespace attograd
