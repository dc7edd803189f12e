/// \file
/// Checking a gradient against finite differences.
///
/// \code
/// auto f = [](const std::vector<Tensor>& in) { return tanh(matmul(in[0], in[1])); };
/// Tensor a = randn({2, 3}, gen, {.dtype = kFloat64, .requires_grad = true});
/// Tensor b = randn({3, 4}, gen, {.dtype = kFloat64, .requires_grad = true});
/// GradcheckResult r = gradcheck(f, {a, b});
/// if (!r) fmt::print("{}\n", r.message);   // which input, which element, analytic vs numeric
/// \endcode
///
/// For every input that requires grad, the analytic gradient of sum(f(inputs) * v), for a fixed random
/// v, is compared element by element with the central difference
/// (g(x + eps) - g(x - eps)) / (2 eps): they agree when |analytic - numeric| <= atol + rtol |numeric|.
/// The defaults are PyTorch's and are meant for float64, which gradcheck therefore requires. It also
/// checks that backward gives the same gradients twice and that a zero upstream gradient gives zeros.
/// The inputs themselves are not touched: gradcheck works on copies.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attograd/core/tensor.hpp"

namespace attograd {

/// Tolerances and checks of gradcheck(), with PyTorch's defaults for float64.
struct GradcheckOptions {
  double eps = 1e-6;  ///< finite-difference step
  double atol = 1e-5;  ///< absolute tolerance: |analytic - numeric| <= atol + rtol·|numeric|
  double rtol = 1e-3;  ///< relative tolerance
  std::uint64_t seed = 0;        ///< for the projection vector v
  bool check_repeat = true;      ///< backward twice gives identical gradients
  bool check_zero_grad = true;   ///< a zero upstream gradient gives zero gradients
  /// Perturb and differentiate the given tensors themselves instead of copies. Needed when f reads
  /// tensors it already holds, such as a module's parameters, rather than the ones it is passed:
  /// \code
  /// gradcheck([&](auto& in) { return model.forward(in[0]); }, {x, model.weight}, {.in_place = true});
  /// \endcode
  /// Their values are restored afterwards, and their .grad is put back as it was. They must be
  /// contiguous leaves.
  bool in_place = false;
};

/// What gradcheck() found: true when every compared element agrees. Converts to bool.
struct GradcheckResult {
  bool ok = true;  ///< true when every check passed
  std::string message;        ///< empty when ok, else what failed first, with the numbers
  std::int64_t checked = 0;   ///< elements compared
  std::int64_t failed = 0;    ///< elements outside the tolerance
  double max_abs_diff = 0.0;  ///< the largest |analytic - numeric| seen
  /// Inputs (that require grad) whose analytic and numeric gradients are both zero everywhere: f does
  /// not depend on them, so the check said nothing about them. Often a sign that f reads other tensors
  /// than the ones it is given (a module's parameters: use in_place).
  std::vector<std::size_t> unused_inputs;
  explicit operator bool() const { return ok; }  ///< ok
};

/// The function gradcheck() differentiates: inputs in, one tensor out.
using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Checks the analytic gradients of f at `inputs` against central finite differences, in float64 (the inputs
/// that require grad are perturbed). On failure the result's message names the input, the element, and the
/// analytic and numeric values.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace attograd
