#include "attograd/optim/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/core/format.hpp"

namespace attograd::optim {

namespace {

// A loaded step count may not exceed 2^53: step() increments it and the bias corrections use it as a
// double, which holds every whole number up to there exactly (and INT64_MAX + 1 overflows).
constexpr std::int64_t kMaxStepCount = std::int64_t{1} << 53;

bool valid_lr(double lr) { return lr >= 0 && std::isfinite(lr); }
bool valid_weight_decay(double wd) { return wd >= 0 && std::isfinite(wd); }

// "parameter 'fc.weight' (group 0, index 1)", or "parameter 1 of group 0" for an unnamed tensor.
std::string describe(const Tensor& p, std::size_t group, std::size_t index) {
  if (p.defined() && !p.name().empty()) {
    return fmt::format("parameter '{}' (group {}, index {})", p.name(), group, index);
  }
  return fmt::format("parameter {} of group {}", index, group);
}

// A state name split into its parts: "<group>.lr" or "<group>.<index>.<what>".
struct StateName {
  std::size_t group = 0;
  std::optional<std::size_t> index;  // unset for "<group>.lr"
  std::string what;
};

std::optional<std::size_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::size_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

std::optional<StateName> parse_state_name(std::string_view name) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = name.find('.', start)) != std::string_view::npos; start = dot + 1) {
    parts.push_back(name.substr(start, dot - start));
  }
  parts.push_back(name.substr(start));
  const std::optional<std::size_t> group = parse_index(parts[0]);
  if (!group) return std::nullopt;
  if (parts.size() == 2 && parts[1] == "lr") return StateName{*group, std::nullopt, "lr"};
  if (parts.size() != 3 || parts[2].empty()) return std::nullopt;
  const std::optional<std::size_t> index = parse_index(parts[1]);
  if (!index) return std::nullopt;
  return StateName{*group, index, std::string(parts[2])};
}

}  // namespace

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr, double default_weight_decay)
    : name_(std::move(name)) {
  check("invalid learning rate", default_lr, valid_lr(default_lr));
  check("invalid weight decay", default_weight_decay, valid_weight_decay(default_weight_decay));

  // Where each tensor was first seen: a tensor listed twice in one group is tied and kept once; a
  // tensor in two groups would get two different updates, which is an error.
  std::unordered_map<const TensorImpl*, std::pair<std::size_t, std::size_t>> first_seen;
  std::size_t count = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    ParamGroup& in = groups[g];
    Group group{.params = {},
                .lr = in.lr.value_or(default_lr),
                .weight_decay = in.weight_decay.value_or(default_weight_decay)};
    check(fmt::format("group {}: invalid learning rate", g), group.lr, valid_lr(group.lr));
    check(fmt::format("group {}: invalid weight decay", g), group.weight_decay, valid_weight_decay(group.weight_decay));
    for (std::size_t i = 0; i < in.params.size(); ++i) {
      const Tensor& p = in.params[i];
      if (!p.defined()) throw ValueError(fmt::format("{}: {} is undefined", name_, describe(p, g, i)));
      if (!p.is_floating_point()) {
        throw DTypeError(fmt::format("{}: {} has dtype {}; only floating-point tensors can be optimised (make the parameter with .to(kFloat32))", name_,
                                     describe(p, g, i), p.dtype()));
      }
      if (!p.is_leaf()) {
        throw ValueError(fmt::format("{}: {} is not a leaf (it was computed by '{}'); optimise the leaf tensors, "
                                     "such as a module's parameters()",
                                     name_, describe(p, g, i), p.grad_fn_name()));
      }
      if (!p.requires_grad()) {
        throw ValueError(fmt::format("{}: {} does not require grad, so it never gets a gradient; call "
                                     "requires_grad_() on it or register it as a module parameter",
                                     name_, describe(p, g, i)));
      }
      const auto [seen, is_new] = first_seen.try_emplace(p.impl(), g, i);
      if (is_new) {
        group.params.push_back(p);
        ++count;
      } else if (seen->second.first != g) {
        throw ValueError(fmt::format("{}: {} is also in group {} (index {}); a parameter can be in one group only",
                                     name_, describe(p, g, i), seen->second.first, seen->second.second));
      }
    }
    groups_.push_back(std::move(group));
  }
  if (count == 0) throw ValueError(fmt::format("{}: got an empty parameter list", name_));
}

void Optimizer::check(std::string_view what, double value, bool ok) const {
  if (!ok) throw ValueError(fmt::format("{}: {}: {}", name_, what, value));
}

void Optimizer::step() {
  NoGradGuard no_grad;
  const std::vector<StateSlot> slots = state_slots();
  for (const Group& group : groups_) {
    for (Tensor param : group.params) {
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      State& state = state_[param.impl()];
      // A module converted with to(dtype) after some steps: its state follows it.
      for (const StateSlot& slot : slots) {
        auto it = state.find(slot.name);
        if (it != state.end() && !slot.is_step_count) it->second = it->second.to(param.dtype());
      }
      update(param, grad, group, state);
    }
  }
}

void Optimizer::zero_grad() {
  for (Group& group : groups_) {
    for (Tensor& param : group.params) param.zero_grad();
  }
}

double Optimizer::lr(std::size_t group) const {
  if (group >= groups_.size()) {
    throw IndexError(fmt::format("{}: there is no group {} (it has {})", name_, group, groups_.size()));
  }
  return groups_[group].lr;
}

