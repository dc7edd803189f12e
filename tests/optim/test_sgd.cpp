// SGD: plain, momentum, dampening, Nesterov and weight decay against updates worked out by hand over
// several steps; groups with their own lr and weight decay; the hyperparameter errors.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::optim;
using namespace attograd::testing;

namespace {

Tensor param(std::initializer_list<double> values) {
  return tensor(values, {.dtype = kFloat64, .requires_grad = true});
}

void set_grad(Tensor& p, std::initializer_list<double> values) { p.set_grad(tensor(values, {.dtype = kFloat64})); }

// Runs opt over p with the gradients g_t = [g, 2g] for g in grads; returns p after each step.
std::vector<std::vector<double>> run(Optimizer& opt, Tensor& p, const std::vector<double>& grads) {
  std::vector<std::vector<double>> out;
  for (double g : grads) {
    set_grad(p, {g, 2 * g});
    opt.step();
    out.push_back(p.to_vector<double>());
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sgd)

BOOST_AUTO_TEST_CASE(plain_sgd_subtracts_lr_times_the_gradient) {
  Tensor p = param({1.0, -2.0});
  SGD opt({p}, {.lr = 0.1});
  // p = p - 0.1 g, g = [0.5, 1]: [1 - 0.05, -2 - 0.1], then the same again.
  const auto steps = run(opt, p, {0.5, 0.5});
  check_values(tensor(steps[0], {2}, {.dtype = kFloat64}), {0.95, -2.1}, 1e-14);
  check_values(tensor(steps[1], {2}, {.dtype = kFloat64}), {0.9, -2.2}, 1e-14);
  BOOST_TEST(opt.state_tensors().size() == 1u);  // only "0.lr": plain SGD keeps no state
}

BOOST_AUTO_TEST_CASE(momentum_accumulates_a_buffer) {
  // momentum 0.9, lr 0.1, gradients 1, 2, -1 (first element; the second is twice as large):
  //   b = 1                    p = 1 - 0.1 * 1       = 0.9
  //   b = 0.9 * 1 + 2 = 2.9    p = 0.9 - 0.1 * 2.9   = 0.61
  //   b = 0.9 * 2.9 - 1 = 1.61 p = 0.61 - 0.1 * 1.61 = 0.449
  Tensor p = param({1.0, 1.0});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
  const auto steps = run(opt, p, {1.0, 2.0, -1.0});
  BOOST_TEST(steps[0][0] == 0.9, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[1][0] == 0.61, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[2][0] == 0.449, boost::test_tools::tolerance(1e-14));
  // Second element: b = 2, 5.8, 3.22; p = 0.8, 0.22, -0.102.
  BOOST_TEST(steps[2][1] == -0.102, boost::test_tools::tolerance(1e-12));
  check_values(opt.state_tensors().at(1).second, {3.22 / 2, 3.22}, 1e-14);
  BOOST_TEST(opt.state_tensors().at(1).first == "0.0.momentum_buffer");
}

BOOST_AUTO_TEST_CASE(dampening_scales_the_new_gradient_after_the_first_step) {
  // momentum 0.9, dampening 0.5, lr 0.1, gradients 1, 2, -1:
  //   b = 1 (no dampening at the first step)     p = 0.9
  //   b = 0.9 * 1 + 0.5 * 2 = 1.9                p = 0.9 - 0.19 = 0.71
  //   b = 0.9 * 1.9 + 0.5 * -1 = 1.21            p = 0.71 - 0.121 = 0.589
  Tensor p = param({1.0, 1.0});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  const auto steps = run(opt, p, {1.0, 2.0, -1.0});
  BOOST_TEST(steps[0][0] == 0.9, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[1][0] == 0.71, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[2][0] == 0.589, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(nesterov_looks_ahead_along_the_buffer) {
  // momentum 0.9, nesterov, lr 0.1, gradients 1, 2, -1:
  //   b = 1       g = 1 + 0.9 * 1 = 1.9          p = 1 - 0.19 = 0.81
  //   b = 2.9     g = 2 + 0.9 * 2.9 = 4.61       p = 0.81 - 0.461 = 0.349
  //   b = 1.61    g = -1 + 0.9 * 1.61 = 0.449    p = 0.349 - 0.0449 = 0.3041
  Tensor p = param({1.0, 1.0});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  const auto steps = run(opt, p, {1.0, 2.0, -1.0});
  BOOST_TEST(steps[0][0] == 0.81, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[1][0] == 0.349, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[2][0] == 0.3041, boost::test_tools::tolerance(1e-13));
}

BOOST_AUTO_TEST_CASE(weight_decay_adds_to_the_gradient) {
  // wd 0.1, lr 0.1, gradient 1 each step:
  //   g = 1 + 0.1 * 1 = 1.1         p = 1 - 0.11 = 0.89
  //   g = 1 + 0.1 * 0.89 = 1.089    p = 0.89 - 0.1089 = 0.7811
  Tensor p = param({1.0, 1.0});
  SGD opt({p}, {.lr = 0.1, .weight_decay = 0.1});
  const auto steps = run(opt, p, {1.0, 1.0});
  BOOST_TEST(steps[0][0] == 0.89, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[1][0] == 0.7811, boost::test_tools::tolerance(1e-14));

  // With momentum 0.9 the decayed gradient goes into the buffer:
  //   g = 1.1     b = 1.1                        p = 0.89
  //   g = 1.089   b = 0.9 * 1.1 + 1.089 = 2.079  p = 0.89 - 0.2079 = 0.6821
  Tensor q = param({1.0, 1.0});
  SGD with_momentum({q}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1});
  const auto steps_m = run(with_momentum, q, {1.0, 1.0});
  BOOST_TEST(steps_m[0][0] == 0.89, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps_m[1][0] == 0.6821, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(groups_have_their_own_lr_and_weight_decay) {
  Tensor w = param({1.0});
  Tensor b = param({1.0});
  Tensor c = param({1.0});
  // Group 0 takes the defaults (lr 0.1, wd 0.1); group 1 no decay; group 2 its own lr.
  SGD opt({{.params = {w}}, {.params = {b}, .weight_decay = 0.0}, {.params = {c}, .lr = 0.01}},
          {.lr = 0.1, .weight_decay = 0.1});
  BOOST_TEST(opt.groups().size() == 3u);
  BOOST_TEST(opt.lr(0) == 0.1);
  BOOST_TEST(opt.groups()[1].weight_decay == 0.0);
  BOOST_TEST(opt.lr(2) == 0.01);
  BOOST_TEST(opt.groups()[2].weight_decay == 0.1);
  for (Tensor* t : {&w, &b, &c}) set_grad(*t, {1.0});
  opt.step();
  BOOST_TEST(w.item() == 1 - 0.1 * 1.1, boost::test_tools::tolerance(1e-15));   // 0.89
  BOOST_TEST(b.item() == 1 - 0.1, boost::test_tools::tolerance(1e-15));         // 0.9
  BOOST_TEST(c.item() == 1 - 0.01 * 1.1, boost::test_tools::tolerance(1e-15));  // 0.989

  opt.set_lr(1, 0.5);
  set_grad(b, {1.0});
  w.zero_grad();
  c.zero_grad();
  opt.step();
  BOOST_TEST(b.item() == 0.4, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(w.item() == 0.89, boost::test_tools::tolerance(1e-15));  // no gradient: unchanged
  opt.set_lr(0.2);
  BOOST_TEST(opt.lr(0) == 0.2);
  BOOST_TEST(opt.lr(1) == 0.2);
}

BOOST_AUTO_TEST_CASE(float32_parameters_are_updated_in_float32) {
  Tensor p = ones({2, 2}, {.requires_grad = true});
  SGD opt({p}, {.lr = 0.5, .momentum = 0.5});
  p.set_grad(full({2, 2}, 0.25));
  opt.step();
  BOOST_TEST(p.dtype() == kFloat32);
  check_values(p, {0.875, 0.875, 0.875, 0.875});
  BOOST_TEST(opt.state_tensors().at(1).second.dtype() == kFloat32);
}

BOOST_AUTO_TEST_CASE(invalid_hyperparameters_name_the_value) {
  Tensor p = param({1.0});
  BOOST_CHECK_EXCEPTION(SGD({p}, {.lr = -0.1}), ValueError, has_message("SGD: invalid learning rate: -0.1"));
  BOOST_CHECK_EXCEPTION(SGD({p}, {.lr = std::nan("")}), ValueError, has_message("SGD: invalid learning rate: nan"));
  BOOST_CHECK_EXCEPTION(SGD({p}, {.lr = 0.1, .momentum = -0.5}), ValueError,
                        has_message("SGD: invalid momentum value: -0.5"));
  BOOST_CHECK_EXCEPTION(SGD({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 1.5}), ValueError,
                        has_message("SGD: invalid dampening value: 1.5"));
  BOOST_CHECK_EXCEPTION(SGD({p}, {.lr = 0.1, .weight_decay = -1e-4}), ValueError,
                        has_message("SGD: invalid weight decay: -0.0001"));
  BOOST_CHECK_EXCEPTION(SGD({p}, {.lr = 0.1, .nesterov = true}), ValueError,
                        has_message("SGD: Nesterov momentum requires a momentum and zero dampening (momentum 0, "
                                    "dampening 0)"));
  BOOST_CHECK_EXCEPTION(SGD({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}), ValueError,
                        has_message("(momentum 0.9, dampening 0.1)"));
  BOOST_CHECK_EXCEPTION(SGD({{.params = {p}, .lr = -2.0}}, {.lr = 0.1}), ValueError,
                        has_message("SGD: group 0: invalid learning rate: -2"));
  BOOST_CHECK_EXCEPTION(SGD({{.params = {}}, {.params = {p}, .weight_decay = -1.0}}, {.lr = 0.1}), ValueError,
                        has_message("SGD: group 1: invalid weight decay: -1"));
  SGD opt({p}, {.lr = 0.1});
  BOOST_CHECK_EXCEPTION(opt.set_lr(-3.0), ValueError, has_message("SGD: invalid learning rate: -3"));
  BOOST_CHECK_EXCEPTION(opt.set_lr(0, -3.0), ValueError, has_message("SGD: group 0: invalid learning rate: -3"));
  BOOST_CHECK_EXCEPTION(opt.set_lr(1, 0.1), IndexError, has_message("SGD: there is no group 1 (it has 1)"));
  BOOST_CHECK_EXCEPTION(opt.lr(4), IndexError, has_message("SGD: there is no group 4 (it has 1)"));
  BOOST_TEST(opt.lr() == 0.1);  // the failed set_lr changed nothing
}

BOOST_AUTO_TEST_SUITE_END()
