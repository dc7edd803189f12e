/// \file
/// Softmax and log-softmax along one dim.
///
/// \code
/// Tensor w = softmax(scores, -1);     // each row non-negative, summing to 1
/// Tensor lp = log_softmax(logits, -1);
/// \endcode
///
/// Stable for any finite input (the row maximum is subtracted first, so inputs of 1e8 are fine) and
/// for -inf entries, which get weight 0. A row that is entirely -inf (fully masked) gives weights of 0
/// (softmax, with a zero gradient) or -inf (log_softmax, whose gradient is then dY unchanged), never
/// NaN. A row holding +inf shares the weight equally among its +inf entries. A NaN input makes its row
/// NaN. Derivations: docs/derivations/softmax.md.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd {

/// Y_i = e^{X_i} / sum_j e^{X_j}    dX = Y * (dY - sum(dY * Y))
Tensor softmax(const Tensor& x, std::int64_t dim);
/// Y_i = X_i - log sum_j e^{X_j}    dX = dY - softmax(X) * sum(dY)
Tensor log_softmax(const Tensor& x, std::int64_t dim);

}  // namespace attograd
