#include "attograd/autograd/node.hpp"

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"

namespace attograd {

thread_local bool GradMode::enabled_ = true;

std::string Tensor::grad_fn_name() const { return grad_fn() ? grad_fn()->op() : std::string(); }

namespace autograd {

namespace {
thread_local std::uint64_t next_sequence_nr = 0;

// The node that stands for t in a graph: the op that made it, or its leaf node (one per leaf, shared
// by every graph that uses the leaf, so that all of them add into the same .grad).
std::shared_ptr<Node> node_of(const Tensor& t) {
  TensorImpl& impl = *t.impl();
  if (impl.grad_fn) return impl.grad_fn;
  if (auto existing = impl.grad_accumulator.lock()) return existing;
  auto leaf = Node::for_leaf(t.impl_ptr());
  impl.grad_accumulator = leaf;
  return leaf;
}
}  // namespace

Node::Node(std::string op, std::vector<std::shared_ptr<Node>> inputs, const Shape& shape, DType dtype)
    : op_(std::move(op)), inputs_(std::move(inputs)), shape_(shape), dtype_(dtype),
      sequence_nr_(next_sequence_nr++) {}

Node::~Node() {
  // Each node this one holds alone would be destroyed by its shared_ptr, which would destroy the
  // nodes it holds alone, and so on: one stack frame per node. Instead its inputs are moved onto an
  // explicit stack before it goes, so every node dies with an empty input list.
  std::vector<std::shared_ptr<Node>> pending = std::move(inputs_);
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    if (node && node.use_count() == 1) {
      for (auto& input : node->inputs_) pending.push_back(std::move(input));
      node->inputs_.clear();
    }
  }
}

std::shared_ptr<Node> Node::for_leaf(const std::shared_ptr<TensorImpl>& leaf) {
  auto node = std::make_shared<Node>("leaf", std::vector<std::shared_ptr<Node>>{}, leaf->shape, leaf->dtype);
  node->kind_ = Kind::Leaf;
  node->leaf_ = leaf;
  return node;
}

Tensor Node::save(const Tensor& t) {
  if (!t.defined()) return t;
  saved_.push_back({t.impl()->storage, t.impl()->storage->version(), t.nbytes()});
  return t.detach();
}

std::size_t Node::saved_bytes() const {
  std::size_t total = 0;
  for (const Saved& s : saved_) total += s.bytes;
  return total;
}

void Node::check_saved_versions() const {
  for (std::size_t i = 0; i < saved_.size(); ++i) {
    const Saved& s = saved_[i];
    if (s.storage->version() != s.version) {
      throw AutogradError(fmt::format(
          "backward: tensor {} saved by '{}' (node {}) was modified in place after it was saved "
          "(version {} now, {} when saved); its gradient would be wrong. Use an out-of-place op "
          "or clone() before modifying",
          i, op_, sequence_nr_, s.storage->version(), s.version));
    }
  }
}

void Node::release() {
  if (kind_ == Kind::Leaf) return;  // a leaf's node is shared by later graphs: nothing to free
  backward = nullptr;
  saved_.clear();
  saved_.shrink_to_fit();
  released_ = true;
}

std::shared_ptr<TensorImpl> Node::tensor() const { return kind_ == Kind::Leaf ? leaf_ : output_.lock(); }

Node* record(std::string_view op, Tensor& out, std::span<const Tensor* const> inputs) {
  if (!GradMode::is_enabled()) return nullptr;
  bool any = false;
  for (const Tensor* t : inputs) any = any || (t->defined() && t->requires_grad());
  if (!any) return nullptr;

  std::vector<std::shared_ptr<Node>> next;
  next.reserve(inputs.size());
  for (const Tensor* t : inputs) next.push_back(t->defined() && t->requires_grad() ? node_of(*t) : nullptr);

  auto node = std::make_shared<Node>(std::string(op), std::move(next), out.shape(), out.dtype());
  node->output_ = out.impl_ptr();
  TensorImpl& o = *out.impl();
  o.requires_grad = true;
  o.grad_fn = node;
  return node.get();
}

Node* record(std::string_view op, Tensor& out, std::initializer_list<std::reference_wrapper<const Tensor>> inputs) {
  const Tensor* ptrs[16];
  if (inputs.size() > 16) throw ValueError("record: at most 16 inputs in a braced list; pass a span");
  std::size_t n = 0;
  for (const Tensor& t : inputs) ptrs[n++] = &t;
  return record(op, out, std::span<const Tensor* const>(ptrs, n));
}

Node* record(std::string_view op, Tensor& out, std::span<const Tensor> inputs) {
  std::vector<const Tensor*> ptrs;
  ptrs.reserve(inputs.size());
  for (const Tensor& t : inputs) ptrs.push_back(&t);
  return record(op, out, std::span<const Tensor* const>(ptrs));
}

bool needs_grad(std::initializer_list<std::reference_wrapper<const Tensor>> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

}  // namespace autograd
}  // namespace attograd
