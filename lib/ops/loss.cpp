// Losses. cross_entropy (with the bits of log_softmax then nll_loss), nll_loss and
// binary_cross_entropy_with_logits are primitives with their own backward; the reductions are composed
// from ops. mse_loss is one op for the mean and the sum (its composite stays for Reduction::None and as
// its test oracle).
#include "attograd/ops/loss.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/reduction.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "attograd/ops/softmax.hpp"
#include "backend/basic.hpp"
#include "backend/class_loss.hpp"
#include "backend/elementwise.hpp"
#include "backend/gather.hpp"
#include "core/dispatch.hpp"
#include "ops/one_dtype.hpp"
#include "ops/pointwise.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

namespace {

Tensor reduce(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return losses;
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean: return mean(losses);
  }
  return losses;
}

// Checks the class scores x [..., C] and targets [...] of a classification loss; returns the targets
// flattened to [N].
Tensor checked_targets(std::string_view op, std::string_view what, const Tensor& x, const Tensor& targets,
                       const ClassLossOptions& options) {
  require_defined(op, x, what);
  require_defined(op, targets, "targets");
  if (!x.is_floating_point()) {
    throw DTypeError(fmt::format("{}: expected floating-point {}, got {}; convert with .to(kFloat32)", op, what, x.dtype()));
  }
  if (x.dim() == 0) {
    throw ShapeError(fmt::format("{}: {} need a class dim (the last one), got a rank-0 tensor", op, what));
  }
  if (targets.dtype() != kInt64 && op == "cross_entropy" && targets.is_floating_point()) {
    throw DTypeError(fmt::format("cross_entropy: targets must be int64 class indices, got {} of shape {}; floating "
                                 "targets are class probabilities, of the logits' shape {} and dtype {}; for class "
                                 "indices convert with .to(kInt64)",
                                 targets.dtype(), targets.shape(), x.shape(), x.dtype()));
  }
  if (targets.dtype() != kInt64) {
    throw DTypeError(fmt::format("{}: targets must be int64 class indices, got {}; convert with .to(kInt64)", op, targets.dtype()));
  }
  Shape expected = x.shape();
  expected.erase(x.dim() - 1);
  if (targets.shape() != expected) {
    // PyTorch's layout, classes in dim 1 ([B, C, T] with targets [B, T]): say how to get attograd's.
    Shape without_dim1 = x.shape();
    if (x.dim() > 2) without_dim1.erase(1);
    std::string hint;
    if (x.dim() > 2 && targets.shape() == without_dim1) {
      std::string order = "0";
      for (int d = 2; d < x.dim(); ++d) order += fmt::format(", {}", d);
      const std::string move = x.dim() == 3 ? "transpose(1, 2)" : fmt::format("permute({{{}, 1}})", order);
      hint = fmt::format("; they fit classes in dim 1, as PyTorch lays them out: attograd takes the classes last, "
                         "so pass {}.{}",
                         what == "logits" ? "logits" : "log_probs", move);
    }
    throw ShapeError(fmt::format("{}: targets of shape {} do not fit {} of shape {}: expected targets of shape {} "
                                 "(the {}' shape without the last, class dim){}",
                                 op, targets.shape(), what, x.shape(), expected, what, hint));
  }
  const std::int64_t C = x.shape()[-1];
  if (const std::int64_t p = backend::first_out_of_range(targets, C, options.ignore_index); p >= 0) {
    const std::string expected_values = C == 0 ? fmt::format("{} of shape {} have no class entries: only "
                                                             "ignore_index {} fits",
                                                             what, x.shape(), options.ignore_index)
                                               : fmt::format("expected 0..{}, or ignore_index {}", C - 1,
                                                             options.ignore_index);
    throw IndexError(fmt::format("{}: target {} at position {} is out of range for {} classes ({})", op,
                                 targets.reshape({-1}).at<std::int64_t>({p}),
                                 backend::unravel_index(p, targets.shape()), C, expected_values));
  }
  return contiguous(targets).reshape({targets.numel()});
}

