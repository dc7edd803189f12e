// Views: reshape, view, flatten, transpose, permute, narrow, slice, select, squeeze, unsqueeze,
// expand (joins and copies are in join.cpp). A view is a new TensorImpl over the same storage with other sizes, strides and offset;
// its backward routes the gradient back onto the elements the view covers.
#include "attograd/ops/shape_ops.hpp"

#include <algorithm>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/reduction.hpp"
#include "backend/basic.hpp"
#include "ops/new_dim.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

// The sections of docs/derivations/shape.md that derive the views' backwards.
constexpr std::string_view kRearranging = "shape.md#rearranging-each-element-appears-exactly-once";
constexpr std::string_view kSelecting = "shape.md#selecting-elements-not-shown-get-zero";

namespace {

Tensor as_view(const Tensor& x, const Shape& shape, const Strides& strides, std::int64_t offset) {
  const TensorImpl& base = *x.impl();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage;
  impl->shape = shape;
  impl->strides = strides;
  // A view with no elements addresses nothing. Offset 0 keeps its data pointer at the start of the
  // storage, which for an empty base may own no memory at all (a null pointer must not be offset).
  impl->offset = shape.numel() == 0 ? 0 : offset;
  impl->dtype = base.dtype;
  return Tensor(std::move(impl));
}

// Replaces a -1 entry by the size that makes the element count match.
Shape infer_shape(std::string_view op, const Shape& wanted, const Shape& from) {
  Shape shape = wanted;
  int unknown = -1;
  std::int64_t known = 1;
  for (int d = 0; d < shape.rank(); ++d) {
    if (shape[d] == -1) {
      if (unknown >= 0) throw ShapeError(fmt::format("{}: only one dim can be -1, got {}", op, wanted));
      unknown = d;
    } else if (shape[d] < 0) {
      throw ShapeError(fmt::format("{}: invalid size {} in shape {}", op, shape[d], wanted));
    } else if (shape[d] != 0 && known > std::numeric_limits<std::int64_t>::max() / shape[d]) {
      throw ShapeError(fmt::format("{}: the sizes in shape {} multiply past the int64 range", op, wanted));
    } else {
      known *= shape[d];
    }
  }
  const std::int64_t numel = from.numel();
  if (unknown >= 0) {
    if (known == 0 || numel % known != 0) {
      throw ShapeError(fmt::format("{}: shape {} is invalid for input of shape {} ({} elements)", op, wanted,
                                   from, numel));
    }
    shape[unknown] = numel / known;
  } else if (known != numel) {
    throw ShapeError(fmt::format("{}: shape {} is invalid for input of shape {} ({} elements)", op, wanted,
                                 from, numel));
  }
  return shape;
}

// Strides that present x's memory in the new shape, if there are any. Old dims that are laid out one
// after the other form chunks; a view exists when every chunk is split into whole new dims.
std::optional<Strides> view_strides(const Tensor& x, const Shape& shape) {
  if (x.is_contiguous() || x.numel() == 0) return contiguous_strides(shape);
  const Shape& old_shape = x.shape();
  const Strides& old_strides = x.strides();
  Strides strides = shape;
  int view_d = shape.rank() - 1;
  std::int64_t chunk_stride = old_strides[old_shape.rank() - 1];
  std::int64_t chunk_numel = 1;
  std::int64_t view_numel = 1;
  for (int d = old_shape.rank() - 1; d >= 0; --d) {
    chunk_numel *= old_shape[d];
    const bool chunk_ends = d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != chunk_numel * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < chunk_numel || shape[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_stride;
      view_numel *= shape[view_d];
      --view_d;
    }
    if (view_numel != chunk_numel) return std::nullopt;
    if (d > 0) {
      chunk_stride = old_strides[d - 1];
      chunk_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

// The gradient of a view that covers part of x: zeros of x's shape, with dY written where the view is.
template <class MakeView>
Tensor scatter_into_zeros(const Tensor& dY, const Shape& shape, MakeView make_view) {
  Tensor dX = zeros(shape, {.dtype = dY.dtype()});
  Tensor window = make_view(dX);
  backend::copy_into(window, dY);
  return dX;
}

}  // namespace

// Y = X seen with another shape    dX = dY reshaped back
const Op view_op({.name = "view", .rule = "dX = dY reshaped to X's shape", .derivation = kRearranging});
Tensor view(const Tensor& x, const Shape& wanted) {
  require_defined("view", x);
  const Shape shape = infer_shape("view", wanted, x.shape());
  auto strides = view_strides(x, shape);
  if (!strides) {
    throw ShapeError(fmt::format("view: a tensor of shape {} with strides {} cannot be viewed as {} without a "
                                 "copy; use reshape()",
                                 x.shape(), x.strides(), shape));
  }
  Tensor y = as_view(x, shape, *strides, x.offset());
  if (Node* node = record(view_op, y, {x})) {
    node->backward = [shape = x.shape()](const Tensor& dY, Grads& d) { d[0] = reshape(dY, shape); };
  }
  return y;
}

const Op reshape_op({.name = "reshape",
                     .gradient = Gradient::Composite,
                     .rule = "view, after contiguous if the strides need it",
                     .derivation = kRearranging});
Tensor reshape(const Tensor& x, const Shape& wanted) {
  require_defined("reshape", x);
  const Shape shape = infer_shape("reshape", wanted, x.shape());
  if (view_strides(x, shape)) return view(x, shape);
  return view(contiguous(x), shape);
}

const Op flatten_op({.name = "flatten",
                     .gradient = Gradient::Composite,
                     .rule = "reshape",
                     .derivation = kRearranging});
Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  const int start = normalize_dim("flatten", start_dim, x.dim());
  const int end = normalize_dim("flatten", end_dim, x.dim());
  if (x.dim() == 0) return reshape(x, {1});
  if (start > end) {
    throw IndexError(fmt::format("flatten: start_dim {} comes after end_dim {}", start_dim, end_dim));
  }
  Shape shape;
  for (int d = 0; d < start; ++d) shape.push_back(x.shape()[d]);
  std::int64_t n = 1;
  for (int d = start; d <= end; ++d) n *= x.shape()[d];
  shape.push_back(n);
  for (int d = end + 1; d < x.dim(); ++d) shape.push_back(x.shape()[d]);
  return reshape(x, shape);
}

// Y = X with dims i and j swapped    dX = dY with them swapped back
const Op transpose_op({.name = "transpose", .rule = "dX = transpose(dY, i, j)", .derivation = kRearranging});
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  const int i = normalize_dim("transpose", dim0, x.dim());
  const int j = normalize_dim("transpose", dim1, x.dim());
  if (x.dim() == 0) return x;
  Shape shape = x.shape();
  Strides strides = x.strides();
  std::swap(shape[i], shape[j]);
  std::swap(strides[i], strides[j]);
  Tensor y = as_view(x, shape, strides, x.offset());
  if (Node* node = record(transpose_op, y, {x})) {
    node->backward = [i, j](const Tensor& dY, Grads& d) { d[0] = transpose(dY, i, j); };
  }
  return y;
}

// Y = X with dims reordered: Y dim k is X dim p[k]    dX = dY reordered by the inverse permutation
const Op permute_op({.name = "permute", .rule = "dX = permute(dY, inverse of p)", .derivation = kRearranging});
Tensor permute(const Tensor& x, const Shape& dims) {
  if (dims.rank() != x.dim()) {
    throw ShapeError(fmt::format("permute: {} dims given for a tensor of rank {} (shape {})", dims.rank(), x.dim(),
                                 x.shape()));
  }
  Shape p;
  p.resize(x.dim());
  std::array<bool, kMaxRank> seen{};
  for (int k = 0; k < x.dim(); ++k) {
    const int d = normalize_dim("permute", dims[k], x.dim());
    if (seen[d]) throw IndexError(fmt::format("permute: dim {} appears twice in {}", d, dims));
    seen[d] = true;
    p[k] = d;
  }
  Shape shape = x.shape();
  Strides strides = x.strides();
  Shape inverse;
  inverse.resize(x.dim());
  for (int k = 0; k < x.dim(); ++k) {
    shape[k] = x.shape()[static_cast<int>(p[k])];
    strides[k] = x.strides()[static_cast<int>(p[k])];
    inverse[static_cast<int>(p[k])] = k;
  }
  Tensor y = as_view(x, shape, strides, x.offset());
  if (Node* node = record(permute_op, y, {x})) {
    node->backward = [inverse](const Tensor& dY, Grads& d) { d[0] = permute(dY, inverse); };
  }
  return y;
}

// Y = X[.., start:start+length, ..] along dim    dX = dY in that window, 0 elsewhere
const Op narrow_op({.name = "narrow",
                    .gradient = Gradient::Composite,
                    .rule = "slice with step 1",
                    .derivation = kSelecting});
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  const int d = normalize_dim("narrow", dim, x.dim());
  if (x.dim() == 0) throw IndexError("narrow: a rank-0 tensor has no dim to narrow");
  const std::int64_t n = x.shape()[d];
  const std::int64_t from = start < 0 ? start + n : start;
  if (from < 0 || length < 0 || length > n - from) {
    throw IndexError(fmt::format("narrow: start {} and length {} do not fit in dim {} of size {} (shape {})", start,
                                 length, d, n, x.shape()));
  }
  return slice(x, d, from, from + length, 1);
}

