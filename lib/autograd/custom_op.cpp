#include "attograd/autograd/custom_op.hpp"

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"

namespace attograd::autograd {

namespace {

// "input 1 (B, shape [3])": how the messages name an input, with the letter from the op's rule.
std::string input_name(const OpInfo& op, const Context& ctx, std::size_t i) {
  const std::string letter = input_letter(&op, i);
  if (letter.starts_with("input ")) return fmt::format("input {} (shape {})", i, ctx.input_shape(i));
  return fmt::format("input {} ({}, shape {})", i, letter, ctx.input_shape(i));
}

// Does `from` broadcast to `to`? Then the forward most likely broadcast that input, and its gradient
// has the output's shape where it needs the input's.
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.rank() > to.rank()) return false;
  for (int k = 1; k <= from.rank(); ++k) {
    const std::int64_t f = from[from.rank() - k];
    if (f != 1 && f != to[to.rank() - k]) return false;
  }
  return true;
}

// What a student should try when gradient i has the wrong shape.
std::string shape_hint(const Shape& got, const Shape& want, const std::string& letter, std::size_t i) {
  if (broadcasts_to(want, got)) {
    return fmt::format("the forward broadcast this input to {}: sum the gradient over the broadcast dims, "
                       "sum_to(d{}, ctx.input_shape({}))",
                       got, letter, i);
  }
  if (got.numel() == want.numel()) {
    return "it has the right number of elements: is it transposed, or does it need a reshape?";
  }
  return "a gradient always has its input's shape: check which tensors the formula multiplies";
}

// The backward's result, checked against the inputs before the engine sees it.
void check_gradients(const OpInfo& op, const Context& ctx, const Tensors& grads) {
  const std::size_t n = ctx.input_count();
  if (grads.size() != n) {
    throw AutogradError(fmt::format(
        "backward of '{}' returned {} gradient{} for {} input{}; return one per input, in the order of the "
        "inputs (Tensor() for an input that needs no gradient){}",
        op.name, grads.size(), grads.size() == 1 ? "" : "s", n, n == 1 ? "" : "s",
        grads.empty() ? ". Is the backward still the blank `return {};`?" : ""));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!ctx.needs_grad(i)) continue;
    const Tensor& g = grads[i];
    const std::string letter = input_letter(&op, i);
    const std::string d = letter.starts_with("input ") ? "its gradient" : "d" + letter;
    if (!g.defined()) {
      throw AutogradError(fmt::format(
          "backward of '{}' returned no gradient for {}, which requires grad; return {} with that shape "
          "(zeros_like of the input if the output truly does not depend on it)",
          op.name, input_name(op, ctx, i), d));
    }
    if (g.shape() != ctx.input_shape(i)) {
      throw ShapeError(fmt::format("backward of '{}': the gradient for {} has shape {}, expected {}; {}", op.name,
                                   input_name(op, ctx, i), g.shape(), ctx.input_shape(i),
                                   shape_hint(g.shape(), ctx.input_shape(i), letter, i)));
    }
    if (g.dtype() != ctx.input_dtype(i)) {
      throw DTypeError(fmt::format(
          "backward of '{}': the gradient for {} is {}, expected {} like the input; compute it from tensors "
          "of the input's dtype, or convert it with .to(ctx.input_dtype({}))",
          op.name, input_name(op, ctx, i), g.dtype(), ctx.input_dtype(i), i));
    }
  }
}

// An error thrown by the op's own backward (an op it calls refused its shapes), of the same type, with
// the op and its shapes in front: the library op that threw is only a step inside this one.
template <class E>
[[noreturn]] void rethrow_within(const OpInfo& op, const Context& ctx, const Tensor& grad_output, const E& e) {
  std::string shapes;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) shapes += fmt::format("{}{}", i ? ", " : "", ctx.input_shape(i));
  throw E(fmt::format("in the backward of '{}' (inputs {}; output gradient {}): {}", op.name, shapes,
                      grad_output.defined() ? fmt::format("{}", grad_output.shape()) : std::string("undefined"),
                      e.what()));
}

Tensors run_backward(const OpInfo& op, const Context& ctx, const CustomBackward& backward, const Tensor& dY) {
  try {
    return backward(ctx, dY);
  } catch (const ShapeError& e) {
    rethrow_within(op, ctx, dY, e);
  } catch (const DTypeError& e) {
    rethrow_within(op, ctx, dY, e);
  } catch (const IndexError& e) {
    rethrow_within(op, ctx, dY, e);
  } catch (const ValueError& e) {
    rethrow_within(op, ctx, dY, e);
  }
}

}  // namespace

void Context::save(const Tensor& t) { saved_.push_back(t); }

const Tensor& Context::saved(std::size_t i) const {
  if (i >= saved_.size()) {
    throw IndexError(fmt::format("'{}': saved({}) asked for tensor {}, but the forward saved {}; save it in "
                                 "the forward with ctx.save(t)",
                                 op_, i, i, saved_.size()));
  }
  return saved_[i];
}

bool Context::needs_grad(std::size_t i) const { return i < needs_grad_.size() && needs_grad_[i]; }

const Shape& Context::input_shape(std::size_t i) const {
  if (i >= input_shapes_.size()) {
    throw IndexError(fmt::format("'{}': input_shape({}), but the op has {} inputs", op_, i, input_shapes_.size()));
  }
  return input_shapes_[i];
}

DType Context::input_dtype(std::size_t i) const {
  if (i >= input_dtypes_.size()) {
    throw IndexError(fmt::format("'{}': input_dtype({}), but the op has {} inputs", op_, i, input_dtypes_.size()));
  }
  return input_dtypes_[i];
}

CustomOp::CustomOp(OpInfo info, std::source_location where) : op_(std::move(info), where) {}

Tensor CustomOp::apply(const Tensors& inputs, const CustomForward& forward, CustomBackward backward) const {
  const OpInfo& op = info();
  auto ctx = std::make_shared<Context>();
  ctx->op_ = op.name;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) throw ValueError(fmt::format("{}: input {} is an undefined tensor", op.name, i));
    ctx->needs_grad_.push_back(GradMode::is_enabled() && inputs[i].requires_grad());
    ctx->input_shapes_.push_back(inputs[i].shape());
    ctx->input_dtypes_.push_back(inputs[i].dtype());
  }

  Tensor out;
  {
    NoGradGuard no_grad;  // the forward's own ops are not recorded: this op is one node
    out = forward(*ctx, inputs);
  }
  if (!out.defined()) throw AutogradError(fmt::format("forward of '{}' returned an undefined tensor", op.name));
  // A fresh tensor object for the output, so that a forward returning one of its inputs (or a tensor it
  // saved) does not make record() mark that tensor as this op's output.
  out = out.detach();

  Node* node = record(op_, out, std::span<const Tensor>(inputs));
  if (node == nullptr) return out;  // nothing requires grad: nothing to keep
  for (Tensor& t : ctx->saved_) t = node->save(t);  // the engine now watches them for in-place changes
  node->backward = [ctx, backward = std::move(backward), &op](const Tensor& grad_output, Grads& d) {
    Tensors grads = run_backward(op, *ctx, backward, grad_output);
    check_gradients(op, *ctx, grads);
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (d.wanted(i)) d[i] = std::move(grads[i]);
    }
  };
  return out;
}

}  // namespace attograd::autograd
