/// \file
/// Adam and AdamW, as PyTorch's torch.optim.Adam and torch.optim.AdamW.
///
/// \code
/// Adam opt(model.parameters(), {.lr = 3e-4});
/// AdamW optw({{.params = weights}, {.params = biases_and_norms, .weight_decay = 0}},
///            {.lr = 3e-4, .weight_decay = 0.1});
/// opt.zero_grad();  loss.backward();  opt.step();
/// \endcode
///
/// Adam keeps two running averages per parameter: m of the gradient and v of its square. Both start at
/// 0, which biases them towards 0 for the first steps; dividing by 1 - beta^t removes that bias.
#pragma once

#include <array>
#include <vector>

#include "attograd/optim/optimizer.hpp"

namespace attograd::optim {

/// Options of Adam.
struct AdamOptions {
  double lr = 1e-3;  ///< the default of groups that do not set their own
  std::array<double, 2> betas = {0.9, 0.999};  ///< each in [0, 1)
  double eps = 1e-8;                            ///< > 0
  double weight_decay = 0;                      ///< Adam: L2 added to the gradient; AdamW: decoupled
  bool amsgrad = false;                         ///< divide by the largest v seen so far
};

/// AdamW's options: the same, with PyTorch's default weight decay of 1e-2.
struct AdamWOptions {
  double lr = 1e-3;  ///< the default of groups that do not set their own
  std::array<double, 2> betas = {0.9, 0.999};  ///< each in [0, 1)
  double eps = 1e-8;  ///< > 0
  double weight_decay = 1e-2;  ///< decoupled: p shrinks by lr·weight_decay each step
  bool amsgrad = false;  ///< divide by the largest v seen so far
};

/// One step t = 1, 2, ... for each parameter p with gradient dp (PyTorch's formulas):
/// \code
/// g = dp + weight_decay * p                   (Adam; AdamW instead first does p = p * (1 - lr * weight_decay))
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g^2
/// v_max = max(v_max, v)                       (amsgrad; v_max is then used in place of v)
/// p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// \endcode
/// State per parameter: "step" (int64), "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (amsgrad).
class Adam : public Optimizer {
 public:
  /// one group of parameters with the options' lr and weight decay
  Adam(std::vector<Tensor> params, AdamOptions options);
  /// groups with their own lr or weight decay; unset values take the options'
  Adam(std::vector<ParamGroup> groups, AdamOptions options);

  const AdamOptions& options() const { return options_; }  ///< as constructed

 protected:
  /// For AdamW: the same update, with the weight decay decoupled when `decoupled_weight_decay`.
  Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled_weight_decay);
  void update(Tensor& param, const Tensor& grad, const Group& group, State& state) override;
  std::vector<StateSlot> state_slots() const override;

 private:
  AdamOptions options_;
  bool decoupled_weight_decay_ = false;
};

/// Adam with decoupled weight decay (Loshchilov and Hutter): the decay shrinks the weights directly
/// instead of joining the gradient, so it is not rescaled by the adaptive step.
class AdamW : public Adam {
 public:
  /// one group of parameters with the options' lr and weight decay
  AdamW(std::vector<Tensor> params, AdamWOptions options);
  /// groups with their own lr or weight decay; unset values take the options'
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options);
};

}  // namespace attograd::optim
