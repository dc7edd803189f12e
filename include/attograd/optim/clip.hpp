/// \file
/// Gradient clipping by the norm of all gradients together.
///
/// \code
/// loss.backward();
/// double norm = clip_grad_norm(model.parameters(), 1.0);  // the norm before clipping
/// if (std::isfinite(norm)) opt.step();                    // skip a step whose gradients overflowed
/// \endcode
#pragma once

#include <vector>

#include "attograd/core/tensor.hpp"

namespace attograd::optim {

/// Treats the gradients of `params` as one long vector (each tensor once; undefined gradients are
/// skipped), computes its norm
/// \code
/// total = (sum over all elements of |g|^norm_type)^(1 / norm_type)     (max |g| for norm_type = inf)
/// \endcode
/// and, if max_norm / (total + 1e-6) < 1, multiplies every gradient in place by that factor, as
/// PyTorch's clip_grad_norm_ does, so the norm becomes (just under) max_norm. Returns total, the norm
/// before clipping (0 if no parameter has a gradient).
///
/// A non-finite total (a gradient holds inf or NaN) leaves the gradients as they are and is returned,
/// so the caller can skip the step; with error_if_nonfinite it is a ValueError instead.
/// ValueError if max_norm < 0 or norm_type is not positive (or infinity).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                      bool error_if_nonfinite = false);

}  // namespace attograd::optim
