#include "attograd/autograd/engine.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "backend/basic.hpp"

namespace attograd {

void Tensor::backward(const Tensor& grad, BackwardOptions options) const { autograd::backward(*this, grad, options); }

namespace autograd {

namespace {

thread_local std::vector<const StepHookGuard*> hooks;
std::atomic<std::uint64_t> next_visit_mark{1};

// --- the seed and the order -----------------------------------------------------------------------

// dy/dy: ones for a y of one element, else the caller's upstream gradient, checked against y.
Tensor seed_gradient(const Tensor& root, const Tensor& grad, const BackwardOptions& options) {
  if (options.create_graph) {
    throw AutogradError("backward: create_graph (differentiating the backward pass, double backward) is not "
                        "supported by attograd");
  }
  if (!root.requires_grad() && root.impl()->computed_under_no_grad) {
    throw AutogradError(fmt::format("backward: the tensor (shape {}) was computed while a NoGradGuard was alive, "
                                    "so no graph was recorded for backward to follow; compute it outside the guard "
                                    "(NoGradGuard is for evaluation and updates, where no backward follows)",
                                    root.shape()));
  }
  if (!root.requires_grad()) {
    throw AutogradError(fmt::format("backward: the tensor (shape {}) does not require grad and has no grad_fn; "
                                    "call requires_grad_() on the leaves you want gradients for",
                                    root.shape()));
  }
  if (!grad.defined()) {
    if (root.numel() != 1) {
      throw AutogradError(fmt::format("backward: a gradient can be created implicitly only for a tensor with "
                                      "one element, this one has shape {}; pass the upstream gradient: "
                                      "y.backward(ones_like(y))",
                                      root.shape()));
    }
    Tensor ones = empty(root.shape(), root.dtype());
    backend::fill(ones, 1.0);
    return ones;
  }
  if (grad.shape() != root.shape() || grad.dtype() != root.dtype()) {
    // A shape mismatch is a ShapeError; only the dtype differing is a DTypeError (as in set_grad).
    const std::string message = fmt::format("backward: the gradient is {} {} but the tensor is {} {}{}", grad.shape(),
                                            grad.dtype(), root.shape(), root.dtype(),
                                            grad.dtype() != root.dtype()
                                                ? fmt::format("; convert it with .to({})", constant_name(root.dtype()))
                                                : std::string());
    if (grad.shape() != root.shape()) throw ShapeError(message);
    throw DTypeError(message);
  }
  return grad;
}

// Nodes reachable from `start`, every node before the nodes of its inputs (reverse post-order of a
// depth-first search). Iterative, so that a graph thousands of ops deep cannot overflow the stack.
std::vector<Node*> topological_order(Node* start) {
  const std::uint64_t mark = next_visit_mark.fetch_add(1);
  std::vector<Node*> post_order;
  std::vector<std::pair<Node*, std::size_t>> stack;  // node, index of the next input to visit
  start->visit_mark = mark;
  stack.emplace_back(start, 0);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs().size()) {
      Node* input = node->inputs()[next++].get();
      if (input != nullptr && input->visit_mark != mark) {
        input->visit_mark = mark;
        stack.emplace_back(input, 0);
      }
    } else {
      post_order.push_back(node);
      stack.pop_back();
    }
  }
  std::reverse(post_order.begin(), post_order.end());
  return post_order;
}

// If anything throws midway, no gradient is left behind in the graph for a later pass to pick up.
struct ClearBuffersOnExit {
  const std::vector<Node*>& nodes;
  ~ClearBuffersOnExit() {
    for (Node* n : nodes) n->grad_buffer = Tensor();
  }
};

// --- adding gradients up --------------------------------------------------------------------------

// True when nobody but the engine can see g's memory and it is laid out plainly, so adding into it in
// place is safe. A gradient passed through unchanged by an op (add's dA = dC) is shared and fails this.
bool exclusively_owned(const Tensor& g) {
  const TensorImpl& t = *g.impl();
  return g.impl_ptr().use_count() == 1 && t.storage.use_count() == 1 && t.offset == 0 &&
         t.storage->bytes() == g.nbytes() && g.is_contiguous();
}

// slot += g, in place when that is safe, else into a new tensor. Returns whether slot already held a
// gradient (the value was used more than once).
bool accumulate(Tensor& slot, Tensor g) {
  if (!slot.defined()) {
    slot = std::move(g);
    return false;
  }
  if (exclusively_owned(slot)) {
    backend::add_into(slot, g);
    slot.impl()->storage->bump_version();  // every in-place write counts, as in PyTorch
  } else {
    slot = backend::add(slot, g);
  }
  return true;
}

// A leaf's (or retain_grad tensor's) .grad += g. The first gradient is copied unless the engine holds
// the only reference, so that later in-place accumulation cannot write into another tensor. Adding
// into an existing .grad bumps its version, so that a graph that saved that .grad refuses to run
// backward with the new values (as PyTorch's AccumulateGrad does).
bool accumulate_into_grad(TensorImpl& t, const Tensor& g) {
  if (!t.grad) {
    t.grad = (exclusively_owned(g) ? g : backend::copy(g, g.dtype())).impl_ptr();
    return false;
  }
  Tensor existing(t.grad);
  backend::add_into(existing, g);
  existing.impl()->storage->bump_version();
  return true;
}

// --- one op node ------------------------------------------------------------------------------------

// Refuses to run a node whose backward is gone or whose saved values changed since the forward.
void check_can_run(const Node& node) {
  if (node.released()) {
    throw AutogradError(fmt::format(
        "backward: the graph through '{}' (node {}) was already freed by an earlier backward; pass "
        "{{.retain_graph = true}} to the first backward to run backward through it again",
        node.op(), node.sequence_nr()));
  }
  if (!node.backward) {
    throw AutogradError(fmt::format("backward: op '{}' (node {}) recorded no backward function", node.op(),
                                    node.sequence_nr()));
  }
  node.check_saved_versions();
}

bool a_hook_reads_grad_output() {
  return std::any_of(hooks.begin(), hooks.end(), [](const StepHookGuard* h) { return h->options().reads_grad_output; });
}

// The slots for a node's backward, one per input, and the offer of g's memory when nothing but g holds
// it, no hook will read it after the step, and each of its elements has its own memory (contiguous:
// not an expand() view). The backward may then write its result there (Grads::take_output_grad).
Grads grads_for(const Node& node, Tensor& g) {
  std::vector<bool> wanted(node.inputs().size());
  for (std::size_t i = 0; i < wanted.size(); ++i) wanted[i] = node.inputs()[i] != nullptr;
  Grads d(std::move(wanted), node.op());
  if (!a_hook_reads_grad_output() && g.is_contiguous() && g.impl_ptr().use_count() == 1 &&
      g.impl()->storage.use_count() == 1) {
    d.offer_output_grad(&g);
  }
  // The gradients the inputs already hold, where the backward may add its own in place (linear's dX as
  // a product's sum post-op); only without hooks, which are shown every d[i].
  if (hooks.empty()) {
    for (std::size_t i = 0; i < d.size(); ++i) {
      Node* input = node.inputs()[i].get();
      if (input != nullptr && input->grad_buffer.defined() && exclusively_owned(input->grad_buffer)) {
        d.offer_input_grad(i, &input->grad_buffer);
      }
    }
  }
  return d;
}

void check_gradient(const Node& node, std::size_t i, const Tensor& g) {
  const Node& input = *node.inputs()[i];
  if (g.shape() != input.shape() || g.dtype() != input.dtype()) {
    throw AutogradError(fmt::format("backward of '{}': the gradient for input {} is {} {}, expected {} {} "
                                    "(a backward function must return gradients shaped like its inputs)",
                                    node.op(), i, g.shape(), g.dtype(), input.shape(), input.dtype()));
  }
}

// input i's gradient buffer += d[i] for each input that wants one; added[i] says whether the buffer
// already held a gradient.
void add_into_inputs(const Node& node, const Grads& d, bool* added) {
  for (std::size_t i = 0; i < d.size(); ++i) {
    added[i] = false;
    if (d.was_added_in_place(i)) {  // the backward added into the buffer itself (Grads::input_grad_offered)
      added[i] = true;
      node.inputs()[i]->grad_buffer.impl()->storage->bump_version();
      continue;
    }
    if (!d.wanted(i) || !d[i].defined()) continue;
    check_gradient(node, i, d[i]);
    added[i] = accumulate(node.inputs()[i]->grad_buffer, d[i]);
  }
}

void run_hooks(const BackwardStep& step) {
  for (const StepHookGuard* guard : hooks) guard->hook()(step);
}

void run_after_last_step_hooks() {
  for (const StepHookGuard* guard : hooks) {
    if (guard->options().after_last_step) guard->options().after_last_step();
  }
}

}  // namespace