void Optimizer::set_lr(double lr) {
  check("invalid learning rate", lr, valid_lr(lr));
  for (Group& group : groups_) group.lr = lr;
}

void Optimizer::set_lr(std::size_t group, double lr) {
  if (group >= groups_.size()) {
    throw IndexError(fmt::format("{}: there is no group {} (it has {})", name_, group, groups_.size()));
  }
  check(fmt::format("group {}: invalid learning rate", group), lr, valid_lr(lr));
  groups_[group].lr = lr;
}

NamedTensors Optimizer::state_tensors() const {
  NamedTensors out;
  const std::vector<StateSlot> slots = state_slots();
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    out.emplace_back(fmt::format("{}.lr", g), scalar_tensor(groups_[g].lr, {.dtype = kFloat64}));
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const auto it = state_.find(groups_[g].params[i].impl());
      if (it == state_.end() || it->second.empty()) continue;
      for (const StateSlot& slot : slots) {
        out.emplace_back(fmt::format("{}.{}.{}", g, i, slot.name), it->second.at(slot.name));
      }
    }
  }
  return out;
}

// Every reason `named` cannot be loaded, in the order found; empty when it can.
std::vector<std::string> Optimizer::check_state(const NamedTensors& named) const {
  const std::vector<StateSlot> slots = state_slots();
  std::vector<std::string> slot_names;
  for (const StateSlot& slot : slots) slot_names.push_back(slot.name);

  std::vector<std::string> problems;
  std::set<std::string> seen;
  std::vector<bool> has_lr(groups_.size(), false);
  std::map<std::pair<std::size_t, std::size_t>, std::set<std::string>> present;  // (group, index) -> slots
  for (const auto& [name, t] : named) {
    if (!seen.insert(name).second) {
      problems.push_back(fmt::format("'{}' appears more than once", name));
      continue;
    }
    const std::optional<StateName> parsed = parse_state_name(name);
    if (!parsed) {
      problems.push_back(fmt::format("'{}' is not a state name ('<group>.lr' or '<group>.<index>.<state>')", name));
      continue;
    }
    const auto [g, index, what] = *parsed;
    if (g >= groups_.size()) {
      problems.push_back(fmt::format("'{}': there is no group {} (the optimiser has {})", name, g, groups_.size()));
      continue;
    }
    if (!t.defined()) {
      problems.push_back(fmt::format("'{}' is undefined", name));
      continue;
    }
    if (!index) {  // "<g>.lr"
      has_lr[g] = true;
      if (t.dtype() != kFloat64 || t.dim() != 0) {
        problems.push_back(
            fmt::format("'{}': expected a float64 rank-0 tensor, got {} {}", name, t.dtype(), t.shape()));
      } else if (!valid_lr(t.item())) {
        problems.push_back(fmt::format("'{}': invalid learning rate: {}", name, t.item()));
      }
      continue;
    }
    const std::vector<Tensor>& params = groups_[g].params;
    if (*index >= params.size()) {
      problems.push_back(fmt::format("'{}': group {} has {} parameters", name, g, params.size()));
      continue;
    }
    const auto slot =
        std::find_if(slots.begin(), slots.end(), [&parsed](const StateSlot& s) { return s.name == parsed->what; });
    if (slot == slots.end()) {
      problems.push_back(fmt::format("'{}': {} keeps no state called '{}' (it keeps: {})", name, name_, what,
                                     slot_names.empty() ? "nothing" : fmt::format("{}", fmt::join(slot_names, ", "))));
      continue;
    }
    present[{g, *index}].insert(what);
    const Tensor& p = params[*index];
    if (slot->is_step_count) {
      if (t.dtype() != kInt64 || t.dim() != 0) {
        problems.push_back(
            fmt::format("'{}': expected an int64 rank-0 step count, got {} {}", name, t.dtype(), t.shape()));
      } else if (t.item<std::int64_t>() < 0 || t.item<std::int64_t>() > kMaxStepCount) {
        problems.push_back(fmt::format("'{}': invalid step count: {}", name, t.item<std::int64_t>()));
      }
    } else if (t.shape() != p.shape() || t.dtype() != p.dtype()) {
      problems.push_back(fmt::format("'{}': {} {} does not match the parameter's {} {}", name, t.dtype(), t.shape(),
                                     p.dtype(), p.shape()));
    }
  }
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    if (!has_lr[g]) problems.push_back(fmt::format("'{}.lr' is missing", g));
  }
  for (const auto& [where, have] : present) {
    for (const StateSlot& slot : slots) {
      if (!have.contains(slot.name)) {
        problems.push_back(fmt::format("'{}.{}.{}' is missing (a parameter has all of its state or none)", where.first,
                                       where.second, slot.name));
      }
    }
  }
  return problems;
}

void Optimizer::load_state_tensors(const NamedTensors& named) {
  const std::vector<std::string> problems = check_state(named);
  if (!problems.empty()) {
    throw ValueError(fmt::format("{}: cannot load the state ({} problem{}):\n  {}", name_, problems.size(),
                                 problems.size() == 1 ? "" : "s", fmt::join(problems, "\n  ")));
  }
  NoGradGuard no_grad;
  std::unordered_map<const TensorImpl*, State> state;
  for (const auto& [name, t] : named) {
    const StateName parsed = *parse_state_name(name);
    Group& group = groups_[parsed.group];
    if (parsed.index) {
      state[group.params[*parsed.index].impl()][parsed.what] = t.detach().clone();
    } else {
      group.lr = t.item();
    }
  }
  state_ = std::move(state);
}

}  // namespace attograd::optim
