/// \file
/// Re-initialising parameters in place.
///
/// \code
/// Linear fc{64, 64};
/// nn::init::normal_(fc.weight, 0.0, 0.02, gen);   // GPT-2's initialisation instead of PyTorch's
/// nn::init::zeros_(fc.bias);
/// nn::init::uniform_(fc.weight, -0.1, 0.1);       // from the default generator
/// \endcode
///
/// Modules initialise themselves in their constructors (Linear as PyTorch does); these functions are for
/// choosing another scheme afterwards. They write into the tensor's own storage, so every handle to a
/// parameter (the module's, an optimiser's) sees the new values; no graph is recorded. Each returns the
/// tensor it was given.
#pragma once

#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd::nn::init {

/// Every element drawn from U(low, high); needs finite low <= high (ValueError).
Tensor uniform_(Tensor t, double low, double high, Generator& gen = default_generator());
/// Every element drawn from N(mean, std^2); needs a finite mean and std >= 0 (ValueError).
Tensor normal_(Tensor t, double mean, double std, Generator& gen = default_generator());
/// Every element set to value.
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);  ///< fills t with 0 in place (no graph) and returns it
Tensor ones_(Tensor t);  ///< fills t with 1 in place (no graph) and returns it

}  // namespace attograd::nn::init
