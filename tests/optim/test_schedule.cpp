// Learning-rate schedules: each one's lr sequence worked out by hand, several groups, the state for
// checkpoints, and the errors.
#include "support/test.hpp"

#include <cmath>

using namespace attograd;
using namespace attograd::optim;
using namespace attograd::testing;

namespace {

Tensor param() { return zeros({1}, {.dtype = kFloat64, .requires_grad = true}); }

// The optimiser's lr for group 0 at steps 0 .. n-1 of the schedule (step 0 is set at construction).
std::vector<double> lrs(LrSchedule& schedule, const Optimizer& opt, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) schedule.step();
    BOOST_TEST(schedule.last_step() == i);
    BOOST_TEST(schedule.get_last_lr().at(0) == opt.lr(0));
    out.push_back(opt.lr(0));
  }
  return out;
}

void check_sequence(const std::vector<double>& actual, const std::vector<double>& expected) {
  BOOST_TEST_REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    BOOST_TEST(actual[i] == expected[i], boost::test_tools::tolerance(1e-12));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(schedule)

BOOST_AUTO_TEST_CASE(step_lr_multiplies_by_gamma_every_step_size_steps) {
  Tensor p = param();
  SGD opt({p}, {.lr = 1.0});
  StepLR schedule(opt, 2, 0.5);
  check_sequence(lrs(schedule, opt, 7), {1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125});
  BOOST_TEST(schedule.base_lrs() == std::vector<double>{1.0}, boost::test_tools::per_element());
  BOOST_TEST(schedule.name() == "StepLR");
}

BOOST_AUTO_TEST_CASE(cosine_goes_from_base_to_eta_min_in_t_max_steps) {
  // base 1.1, eta_min 0.1, T_max 4: lr = 0.1 + (1 + cos(pi t / 4)) / 2; cos(pi/4) = 0.70710678...
  // After T_max it follows the cosine back up, as PyTorch's closed form does.
  Tensor p = param();
  SGD opt({p}, {.lr = 1.1});
  CosineAnnealingLR schedule(opt, 4, 0.1);
  const double c = std::sqrt(0.5);
  check_sequence(lrs(schedule, opt, 7),
                 {1.1, 0.1 + (1 + c) / 2, 0.6, 0.1 + (1 - c) / 2, 0.1, 0.1 + (1 - c) / 2, 0.6});
}

BOOST_AUTO_TEST_CASE(linear_warmup_reaches_base_after_warmup_steps) {
  Tensor p = param();
  SGD opt({p}, {.lr = 0.8});
  LinearWarmup schedule(opt, 4);
  check_sequence(lrs(schedule, opt, 6), {0.2, 0.4, 0.6, 0.8, 0.8, 0.8});
}

BOOST_AUTO_TEST_CASE(warmup_cosine_warms_up_then_anneals_and_stays) {
  // warmup 2, total 6, eta_min 0, base 1: 0.5, 1 while warming up; then (1 + cos(pi (t - 2) / 4)) / 2
  // for t = 2..6: 1, 0.85355..., 0.5, 0.14644..., 0; then 0.
  Tensor p = param();
  SGD opt({p}, {.lr = 1.0});
  WarmupCosine schedule(opt, 2, 6);
  const double c = std::sqrt(0.5);
  check_sequence(lrs(schedule, opt, 9), {0.5, 1.0, 1.0, (1 + c) / 2, 0.5, (1 - c) / 2, 0.0, 0.0, 0.0});

  // With eta_min and no warm-up it is the cosine clamped at its end.
  Tensor q = param();
  SGD opt2({q}, {.lr = 1.1});
  WarmupCosine plain(opt2, 0, 4, 0.1);
  check_sequence(lrs(plain, opt2, 6), {1.1, 0.1 + (1 + c) / 2, 0.6, 0.1 + (1 - c) / 2, 0.1, 0.1});
}

BOOST_AUTO_TEST_CASE(lambda_lr_scales_the_base_by_any_factor) {
  Tensor p = param();
  SGD opt({p}, {.lr = 2.0});
  LambdaLR schedule(opt, [](std::int64_t step) { return 1.0 / static_cast<double>(step + 1); });
  check_sequence(lrs(schedule, opt, 4), {2.0, 1.0, 2.0 / 3, 0.5});
}

BOOST_AUTO_TEST_CASE(each_group_follows_its_own_base_lr) {
  Tensor a = param();
  Tensor b = param();
  Adam opt({{.params = {a}}, {.params = {b}, .lr = 0.01}}, {.lr = 0.1});
  StepLR schedule(opt, 1, 0.1);
  BOOST_TEST(schedule.base_lrs() == (std::vector<double>{0.1, 0.01}), boost::test_tools::per_element());
  schedule.step();
  BOOST_TEST(opt.lr(0) == 0.01, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(opt.lr(1) == 0.001, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(schedule.get_last_lr()[1] == 0.001, boost::test_tools::tolerance(1e-15));
  // The schedule sets the lr the optimiser steps with.
  a.set_grad(ones({1}, {.dtype = kFloat64}));
  opt.step();
  BOOST_TEST(a.item() == -0.01, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(state_round_trip_resumes_the_sequence) {
  Tensor p = param();
  SGD opt({p}, {.lr = 1.0});
  WarmupCosine schedule(opt, 2, 10);
  for (int i = 0; i < 4; ++i) schedule.step();
  const NamedTensors state = schedule.state_tensors();
  BOOST_TEST_REQUIRE(state.size() == 2u);
  BOOST_TEST(state[0].first == "step");
  BOOST_TEST(state[0].second.item<std::int64_t>() == 4);
  BOOST_TEST(state[1].first == "0.base_lr");

  // A fresh schedule, made over an optimiser whose lr is some other value, takes the saved base.
  Tensor q = param();
  SGD fresh_opt({q}, {.lr = 0.3});
  WarmupCosine fresh(fresh_opt, 2, 10);
  fresh.load_state_tensors(state);
  BOOST_TEST(fresh.last_step() == 4);
  BOOST_TEST(fresh_opt.lr() == opt.lr());
  for (int i = 0; i < 3; ++i) {
    schedule.step();
    fresh.step();
    BOOST_TEST(fresh_opt.lr() == opt.lr());
  }
}

BOOST_AUTO_TEST_CASE(bad_state_is_reported_whole_and_changes_nothing) {
  Tensor p = param();
  SGD opt({p}, {.lr = 1.0});
  StepLR schedule(opt, 1, 0.5);
  schedule.step();
  const NamedTensors bad{{"step", scalar_tensor(-2, {.dtype = kInt64})},
                         {"1.base_lr", scalar_tensor(0.1, {.dtype = kFloat64})},
                         {"lr", scalar_tensor(0.1, {.dtype = kFloat64})}};
  BOOST_CHECK_EXCEPTION(schedule.load_state_tensors(bad), ValueError,
                        has_message("StepLR: cannot load the state (4 problems):\n"
                                    "  'step': invalid step count: -2\n"
                                    "  '1.base_lr': there is no group 1 (the optimiser has 1)\n"
                                    "  'lr' is not a schedule state name ('step' or '<group>.base_lr')\n"
                                    "  '0.base_lr' is missing"));
  const NamedTensors wrong_dtype{{"step", scalar_tensor(2, {.dtype = kFloat64})},
                                 {"0.base_lr", scalar_tensor(-1.0, {.dtype = kFloat64})}};
  BOOST_CHECK_EXCEPTION(schedule.load_state_tensors(wrong_dtype), ValueError,
                        has_message("'step': expected an int64 rank-0 tensor, got float64 []\n"
                                    "  '0.base_lr': invalid learning rate: -1"));
  BOOST_TEST(schedule.last_step() == 1);
  BOOST_TEST(opt.lr() == 0.5);
}

BOOST_AUTO_TEST_CASE(invalid_arguments_name_the_value) {
  Tensor p = param();
  SGD opt({p}, {.lr = 1.0});
  BOOST_CHECK_EXCEPTION(StepLR(opt, 0), ValueError, has_message("StepLR: invalid step_size: 0"));
  BOOST_CHECK_EXCEPTION(StepLR(opt, 3, -0.5), ValueError, has_message("StepLR: invalid gamma: -0.5"));
  BOOST_CHECK_EXCEPTION(CosineAnnealingLR(opt, 0), ValueError, has_message("CosineAnnealingLR: invalid T_max: 0"));
  BOOST_CHECK_EXCEPTION(CosineAnnealingLR(opt, -5), ValueError, has_message("CosineAnnealingLR: invalid T_max: -5"));
  BOOST_CHECK_EXCEPTION(CosineAnnealingLR(opt, 10, -0.1), ValueError,
                        has_message("CosineAnnealingLR: invalid eta_min: -0.1"));
  BOOST_CHECK_EXCEPTION(LinearWarmup(opt, 0), ValueError, has_message("LinearWarmup: invalid warmup_steps: 0"));
  BOOST_CHECK_EXCEPTION(WarmupCosine(opt, -1, 10), ValueError, has_message("WarmupCosine: invalid warmup_steps: -1"));
  BOOST_CHECK_EXCEPTION(WarmupCosine(opt, 10, 10), ValueError,
                        has_message("WarmupCosine: total_steps (10) must be greater than warmup_steps (10)"));
  BOOST_CHECK_EXCEPTION(LambdaLR(opt, nullptr), ValueError, has_message("LambdaLR: the factor function is empty"));
  BOOST_TEST(opt.lr() == 1.0);  // no failed schedule touched the lr

  // A factor that gives an invalid lr: the step is refused, and the lr stays.
  LambdaLR bad(opt, [](std::int64_t step) { return 1.0 - static_cast<double>(step); });
  bad.step();  // factor 0: lr 0 is allowed
  BOOST_TEST(opt.lr() == 0.0);
  BOOST_CHECK_EXCEPTION(bad.step(), ValueError, has_message("LambdaLR: step 2, group 0: invalid learning rate: -1"));
  BOOST_TEST(bad.last_step() == 1);
  BOOST_TEST(opt.lr() == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
