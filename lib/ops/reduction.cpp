// Reductions: sum, mean, max, min, argmax, argmin, sum_to. mean is sum divided by a count; max and min
// over several dims move those dims to the end and reduce one flattened dim, so that only the
// one-dim kernel has a hand-written backward.
#include "attograd/ops/reduction.hpp"

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "backend/reduce.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

constexpr std::string_view kMaxMin = "reduction.md#max-and-min";
constexpr std::string_view kArgMaxMin = "reduction.md#argmax-and-argmin";

namespace {

// Which dims a reduction removes. An empty list means all of them, as in PyTorch.
struct Reduced {
  std::array<bool, kMaxRank> dim{};
  Shape kept;    // x's shape with reduced dims set to 1 (keepdim=true)
  Shape result;  // x's shape without them (keepdim=false)
  std::int64_t count = 1;  // elements folded into each result
};

Reduced reduced_dims(std::string_view op, const Tensor& x, const Shape& dims) {
  Reduced r;
  for (std::int64_t d : dims) {
    const int k = normalize_dim(op, d, x.dim());
    if (r.dim[k]) throw IndexError(fmt::format("{}: dim {} appears twice in {}", op, k, dims));
    r.dim[k] = true;
  }
  if (dims.empty()) r.dim.fill(true);
  for (int d = 0; d < x.dim(); ++d) {
    if (r.dim[d]) {
      r.count *= x.shape()[d];
      r.kept.push_back(1);
    } else {
      r.kept.push_back(x.shape()[d]);
      r.result.push_back(x.shape()[d]);
    }
  }
  return r;
}

// For max/min over several dims: x with the reduced dims moved to the end and flattened into one.
Tensor reduced_dims_last(const Tensor& x, const Reduced& r) {
  Shape order;
  Shape shape;
  std::int64_t n = 1;
  for (int d = 0; d < x.dim(); ++d) {
    if (!r.dim[d]) {
      order.push_back(d);
      shape.push_back(x.shape()[d]);
    }
  }
  for (int d = 0; d < x.dim(); ++d) {
    if (r.dim[d]) {
      order.push_back(d);
      n *= x.shape()[d];
    }
  }
  shape.push_back(n);
  return reshape(permute(x, order), shape);
}

// The largest (smallest) value along one dim, keeping the dim with size 1.
// Y = max_r X[.., r, ..]    dX = dY / k at each of the k positions that attain it, 0 elsewhere
const Op max_op({.name = "max",
                 .rule = "dX = dY shared evenly among the positions that attain the maximum, 0 elsewhere",
                 .derivation = kMaxMin});
const Op min_op({.name = "min",
                 .rule = "dX = dY shared evenly among the positions that attain the minimum, 0 elsewhere",
                 .derivation = kMaxMin});
Tensor extreme_along(const Tensor& x, int dim, bool is_max) {
  Shape kept = x.shape();
  kept[dim] = 1;
  Tensor values = empty(kept, x.dtype());
  Tensor indices = empty(kept, kInt64);
  backend::arg_reduce(x, dim, is_max, &values, indices);
  if (Node* node = record(is_max ? max_op : min_op, values, {x})) {
    node->backward = [X = node->save(x), Y = node->save(values), dim](const Tensor& dY, Grads& d) {
      // The elements equal to the extreme (the NaNs, when a NaN is the extreme), and how many per row.
      const Tensor hit = logical_or(eq(X, Y), logical_and(isnan(X), isnan(Y)));
      const Tensor count = sum(hit, Shape{dim}, true).to(dY.dtype());
      d[0] = where(hit, (dY / count).expand(X.shape()), 0.0);
    };
  }
  return values;
}

Tensor extreme(std::string_view op, const Tensor& x, const Shape& dims, bool keepdim, bool is_max) {
  require_defined(op, x);
  if (x.dtype() == kBool) {
    throw DTypeError(fmt::format("{}: expected a numeric tensor, got bool; convert with .to(kInt64) or .to(kFloat32)", op));
  }
  const Reduced r = reduced_dims(op, x, dims);
  // Checked here, before the reduced dims are moved and flattened, so that the message names x's dims.
  for (int d = 0; d < x.dim(); ++d) {
    if (r.dim[d] && x.shape()[d] == 0) {
      throw ShapeError(fmt::format("{}: cannot reduce dim {} of size 0 (shape {}): an empty set has no {}", op, d,
                                   x.shape(), is_max ? "maximum" : "minimum"));
    }
  }
  Tensor y = extreme_along(reduced_dims_last(x, r), r.result.rank(), is_max);
  const Shape& shape = keepdim ? r.kept : r.result;
  return y.shape() == shape ? y : reshape(y, shape);  // no view node when the shape is already right
}

Tensor arg_extreme(std::string_view op, const Tensor& x, std::int64_t dim, bool keepdim, bool is_max) {
  require_defined(op, x);
  if (x.dtype() == kBool) throw DTypeError(fmt::format("{}: expected a numeric tensor, got bool; convert with .to(kInt64) or .to(kFloat32)", op));
  if (x.dim() == 0) {
    normalize_dim(op, dim, 0);
    return zeros({}, {.dtype = kInt64});
  }
  const int d = normalize_dim(op, dim, x.dim());
  if (x.shape()[d] == 0) {
    throw ShapeError(fmt::format("{}: cannot reduce dim {} of size 0 (shape {})", op, d, x.shape()));
  }
  Shape kept = x.shape();
  kept[d] = 1;
  Tensor indices = empty(kept, kInt64);
  backend::arg_reduce(x, d, is_max, nullptr, indices);
  if (!keepdim) kept.erase(d);
  return indices.reshape(kept);
}

// The index into x flattened. An empty x is refused here, where the message can name x's shape.
Tensor arg_extreme_flat(std::string_view op, const Tensor& x, bool is_max) {
  require_defined(op, x);
  for (int d = 0; d < x.dim(); ++d) {
    if (x.shape()[d] == 0) {
      throw ShapeError(fmt::format("{}: cannot reduce dim {} of size 0 (shape {})", op, d, x.shape()));
    }
  }
  return arg_extreme(op, x.reshape({-1}), 0, false, is_max);
}

}  // namespace

