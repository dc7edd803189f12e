// matmul: checks, NumPy's rules for 1-D operands and batch broadcasting, then one backend call.
#include "attograd/ops/linalg.hpp"

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/ops/reduction.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "backend/elementwise.hpp"
#include "backend/kept_copies.hpp"
#include "backend/matmul.hpp"
#include "backend/reduce.hpp"
#include "core/dispatch.hpp"
#include "ops/matmul_layout.hpp"
#include "ops/one_dtype.hpp"
#include "ops/pointwise.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

namespace {

constexpr std::string_view kOneDnn = "oneDNN (float32) / reference";

// Whether t is not contiguous but its elements fill a block of memory in some order of its dims with
// rows of unit stride (the [B, H, T, D] view of a head split's [B, T, H, D]).
bool laid_out_as_a_block(const Tensor& t) {
  return !t.is_contiguous() && t.strides()[-1] == 1 && backend::covers_a_block(t);
}

// A new tensor of this shape laid out as `like` when like has that shape, is not contiguous, and its
// elements fill a block of memory in some order of its dims with rows of unit stride (the [B, H, T, D]
// view of a head split's [B, T, H, D]); else a contiguous one. A product written into it has the same
// values either way (oneDNN writes the same rows at another stride; tests/ops/test_linalg.cpp checks
// the bits).
Tensor empty_laid_out_as(const Shape& shape, DType dtype, const Tensor& like) {
  if (!like.defined() || like.shape() != shape || !laid_out_as_a_block(like)) {
    return empty(shape, dtype);
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = empty({like.numel()}, dtype).impl()->storage;
  impl->shape = shape;
  impl->strides = like.strides();
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// x·y (backward: plain tensors, no graph) laid out as `like` (above): the gradient of a head split's
// view then reaches the projection before it with no copy.
Tensor product_like(const Tensor& x, const Tensor& y, const Tensor& like) {
  if (like.is_contiguous()) return matmul(x, y);
  Tensor out = empty_laid_out_as(like.shape(), like.dtype(), like);
  backend::matmul(x, y, out);
  return out;
}

// C = A·B    A [.., M, K]  B [.., K, N]  C [.., M, N]    (both rank >= 2)
// dA = dC·Bᵀ    dB = Aᵀ·dC    each summed over the batch dims its input was broadcast along
const Op matmul_op({.name = "matmul",
                    .rule = "dA = dC·Bᵀ   dB = Aᵀ·dC   (each summed over broadcast batch dims)",
                    .derivation = "matmul.md#two-matrices",
                    .backend = kOneDnn});
Tensor matmul_nd(const Tensor& a, const Tensor& b, const Shape& lhs, const Shape& rhs, const Tensor& like = {}) {
  if (a.shape()[-1] != b.shape()[-2]) {
    throw ShapeError(fmt::format("matmul: inner dimensions differ: lhs {} vs rhs {}", lhs, rhs));
  }
  Shape batch_a, batch_b;
  for (int d = 0; d + 2 < a.dim(); ++d) batch_a.push_back(a.shape()[d]);
  for (int d = 0; d + 2 < b.dim(); ++d) batch_b.push_back(b.shape()[d]);
  Shape shape;
  try {
    shape = broadcast_shapes("matmul", batch_a, batch_b);
  } catch (const ShapeError&) {
    throw ShapeError(fmt::format("matmul: batch dims {} and {} cannot be broadcast: lhs {} vs rhs {}", batch_a,
                                 batch_b, lhs, rhs));
  }
  shape.push_back(a.shape()[-2]);
  shape.push_back(b.shape()[-1]);
  Tensor c = empty_laid_out_as(shape, a.dtype(), like);
  backend::matmul(a, b, c);
  if (Node* node = record(matmul_op, c, {a, b})) {
    // An operand with c's batch dims (none broadcast) gets its gradient in its own layout (product_like).
    Shape a_unbroadcast = shape, b_unbroadcast = shape;
    a_unbroadcast[-1] = a.shape()[-1];
    b_unbroadcast[-2] = b.shape()[-2];
    node->backward = [A = node->save(a), B = node->save(b), a_own = a.shape() == a_unbroadcast,
                      b_own = b.shape() == b_unbroadcast](const Tensor& dC, Grads& d) {
      if (d.wanted(0)) d[0] = a_own ? product_like(dC, B.mT(), A) : sum_to(matmul(dC, B.mT()), A.shape());
      if (d.wanted(1)) {
        // Bᵀ laid out as a block with rows of unit stride (kᵀ of a head split, [B, H, D, T]): dBᵀ = dCᵀ·A
        // is written in that layout, so that dK too reaches the projection before it with no copy.
        if (b_own && laid_out_as_a_block(B.mT())) {
          d[1] = product_like(dC.mT(), A, B.mT()).mT();
        } else {
          d[1] = b_own ? product_like(A.mT(), dC, B) : sum_to(matmul(A.mT(), dC), B.shape());
        }
      }
    };
  }
  return c;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  require_defined("matmul", a, "lhs");
  require_defined("matmul", b, "rhs");
  require_one_dtype("matmul", {{"lhs", a}, {"rhs", b}}, Holds::Inputs);
  if (a.dim() == 0 || b.dim() == 0) {
    throw ShapeError(fmt::format("matmul: both operands need at least 1 dim, got lhs {} and rhs {}", a.shape(),
                                 b.shape()));
  }
  // A 1-D lhs is a row vector [1, K], a 1-D rhs a column vector [K, 1]; the added dim is dropped again.
  const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  Tensor c = matmul_nd(a2, b2, a.shape(), b.shape());
  if (b.dim() == 1) c = squeeze(c, -1);
  if (a.dim() == 1) c = squeeze(c, b.dim() == 1 ? -1 : -2);
  return c;
}

// Y = X·Wᵀ + b    X [.., I]  W [O, I]  b [O]  Y [.., O]    (the leading dims of X become rows)
// dX = dY·W    dW = dYᵀ·X    db = dY summed over the rows
namespace {

// Y = X·Wᵀ + b (+ R) for linear, linear_relu and linear_add, after checking the operands in `op`'s
// name. rows and in give X's shape as the one 2-D product it is computed as.
struct LinearForward {
  Tensor y;
  std::int64_t rows = 1, in = 0, out = 0;
};
// "weight [5, 2]", or "weight 'blocks.0.ff.hidden.weight' [5, 2]" for a parameter inside a model: in a
// Sequential or a model of many layers, the path says which layer got the wrong input. (A lone Linear's
// weight is called just "weight", which says nothing more.)
std::string weight_label(const Tensor& w) {
  return w.name().empty() || w.name() == "weight" ? fmt::format("weight {}", w.shape())
                                                  : fmt::format("weight '{}' {}", w.name(), w.shape());
}

LinearForward linear_forward(std::string_view op, const Tensor& x, const Tensor& w, const Tensor& b,
                             const Tensor& residual = {}) {
  require_defined(op, x);
  require_defined(op, w, "weight");  // an undefined bias means no bias
  if (w.dim() != 2) {
    throw ShapeError(fmt::format("{}: weight must be 2-D [out, in], got shape {}", op, w.shape()));
  }
  if (x.dim() == 0 || x.shape()[-1] != w.shape()[1]) {
    throw ShapeError(fmt::format("{}: input {} has {} features but {} expects {}", op, x.shape(),
                                 x.dim() == 0 ? 0 : x.shape()[-1], weight_label(w), w.shape()[1]));
  }
  if (b.defined() && (b.dim() != 1 || b.shape()[0] != w.shape()[0])) {
    throw ShapeError(fmt::format("{}: bias must have shape [{}] to match {}, got {}", op, w.shape()[0],
                                 weight_label(w), b.shape()));
  }
  require_one_dtype(op, {{"input", x}, {"weight", w}, {"bias", b}}, Holds::InputAndParameters);
  Shape shape = x.shape();
  shape[-1] = w.shape()[0];
  if (residual.defined()) {
    require_one_dtype(op, {{"input", x}, {"residual", residual}}, Holds::Inputs);
    if (residual.shape() != shape) {
      throw ShapeError(fmt::format("{}: residual {} must have the output's shape {} (input {}, weight {}); it is "
                                   "added as it is, not broadcast",
                                   op, residual.shape(), shape, x.shape(), w.shape()));
    }
  }
  // All leading dims become rows: [.., I] -> [N, I], one 2-D product. N is counted rather than left to
  // reshape's -1, which cannot be inferred when I or O is 0 (then Y is the bias, or empty, as in PyTorch).
  LinearForward f;
  f.in = w.shape()[1];
  f.out = w.shape()[0];
  for (int d = 0; d + 1 < x.dim(); ++d) f.rows *= x.shape()[d];
  const Tensor x2 = x.detach().reshape({f.rows, f.in});
  f.y = empty(shape, x.dtype());
  Tensor y2 = f.y.detach().view({f.rows, f.out});
  // The residual is a post-op of the product's kernel on oneDNN (matmul.hpp, Epilogue): added to each
  // block of Y as it is computed, after the bias, with no pass of its own.
  const Tensor r2 = residual.defined() ? residual.detach().reshape({f.rows, f.out}) : Tensor();
  backend::matmul(x2, w.detach().mT(), y2, {b.defined() ? b.detach() : Tensor(), r2});
  return f;
}

// dX, dW and db of Y = X·Wᵀ + b from dY (any shape with dY2's elements).
// db only when with_bias (linear_relu may have summed it already).
// dX is added by its product's kernel to the gradient X already holds, when the engine offers it
// (Grads::input_grad_offered): on oneDNN a sum post-op into it where that keeps the bits of the engine's
// add (matmul.hpp: K from 16 to 128), else the held gradient as an added tensor (a binary post-op) of a
// product into a new tensor, which replaces it. The same bits as the engine's add either way, one pass
// fewer.
void linear_backward(const Tensor& dY2, const Tensor& X, const Tensor& W, std::int64_t rows, std::int64_t in,
                     Grads& d, bool with_bias = true) {
  if (Tensor* held = d.wanted(0) ? d.input_grad_offered(0) : nullptr) {
    const std::int64_t K = dY2.shape()[-1];
    if (K >= backend::kAccumulateMinK && K <= backend::kAccumulateMaxK) {
      Tensor held2 = held->view({rows, in});
      backend::matmul(dY2, W, held2, backend::Epilogue::accumulating());
    } else {
      Tensor sum = empty(X.shape(), X.dtype());
      Tensor sum2 = sum.view({rows, in});
      backend::matmul(dY2, W, sum2, {Tensor(), held->view({rows, in})});
      *held = std::move(sum);
    }
    d.added_in_place(0);
  } else if (d.wanted(0)) {
    d[0] = matmul(dY2, W).reshape(X.shape());
  }
  if (d.wanted(1)) d[1] = matmul(dY2.mT(), X.reshape({rows, in}));
  if (d.wanted(2) && with_bias) d[2] = sum(dY2, {0});
}

}  // namespace

const Op linear_op({.name = "linear",
                    .rule = "dX = dY·W   dW = dYᵀ·X   db = dY summed over the rows",
                    .derivation = "linear.md",
                    .backend = kOneDnn});
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  LinearForward f = linear_forward("linear", x, w, b);
  if (Node* node = record(linear_op, f.y, {x, w, b})) {
    node->backward = [X = node->save(x), W = node->save(w), rows = f.rows, in = f.in, out = f.out](const Tensor& dY,
                                                                                                Grads& d) {
      linear_backward(dY.reshape({rows, out}), X, W, rows, in, d);
    };
  }
  return f.y;
}

const Op linear_relu_op({.name = "linear_relu",
                         .rule = "dY where Y > 0, else 0, is dZ:   dX = dZ·W   dW = dZᵀ·X   db = dZ summed over the rows",
                         .derivation = "linear.md#linear-then-relu-as-one-op",
                         .backend = kOneDnn});
Tensor linear_relu(const Tensor& x, const Tensor& w, const Tensor& b) {
  LinearForward f = linear_forward("linear_relu", x, w, b);
  // ReLU in place over the product: v < 0 rather than v > 0 as the test, so that NaN stays NaN (relu()).
  dispatch_float("linear_relu", f.y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    backend::map<T, T>(f.y, f.y, [](T v) { return v < 0 ? T(0) : v; });
  });
  if (Node* node = record(linear_relu_op, f.y, {x, w, b})) {
    node->backward = [X = node->save(x), W = node->save(w), Y = node->save(f.y), rows = f.rows, in = f.in,
                      out = f.out](const Tensor& dY, Grads& d) {
      // relu's backward (one pass over dY and Y, in dY's memory when it is free), then linear's. When
      // the bias's gradient is wanted it is summed in the same pass (the bits of sum(dZ, {0})).
      if (d.wanted(2) && dY.is_contiguous()) {
        // dY's memory, when offered, is taken (dY itself is then empty) and dZ written over it.
        const Tensor g = d.output_grad_offered() ? d.take_output_grad() : dY;
        Tensor dZ = g.is_same(dY) ? empty(g.shape(), g.dtype()) : g;
        Tensor db = empty({out}, g.dtype());
        backend::relu_mask_and_column_sums(g, Y.contiguous(), dZ, db);
        d[2] = db;
        linear_backward(dZ.reshape({rows, out}), X, W, rows, in, d, false);
        return;
      }
      const Tensor dZ = pointwise::relu_mask("linear_relu", dY, Y, d);
      linear_backward(dZ.reshape({rows, out}), X, W, rows, in, d);
    };
  }
  return f.y;
}

const Op linear_add_op({.name = "linear_add",
                        .rule = "dR = dY   dX = dY·W   dW = dYᵀ·X   db = dY summed over the rows",
                        .derivation = "linear.md#linear-then-a-residual-as-one-op",
                        .backend = kOneDnn});
Tensor linear_add(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& residual) {
  require_defined("linear_add", residual, "residual");
  LinearForward f = linear_forward("linear_add", x, w, b, residual);
  if (Node* node = record(linear_add_op, f.y, {x, w, b, residual})) {
    node->backward = [X = node->save(x), W = node->save(w), rows = f.rows, in = f.in, out = f.out](const Tensor& dY,
                                                                                                Grads& d) {
      if (d.wanted(3)) d[3] = dY;  // the residual passes the gradient on unchanged, as in an add
      linear_backward(dY.reshape({rows, out}), X, W, rows, in, d);
    };
  }
  return f.y;
}

Tensor matmul_laid_out_as(const Tensor& a, const Tensor& b, const Tensor& like) {
  if (a.dim() < 2 || b.dim() < 2) return matmul(a, b);
  require_one_dtype("matmul", {{"lhs", a}, {"rhs", b}}, Holds::Inputs);
  return matmul_nd(a, b, a.shape(), b.shape(), like);
}

Tensor Tensor::matmul(const Tensor& other) const { return attograd::matmul(*this, other); }

}  // namespace attograd
