// attograd/autograd/engine.hpp: running the recorded graph backwards.
//
//   y.backward();                                   // y has one element: dy/dy = 1
//   y.backward(upstream);                           // any y: upstream has y's shape
//   y.backward({}, {.retain_graph = true});         // keep the graph for a second backward
//
//   StepHookGuard trace([](const BackwardStep& s) { fmt::print("{}\n", s.node.op()); });
//
// The engine visits the nodes in topological order (every consumer before what it consumes), calls
// each node's backward once with the sum of the gradients its output received, adds the results into
// the nodes of the inputs, and finally into the .grad of the leaves. docs/autograd.md walks through it.
#pragma once

#include <functional>
#include <span>

#include "attograd/autograd/node.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd::autograd {

void backward(const Tensor& root, const Tensor& grad = {}, BackwardOptions options = {});

// What a hook sees after each backward step. For an op node, grad_inputs[i] is the gradient it sent
// to input i (undefined if none) and accumulated[i] says whether that gradient was added to one the
// input had already received (the value was used more than once). For a leaf node, grad_inputs is
// empty and accumulated[0] says whether the leaf's .grad already held a gradient.
struct BackwardStep {
  const Node& node;
  const Tensor& grad_output;
  std::span<const Tensor> grad_inputs;
  std::span<const bool> accumulated;
  std::size_t step;  // 0, 1, 2, ... in the order of this backward pass
};

using StepHook = std::function<void(const BackwardStep&)>;

// Installs a hook for this thread for the guard's lifetime. Hooks run in the order installed; a hook
// may throw, which ends the backward pass with that exception (anomaly mode uses this).
class StepHookGuard {
 public:
  explicit StepHookGuard(StepHook hook);
  ~StepHookGuard();
  StepHookGuard(const StepHookGuard&) = delete;
  StepHookGuard& operator=(const StepHookGuard&) = delete;

 private:
  StepHook hook_;
};

}  // namespace attograd::autograd
