#include "attograd/optim/schedule.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <set>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/core/format.hpp"

namespace attograd::optim {

namespace {

// A loaded step count may not exceed 2^53: step() increments it and state_tensors() passes it through a
// double, which holds every whole number up to there exactly (and INT64_MAX + 1 overflows).
constexpr std::int64_t kMaxStepCount = std::int64_t{1} << 53;

bool valid_lr(double lr) { return lr >= 0 && std::isfinite(lr); }

// Half a cosine: 1 at progress 0, 0 at progress 1.
double half_cosine(double progress) { return (1 + std::cos(std::numbers::pi * progress)) / 2; }

}  // namespace

LrSchedule::LrSchedule(std::string name, Optimizer& optimizer) : name_(std::move(name)), optimizer_(optimizer) {
  for (const Optimizer::Group& group : optimizer.groups()) base_lrs_.push_back(group.lr);
  last_lrs_ = base_lrs_;
}

void LrSchedule::check(std::string_view what, double value, bool ok) const {
  if (!ok) throw ValueError(fmt::format("{}: {}: {}", name_, what, value));
}

void LrSchedule::apply() {
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    const double lr = lr_at(base_lrs_[g], step_);
    check(fmt::format("step {}, group {}: invalid learning rate", step_, g), lr, valid_lr(lr));
    lrs.push_back(lr);
  }
  for (std::size_t g = 0; g < lrs.size(); ++g) optimizer_.set_lr(g, lrs[g]);
  last_lrs_ = std::move(lrs);
}

void LrSchedule::step() {
  ++step_;
  try {
    apply();
  } catch (...) {
    --step_;  // a step whose lr is invalid did not happen
    throw;
  }
}

NamedTensors LrSchedule::state_tensors() const {
  NamedTensors out;
  out.emplace_back("step", scalar_tensor(static_cast<double>(step_), {.dtype = kInt64}));
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    out.emplace_back(fmt::format("{}.base_lr", g), scalar_tensor(base_lrs_[g], {.dtype = kFloat64}));
  }
  return out;
}

void LrSchedule::load_state_tensors(const NamedTensors& named) {
  std::vector<std::string> problems;
  std::set<std::string> seen;
  std::int64_t step = -1;
  std::vector<double> base_lrs(base_lrs_.size(), -1.0);
  for (const auto& [name, t] : named) {
    if (!seen.insert(name).second) {
      problems.push_back(fmt::format("'{}' appears more than once", name));
      continue;
    }
    if (!t.defined()) {
      problems.push_back(fmt::format("'{}' is undefined", name));
      continue;
    }
    if (name == "step") {
      if (t.dtype() != kInt64 || t.dim() != 0) {
        problems.push_back(fmt::format("'step': expected an int64 rank-0 tensor, got {} {}", t.dtype(), t.shape()));
      } else if ((step = t.item<std::int64_t>()) < 0 || step > kMaxStepCount) {
        problems.push_back(fmt::format("'step': invalid step count: {}", step));
      }
      continue;
    }
    std::size_t g = 0;
    const std::errc error = std::from_chars(name.data(), name.data() + name.size(), g).ec;
    if (error != std::errc() || name != fmt::format("{}.base_lr", g)) {
      problems.push_back(fmt::format("'{}' is not a schedule state name ('step' or '<group>.base_lr')", name));
    } else if (g >= base_lrs_.size()) {
      problems.push_back(fmt::format("'{}': there is no group {} (the optimiser has {})", name, g, base_lrs_.size()));
    } else if (t.dtype() != kFloat64 || t.dim() != 0) {
      problems.push_back(fmt::format("'{}': expected a float64 rank-0 tensor, got {} {}", name, t.dtype(), t.shape()));
    } else if (!valid_lr(t.item())) {
      problems.push_back(fmt::format("'{}': invalid learning rate: {}", name, t.item()));
    } else {
      base_lrs[g] = t.item();
    }
  }
  if (!seen.contains("step")) problems.push_back("'step' is missing");
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    if (!seen.contains(fmt::format("{}.base_lr", g))) problems.push_back(fmt::format("'{}.base_lr' is missing", g));
  }
  if (!problems.empty()) {
    throw ValueError(fmt::format("{}: cannot load the state ({} problem{}):\n  {}", name_, problems.size(),
                                 problems.size() == 1 ? "" : "s", fmt::join(problems, "\n  ")));
  }
  const std::int64_t old_step = step_;
  const std::vector<double> old_base_lrs = base_lrs_;
  step_ = step;
  base_lrs_ = base_lrs;
  try {
    apply();
  } catch (...) {
    step_ = old_step;
    base_lrs_ = old_base_lrs;
    throw;
  }
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LrSchedule("StepLR", optimizer), step_size_(step_size), gamma_(gamma) {
  check("invalid step_size", static_cast<double>(step_size), step_size > 0);
  check("invalid gamma", gamma, gamma >= 0 && std::isfinite(gamma));
  apply();
}

double StepLR::lr_at(double base_lr, std::int64_t step) const {
  return base_lr * std::pow(gamma_, static_cast<double>(step / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LrSchedule("CosineAnnealingLR", optimizer), T_max_(T_max), eta_min_(eta_min) {
  check("invalid T_max", static_cast<double>(T_max), T_max > 0);
  check("invalid eta_min", eta_min, valid_lr(eta_min));
  apply();
}

double CosineAnnealingLR::lr_at(double base_lr, std::int64_t step) const {
  return eta_min_ + (base_lr - eta_min_) * half_cosine(static_cast<double>(step) / static_cast<double>(T_max_));
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::int64_t warmup_steps)
    : LrSchedule("LinearWarmup", optimizer), warmup_steps_(warmup_steps) {
  check("invalid warmup_steps", static_cast<double>(warmup_steps), warmup_steps > 0);
  apply();
}

double LinearWarmup::lr_at(double base_lr, std::int64_t step) const {
  if (step >= warmup_steps_) return base_lr;
  return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
}

WarmupCosine::WarmupCosine(Optimizer& optimizer, std::int64_t warmup_steps, std::int64_t total_steps, double eta_min)
    : LrSchedule("WarmupCosine", optimizer), warmup_steps_(warmup_steps), total_steps_(total_steps), eta_min_(eta_min) {
  check("invalid warmup_steps", static_cast<double>(warmup_steps), warmup_steps >= 0);
  if (total_steps <= warmup_steps) {
    throw ValueError(fmt::format("WarmupCosine: total_steps ({}) must be greater than warmup_steps ({})", total_steps,
                                 warmup_steps));
  }
  check("invalid eta_min", eta_min, valid_lr(eta_min));
  apply();
}

double WarmupCosine::lr_at(double base_lr, std::int64_t step) const {
  if (step < warmup_steps_) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps_) /
                                            static_cast<double>(total_steps_ - warmup_steps_));
  return eta_min_ + (base_lr - eta_min_) * half_cosine(progress);
}

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(std::int64_t)> factor)
    : LrSchedule("LambdaLR", optimizer), factor_(std::move(factor)) {
  if (!factor_) throw ValueError("LambdaLR: the factor function is empty");
  apply();
}

double LambdaLR::lr_at(double base_lr, std::int64_t step) const { return base_lr * factor_(step); }

}  // namespace attograd::optim
