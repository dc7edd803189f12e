#include "attograd/nn/container.hpp"

#include <fmt/format.h>

#include "attograd/core/errors.hpp"

namespace attograd::nn {

std::size_t ModuleContainer::checked(std::size_t i) const {
  if (i >= modules_.size()) {
    throw IndexError(fmt::format("{}: index {} is out of range for {} module{}", type_name(), i, modules_.size(),
                                 modules_.size() == 1 ? "" : "s"));
  }
  return i;
}

void ModuleContainer::throw_wrong_type(std::size_t i) const {
  throw ValueError(fmt::format("{}: module {} is a {}, not the type asked for", type_name(), i,
                               modules_[i]->type_name()));
}

Tensor Sequential::forward(const Tensor& x) const {
  Tensor y = x;
  for (const auto& step : steps_) y = step(y);
  return y;
}

}  // namespace attograd::nn
