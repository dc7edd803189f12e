// embedding: rows of a table chosen by integer ids. Forward gathers, backward scatter-adds
// (backend/gather.cpp).
#include "attograd/ops/embedding.hpp"

#include <string>

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "backend/gather.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

// Y[p, :] = W[ids[p], :]    W [V, D]  ids [...]  Y [..., D]
// dW[v, :] = sum over p with ids[p] = v of dY[p, :]
const Op embedding_op({.name = "embedding",
                       .rule = "dW = each row of dY added into the row of W its id chose",
                       .derivation = "embedding.md"});
Tensor embedding(const Tensor& weight, const Tensor& ids) {
  require_defined("embedding", weight, "weight");
  require_defined("embedding", ids, "ids");
  if (!weight.is_floating_point()) {
    throw DTypeError(fmt::format("embedding: the weight must be a floating-point tensor, got {}; convert with .to(kFloat32)", weight.dtype()));
  }
  if (weight.dim() != 2) {
    throw ShapeError(fmt::format("embedding: the weight must be a [vocabulary, dim] matrix (rank 2), got shape {}",
                                 weight.shape()));
  }
  if (ids.dtype() != kInt64) {
    throw DTypeError(fmt::format("embedding: ids must be int64, got {}; make them with tensor_of<std::int64_t> "
                                 "or convert with .to(kInt64)",
                                 ids.dtype()));
  }
  const std::int64_t V = weight.shape()[0], D = weight.shape()[1];
  if (const std::int64_t p = backend::first_out_of_range(ids, V); p >= 0) {
    const Tensor flat = ids.reshape({-1});
    throw IndexError(fmt::format("embedding: id {} at position {} is out of range for a vocabulary of {} ({})",
                                 flat.at<std::int64_t>({p}), backend::unravel_index(p, ids.shape()), V,
                                 V > 0 ? fmt::format("expected 0..{}", V - 1) : std::string("the table is empty")));
  }
  const std::int64_t N = ids.numel();
  const Tensor flat_ids = contiguous(ids).reshape({N});
  Shape shape = ids.shape();
  shape.push_back(D);
  Tensor rows = empty({N, D}, weight.dtype());
  backend::gather_rows(weight, flat_ids, rows);
  Tensor y = rows.reshape(shape);
  if (Node* node = record(embedding_op, y, {weight})) {
    node->backward = [Ids = node->save(flat_ids), V, D, N](const Tensor& dY, Grads& d) {
      Tensor dW = zeros({V, D}, {.dtype = dY.dtype()});
      backend::scatter_add_rows(dY.reshape({N, D}), Ids, dW);
      d[0] = dW;
    };
  }
  return y;
}

}  // namespace attograd
