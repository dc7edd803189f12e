/// \file
/// Pointwise non-linearities as modules, for Sequential and for printing.
///
/// \code
/// Sequential net;
/// net.add<Linear>(2, 16);
/// net.add<Tanh>();                              // or ReLU, Sigmoid, GELU
/// net.add<GELU>(GeluApproximation::Tanh);       // GPT-2's tanh approximation
/// \endcode
///
/// Each has no parameters and calls the op of the same name (ops/elementwise.hpp), which holds the
/// derivative.
#pragma once

#include <string>

#include "attograd/core/tensor.hpp"
#include "attograd/nn/module.hpp"
#include "attograd/ops/elementwise.hpp"

namespace attograd::nn {

/// Y = max(X, 0)
class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) const;  ///< max(x, 0), elementwise
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
};

/// Y = X * Phi(X), Phi the standard normal CDF (exact) or its tanh approximation
class GELU : public Module {
 public:
  /// the exact GELU, or its tanh approximation
  explicit GELU(GeluApproximation approximation = GeluApproximation::None)
      : Module("GELU"), approximation_(approximation) {}
  Tensor forward(const Tensor& x) const;  ///< x·Φ(x), elementwise
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  std::string describe() const override;
  GeluApproximation approximation() const { return approximation_; }  ///< the formula used

 private:
  GeluApproximation approximation_;
};

/// Y = tanh(X)
class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) const;  ///< tanh(x), elementwise
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
};

/// Y = 1 / (1 + e^-X)
class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) const;  ///< 1 / (1 + e^-x), elementwise
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
};

}  // namespace attograd::nn
