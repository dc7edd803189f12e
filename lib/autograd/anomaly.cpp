#include "attograd/autograd/anomaly.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "backend/gather.hpp"  // unravel_index

namespace attograd::autograd {

namespace {

// The op nodes of the graph below `root`, numbered 1, 2, ... in the order the forward pass made them.
std::unordered_map<const Node*, std::size_t> forward_positions(const Node& root) {
  std::vector<const Node*> ops;
  std::vector<const Node*> stack{&root};
  std::unordered_map<const Node*, bool> seen{{&root, true}};
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    if (node->kind() == Node::Kind::Op) ops.push_back(node);
    for (const auto& input : node->inputs()) {
      if (input && !seen[input.get()]) {
        seen[input.get()] = true;
        stack.push_back(input.get());
      }
    }
  }
  std::sort(ops.begin(), ops.end(), [](const Node* a, const Node* b) { return a->sequence_nr() < b->sequence_nr(); });
  std::unordered_map<const Node*, std::size_t> position;
  for (std::size_t k = 0; k < ops.size(); ++k) position[ops[k]] = k + 1;
  return position;
}

struct Bad {
  std::size_t nan = 0;
  std::size_t inf = 0;
  std::int64_t first = -1;  // flat index of the first non-finite element
  double value = 0.0;
};

Bad non_finite(const Tensor& t) {
  Bad bad;
  if (!t.defined() || !t.is_floating_point()) return bad;
  const std::vector<double> v = t.to_vector<double>();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::isfinite(v[i])) continue;
    (std::isnan(v[i]) ? bad.nan : bad.inf) += 1;
    if (bad.first < 0) {
      bad.first = static_cast<std::int64_t>(i);
      bad.value = v[i];
    }
  }
  return bad;
}

std::string count_text(const Bad& bad) {
  std::vector<std::string> parts;
  if (bad.nan > 0) parts.push_back(fmt::format("{} NaN", bad.nan));
  if (bad.inf > 0) parts.push_back(fmt::format("{} infinite", bad.inf));
  return fmt::format("{} value{}", fmt::join(parts, " and "), bad.nan + bad.inf == 1 ? "" : "s");
}

}  // namespace

struct AnomalyMode::State {
  std::unordered_map<const Node*, std::size_t> position;

  std::string describe_input(const Node* input) const {
    if (input == nullptr) return "a constant";
    if (input->kind() == Node::Kind::Leaf) {
      const auto leaf = input->tensor();
      return leaf && !leaf->name.empty() ? fmt::format("leaf '{}' {}", leaf->name, input->shape())
                                         : fmt::format("a leaf {}", input->shape());
    }
    const auto it = position.find(input);
    return fmt::format("'{}' (op {})", input->op(), it == position.end() ? 0 : it->second);
  }

  // The value of input i at flat index `at`, if the forward value is still there to read.
  static std::string input_value(const Node& node, std::size_t i, std::int64_t at, const std::string& letter) {
    std::shared_ptr<TensorImpl> value;
    if (const Node* input = node.inputs()[i].get()) {
      value = input->tensor();
      if (!value && input->notes() != nullptr) value = input->notes()->value.impl_ptr();
    }
    if (!value || value->shape.numel() <= at) return {};
    const Tensor t(value);
    return fmt::format(", where {}{} = {:g}", letter, backend::unravel_index(at, t.shape()), t.reshape({-1}).at({at}));
  }

  void check(const BackwardStep& s, const std::source_location& anomaly_site) {
    if (s.step == 0 || position.empty()) position = forward_positions(s.node);
    for (std::size_t i = 0; i < s.grad_inputs.size(); ++i) {
      const Bad bad = non_finite(s.grad_inputs[i]);
      if (bad.first < 0) continue;
      const Node& node = s.node;
      const OpInfo* info = node.op_info();
      const std::string letter = input_letter(info, i);
      const std::string gradient = letter.starts_with("input") ? fmt::format("gradient {}", i) : "d" + letter;
      std::vector<std::string> inputs;
      for (const auto& input : node.inputs()) inputs.push_back(describe_input(input.get()));
      const auto pos = position.find(&node);
      std::string text = fmt::format(
          "anomaly: the backward of '{}' produced {} in the gradient for its input {} (shape {}): {}{} = {}{}. "
          "'{}' was op {} of {} in forward order, applied to {}",
          node.op(), count_text(bad), letter, s.grad_inputs[i].shape(), gradient,
          backend::unravel_index(bad.first, s.grad_inputs[i].shape()),
          std::isnan(bad.value) ? "nan" : fmt::format("{}", bad.value),
          input_value(node, i, bad.first, letter), node.op(), pos == position.end() ? 0 : pos->second, position.size(),
          fmt::join(inputs, ", "));
      // A scalar constant of the op (A * s, X^p) is in the rule but is no input: name it, and say so when
      // it is the non-finite value itself.
      if (node.scalar_letter() != 0) {
        text += fmt::format(" and the constant {}", scalars_text(node));
        if (!std::isfinite(node.scalar())) {
          text += fmt::format(" (the constant {} is itself {}: that is where the {} come from)", node.scalar_letter(),
                              node.scalar(), bad.nan + bad.inf == 1 ? "value" : "values");
        }
      }
      if (const NodeNotes* notes = node.notes(); notes != nullptr && notes->has_where) {
        const bool own = notes->where.line() == anomaly_site.line() &&
                         std::string_view(notes->where.file_name()) == anomaly_site.file_name();
        text += fmt::format(", recorded {} {}:{} ({})",
                            own ? "in the scope of the AnomalyMode at" : "in the ForwardSite at",
                            notes->where.file_name(), notes->where.line(), notes->where.function_name());
      } else {
        text += " (put an autograd::ForwardSite in the forward code to get its file and line)";
      }
      const Bad received = non_finite(s.grad_output);
      text += received.first < 0 ? fmt::format(". The gradient it received, d{}, was finite", output_letter(info))
                                 : fmt::format(". The gradient it received, d{}, already had {}", output_letter(info),
                                               count_text(received));
      if (info != nullptr && !info->rule.empty()) {
        text += fmt::format(". Its rule: {}", info->rule);
        if (!info->derivation.empty()) text += fmt::format(" (docs/derivations/{})", info->derivation);
      }
      throw AutogradError(text);
    }
  }
};

AnomalyMode::AnomalyMode(std::source_location where)
    : state_(std::make_unique<State>()),
      where_(where),
      previous_site_(nullptr),
      hook_([state = state_.get(), this](const BackwardStep& s) { state->check(s, where_); }) {
  recording::keep_sites(true);
  previous_site_ = recording::exchange_site(&where_);
}

AnomalyMode::~AnomalyMode() {
  recording::exchange_site(previous_site_);
  recording::keep_sites(false);
}

ForwardSite::ForwardSite(std::source_location where) : where_(where), previous_(recording::exchange_site(&where_)) {}

ForwardSite::~ForwardSite() { recording::exchange_site(previous_); }

}  // namespace attograd::autograd
