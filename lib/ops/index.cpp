// index_select: slices chosen by index along one dim, copied one by one; the backward adds each
// slice of the gradient back where it came from.
#include "attograd/ops/index.hpp"

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "backend/basic.hpp"

namespace attograd {

using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

// Y[.., i, ..] = X[.., index[i], ..]    dX[.., index[i], ..] += dY[.., i, ..]
const Op index_select_op({.name = "index_select",
                          .rule = "dX = zeros, then dX[.., index[i], ..] += dY[.., i, ..]",
                          .derivation = "embedding.md#the-gradient-scatters-and-adds"});
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  if (x.dim() == 0) throw ShapeError("index_select: a rank-0 tensor has no dim to select from");
  const int d = normalize_dim("index_select", dim, x.dim());
  if (index.dtype() != kInt64 || index.dim() != 1) {
    throw DTypeError(fmt::format("index_select: the index must be a 1-D int64 tensor, got {} of shape {} (convert with .to(kInt64))",
                                 index.dtype(), index.shape()));
  }
  const std::int64_t size = x.shape()[d];
  std::vector<std::int64_t> ids = index.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < -size || ids[i] >= size) {
      throw IndexError(fmt::format("index_select: index {} at position {} is out of range for dim {} of size {} "
                                   "(shape {})",
                                   ids[i], i, d, size, x.shape()));
    }
    if (ids[i] < 0) ids[i] += size;
  }
  Shape shape = x.shape();
  shape[d] = static_cast<std::int64_t>(ids.size());
  Tensor y = empty(shape, x.dtype());
  const Tensor source = x.detach();
  const Tensor target = y.detach();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Tensor slot = select(target, d, static_cast<std::int64_t>(i));
    backend::copy_into(slot, select(source, d, ids[i]));
  }
  if (Node* node = record(index_select_op, y, {x})) {
    node->backward = [ids, d, shape = x.shape()](const Tensor& dY, Grads& g) {
      Tensor dX = zeros(shape, {.dtype = dY.dtype()});
      for (std::size_t i = 0; i < ids.size(); ++i) {
        Tensor slot = select(dX, d, ids[i]);
        backend::add_into(slot, select(dY, d, static_cast<std::int64_t>(i)));
      }
      g[0] = dX;
    };
  }
  return y;
}

}  // namespace attograd
