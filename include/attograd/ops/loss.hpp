/// \file
/// Loss functions for classification and regression.
///
/// \code
/// Tensor loss = cross_entropy(logits, targets);          // logits [B, C], targets [B] int64
/// Tensor seq = cross_entropy(logits, targets);           // logits [B, T, V], targets [B, T]
/// Tensor pad = cross_entropy(logits, targets, {.ignore_index = 0});   // skip padding tokens
/// Tensor soft = cross_entropy(logits, teacher_probs);      // class probabilities [B, C] as targets
/// Tensor r = mse_loss(prediction, y, Reduction::Sum);
/// Tensor b = binary_cross_entropy_with_logits(scores, labels);
/// \endcode
///
/// Classes are always along the LAST dim of logits, and targets have the logits' shape without it:
/// [B, T, V] with [B, T] is a sequence model's next-token loss. (PyTorch puts classes in dim 1 for
/// rank > 2, so a PyTorch program transposes [B, T, V] to [B, V, T] first; attograd does not need to.)
/// Derivations: docs/derivations/loss.md.
#pragma once

#include <cstdint>

#include "attograd/core/tensor.hpp"

namespace attograd {

/// How per-element losses become the result: their mean (a scalar), their sum (a scalar), or none
/// (the losses themselves, shaped like the targets).
enum class Reduction { None, Mean, Sum };

/// Options of cross_entropy and nll_loss, as PyTorch's (`weight`, `ignore_index`, `reduction`,
/// `label_smoothing`):
///
/// \code
/// cross_entropy(logits, t, {.weight = tensor({1.0, 5.0, 1.0})});   // errors on class 1 cost 5 times more
/// cross_entropy(logits, t, {.label_smoothing = 0.1});              // aim at 0.9 onehot + 0.1 / C
/// \endcode
struct ClassLossOptions {
  /// Targets equal to this contribute no loss and no gradient, and do not count in the mean.
  std::int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;  ///< how the per-sample losses are combined
  /// A weight per class, [C], of the logits' dtype; undefined: every class 1. Row i's loss is scaled by
  /// weight[t_i], and the mean divides by the sum of weight[t_i] over the rows not ignored (not by their
  /// number). A constant: no gradient flows into it, as in PyTorch.
  Tensor weight;
  /// cross_entropy only, in [0, 1]: the loss is taken against (1 - s) onehot(t) + s / C instead of
  /// onehot(t), i.e. L_i = (1 - s) nll_i + (s / C) sum_c weight[c] (-log softmax(X_i)[c]).
  double label_smoothing = 0.0;
};

/// L_i = -log softmax(X_i)[t_i] = log sum_c e^{X_ic} - X_i,t_i    (log-sum-exp: stable for any logits)
/// dX_i = softmax(X_i) - onehot(t_i), times the reduction's factor (1/count for the mean); 0 for ignored i
/// X [..., C] floating, targets [...] int64 in [0, C) or ignore_index (IndexError otherwise, naming the
/// target and its position). The mean divides by the number of targets that are not ignored; if every
/// target is ignored that is 0/0 = NaN, as in PyTorch (the gradient is then 0). With a weight or label
/// smoothing (ClassLossOptions) the values are PyTorch's.
/// Targets may also be class probabilities (soft targets), floating with the logits' shape and dtype, as
/// in PyTorch: L_i = -sum_c weight[c] P_ic log softmax(X_i)[c], the mean over the rows (weights or not),
/// no ignore_index; the probabilities get a gradient too.
/// One op with the bits of nll_loss(log_softmax(X)); it keeps X for its backward, not the log-probabilities.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const ClassLossOptions& options = {});

/// L_i = -X_i,t_i    (X holds log-probabilities, e.g. from log_softmax)
/// dX_i,t_i = -dL_i, 0 elsewhere and for ignored i. Shapes, targets, weight and reduction as
/// cross_entropy; label_smoothing is cross_entropy's only.
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, const ClassLossOptions& options = {});

/// L = (A - B)^2 elementwise, then reduced    dA = 2 (A - B) dL    dB = -2 (A - B) dL
/// A and B must have the same shape (no broadcasting: a [N] vs [N, 1] mix-up is an error, not a matrix)
/// and one floating dtype (a float64 target for a float32 model is refused, not promoted: target.to(kFloat32)).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

/// L = -(T log sigmoid(X) + (1 - T) log(1 - sigmoid(X))), computed as max(X, 0) - X T + log(1 + e^{-|X|})
/// so that no exp overflows and no log sees 0.    dX = dL (sigmoid(X) - T)    dT = -dL X
/// X (logits) and T (targets, usually in [0, 1]) must have the same shape and dtype.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        Reduction reduction = Reduction::Mean);

}  // namespace attograd
