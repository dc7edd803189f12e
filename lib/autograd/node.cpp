#include "attograd/autograd/node.hpp"

#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"

namespace attograd {

thread_local bool GradMode::enabled_ = true;

std::string Tensor::grad_fn_name() const { return grad_fn() ? grad_fn()->op() : std::string(); }

namespace autograd {

namespace {
thread_local std::uint64_t next_sequence_nr = 0;

// The teaching tools' switches (node.hpp, `recording`). `any` is the one flag record() reads when
// they are all off. Plain data, so that reading it is one thread-local load with no initialisation check.
struct Recording {
  int keep_values = 0;
  int keep_sites = 0;
  const std::source_location* site = nullptr;  // the innermost ForwardSite
  bool any = false;
  void update() { any = keep_values > 0 || (keep_sites > 0 && site != nullptr); }
};
thread_local Recording recording_state;

// The teaching tools' notes, by node. A side table rather than a field, so that the nodes without notes
// (all of them, unless a tool is on) are no bigger. Never destroyed: nodes may outlive static destruction.
struct NotesTable {
  std::mutex mutex;
  std::unordered_map<const Node*, std::unique_ptr<NodeNotes>> notes;
};

NotesTable& notes_table() {
  static NotesTable* table = new NotesTable;
  return *table;
}

// The teaching tools' notes for a node just recorded, into the side table. Out of line and cold, like
// the error below, so that record()'s common path stays as small as it was without the tools.
[[gnu::noinline, gnu::cold]] void attach_notes(const Node& node, const Tensor& out,
                                               std::span<const Tensor* const> inputs) {
  const Recording& r = recording_state;
  auto notes = std::make_unique<NodeNotes>();
  if (r.keep_values > 0) {
    notes->value = out.detach();
    notes->constants.resize(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (node.inputs()[i] == nullptr && inputs[i]->defined()) notes->constants[i] = inputs[i]->detach();
    }
  }
  if (r.keep_sites > 0 && r.site != nullptr) {
    notes->where = *r.site;
    notes->has_where = true;
  }
  NotesTable& table = notes_table();
  std::lock_guard lock(table.mutex);
  table.notes[&node] = std::move(notes);
}

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

// record() of an op registered without a backward, while an input requires grad.
[[noreturn, gnu::noinline, gnu::cold]] void refuse_without_backward(std::string_view op,
                                                                    std::span<const Tensor* const> inputs) {
  std::size_t i = 0;
  while (!(inputs[i]->defined() && inputs[i]->requires_grad())) ++i;
  throw AutogradError(
      fmt::format("{}: has no backward, so it cannot pass a gradient to input {} (shape {}), "
                  "which requires grad. Give it a backward, or compute it from x.detach() or "
                  "inside a NoGradGuard if that gradient is not wanted",
                  op, i, inputs[i]->shape()));
}

}  // namespace

void Grads::offer_input_grad(std::size_t i, Tensor* grad) {
  if (in_place_offers_.empty()) in_place_offers_.resize(slots_.size(), nullptr);
  in_place_offers_[i] = grad;
}

void Grads::added_in_place(std::size_t i) {
  if (input_grad_offered(i) == nullptr) {
    throw AutogradError(fmt::format("backward of '{}': added_in_place({}) was called, but the engine offered no "
                                    "gradient of input {} to add into; call it only when input_grad_offered({}) "
                                    "is not null, and assign d[{}] otherwise",
                                    op_, i, i, i, i));
  }
  if (in_place_.empty()) in_place_.resize(slots_.size(), false);
  in_place_[i] = true;
}

Tensor Grads::take_output_grad() {
  if (offered_ == nullptr) {
    throw AutogradError(
        taken_ ? fmt::format("backward of '{}': take_output_grad() was called a second time; the gradient's memory "
                             "was already taken",
                             op_)
               : fmt::format("backward of '{}': take_output_grad() was called, but the engine offered this backward "
                             "no gradient memory; call it only when output_grad_offered() is true, and read the "
                             "gradient argument otherwise",
                             op_));
  }
  Tensor t = std::move(*offered_);
  offered_ = nullptr;
  taken_ = true;
  return t;
}

Node::Node(std::string op, std::vector<std::shared_ptr<Node>> inputs, const Shape& shape, DType dtype)
    : op_(std::move(op)), inputs_(std::move(inputs)), shape_(shape), dtype_(dtype), sequence_nr_(next_sequence_nr++) {}

NodeNotes* Node::notes() const {
  if (!has_notes_) return nullptr;
  NotesTable& table = notes_table();
  std::lock_guard lock(table.mutex);
  return table.notes.at(this).get();
}

Node::~Node() {
  if (has_notes_) {
    NotesTable& table = notes_table();
    std::lock_guard lock(table.mutex);
    table.notes.erase(this);
  }
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
      throw AutogradError(
          fmt::format("backward: tensor {} saved by '{}' (node {}) was modified in place after it was saved "
                      "(version {} now, {} when saved); its gradient would be wrong. Use an out-of-place op "
                      "or clone() before modifying",
                      i, op(), sequence_nr_, s.storage->version(), s.version));
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

// The one implementation of record(): `info` is the registered op, or null for an op known by name.
Node* record_node(const OpInfo* info, std::string_view op, Tensor& out, std::span<const Tensor* const> inputs) {
  bool any = false;
  bool under_no_grad = false;  // an input that would have needed a graph was computed without one
  for (const Tensor* t : inputs) {
    if (!t->defined()) continue;
    any = any || t->requires_grad();
    under_no_grad = under_no_grad || t->impl()->computed_under_no_grad;
  }
  if (!GradMode::is_enabled() || !any) {
    // Remembered, so that backward() on a loss computed here can name the guard (engine.cpp).
    if (under_no_grad || (any && !GradMode::is_enabled())) out.impl()->computed_under_no_grad = true;
    return nullptr;
  }
  if (info != nullptr && info->gradient != Gradient::Backward) [[unlikely]] refuse_without_backward(op, inputs);

  std::vector<std::shared_ptr<Node>> next;
  next.reserve(inputs.size());
  for (const Tensor* t : inputs) next.push_back(t->defined() && t->requires_grad() ? node_of(*t) : nullptr);

  // A registered op's node reads its name from the registry, so nothing is copied.
  auto node = std::make_shared<Node>(info != nullptr ? std::string() : std::string(op), std::move(next), out.shape(),
                                     out.dtype());
  node->info_ = info;
  if (recording_state.any) [[unlikely]] {
    attach_notes(*node, out, inputs);
    node->has_notes_ = true;
  }
  node->output_ = out.impl_ptr();
  TensorImpl& o = *out.impl();
  o.requires_grad = true;
  o.grad_fn = node;
  return node.get();
}

namespace {

// The tensors of a braced list as pointers, without allocating.
class ListPointers {
 public:
  explicit ListPointers(std::initializer_list<std::reference_wrapper<const Tensor>> inputs) {
    if (inputs.size() > 16) throw ValueError("record: at most 16 inputs in a braced list; pass a span");
    for (const Tensor& t : inputs) ptrs_[n_++] = &t;
  }
  std::span<const Tensor* const> span() const { return {ptrs_, n_}; }

 private:
  const Tensor* ptrs_[16];
  std::size_t n_ = 0;
};

std::vector<const Tensor*> pointers(std::span<const Tensor> inputs) {
  std::vector<const Tensor*> ptrs;
  ptrs.reserve(inputs.size());
  for (const Tensor& t : inputs) ptrs.push_back(&t);
  return ptrs;
}

}  // namespace

Node* record(const Op& op, Tensor& out, std::span<const Tensor* const> inputs) {
  return record_node(&op.info(), op.info().name, out, inputs);
}

Node* record(const Op& op, Tensor& out, std::initializer_list<std::reference_wrapper<const Tensor>> inputs) {
  return record_node(&op.info(), op.info().name, out, ListPointers(inputs).span());
}

Node* record(const Op& op, Tensor& out, std::span<const Tensor> inputs) {
  return record_node(&op.info(), op.info().name, out, pointers(inputs));
}

Node* record(std::string_view op, Tensor& out, std::span<const Tensor* const> inputs) {
  return record_node(nullptr, op, out, inputs);
}

Node* record(std::string_view op, Tensor& out, std::initializer_list<std::reference_wrapper<const Tensor>> inputs) {
  return record_node(nullptr, op, out, ListPointers(inputs).span());
}

Node* record(std::string_view op, Tensor& out, std::span<const Tensor> inputs) {
  return record_node(nullptr, op, out, pointers(inputs));
}

std::string scalars_text(const Node& node) {
  if (node.scalar_letter() == 0) return {};
  return fmt::format("{} = {:g}", node.scalar_letter(), node.scalar());
}

bool needs_grad(std::initializer_list<std::reference_wrapper<const Tensor>> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

namespace recording {

void keep_values(bool on) {
  recording_state.keep_values += on ? 1 : -1;
  recording_state.update();
}

void keep_sites(bool on) {
  recording_state.keep_sites += on ? 1 : -1;
  recording_state.update();
}

const std::source_location* exchange_site(const std::source_location* where) {
  const std::source_location* previous = recording_state.site;
  recording_state.site = where;
  recording_state.update();
  return previous;
}

}  // namespace recording

}  // namespace autograd
}  // namespace attograd
