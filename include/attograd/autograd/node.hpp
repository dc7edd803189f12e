/// \file
/// One step of the recorded graph, and how an op records it.
///
/// Every op that computes from inputs needing a gradient records a Node: its name, links to the nodes
/// of its inputs, the tensors it keeps for backward, and a backward function that turns the gradient
/// of its output into gradients of its inputs. An op reads like this (lib/ops/linalg.cpp):
///
/// \code
/// const Op matmul_op({.name = "matmul", .rule = "dA = dC·Bᵀ   dB = Aᵀ·dC", ...});  // op_registry.hpp
///
/// Tensor c = ...forward...;
/// // dA = dC·Bᵀ   dB = Aᵀ·dC
/// if (Node* node = record(matmul_op, c, {a, b})) {
///   node->backward = [A = node->save(a), B = node->save(b)](const Tensor& dC, Grads& d) {
///     if (d.wanted(0)) d[0] = matmul(dC, B.mT());
///     if (d.wanted(1)) d[1] = matmul(A.mT(), dC);
///   };
/// }
/// return c;
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attograd/autograd/op_registry.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd::autograd {

/// The gradients a backward function produces: one slot per input of its node. A slot left undefined
/// means "no gradient" (the engine treats it as zero). Each gradient must have its input's shape and
/// dtype: an op that broadcast an input sums the gradient back to that input's shape (sum_to).
class Grads {
 public:
  /// `op` names the node in errors (the engine passes the node's op).
  explicit Grads(std::vector<bool> wanted, std::string_view op = {})
      : wanted_(std::move(wanted)), slots_(wanted_.size()), op_(op) {}

  std::size_t size() const { return slots_.size(); }  ///< one slot per input of the node
  /// Does input i need a gradient? Computing one that is not wanted is wasted work.
  bool wanted(std::size_t i) const { return wanted_[i]; }
  /// the gradient for input i: assign it, or add into it
  Tensor& operator[](std::size_t i) { return slots_[i]; }
  const Tensor& operator[](std::size_t i) const { return slots_[i]; }  ///< \overload
  std::span<const Tensor> all() const { return slots_; }  ///< all slots, in input order

  /// The gradient the node received, when nothing else can see it: a backward may then take it and
  /// write its result into that memory instead of allocating (relu's mask does). The engine offers it
  /// only when no installed step hook reads it (StepHookOptions), no other tensor, view or saved value
  /// shares its storage, and it is contiguous. After the take, the backward's gradient argument is
  /// empty. Taking what was not offered (or taking twice) is an AutogradError naming the op.
  bool output_grad_offered() const { return offered_ != nullptr; }
  /// Takes the offered gradient (see output_grad_offered()); only once, and only when offered.
  Tensor take_output_grad();
  /// called by the engine before a backward runs: the memory it may give away, or null
  void offer_output_grad(Tensor* grad) { offered_ = grad; }

  /// The gradient input i already holds from the node's other consumers, when the engine lets this
  /// backward add its own into it in place (a product's kernel adds as it writes: linear's dX), instead
  /// of returning a new tensor in d[i] that the engine adds in a pass of its own; else null. Offered only
  /// while no step hook is installed (hooks see each d[i]), when nothing else shares that gradient's
  /// memory, and it is contiguous. A backward that adds into it (or replaces it with a tensor of its
  /// shape and dtype holding the sum) calls added_in_place(i) and leaves d[i] empty; one that does not
  /// simply assigns d[i] as usual.
  Tensor* input_grad_offered(std::size_t i) const {
    return i < in_place_offers_.size() ? in_place_offers_[i] : nullptr;
  }
  /// Says that this backward added its gradient for input i into input_grad_offered(i) (AutogradError
  /// naming the op when none was offered).
  void added_in_place(std::size_t i);
  /// Whether the backward added its gradient for input i in place: the engine then adds nothing.
  bool was_added_in_place(std::size_t i) const { return i < in_place_.size() && in_place_[i]; }
  /// called by the engine before a backward runs: input i's gradient so far, which it may add into
  void offer_input_grad(std::size_t i, Tensor* grad);

 private:
  std::vector<bool> wanted_;
  std::vector<Tensor> slots_;
  std::string_view op_;
  Tensor* offered_ = nullptr;
  bool taken_ = false;
  std::vector<Tensor*> in_place_offers_;  // by input; empty until the engine offers one
  std::vector<bool> in_place_;
};

/// What a node keeps for the teaching tools. Made only while one of them asks (see `recording` below),
/// so an ordinary graph pays one null pointer per node.
struct NodeNotes {
  Tensor value;                   ///< the op's output (a detached alias), for pictures of the graph
  std::vector<Tensor> constants;  ///< inputs that need no gradient (detached), by input position
  Tensor grad;                    ///< the gradient it received in the last backward (viz writes it)
  std::source_location where;     ///< the innermost ForwardSite when it was recorded
  bool has_where = false;  ///< whether `where` was set
};

/// A node of the recorded graph: the op that made a tensor, the nodes of its inputs, the tensors it saved and
/// its backward function. Made by record(); the engine runs its backward.
class Node {
 public:
  /// Whether a node stands for an op's output or for a leaf.
  enum class Kind { Op, Leaf };
  /// The backward of an op's node: reads grad_output (the gradient of its output), writes its inputs'
  /// gradients into grads.
  using BackwardFn = std::function<void(const Tensor& grad_output, Grads& grads)>;

  /// An op's node. inputs[i] is the node of input i, or null when that input needs no gradient.
  Node(std::string op, std::vector<std::shared_ptr<Node>> inputs, const Shape& shape, DType dtype);
  /// Frees the graph below this node without recursion, so that dropping a graph thousands of ops
  /// deep cannot overflow the stack.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// The node standing for a leaf in the graphs that use it: backward adds into the leaf's .grad.
  static std::shared_ptr<Node> for_leaf(const std::shared_ptr<TensorImpl>& leaf);

  const std::string& op() const { return info_ != nullptr ? info_->name : op_; }  ///< "matmul", or "leaf"
  /// What the registry says about the op (null for a leaf, or an op recorded by name only).
  const OpInfo* op_info() const { return info_; }
  Kind kind() const { return kind_; }  ///< Op or Leaf
  /// the nodes of the inputs, null where an input needs no gradient
  const std::vector<std::shared_ptr<Node>>& inputs() const { return inputs_; }
  const Shape& shape() const { return shape_; }  ///< of the output (or leaf)
  DType dtype() const { return dtype_; }  ///< of the output (or leaf)
  /// Position in the forward order: the n-th node recorded by this thread.
  std::uint64_t sequence_nr() const { return sequence_nr_; }

  /// Keeps t for backward and returns it (as a detached alias, so that saving an op's own output does
  /// not make a reference cycle). The engine refuses to run backward if t was modified in place since.
  Tensor save(const Tensor& t);
  std::size_t saved_bytes() const;  ///< the bytes the saved tensors hold (graph pictures show it)
  /// Throws AutogradError naming the op if a saved tensor was modified in place.
  void check_saved_versions() const;

  /// The backward function; released (with the saved tensors) after backward unless retain_graph.
  BackwardFn backward;
  /// whether backward freed the saved tensors and the function (a second backward needs retain_graph)
  bool released() const { return released_; }
  void release();  ///< frees the backward function and the saved tensors

  /// The output tensor, while it is alive (pictures, retain_grad); for a leaf node, the leaf.
  std::shared_ptr<TensorImpl> tensor() const;

  /// The teaching tools' notes, or null. Tools write into them through a const Node& (a hook's view).
  NodeNotes* notes() const;
  /// An op's scalar constant, by the letter its form and rule use: `node->note_scalar('s', s)` after
  /// record() in A - s, ('p', p) in pow. Graph pictures, traces and anomaly messages show it (a backward
  /// lambda's captured value cannot be read back). One store: every node has room for one.
  void note_scalar(char letter, double value) {
    scalar_letter_ = letter;
    scalar_ = value;
  }
  char scalar_letter() const { return scalar_letter_; }  ///< 0: no scalar noted
  double scalar() const { return scalar_; }  ///< the noted scalar's value (see note_scalar)

  /// Scratch space of the engine during one backward pass.
  Tensor grad_buffer;
  std::uint64_t visit_mark = 0;  ///< the engine's mark: visited in the current pass

 private:
  friend Node* record_node(const OpInfo*, std::string_view, Tensor&, std::span<const Tensor* const>);

  struct Saved {
    std::shared_ptr<Storage> storage;
    std::uint64_t version;
    std::size_t bytes;
  };

  std::string op_;                // empty for a registered op, whose name is in the registry
  const OpInfo* info_ = nullptr;
  Kind kind_ = Kind::Op;
  std::vector<std::shared_ptr<Node>> inputs_;
  Shape shape_;
  DType dtype_;
  std::uint64_t sequence_nr_ = 0;
  std::vector<Saved> saved_;
  bool released_ = false;
  char scalar_letter_ = 0;
  double scalar_ = 0.0;
  bool has_notes_ = false;  // its notes are in a side table (node.cpp), so a node without them is no bigger
  std::weak_ptr<TensorImpl> output_;
  std::shared_ptr<TensorImpl> leaf_;
};

/// Records the node that produced `out` from `inputs`, if grad mode is on and any input requires grad:
/// links it to the inputs' nodes, marks `out` as requiring grad and returns the node for the op to set
/// its backward. Otherwise returns nullptr and `out` stays a constant. An op registered without a
/// backward of its own is refused (AutogradError) when an input requires grad: its gradient would be
/// lost silently. The library's ops pass their registered Op; a student's own op may pass a name.
Node* record(const Op& op, Tensor& out, std::span<const Tensor* const> inputs);
/// \overload
Node* record(const Op& op, Tensor& out, std::initializer_list<std::reference_wrapper<const Tensor>> inputs);
/// \overload
Node* record(const Op& op, Tensor& out, std::span<const Tensor> inputs);
/// \overload
Node* record(std::string_view op, Tensor& out, std::span<const Tensor* const> inputs);
/// \overload
Node* record(std::string_view op, Tensor& out, std::initializer_list<std::reference_wrapper<const Tensor>> inputs);
/// \overload
Node* record(std::string_view op, Tensor& out, std::span<const Tensor> inputs);

/// The scalar constant a node noted, for labels: "s = 0.5", "p = 3"; "" when it noted none.
std::string scalars_text(const Node& node);

/// True if grad mode is on and any of the tensors requires grad: whether an op needs to record.
bool needs_grad(std::initializer_list<std::reference_wrapper<const Tensor>> inputs);

// What record() notes for the teaching tools, per thread. Each switch counts the guards that turned
// it on; the guards are attograd::viz::GraphCapture, autograd::AnomalyMode and ForwardSite. While all
// are off, record() checks one thread-local flag and allocates nothing more.
namespace recording {
void keep_values(bool on);  ///< nodes keep their output and their constant inputs
void keep_sites(bool on);   ///< nodes keep the innermost ForwardSite
/// Makes `where` the innermost site and returns the one it replaces (ForwardSite puts it back).
const std::source_location* exchange_site(const std::source_location* where);
}  // namespace recording

}  // namespace attograd::autograd
