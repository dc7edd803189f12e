/// \file
/// Randomly zeroing activations while training.
///
/// \code
/// Generator gen(42);
/// Tensor h = dropout(x, 0.1, /*training=*/true, gen);   // ~10% zeros, the rest scaled by 1/0.9
/// Tensor e = dropout(x, 0.1, /*training=*/false, gen);  // x itself: no change in evaluation
/// \endcode
///
/// Each element is kept with probability 1 - p and then scaled by 1 / (1 - p), so that the expected
/// value of every output equals its input and evaluation needs no rescaling ("inverted dropout").
/// The same seed gives the same mask on every machine (core/random.hpp).
#pragma once

#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd {

/// Y = X * M / (1 - p),  M_i = 1 with probability 1 - p, else 0    dX = dY * M / (1 - p)
/// Returns x itself when !training or p == 0; zeros (and a zero gradient) when p == 1, as PyTorch.
/// p outside [0, 1] is a ValueError. For 0 < p < 1 in training it draws one uniform number per element
/// from gen (none otherwise).
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);
/// The same with the default generator (manual_seed() reseeds it).
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

}  // namespace attograd
