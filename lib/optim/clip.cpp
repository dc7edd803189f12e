#include "attograd/optim/clip.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/reduction.hpp"

namespace attograd::optim {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  if (!(max_norm >= 0)) throw ValueError(fmt::format("clip_grad_norm: invalid max_norm: {}", max_norm));
  const bool inf_norm = std::isinf(norm_type) && norm_type > 0;
  if (!(norm_type > 0)) {
    throw ValueError(fmt::format("clip_grad_norm: invalid norm type: {} (expected a positive number or infinity)",
                                 norm_type));
  }
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  std::unordered_set<const TensorImpl*> seen;  // a tied parameter counts once
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    if (!p.defined()) throw ValueError(fmt::format("clip_grad_norm: parameter {} is undefined", i));
    if (!seen.insert(p.impl()).second) continue;
    if (Tensor g = p.grad(); g.defined()) grads.push_back(g);
  }

  // In float64, so that many float32 squares neither lose precision nor overflow.
  double total = 0;
  for (const Tensor& g : grads) {
    const Tensor a = abs(g.to(kFloat64));
    if (inf_norm) {
      // NaN wins over any number, as in PyTorch's norm (std::max would depend on the order).
      double largest = a.numel() > 0 ? max(a).item() : 0.0;
      if (any(isnan(a))) largest = std::numeric_limits<double>::quiet_NaN();
      total = std::isnan(total) || std::isnan(largest) ? total + largest : std::max(total, largest);
    } else {
      total += (norm_type == 2.0 ? sum(a * a) : sum(pow(a, norm_type))).item();
    }
  }
  if (!inf_norm) total = std::pow(total, 1.0 / norm_type);

  if (!std::isfinite(total)) {
    if (error_if_nonfinite) {
      throw ValueError(fmt::format("clip_grad_norm: the total {}-norm of the gradients is {}; some gradient holds "
                                   "inf or NaN",
                                   norm_type, total));
    }
    return total;
  }
  const double factor = max_norm / (total + 1e-6);
  if (factor < 1) {
    for (Tensor& g : grads) g.mul_(factor);
  }
  return total;
}

}  // namespace attograd::optim