// Y = sum of X over dims    dX = dY broadcast back over those dims
const Op sum_op({.name = "sum",
                 .rule = "dX = dY expanded back over the summed dims",
                 .derivation = "reduction.md#sum"});
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  require_defined("sum", x);
  const Reduced r = reduced_dims("sum", x, dims);
  const Tensor input = x.dtype() == kBool ? to(x, kInt64) : x;  // counting trues, as PyTorch does
  Tensor y = empty(r.kept, input.dtype());
  backend::sum_into(input, y);
  if (!keepdim) y = y.reshape(r.result);
  if (Node* node = record(sum_op, y, {input})) {
    node->backward = [kept = r.kept, shape = x.shape()](const Tensor& dY, Grads& d) {
      d[0] = dY.reshape(kept).expand(shape);
    };
  }
  return y;
}

Tensor sum(const Tensor& x) { return sum(x, Shape{}, false); }

// Y = sum / count    (the gradient comes from sum and div)
const Op mean_op(
    {.name = "mean", .gradient = Gradient::Composite, .rule = "sum(X) / n", .derivation = "reduction.md#mean"});
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  require_defined("mean", x);
  if (!x.is_floating_point()) {
    throw DTypeError(fmt::format("mean: expected a floating-point tensor, got {}; convert with .to(kFloat32)",
                                 x.dtype()));
  }
  const Reduced r = reduced_dims("mean", x, dims);
  return sum(x, dims, keepdim) / static_cast<double>(r.count);
}

Tensor mean(const Tensor& x) { return mean(x, Shape{}, false); }

Tensor max(const Tensor& x, const Shape& dims, bool keepdim) { return extreme("max", x, dims, keepdim, true); }
Tensor min(const Tensor& x, const Shape& dims, bool keepdim) { return extreme("min", x, dims, keepdim, false); }
Tensor max(const Tensor& x) { return extreme("max", x, Shape{}, false, true); }
Tensor min(const Tensor& x) { return extreme("min", x, Shape{}, false, false); }

// Indices have no gradient: moving X a little leaves them unchanged (until they jump at a tie).
const Op argmax_op({.name = "argmax",
                    .gradient = Gradient::None,
                    .rule = "int64 output (indices)",
                    .derivation = kArgMaxMin});
const Op argmin_op({.name = "argmin",
                    .gradient = Gradient::None,
                    .rule = "int64 output (indices)",
                    .derivation = kArgMaxMin});
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_extreme("argmax", x, dim, keepdim, true); }
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_extreme("argmin", x, dim, keepdim, false); }
Tensor argmax(const Tensor& x) { return arg_extreme_flat("argmax", x, true); }
Tensor argmin(const Tensor& x) { return arg_extreme_flat("argmin", x, false); }

const Op sum_to_op({.name = "sum_to",
                    .gradient = Gradient::Composite,
                    .rule = "sum over the broadcast dims, then reshape",
                    .derivation = "elementwise.md#broadcasting-sum-back-over-the-broadcast-dims"});
Tensor sum_to(const Tensor& x, const Shape& shape) {
  require_defined("sum_to", x);
  if (x.shape() == shape) return x;
  const Shape& from = x.shape();
  bool ok = shape.rank() <= from.rank();
  Shape dims;
  const int shift = from.rank() - shape.rank();
  for (int d = 0; ok && d < from.rank(); ++d) {
    const std::int64_t want = d < shift ? 1 : shape[d - shift];
    if (d < shift || (want == 1 && from[d] != 1)) {
      dims.push_back(d);
    } else if (want != from[d]) {
      ok = false;
    }
  }
  if (!ok) {
    throw ShapeError(fmt::format("sum_to: shape {} cannot be summed to {} ({} does not broadcast to {})", from,
                                 shape, shape, from));
  }
  if (dims.empty()) return reshape(x, shape);
  return reshape(sum(x, dims, true), shape);
}

Tensor Tensor::sum() const { return attograd::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return attograd::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return attograd::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return attograd::mean(*this, dims, keepdim); }
Tensor Tensor::max() const { return attograd::max(*this); }
Tensor Tensor::min() const { return attograd::min(*this); }
Tensor Tensor::max(const Shape& dims, bool keepdim) const { return attograd::max(*this, dims, keepdim); }
Tensor Tensor::min(const Shape& dims, bool keepdim) const { return attograd::min(*this, dims, keepdim); }
Tensor Tensor::argmax(std::int64_t dim, bool keepdim) const { return attograd::argmax(*this, dim, keepdim); }

}  // namespace attograd
