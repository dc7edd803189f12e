#include "attograd/optim/adam.hpp"

#include <cmath>

#include "attograd/core/factories.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/elementwise.hpp"

namespace attograd::optim {

namespace {

AdamOptions as_adam(const AdamWOptions& o) {
  return {.lr = o.lr, .betas = o.betas, .eps = o.eps, .weight_decay = o.weight_decay, .amsgrad = o.amsgrad};
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam("Adam", std::vector<ParamGroup>{{.params = std::move(params)}}, options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options) : Adam("Adam", std::move(groups), options, false) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled_weight_decay)
    : Optimizer(name, std::move(groups), options.lr, options.weight_decay),
      options_(options),
      decoupled_weight_decay_(decoupled_weight_decay) {
  for (int i = 0; i < 2; ++i) {
    const double beta = options.betas[i];
    check(fmt::format("invalid beta parameter at index {}", i), beta, beta >= 0 && beta < 1);
  }
  check("invalid epsilon value", options.eps, options.eps > 0 && std::isfinite(options.eps));
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : Adam("AdamW", std::vector<ParamGroup>{{.params = std::move(params)}}, as_adam(options), true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : Adam("AdamW", std::move(groups), as_adam(options), true) {}

std::vector<Optimizer::StateSlot> Adam::state_slots() const {
  std::vector<StateSlot> slots{{.name = "step", .is_step_count = true}, {.name = "exp_avg"}, {.name = "exp_avg_sq"}};
  if (options_.amsgrad) slots.push_back({.name = "max_exp_avg_sq"});
  return slots;
}

void Adam::update(Tensor& param, const Tensor& grad, const Group& group, State& state) {
  if (state.empty()) {
    state["step"] = scalar_tensor(0, {.dtype = kInt64});
    state["exp_avg"] = zeros_like(param);
    state["exp_avg_sq"] = zeros_like(param);
    if (options_.amsgrad) state["max_exp_avg_sq"] = zeros_like(param);
  }
  const std::int64_t t = ++*state["step"].data<std::int64_t>();
  const auto [beta1, beta2] = options_.betas;
  const double lr = group.lr;
  const double wd = group.weight_decay;

  Tensor g = grad;
  if (wd != 0) {
    if (decoupled_weight_decay_) {
      param.mul_(1 - lr * wd);  // AdamW: shrink the weights, apart from the adaptive step
    } else {
      g = g + wd * param;  // Adam: L2, part of the gradient
    }
  }
  Tensor& m = state["exp_avg"];
  Tensor& v = state["exp_avg_sq"];
  m.mul_(beta1).add_(g, 1 - beta1);
  v.mul_(beta2).add_(g * g, 1 - beta2);
  Tensor v_used = v;
  if (options_.amsgrad) {
    Tensor& v_max = state["max_exp_avg_sq"];
    v_max.copy_(where(v_max > v, v_max, v));
    v_used = v_max;
  }
  // m / (1 - beta1^t) and v / (1 - beta2^t) are the bias-corrected moments; the first correction is
  // folded into the step size, the second into the denominator, as PyTorch does.
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(t));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(t));
  const Tensor denominator = sqrt(v_used) / std::sqrt(bias_correction2) + options_.eps;
  param.add_(m / denominator, -lr / bias_correction1);
}

}  // namespace attograd::optim
