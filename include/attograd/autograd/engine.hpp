/// \file
/// Running the recorded graph backwards.
///
/// \code
/// y.backward();                                   // y has one element: dy/dy = 1
/// y.backward(upstream);                           // any y: upstream has y's shape
/// y.backward({}, {.retain_graph = true});         // keep the graph for a second backward
///
/// StepHookGuard trace([](const BackwardStep& s) { fmt::print("{}\n", s.node.op()); },
///                     {.reads_grad_output = false});  // only watches: backwards may still reuse memory
/// \endcode
///
/// The engine visits the nodes in topological order (every consumer before what it consumes), calls
/// each node's backward once with the sum of the gradients its output received, adds the results into
/// the nodes of the inputs, and finally into the .grad of the leaves. docs/autograd.md walks through it.
#pragma once

#include <functional>
#include <span>

#include "attograd/autograd/node.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd::autograd {

/// Runs backward from `root` (Tensor::backward calls this): `grad` is the upstream gradient, required unless
/// root has one element.
void backward(const Tensor& root, const Tensor& grad = {}, BackwardOptions options = {});

/// What a hook sees after each backward step. For an op node, grad_inputs[i] is the gradient it sent
/// to input i (undefined if none) and accumulated[i] says whether that gradient was added to one the
/// input had already received (the value was used more than once). For a leaf node, grad_inputs is
/// empty and accumulated[0] says whether the leaf's .grad already held a gradient. grad_output is the
/// gradient the node received; it is undefined when the node's backward took its memory
/// (Grads::take_output_grad), which the engine allows only while no installed hook reads it.
struct BackwardStep {
  const Node& node;  ///< the node that just ran its backward
  const Tensor& grad_output;  ///< the gradient the node received (see above for when it is undefined)
  std::span<const Tensor> grad_inputs;  ///< for an op node, the gradient sent to each input
  std::span<const bool> accumulated;  ///< for each gradient sent, whether it was added to one already there
  std::size_t step;  ///< 0, 1, 2, ... in the order of this backward pass
};

/// A function called after each backward step, with what that step did.
using StepHook = std::function<void(const BackwardStep&)>;

/// How an installed step hook uses what it is shown.
struct StepHookOptions {
  /// Does the hook read step.grad_output? A hook that shows or keeps the gradients (viz::Explain,
  /// viz::GraphCapture, AnomalyMode) does, and while one is installed the engine lets no backward
  /// write into that memory. A hook that only watches which nodes run, or reads only grad_inputs and
  /// the leaves' .grad (coverage, data-parallel gradient exchange), says false and keeps the memory
  /// saving; it is then shown an undefined grad_output on the steps whose backward took it.
  bool reads_grad_output = true;
  /// Called once after the last step of a backward pass, before backward() returns (not when the pass
  /// ends with an exception, nor for backward on a leaf, which runs no steps). The data-parallel
  /// gradient exchange (dist::DataParallel) waits for its all-reduces here, so that every gradient is
  /// complete when the user's backward() returns.
  std::function<void()> after_last_step = {};
};

/// Installs a hook for this thread for the guard's lifetime. Hooks run in the order installed; a hook
/// may throw, which ends the backward pass with that exception (anomaly mode uses this).
class StepHookGuard {
 public:
  /// Installs `hook` for the calling thread until the guard is destroyed.
  explicit StepHookGuard(StepHook hook, StepHookOptions options = {});
  ~StepHookGuard();
  StepHookGuard(const StepHookGuard&) = delete;
  StepHookGuard& operator=(const StepHookGuard&) = delete;

  const StepHook& hook() const { return hook_; }  ///< the installed hook
  const StepHookOptions& options() const { return options_; }  ///< how the hook uses the gradients

 private:
  StepHook hook_;
  StepHookOptions options_;
};

}  // namespace attograd::autograd