// options.weight and options.label_smoothing, checked against the class scores x [..., C] of `op`
// (label smoothing only where the op takes it).
void check_class_options(std::string_view op, std::string_view what, const Tensor& x, const ClassLossOptions& options,
                         bool takes_smoothing) {
  if (const Tensor& w = options.weight; w.defined()) {
    const std::int64_t C = x.shape()[-1];
    if (w.dim() != 1 || w.shape()[0] != C) {
      throw ShapeError(fmt::format("{}: weight must hold one entry per class, shape [{}] for {} of shape {}; got {}",
                                   op, C, what, x.shape(), w.shape()));
    }
    if (w.dtype() != x.dtype()) {
      throw DTypeError(fmt::format("{}: weight is {} but the {} are {}; convert it with weight.to({})", op, w.dtype(),
                                   what, x.dtype(), x.dtype()));
    }
  }
  const double s = options.label_smoothing;
  if (!takes_smoothing && s != 0.0) {
    throw ValueError(fmt::format("{}: label_smoothing ({}) applies to cross_entropy only, which takes the logits "
                                 "rather than log-probabilities: use cross_entropy(logits, targets, options)",
                                 op, s));
  }
  if (!(s >= 0.0 && s <= 1.0)) {
    throw ValueError(fmt::format("{}: label_smoothing must be in [0, 1], got {}", op, s));
  }
}

// With options.weight, scales each row's loss by weight[t_i] (0 where t_i is ignored, a constant) and
// returns those factors, which the mean divides by; without, returns an undefined tensor.
Tensor weigh_by_target(Tensor& losses, const Tensor& flat_targets, const ClassLossOptions& options) {
  if (!options.weight.defined()) return {};
  const std::int64_t N = flat_targets.numel(), C = options.weight.numel();
  Tensor w = empty({N}, options.weight.dtype());
  backend::pick_columns(options.weight.detach().contiguous().reshape({1, C}).expand({N, C}), flat_targets,
                        options.ignore_index, w);
  losses = losses * w;
  return w;
}

// Y_i = -X[i, t_i], or 0 where t_i is ignored    X [N, C]  t [N]  Y [N]
// dX[i, t_i] = -dY_i, and 0 everywhere else
const Op nll_loss_op({.name = "nll_loss",
                      .rule = "dX = -dY at each row's target column, 0 elsewhere",
                      .derivation = "loss.md#nll_loss"});
Tensor nll_per_row(const Tensor& x, const Tensor& t, std::int64_t ignore_index) {
  Tensor y = empty({t.numel()}, x.dtype());
  backend::pick_columns(x, t, ignore_index, y);
  backend::scale_into(y, -1.0);
  if (Node* node = record(nll_loss_op, y, {x})) {
    node->backward = [T = node->save(t), ignore_index, shape = x.shape()](const Tensor& dY, Grads& d) {
      Tensor dX = zeros(shape, {.dtype = dY.dtype()});
      backend::add_at_columns(-dY, T, ignore_index, dX);
      d[0] = dX;
    };
  }
  return y;
}

// The per-row losses [N] of a classification loss, combined as options say: shaped as the targets,
// summed, or averaged over the targets that are not ignored (weighted by target_weights, when given).
Tensor reduce_class_losses(const Tensor& losses, const Tensor& targets, const Tensor& flat_targets,
                           const ClassLossOptions& options, const Tensor& target_weights) {
  const std::int64_t N = flat_targets.numel();
  switch (options.reduction) {
    case Reduction::None:  // targets [N] need no view of [N]: the result is the per-row op's own node
      return losses.shape() == targets.shape() ? losses : losses.reshape(targets.shape());
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean: {
      // 0/0 = NaN when all are ignored, as PyTorch
      if (target_weights.defined()) return sum(losses) / sum(target_weights);
      const auto ignored = sum(eq(flat_targets, static_cast<double>(options.ignore_index))).item<std::int64_t>();
      return sum(losses) / static_cast<double>(N - ignored);
    }
  }
  return losses;
}

// L_i = -log softmax(X_i)[t_i]    X [N, C]  t [N]  L [N]
// dX_i = (softmax(X_i) - onehot(t_i)) dL_i, and 0 for an ignored row
// One op rather than nll_loss(log_softmax(X)), with the same bits: the composite's four [N, C]
// tensors (log_softmax's output, and in the backward the one-hot gradient, exp(Y) and its product) were
// 1.7% of the gpt workload's step. The node keeps X (which the caller usually holds anyway, and the
// composite did not) and each row's max and log-total, from which the backward rebuilds Y.
const Op cross_entropy_op({.name = "cross_entropy",
                           .rule = "dX = (softmax(X) - onehot(t)) * dL, 0 for ignored rows",
                           .derivation = "loss.md#cross_entropy"});
