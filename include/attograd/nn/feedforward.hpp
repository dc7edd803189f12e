/// \file
/// The transformer's position-wise feed-forward block.
///
/// \code
/// FeedForward ff{64};                                              // 64 -> 256 -> ReLU -> 64
/// FeedForward gpt{64, {.activation = FeedForwardActivation::GELU, .dropout = 0.1}};
/// Tensor y = ff(x);                                                // x [B, T, 64] -> y [B, T, 64]
/// \endcode
///
/// Applied to every position on its own (the linear layers act on the last dim): attention mixes
/// information between positions, this block transforms each position's vector.
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/dtype.hpp"
#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/nn/dropout.hpp"
#include "attograd/nn/linear.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::nn {

/// The nonlinearity between FeedForward's two layers.
enum class FeedForwardActivation { ReLU, GELU };

/// Options of FeedForward.
struct FeedForwardOptions {
  std::int64_t hidden_mult = 4;  ///< the hidden layer is hidden_mult times as wide as the embedding
  FeedForwardActivation activation = FeedForwardActivation::ReLU;  ///< ReLU (the lecture's) or GELU (GPT-2's)
  double dropout = 0.0;          ///< applied to the output, in training mode only
  DType dtype = kFloat32;  ///< of the parameters
  Generator* generator = nullptr;  ///< initial values and dropout masks; nullptr: the default generator
};

/// Y = dropout(W2·act(W1·X + b1) + b2)    X [.., C]  W1 [h·C, C]  W2 [C, h·C]  Y [.., C]
/// act is ReLU or exact GELU; 2·h·C² + h·C + C parameters.
class FeedForward : public Module {
 public:
  /// layers C -> hidden_mult·C -> C
  explicit FeedForward(std::int64_t emb, FeedForwardOptions options = {});

  Tensor forward(const Tensor& x) const;  ///< X [..., C] to Y of the same shape
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  /// residual + forward(x), the same values and gradients bit for bit. While dropout is inactive
  /// (evaluation, or p = 0) the residual is added by the output layer's product (linear_add) instead of a
  /// pass of its own: a block's residual connection. residual has x's shape (ShapeError otherwise).
  Tensor forward_add(const Tensor& x, const Tensor& residual) const;
  std::string describe() const override;

  FeedForwardActivation activation() const { return activation_; }  ///< the nonlinearity used

  Linear hidden;   ///< C -> h·C
  Linear output;   ///< h·C -> C
  Dropout dropout;  ///< on the output (training only)

 private:
  Tensor hidden_activation(const Tensor& x) const;  // act(W1·X + b1)
  FeedForwardActivation activation_;
};

}  // namespace attograd::nn