// Y = X[.., start:end:step, ..] along dim    dX = dY at those positions, 0 elsewhere
const Op slice_op({.name = "slice", .rule = "dX = zeros of X's shape with dY in the window", .derivation = kSelecting});
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  if (x.dim() == 0) throw IndexError("slice: a rank-0 tensor has no dim to slice");
  const int d = normalize_dim("slice", dim, x.dim());
  if (step < 1) throw ValueError(fmt::format("slice: step must be >= 1, got {}", step));
  const std::int64_t n = x.shape()[d];
  auto clamp_index = [n](std::int64_t i) { return std::clamp(i < 0 ? i + n : i, std::int64_t{0}, n); };
  start = clamp_index(start);
  end = std::max(clamp_index(end), start);
  // A step past the end picks the first element only. Clamping it keeps the size and stride below
  // from overflowing for steps such as INT64_MAX (Python's x[::sys.maxsize]).
  step = std::min(step, std::max<std::int64_t>(end - start, 1));
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] = x.strides()[d] * step;
  Tensor y = as_view(x, shape, strides, x.offset() + start * x.strides()[d]);
  if (Node* node = record(slice_op, y, {x})) {
    node->backward = [shape = x.shape(), d, start, end, step](const Tensor& dY, Grads& g) {
      g[0] = scatter_into_zeros(dY, shape, [&](const Tensor& dX) { return slice(dX, d, start, end, step); });
    };
  }
  return y;
}

