/// \file
/// Stochastic gradient descent, with momentum, dampening, Nesterov momentum and
/// weight decay, as PyTorch's torch.optim.SGD.
///
/// \code
/// SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
/// for (auto& [x, y] : batches) {
///   opt.zero_grad();
///   loss(model, x, y).backward();
///   opt.step();
/// }
/// \endcode
#pragma once

#include <vector>

#include "attograd/optim/optimizer.hpp"

namespace attograd::optim {

/// Options of SGD (PyTorch's names and defaults, except a default lr).
struct SGDOptions {
  double lr = 1e-3;           ///< the default of groups that do not set their own
  double momentum = 0;        ///< >= 0
  double dampening = 0;       ///< in [0, 1]: the share of the gradient left out of the momentum buffer
  bool nesterov = false;      ///< needs momentum > 0 and dampening 0
  double weight_decay = 0;    ///< L2 penalty, added to the gradient; groups may set their own
};

/// One step, for each parameter p with gradient dp (PyTorch's formulas):
/// \code
/// g = dp + weight_decay * p
/// b = g                                           at the first step (b: the momentum buffer)
/// b = momentum * b + (1 - dampening) * g          after that
/// g = nesterov ? g + momentum * b : b             (only when momentum != 0)
/// p = p - lr * g
/// \endcode
class SGD : public Optimizer {
 public:
  /// one group of parameters with the options' lr and weight decay
  SGD(std::vector<Tensor> params, SGDOptions options);
  /// groups with their own lr or weight decay; unset values take the options'
  SGD(std::vector<ParamGroup> groups, SGDOptions options);

  const SGDOptions& options() const { return options_; }  ///< as constructed

 protected:
  void update(Tensor& param, const Tensor& grad, const Group& group, State& state) override;
  std::vector<StateSlot> state_slots() const override;

 private:
  SGDOptions options_;
};

}  // namespace attograd::optim
