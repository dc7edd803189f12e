// Joins and copies: cat, stack, clone, contiguous, to(dtype). Each makes new storage; the gradient is
// split back (cat, stack) or passed through (converted back to the input's dtype for to()).
#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "backend/basic.hpp"
#include "ops/new_dim.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

// The sections of docs/derivations/shape.md that derive these backwards.
constexpr std::string_view kRearranging = "shape.md#rearranging-each-element-appears-exactly-once";
constexpr std::string_view kJoining = "shape.md#joining-split-the-gradient";

// Y = [X_0, X_1, ...] joined along dim    dX_i = dY's slice where X_i went
const Op cat_op({.name = "cat", .rule = "dX_i = the slice of dY where X_i went", .derivation = kJoining});
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  if (tensors.empty()) throw ValueError("cat: needs at least one tensor");
  for (std::size_t i = 0; i < tensors.size(); ++i) require_defined("cat", tensors[i], fmt::format("tensor {}", i));
  const Tensor& first = tensors[0];
  if (first.dim() == 0) throw ShapeError("cat: rank-0 tensors cannot be joined; use stack()");
  const int d = normalize_dim("cat", dim, first.dim());
  DType dtype = first.dtype();
  Shape shape = first.shape();
  shape[d] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    bool fits = t.dim() == first.dim();
    for (int k = 0; fits && k < t.dim(); ++k) fits = k == d || t.shape()[k] == first.shape()[k];
    if (!fits) {
      throw ShapeError(fmt::format("cat: tensor {} has shape {} but tensor 0 has {}; shapes must match except "
                                   "in dim {}",
                                   i, t.shape(), first.shape(), d));
    }
    shape[d] += t.shape()[d];
    dtype = promote(dtype, t.dtype());
  }
  std::vector<Tensor> inputs;
  inputs.reserve(tensors.size());
  for (const Tensor& t : tensors) inputs.push_back(to(t, dtype));

  Tensor y = empty(shape, dtype);
  std::vector<std::int64_t> starts;
  std::int64_t at = 0;
  for (const Tensor& t : inputs) {
    starts.push_back(at);
    Tensor window = slice(y.detach(), d, at, at + t.shape()[d]);
    backend::copy_into(window, t);
    at += t.shape()[d];
  }
  if (Node* node = record(cat_op, y, std::span<const Tensor>(inputs))) {
    std::vector<std::int64_t> sizes;
    for (const Tensor& t : inputs) sizes.push_back(t.shape()[d]);
    node->backward = [d, starts, sizes](const Tensor& dY, Grads& g) {
      for (std::size_t i = 0; i < g.size(); ++i) {
        if (g.wanted(i)) g[i] = slice(dY, d, starts[i], starts[i] + sizes[i]);
      }
    };
  }
  return y;
}

const Op stack_op({.name = "stack",
                   .gradient = Gradient::Composite,
                   .rule = "unsqueeze each, then cat",
                   .derivation = kJoining});
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  if (tensors.empty()) throw ValueError("stack: needs at least one tensor");
  const int d = new_dim("stack", dim, tensors[0].shape(), "tensors");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].shape() != tensors[0].shape()) {
      throw ShapeError(fmt::format("stack: tensor {} has shape {} but tensor 0 has {}; all must be equal", i,
                                   tensors[i].shape(), tensors[0].shape()));
    }
    parts.push_back(unsqueeze(tensors[i], d));
  }
  return cat(parts, d);
}

// Y = X in new storage    dX = dY
const Op clone_op({.name = "clone", .rule = "dX = dY", .derivation = kRearranging});
Tensor clone(const Tensor& x) {
  require_defined("clone", x);
  Tensor y = backend::copy(x, x.dtype());
  if (Node* node = record(clone_op, y, {x})) {
    node->backward = [](const Tensor& dY, Grads& d) { d[0] = dY; };
  }
  return y;
}

const Op contiguous_op({.name = "contiguous", .rule = "dX = dY", .derivation = kRearranging});
Tensor contiguous(const Tensor& x) {
  require_defined("contiguous", x);
  if (x.is_contiguous()) return x;
  Tensor y = backend::copy(x, x.dtype());
  if (Node* node = record(contiguous_op, y, {x})) {
    node->backward = [](const Tensor& dY, Grads& d) { d[0] = dY; };
  }
  return y;
}

// Y = X as another dtype    dX = dY converted back to X's dtype
const Op to_op({.name = "to",
                .rule = "dX = dY converted back to X's dtype",
                .derivation = "shape.md#converting-the-dtype"});
Tensor to(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor y = backend::copy(x, dtype);
  if (is_floating(dtype) && is_floating(x.dtype())) {
    if (Node* node = record(to_op, y, {x})) {
      node->backward = [from = x.dtype()](const Tensor& dY, Grads& d) { d[0] = backend::copy(dY, from); };
    }
  }
  return y;
}

Tensor Tensor::clone() const { return attograd::clone(*this); }
Tensor Tensor::contiguous() const { return attograd::contiguous(*this); }
Tensor Tensor::to(DType dtype) const { return attograd::to(*this, dtype); }

}  // namespace attograd
