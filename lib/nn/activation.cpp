#include "attograd/nn/activation.hpp"

namespace attograd::nn {

Tensor ReLU::forward(const Tensor& x) const { return relu(x); }

Tensor GELU::forward(const Tensor& x) const { return gelu(x, approximation_); }

std::string GELU::describe() const {
  return approximation_ == GeluApproximation::Tanh ? "approximate=tanh" : "approximate=none";
}

Tensor Tanh::forward(const Tensor& x) const { return tanh(x); }

Tensor Sigmoid::forward(const Tensor& x) const { return sigmoid(x); }

}  // namespace attograd::nn
