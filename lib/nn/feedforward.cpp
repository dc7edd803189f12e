#include "attograd/nn/feedforward.hpp"

#include <limits>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/linalg.hpp"
#include "nn/residual.hpp"

namespace attograd::nn {

namespace {

// The hidden width h·C, checked before the layers are made so that errors name FeedForward.
std::int64_t hidden_width(std::int64_t emb, const FeedForwardOptions& options) {
  if (emb < 1) throw ValueError(fmt::format("FeedForward: emb must be at least 1, got {}", emb));
  if (options.hidden_mult < 1 || options.hidden_mult > std::numeric_limits<std::int64_t>::max() / emb) {
    throw ValueError(fmt::format("FeedForward: hidden_mult must be at least 1 (and hidden_mult * emb fit in int64), "
                                 "got hidden_mult={} with emb={}",
                                 options.hidden_mult, emb));
  }
  if (!(options.dropout >= 0.0 && options.dropout <= 1.0)) {
    throw ValueError(fmt::format("FeedForward: dropout must be between 0 and 1, got {}", options.dropout));
  }
  return emb * options.hidden_mult;
}

Generator& generator_of(const FeedForwardOptions& options) {
  return options.generator != nullptr ? *options.generator : default_generator();
}

}  // namespace

FeedForward::FeedForward(std::int64_t emb, FeedForwardOptions options)
    : Module("FeedForward"),
      hidden(emb, hidden_width(emb, options), {.dtype = options.dtype, .generator = options.generator}),
      output(hidden.out_features(), emb, {.dtype = options.dtype, .generator = options.generator}),
      dropout(options.dropout, generator_of(options)),
      activation_(options.activation) {
  register_module("hidden", hidden);
  register_module("output", output);
  register_module("dropout", dropout);
}

Tensor FeedForward::hidden_activation(const Tensor& x) const {
  // [.., h·C]; ReLU as one op with the product (ops/linalg.hpp): the same values, one [.., h·C] tensor
  // fewer.
  return activation_ == FeedForwardActivation::GELU ? gelu(hidden(x)) : linear_relu(x, hidden.weight, hidden.bias);
}

Tensor FeedForward::forward(const Tensor& x) const { return dropout(output(hidden_activation(x))); }

Tensor FeedForward::forward_add(const Tensor& x, const Tensor& residual) const {
  check_residual("FeedForward::forward_add", x, residual);
  // Dropout passes its input through unchanged when inactive, so R + output(a) is then the whole sum,
  // and linear_add computes it bit for bit (the bias, then the residual, added to the product).
  if (!dropout.is_training() || dropout.p() == 0.0) {
    return linear_add(hidden_activation(x), output.weight, output.bias, residual);
  }
  return residual + forward(x);
}

std::string FeedForward::describe() const {
  return fmt::format("emb={}, hidden={}, activation={}, dropout={}", output.out_features(), hidden.out_features(),
                     activation_ == FeedForwardActivation::GELU ? "gelu" : "relu", dropout.p());
}

}  // namespace attograd::nn
