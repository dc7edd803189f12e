/// \file
/// The fully connected layer, y = x·Wᵀ + b.
///
/// \code
/// Linear fc{2, 16};                          // weight [16, 2], bias [16], PyTorch's initialisation
/// Linear head{16, 1, {.bias = false}};       // no bias
/// Generator gen(42);
/// Linear seeded{2, 16, {.generator = &gen}}; // the same weights for seed 42 everywhere
/// Tensor y = fc(x);                          // x [.., 2] -> y [.., 16]
/// \endcode
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/dtype.hpp"
#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::nn {

/// Options of Linear.
struct LinearOptions {
  bool bias = true;  ///< with a bias b
  DType dtype = kFloat32;  ///< of the parameters
  Generator* generator = nullptr;  ///< for the initial values; nullptr: the default generator
};

/// Y = X·Wᵀ + b    X [.., in]  W [out, in]  b [out]  Y [.., out]
/// Initialised as in PyTorch: W and b drawn from U(-1/sqrt(in), 1/sqrt(in)) (for W this is Kaiming
/// uniform with a = sqrt(5)), which keeps the output's variance about a third of the input's whatever
/// the width.
class Linear : public Module {
 public:
  /// weight [out, in] and bias [out], initialised as PyTorch does (uniform in ±1/sqrt(in))
  Linear(std::int64_t in, std::int64_t out, LinearOptions options = {});

  Tensor forward(const Tensor& x) const;  ///< X [..., in] to Y = X·Wᵀ + b [..., out]
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  std::string describe() const override;

  std::int64_t in_features() const { return weight.size(1); }  ///< in
  std::int64_t out_features() const { return weight.size(0); }  ///< out
  bool has_bias() const { return bias.defined(); }  ///< whether it has a bias

  Tensor weight;  ///< [out, in]
  Tensor bias;    ///< [out], undefined without bias
};

}  // namespace attograd::nn