// Y = X[.., index, ..] with dim removed    dX = dY at that index, 0 elsewhere
const Op select_op({.name = "select",
                    .rule = "dX = zeros of X's shape with dY at the index",
                    .derivation = kSelecting});
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  if (x.dim() == 0) throw IndexError("select: a rank-0 tensor has no dim to select from");
  const int d = normalize_dim("select", dim, x.dim());
  const std::int64_t n = x.shape()[d];
  if (index < -n || index >= n) {
    throw IndexError(fmt::format("select: index {} is out of range for dim {} of size {} (shape {})", index, d, n,
                                 x.shape()));
  }
  if (index < 0) index += n;
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape.erase(d);
  strides.erase(d);
  Tensor y = as_view(x, shape, strides, x.offset() + index * x.strides()[d]);
  if (Node* node = record(select_op, y, {x})) {
    node->backward = [shape = x.shape(), d, index](const Tensor& dY, Grads& g) {
      g[0] = scatter_into_zeros(dY, shape, [&](const Tensor& dX) { return select(dX, d, index); });
    };
  }
  return y;
}

const Op squeeze_op({.name = "squeeze",
                     .gradient = Gradient::Composite,
                     .rule = "reshape",
                     .derivation = kRearranging});
Tensor squeeze(const Tensor& x) {
  Shape shape;
  for (std::int64_t s : x.shape()) {
    if (s != 1) shape.push_back(s);
  }
  return reshape(x, shape);
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  const int d = normalize_dim("squeeze", dim, x.dim());
  if (x.dim() == 0 || x.shape()[d] != 1) return x;
  Shape shape = x.shape();
  shape.erase(d);
  return reshape(x, shape);
}

