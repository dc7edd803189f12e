/// \file
/// Stop at the first backward step that makes a NaN or an infinity.
///
/// \code
/// autograd::AnomalyMode anomaly;          // for this thread, while it lives
/// Tensor loss = model(x);                 // ForwardSite inside model's code names its lines
/// loss.backward();                        // AutogradError: "anomaly: the backward of 'log' ..."
/// \endcode
///
/// Without it, one log(0) in the forward pass turns every gradient into NaN and the first symptom is
/// a NaN loss many steps later. With it, every gradient each backward step sends is checked (through
/// the engine's step hook) and the first non-finite one stops backward with an error naming the op,
/// which input's gradient, the values, and where the op was created in the forward pass: its position
/// among the graph's ops in forward order, its inputs, and the file and line of the innermost
/// ForwardSite that was alive when it was recorded.
///
/// C++ cannot give an operator (a + b) a defaulted std::source_location argument, so attograd cannot
/// see each op's line by itself; a ForwardSite marks a region instead:
///
/// \code
/// Tensor Mlp::forward(const Tensor& x) {
///   autograd::ForwardSite here;           // ops recorded below carry this file, line and function
///   ...
/// }
/// \endcode
///
/// Sites are noted only while an AnomalyMode is alive: a ForwardSite left in code costs a few
/// instructions and allocates nothing.
#pragma once

#include <memory>
#include <source_location>

#include "attograd/autograd/engine.hpp"

namespace attograd::autograd {

/// Anomaly mode for the calling thread while it lives: after each backward step it checks the gradients the
/// step sent, and the first NaN or infinity stops backward with an AutogradError naming the op, the input,
/// the values and where the op was recorded (see this file's description).
class AnomalyMode {
 public:
  /// `where` is the guard's own place: ops recorded outside any ForwardSite are reported as recorded
  /// within its scope.
  explicit AnomalyMode(std::source_location where = std::source_location::current());
  ~AnomalyMode();
  AnomalyMode(const AnomalyMode&) = delete;
  AnomalyMode& operator=(const AnomalyMode&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::source_location where_;
  const std::source_location* previous_site_;
  StepHookGuard hook_;
};

/// Marks the ops recorded on this thread while it lives with its file, line and function, for
/// AnomalyMode's messages. Sites nest: the innermost wins.
class ForwardSite {
 public:
  /// Marks the region from here to the end of the enclosing scope; `where` defaults to the line it is written
  /// on.
  explicit ForwardSite(std::source_location where = std::source_location::current());
  ~ForwardSite();
  ForwardSite(const ForwardSite&) = delete;
  ForwardSite& operator=(const ForwardSite&) = delete;

 private:
  std::source_location where_;
  const std::source_location* previous_;
};

}  // namespace attograd::autograd
