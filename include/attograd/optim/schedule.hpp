/// \file
/// Learning-rate schedules, which set each group's lr from the step count.
///
/// \code
/// AdamW opt(model.parameters(), {.lr = 3e-4});
/// WarmupCosine schedule(opt, /*warmup_steps=*/100, /*total_steps=*/2000);  // sets the lr for step 0
/// for (int step = 0; step < 2000; ++step) {
///   opt.zero_grad();  loss().backward();  opt.step();
///   schedule.step();                                  // the lr for the next step
/// }
/// \endcode
///
/// A schedule remembers each group's lr when it is made (its base lr) and sets lr = f(base lr, step),
/// where step counts the calls to step() (0 at construction). The optimiser must outlive the schedule.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "attograd/optim/optimizer.hpp"

namespace attograd::optim {

/// The base of the learning-rate schedules: each step() sets every group's lr to lr_at(its base lr, the
/// step), PyTorch's way. Steps count from 0, set at construction; call step() after each optimizer.step().
class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  LrSchedule(const LrSchedule&) = delete;
  LrSchedule& operator=(const LrSchedule&) = delete;

  /// Advances one step and sets each group's lr for it.
  void step();
  std::int64_t last_step() const { return step_; }  ///< the steps taken so far (0 after construction)
  /// each group's lr when the schedule was made
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The lr of each group as this schedule last set it.
  const std::vector<double>& get_last_lr() const { return last_lrs_; }
  const std::string& name() const { return name_; }  ///< "StepLR", "CosineAnnealingLR", ...

  /// For checkpoints: "step" (int64, rank 0) and "<g>.base_lr" (float64, rank 0) for each group.
  NamedTensors state_tensors() const;
  /// Loads what state_tensors() gave and sets the lrs for that step; one ValueError listing every
  /// problem (and nothing changed) if the names, dtypes, shapes or values do not fit.
  void load_state_tensors(const NamedTensors& named);

 protected:
  /// `name` names the schedule in errors; it keeps each group's current lr as its base lr.
  LrSchedule(std::string name, Optimizer& optimizer);
  /// The lr of a group whose base lr is base_lr, at a step >= 0.
  virtual double lr_at(double base_lr, std::int64_t step) const = 0;
  /// Sets every group's lr for the current step; each derived constructor calls it last.
  void apply();
  /// Throws ValueError "<schedule>: <what>: <value>" unless ok.
  void check(std::string_view what, double value, bool ok) const;

 private:
  std::string name_;
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lrs_;
  std::int64_t step_ = 0;
};

/// lr = base * gamma^floor(step / step_size): multiplied by gamma every step_size steps.
class StepLR : public LrSchedule {
 public:
  /// multiplies each group's lr by gamma every step_size steps
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(double base_lr, std::int64_t step) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// lr = eta_min + (base - eta_min) * (1 + cos(pi * step / T_max)) / 2: half a cosine from base down to
/// eta_min at step T_max. As PyTorch's (closed form), it keeps following the cosine after T_max, back
/// up; WarmupCosine stays at eta_min instead.
class CosineAnnealingLR : public LrSchedule {
 public:
  /// half a cosine from each group's lr down to eta_min at step T_max
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0);

 protected:
  double lr_at(double base_lr, std::int64_t step) const override;

 private:
  std::int64_t T_max_;
  double eta_min_;
};

/// lr = base * min(1, (step + 1) / warmup_steps): rises linearly, reaching base at step warmup_steps - 1
/// (so the first step already moves, with base / warmup_steps), then stays at base.
class LinearWarmup : public LrSchedule {
 public:
  /// rises linearly to each group's lr over warmup_steps steps
  LinearWarmup(Optimizer& optimizer, std::int64_t warmup_steps);

 protected:
  double lr_at(double base_lr, std::int64_t step) const override;

 private:
  std::int64_t warmup_steps_;
};

/// LinearWarmup for warmup_steps steps, then half a cosine from base to eta_min over the remaining
/// total_steps - warmup_steps steps, then eta_min:
/// \code
/// step < W:   lr = base * (step + 1) / W
/// step >= W:  lr = eta_min + (base - eta_min) * (1 + cos(pi * p)) / 2,  p = min(1, (step - W) / (total - W))
/// \endcode
class WarmupCosine : public LrSchedule {
 public:
  /// warmup over warmup_steps steps, then a cosine down to eta_min at step total_steps
  WarmupCosine(Optimizer& optimizer, std::int64_t warmup_steps, std::int64_t total_steps, double eta_min = 0);

 protected:
  double lr_at(double base_lr, std::int64_t step) const override;

 private:
  std::int64_t warmup_steps_;
  std::int64_t total_steps_;
  double eta_min_;
};

/// lr = base * factor(step), for any other shape of schedule.
class LambdaLR : public LrSchedule {
 public:
  LambdaLR(Optimizer& optimizer, std::function<double(std::int64_t)> factor);  ///< lr = base·factor(step)

 protected:
  double lr_at(double base_lr, std::int64_t step) const override;

 private:
  std::function<double(std::int64_t)> factor_;
};

}  // namespace attograd::optim