StepHookGuard::StepHookGuard(StepHook hook, StepHookOptions options) : hook_(std::move(hook)), options_(options) {
  hooks.push_back(this);
}

StepHookGuard::~StepHookGuard() { std::erase(hooks, this); }

// micrograd's loop: order the nodes, then for each node, with the sum of the gradients its consumers
// sent it, call its backward and add what it returns into its inputs.
void backward(const Tensor& root, const Tensor& grad, BackwardOptions options) {
  const Tensor seed = seed_gradient(root, grad, options);
  NoGradGuard no_grad;  // backward functions compute with plain tensors
  const std::shared_ptr<Node> start = root.grad_fn();
  if (!start) {  // backward on a leaf: its gradient is the seed
    accumulate_into_grad(*root.impl(), seed);
    return;
  }

  const std::vector<Node*> order = topological_order(start.get());
  ClearBuffersOnExit clear{order};
  start->grad_buffer = seed;
  for (std::size_t step = 0; step < order.size(); ++step) {
    Node& node = *order[step];
    // Every consumer of this node came earlier in the order, so its buffer holds the complete sum.
    Tensor g = std::exchange(node.grad_buffer, Tensor());
    if (!g.defined()) continue;  // no gradient reached this node: nothing flows on from it

    if (node.kind() == Node::Kind::Leaf) {
      const bool added[1] = {accumulate_into_grad(*node.tensor(), g)};  // leaf.grad += g
      run_hooks({node, g, {}, added, step});
      continue;
    }
    check_can_run(node);
    if (auto out = node.tensor(); out && out->retains_grad) accumulate_into_grad(*out, g);

    Grads d = grads_for(node, g);
    node.backward(g, d);  // d[i] = g · d(output)/d(input i)
    const std::unique_ptr<bool[]> added(new bool[d.size()]);
    add_into_inputs(node, d, added.get());  // input i's buffer += d[i]

    run_hooks({node, g, d.all(), std::span<const bool>(added.get(), d.size()), step});
    if (!options.retain_graph) node.release();
  }
  run_after_last_step_hooks();
}

}  // namespace autograd
}  // namespace attograd