const Op unsqueeze_op({.name = "unsqueeze",
                       .gradient = Gradient::Composite,
                       .rule = "reshape",
                       .derivation = kRearranging});
Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  const int d = new_dim("unsqueeze", dim, x.shape(), "a tensor");
  Shape shape = x.shape();
  shape.insert(d, 1);
  return reshape(x, shape);
}

// Y = X repeated along size-1 dims (a view with stride 0)    dX = dY summed over those dims
const Op expand_op({.name = "expand",
                    .rule = "dX = sum_to(dY, X's shape)",
                    .derivation = "shape.md#expanding-copies-are-summed"});
Tensor expand(const Tensor& x, const Shape& wanted) {
  if (wanted.rank() < x.dim()) {
    throw ShapeError(fmt::format("expand: cannot expand shape {} to fewer dims {}", x.shape(), wanted));
  }
  Shape shape = wanted;
  Strides strides;
  strides.resize(wanted.rank(), 0);
  const int shift = wanted.rank() - x.dim();
  for (int d = 0; d < wanted.rank(); ++d) {
    const int xd = d - shift;
    const std::int64_t have = xd >= 0 ? x.shape()[xd] : 1;
    if (shape[d] < -1) throw ShapeError(fmt::format("expand: invalid size {} in {}", shape[d], wanted));
    if (shape[d] == -1) {
      if (xd < 0) throw ShapeError(fmt::format("expand: -1 is not allowed for the new leading dim {} in {}", d, wanted));
      shape[d] = have;
    }
    if (have == shape[d]) {
      strides[d] = xd >= 0 ? x.strides()[xd] : 0;
    } else if (have == 1) {
      strides[d] = 0;
    } else {
      throw ShapeError(fmt::format("expand: shape {} cannot be expanded to {}: dim {} is {} (only size-1 dims "
                                   "expand)",
                                   x.shape(), wanted, d, have));
    }
  }
  checked_numel("expand", shape);  // a view allocates nothing, but its element count must still be countable
  if (shape == x.shape()) return x;
  Tensor y = as_view(x, shape, strides, x.offset());
  if (Node* node = record(expand_op, y, {x})) {
    node->backward = [shape = x.shape()](const Tensor& dY, Grads& d) { d[0] = sum_to(dY, shape); };
  }
  return y;
}

// --- the same as Tensor methods --------------------------------------------------------------------

Tensor Tensor::reshape(const Shape& shape) const { return attograd::reshape(*this, shape); }
Tensor Tensor::view(const Shape& shape) const { return attograd::view(*this, shape); }
Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  return attograd::flatten(*this, start_dim, end_dim);
}
Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const { return attograd::transpose(*this, dim0, dim1); }
Tensor Tensor::mT() const {
  if (dim() < 2) {
    throw ShapeError(fmt::format("mT: needs a tensor of rank >= 2, got shape {}", shape()));
  }
  return attograd::transpose(*this, -2, -1);
}
Tensor Tensor::permute(const Shape& dims) const { return attograd::permute(*this, dims); }
Tensor Tensor::narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const {
  return attograd::narrow(*this, dim, start, length);
}
Tensor Tensor::slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return attograd::slice(*this, dim, start, end, step);
}
Tensor Tensor::select(std::int64_t dim, std::int64_t index) const { return attograd::select(*this, dim, index); }
Tensor Tensor::squeeze() const { return attograd::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t dim) const { return attograd::squeeze(*this, dim); }
Tensor Tensor::unsqueeze(std::int64_t dim) const { return attograd::unsqueeze(*this, dim); }
Tensor Tensor::expand(const Shape& shape) const { return attograd::expand(*this, shape); }

}  // namespace attograd
