#include "attograd/viz/explain.hpp"

#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/viz/summary.hpp"

namespace attograd::viz {

using autograd::Node;

namespace {

struct GraphSize {
  std::size_t ops = 0;
  std::size_t leaves = 0;
  std::size_t saved = 0;  // bytes
};

// The graph below `root`, counted before backward frees anything.
GraphSize measure(const Node& root) {
  GraphSize size;
  std::vector<const Node*> stack{&root};
  std::unordered_set<const Node*> seen{&root};
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    if (node->kind() == Node::Kind::Leaf) {
      ++size.leaves;
    } else {
      ++size.ops;
      size.saved += node->saved_bytes();
    }
    for (const auto& input : node->inputs()) {
      if (input && seen.insert(input.get()).second) stack.push_back(input.get());
    }
  }
  return size;
}

std::string bytes(std::size_t n) { return fmt::format("{} B", n); }

std::string leaf_name(const Node& leaf) {
  const auto t = leaf.tensor();
  return t && !t->name.empty() ? t->name : std::string();
}

// Where a gradient goes: the op's name, or the leaf's.
std::string target(const Node& input) {
  if (input.kind() == Node::Kind::Op) return input.op();
  const std::string name = leaf_name(input);
  return name.empty() ? fmt::format("a leaf {}", input.shape()) : name;
}

// "sub (A - s) with s = 0.5": the op, its form, and the scalar constant the rule uses.
std::string title(const Node& node) {
  const autograd::OpInfo* info = node.op_info();
  std::string text = info != nullptr && !info->form.empty() ? fmt::format("{} ({})", node.op(), info->form) : node.op();
  if (const std::string scalar = autograd::scalars_text(node); !scalar.empty()) text += " with " + scalar;
  return text;
}

}  // namespace

Explain::Explain(std::FILE* out, ExplainOptions options)
    : file_(out), options_(options), hook_([this](const autograd::BackwardStep& s) { step(s); }) {}

Explain::Explain(std::string& out, ExplainOptions options)
    : text_(&out), options_(options), hook_([this](const autograd::BackwardStep& s) { step(s); }) {}

void Explain::write(const std::string& text) {
  if (text_ != nullptr) {
    *text_ += text;
  } else {
    std::fputs(text.c_str(), file_);
  }
}

void Explain::step(const autograd::BackwardStep& s) {
  const Node& node = s.node;
  std::string text;
  if (s.step == 0) {
    const GraphSize size = measure(node);
    total_saved_ = size.saved;
    std::shared_ptr<TensorImpl> value = node.tensor();
    if (!value && node.notes() != nullptr) value = node.notes()->value.impl_ptr();
    text += fmt::format("backward from {} {} {}{}: {} op{}, {} lea{}, {} kept for backward\n", node.op(), node.shape(),
                        node.dtype(), value ? ", value " + summarize(Tensor(value), options_.max_values) : "", size.ops,
                        size.ops == 1 ? "" : "s", size.leaves, size.leaves == 1 ? "f" : "ves", bytes(size.saved));
  }
  const std::string values = summarize(s.grad_output, options_.max_values);
  if (node.kind() == Node::Kind::Leaf) {
    const std::string name = leaf_name(node);
    const Tensor grad(node.tensor()->grad);
    text += fmt::format("step {}  leaf {}{}: {}.grad = {}{}\n", s.step, name.empty() ? "" : name + " ", node.shape(),
                        name, summarize(grad, options_.max_values),
                        s.accumulated[0] ? fmt::format(" (added {} to the .grad it had)", values) : "");
    write(text);
    return;
  }

  const autograd::OpInfo* info = node.op_info();
  std::vector<std::string> shapes;
  std::vector<std::string> sent;
  for (std::size_t i = 0; i < node.inputs().size(); ++i) {
    const Node* input = node.inputs()[i].get();
    const std::string letter = autograd::input_letter(info, i);
    shapes.push_back(input != nullptr ? fmt::format("{}", input->shape()) : std::string("const"));
    if (input == nullptr) continue;  // a constant: no gradient
    if (i >= s.grad_inputs.size() || !s.grad_inputs[i].defined()) {
      sent.push_back(fmt::format("nothing to {}", target(*input)));
      continue;
    }
    sent.push_back(fmt::format("d{} = {} to {}{}", letter, summarize(s.grad_inputs[i], options_.max_values),
                               target(*input), s.accumulated[i] ? " (added: used more than once)" : ""));
  }
  text += fmt::format("step {}  {}  {} -> {}\n", s.step, title(node), fmt::join(shapes, ", "), node.shape());
  if (info != nullptr && !info->rule.empty()) {
    text += fmt::format("        rule   {}", info->rule);
    if (!info->derivation.empty()) text += fmt::format("   docs/derivations/{}", info->derivation);
    text += "\n";
  }
  text += fmt::format("        gets   d{} = {}\n", autograd::output_letter(info), values);
  text += fmt::format("        sends  {}\n",
                      sent.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(sent, ", ")));
  text += fmt::format("        kept   {} of {}\n", bytes(node.saved_bytes()), bytes(total_saved_));
  write(text);
}

}  // namespace attograd::viz