Tensor cross_entropy_per_row(const Tensor& x, const Tensor& t, std::int64_t ignore_index) {
  const std::int64_t N = t.numel();
  Tensor losses = empty({N}, x.dtype());
  Tensor shifts = empty({N, 2}, x.dtype());
  backend::cross_entropy_rows(x, t, ignore_index, losses, shifts);
  if (Node* node = record(cross_entropy_op, losses, {x})) {
    node->backward = [X = node->save(x), T = node->save(t), S = node->save(shifts), ignore_index](const Tensor& dL,
                                                                                                 Grads& d) {
      Tensor dX = empty(X.shape(), X.dtype());
      backend::cross_entropy_backward(X, T, ignore_index, S, contiguous(dL), dX);
      d[0] = dX;
    };
  }
  return losses;
}

}  // namespace

// L_i = -sum_c w_c P_ic log softmax(X_i)_c with P = (1 - s) targets + s / C: PyTorch's cross-entropy
// against class probabilities (soft targets: distillation, mixup). Composed of ops, which carry the
// gradients of X and of the probabilities. The mean divides by the number of rows, weights or not.
Tensor cross_entropy_with_probabilities(const Tensor& logits, const Tensor& probs, const ClassLossOptions& options) {
  if (probs.dtype() != logits.dtype()) {
    throw DTypeError(fmt::format("cross_entropy: the class probabilities are {} but the logits are {}; convert them "
                                 "with .to({})",
                                 probs.dtype(), logits.dtype(), logits.dtype()));
  }
  if (options.ignore_index >= 0) {
    throw ValueError(fmt::format("cross_entropy: ignore_index ({}) applies to class-index targets, not to class "
                                 "probabilities; give an ignored row probabilities of 0 instead",
                                 options.ignore_index));
  }
  check_class_options("cross_entropy", "logits", logits, options, true);
  const std::int64_t C = logits.shape()[-1];
  Shape rows_shape = logits.shape();
  rows_shape.erase(logits.dim() - 1);
  std::int64_t N = 1;
  for (int d = 0; d < rows_shape.rank(); ++d) N *= rows_shape[d];
  Tensor p = probs.reshape({N, C});
  if (const double s = options.label_smoothing; s > 0.0) p = p * (1.0 - s) + s / static_cast<double>(C);
  Tensor per_class = log_softmax(logits.reshape({N, C}), -1) * p;
  if (options.weight.defined()) per_class = per_class * options.weight.detach();
  const Tensor losses = -sum(per_class, {1});
  switch (options.reduction) {
    case Reduction::None: return losses.reshape(rows_shape);
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean: return sum(losses) / static_cast<double>(N);
  }
  return losses;
}

// A weight scales each row's loss (a product with the constant weight[t_i]); label smoothing adds
// (s / C) sum_c weight[c] (-log softmax(X_i)[c]) to (1 - s) times it, with ops (log_softmax, a sum),
// which carry its gradient: (softmax(X_i) W - weight) s / C, W = sum_c weight[c].
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const ClassLossOptions& options) {
  if (logits.defined() && targets.defined() && logits.is_floating_point() && targets.is_floating_point() &&
      logits.dim() > 0 && targets.shape() == logits.shape()) {
    return cross_entropy_with_probabilities(logits, targets, options);
  }
  const Tensor flat_targets = checked_targets("cross_entropy", "logits", logits, targets, options);
  check_class_options("cross_entropy", "logits", logits, options, true);
  const std::int64_t N = flat_targets.numel(), C = logits.shape()[-1];
  const Tensor x = contiguous(logits).reshape({N, C});
  Tensor losses = cross_entropy_per_row(x, flat_targets, options.ignore_index);
  const Tensor target_weights = weigh_by_target(losses, flat_targets, options);
  if (const double s = options.label_smoothing; s > 0.0) {
    const Tensor log_p = log_softmax(x, -1);
    const Tensor per_class = options.weight.defined() ? log_p * options.weight.detach() : log_p;
    const Tensor smooth = masked_fill(-sum(per_class, {1}), eq(flat_targets, static_cast<double>(options.ignore_index)), 0.0);
    losses = losses * (1.0 - s) + smooth * (s / static_cast<double>(C));
  }
  return reduce_class_losses(losses, targets, flat_targets, options, target_weights);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, const ClassLossOptions& options) {
  const Tensor flat_targets = checked_targets("nll_loss", "log-probabilities", log_probs, targets, options);
  check_class_options("nll_loss", "log-probabilities", log_probs, options, false);
  const std::int64_t N = flat_targets.numel();
  Tensor losses = nll_per_row(log_probs.reshape({N, log_probs.shape()[-1]}), flat_targets, options.ignore_index);
  const Tensor target_weights = weigh_by_target(losses, flat_targets, options);
  return reduce_class_losses(losses, targets, flat_targets, options, target_weights);
}

