#include "attograd/optim/sgd.hpp"

#include <cmath>

#include "attograd/core/errors.hpp"
#include "attograd/ops/elementwise.hpp"

namespace attograd::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{{.params = std::move(params)}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay), options_(options) {
  check("invalid momentum value", options.momentum, options.momentum >= 0 && std::isfinite(options.momentum));
  check("invalid dampening value", options.dampening, options.dampening >= 0 && options.dampening <= 1);
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0)) {
    throw ValueError(fmt::format("SGD: Nesterov momentum requires a momentum and zero dampening (momentum {}, "
                                 "dampening {})",
                                 options.momentum, options.dampening));
  }
}

std::vector<Optimizer::StateSlot> SGD::state_slots() const {
  if (options_.momentum == 0) return {};
  return {{.name = "momentum_buffer"}};
}

void SGD::update(Tensor& param, const Tensor& grad, const Group& group, State& state) {
  Tensor g = grad;
  if (group.weight_decay != 0) g = g + group.weight_decay * param;  // d/dp of (wd / 2) |p|^2 is wd * p
  if (options_.momentum != 0) {
    auto buffer = state.find("momentum_buffer");
    if (buffer == state.end()) {
      buffer = state.emplace("momentum_buffer", g.clone()).first;  // b = g: no dampening at the first step
    } else {
      buffer->second.mul_(options_.momentum).add_(g, 1 - options_.dampening);
    }
    const Tensor& b = buffer->second;
    g = options_.nesterov ? g + options_.momentum * b : b;
  }
  param.add_(g, -group.lr);
}

}  // namespace attograd::optim
