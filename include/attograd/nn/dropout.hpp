/// \file
/// Dropout as a module, active only in training mode.
///
/// \code
/// Dropout drop{0.1};               // draws from the default generator (manual_seed() reseeds it)
/// Dropout seeded{0.1, 42};         // owns a generator seeded with 42
/// Dropout shared{0.1, gen};        // draws from gen, which must outlive it
/// Tensor y = drop(x);              // training: ~10% zeros, the rest scaled by 1/0.9
/// model.eval(); y = drop(x);       // evaluation: y is x
/// \endcode
///
/// A model's train() and eval() reach its Dropout only if it is registered (register_module).
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::nn {

/// Y = X * M / (1 - p), M_i = 1 with probability 1 - p, else 0, while is_training(); Y = X otherwise.
/// p must be in [0, 1] (ValueError).
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);  ///< drops with probability p, masks from the default generator
  /// \overload
  /// Masks drawn from `gen`, which must outlive the module.
  Dropout(double p, Generator& gen);
  /// \overload
  /// Masks from a generator of its own, seeded with `seed`.
  Dropout(double p, std::uint64_t seed);

  /// in training: zeroes each element with probability p and scales the rest by 1/(1-p); in evaluation: x
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  std::string describe() const override;

  double p() const { return p_; }  ///< the drop probability
  /// The generator the masks come from (reseed it to repeat a mask).
  Generator& generator() const { return *gen_; }

 private:
  double p_;
  Generator own_;    // used when constructed from a seed
  Generator* gen_;   // own_, the one given, or the default generator
};

}  // namespace attograd::nn