// L = k sum (A - B)^2, k = 1/n for the mean, else 1. Reduction none is composed from sub and mul,
// which carry its gradient.
const Op mse_loss_op({.name = "mse_loss",
                      .rule = "dA = 2 k (A - B) dL   dB = -dA   (k = 1/n for the mean, else 1)",
                      .derivation = "loss.md#mse_loss"});
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  require_defined("mse_loss", input);
  require_defined("mse_loss", target, "target");
  require_one_dtype("mse_loss", {{"input", input}, {"target", target}}, Holds::Inputs);
  if (input.shape() != target.shape()) {
    throw ShapeError(fmt::format("mse_loss: input {} and target {} must have the same shape", input.shape(),
                                 target.shape()));
  }
  if (reduction == Reduction::None) {
    const Tensor diff = input - target;
    return reduce(diff * diff, reduction);
  }
  // Mean and sum as one op (the composite above, three nodes and three tensors, was a sixth of the
  // tiny workload's step; it is this op's oracle in tests/ops/test_loss_fused.cpp).
  // L = k' sum_i (X_i - T_i)^2    dX = 2 k' (X - T) dL    dT = -dX    k' = 1/n for the mean, else 1
  const Tensor x = input.contiguous();
  const Tensor t = target.contiguous();
  const double n = static_cast<double>(x.numel());
  const double k = reduction == Reduction::Mean ? 1.0 / n : 1.0;
  Tensor loss = empty({}, x.dtype());
  dispatch_float("mse_loss", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pt = t.data<T>();
    double total = 0.0;  // in double, as sum() and mean() accumulate
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const T d = px[i] - pt[i];
      total += static_cast<double>(d * d);
    }
    loss.data<T>()[0] = static_cast<T>(total * k);
  });
  if (Node* node = record(mse_loss_op, loss, {input, target})) {
    node->backward = [X = node->save(x), Tg = node->save(t), k](const Tensor& dL, Grads& d) {
      const double c = 2.0 * k * dL.item<double>();
      auto scaled_diff = [&](double sign) {
        return pointwise::binary("mse_loss", X, Tg, [f = sign * c](auto a, auto b) {
          return static_cast<decltype(a)>((a - b) * static_cast<decltype(a)>(f));
        });
      };
      if (d.wanted(0)) d[0] = scaled_diff(1.0);
      if (d.wanted(1)) d[1] = scaled_diff(-1.0);
    };
  }
  return loss;
}

// L = max(X, 0) - X T + log(1 + e^{-|X|})    (= softplus(X) - X T, with no overflow for any X)
// dX = dL * (sigmoid(X) - T)    dT = -dL * X
// A primitive rather than relu(X) - X*T + log(1 + exp(-abs(X))): the kinks of relu and abs at X = 0
// cancel in the value but not in their conventional derivatives, which would give -T instead of
// 1/2 - T at a logit of exactly 0 (a zero-initialised output layer).
const Op bce_op({.name = "binary_cross_entropy_with_logits",
                 .rule = "dX = dL * (sigmoid(X) - T)   dT = -dL * X",
                 .derivation = "loss.md#binary_cross_entropy_with_logits"});
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  require_defined("binary_cross_entropy_with_logits", logits, "logits");
  require_defined("binary_cross_entropy_with_logits", targets, "targets");
  require_one_dtype("binary_cross_entropy_with_logits", {{"logits", logits}, {"targets", targets}}, Holds::Inputs);
  if (logits.shape() != targets.shape()) {
    throw ShapeError(fmt::format("binary_cross_entropy_with_logits: logits {} and targets {} must have the same "
                                 "shape",
                                 logits.shape(), targets.shape()));
  }
  Tensor losses = empty(logits.shape(), logits.dtype());
  dispatch_float("binary_cross_entropy_with_logits", logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    backend::map2<T, T, T>(logits, targets, losses, [](T x, T t) {
      return std::max(x, T(0)) - x * t + std::log1p(std::exp(-std::abs(x)));
    });
  });
  if (Node* node = record(bce_op, losses, {logits, targets})) {
    node->backward = [X = node->save(logits), T = node->save(targets)](const Tensor& dL, Grads& d) {
      if (d.wanted(0)) d[0] = dL * (sigmoid(X) - T);
      if (d.wanted(1)) d[1] = -dL * X;
    };
  }
  return reduce(losses, reduction);
}

}  // namespace attograd
