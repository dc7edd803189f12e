// Adam and AdamW: the first steps worked out by hand with bias correction, eps, L2 and decoupled
// weight decay, amsgrad; the state they keep; the hyperparameter errors.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::optim;
using namespace attograd::testing;

namespace {

Tensor scalar_param(double value) { return tensor({value}, {.dtype = kFloat64, .requires_grad = true}); }

// Steps opt with each gradient in turn; returns the parameter's value after each step.
std::vector<double> run(Optimizer& opt, Tensor& p, const std::vector<double>& grads) {
  std::vector<double> out;
  for (double g : grads) {
    p.set_grad(tensor({g}, {.dtype = kFloat64}));
    opt.step();
    out.push_back(p.item());
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(adam)

BOOST_AUTO_TEST_CASE(first_two_steps_with_bias_correction) {
  // lr 0.1, betas (0.9, 0.999), eps 1e-8, p = 1, gradients 0.5 then -1.
  // Step 1: m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 0.00025; corrected m^ = 0.05 / 0.1 = 0.5,
  //         v^ = 0.00025 / 0.001 = 0.25, so p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002 (a step of lr
  //         in the gradient's sign: the bias correction makes the first step lr-sized).
  // Step 2: m = 0.9 * 0.05 - 0.1 = -0.055, v = 0.999 * 0.00025 + 0.001 = 0.00124975;
  //         m^ = -0.055 / 0.19 = -0.28947..., v^ = 0.00124975 / 0.001999 = 0.62519..., sqrt = 0.79069...
  //         p = 0.900000002 + 0.1 * 0.28947 / 0.79069 = 0.93661035424...
  Tensor p = scalar_param(1.0);
  Adam opt({p}, {.lr = 0.1});
  const std::vector<double> steps = run(opt, p, {0.5, -1.0});
  BOOST_TEST(steps[0] == 0.900000002, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[1] == 0.9366103542405654, boost::test_tools::tolerance(1e-13));

  const NamedTensors state = opt.state_tensors();
  BOOST_TEST_REQUIRE(state.size() == 4u);
  BOOST_TEST(state[1].first == "0.0.step");
  BOOST_TEST(state[1].second.dtype() == kInt64);
  BOOST_TEST(state[1].second.item<std::int64_t>() == 2);
  BOOST_TEST(state[2].first == "0.0.exp_avg");
  BOOST_TEST(state[2].second.item() == -0.055, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(state[3].first == "0.0.exp_avg_sq");
  BOOST_TEST(state[3].second.item() == 0.00124975, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(eps_is_added_to_the_corrected_root) {
  // A large eps shows where it goes: p = p - lr * m^ / (sqrt(v^) + eps). lr 0.1, eps 0.01, gradients
  // 0.02 then 0.01. Step 1: m^ = 0.02, sqrt(v^) = 0.02: p = 1 - 0.1 * 0.02 / 0.03 = 0.93333...
  // Step 2: m = 0.0018 + 0.001 = 0.0028, m^ = 0.0028 / 0.19; v = 0.999 * 4e-7 + 1e-7 = 4.996e-7,
  //         v^ = 4.996e-7 / 0.001999: p = 0.87623374245...
  Tensor p = scalar_param(1.0);
  Adam opt({p}, {.lr = 0.1, .eps = 0.01});
  const std::vector<double> steps = run(opt, p, {0.02, 0.01});
  BOOST_TEST(steps[0] == 0.9333333333333333, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[1] == 0.8762337424537976, boost::test_tools::tolerance(1e-13));
}

BOOST_AUTO_TEST_CASE(adam_weight_decay_joins_the_gradient) {
  // wd 0.1: g = grad + 0.1 p. Step 1: g = 0.6, still a step of lr: p = 1 - 0.1 * 0.6 / (0.6 + 1e-8).
  // Step 2: g = -1 + 0.1 * p1 = -0.91: p = 0.92526351944...
  Tensor p = scalar_param(1.0);
  Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1});
  const std::vector<double> steps = run(opt, p, {0.5, -1.0});
  BOOST_TEST(steps[0] == 0.9000000016666666, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[1] == 0.9252635194456061, boost::test_tools::tolerance(1e-13));
}

BOOST_AUTO_TEST_CASE(adamw_decays_the_weights_directly) {
  // AdamW, lr 0.1, wd 0.1: p = p * (1 - 0.01), then the plain Adam step of the raw gradient.
  // Step 1: p = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.890000002.
  // Step 2: p = 0.890000002 * 0.99 + 0.0366103542... = 0.91771035422...
  Tensor p = scalar_param(1.0);
  AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.1});
  BOOST_TEST(opt.name() == "AdamW");
  const std::vector<double> steps = run(opt, p, {0.5, -1.0});
  BOOST_TEST(steps[0] == 0.890000002, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(steps[1] == 0.9177103542205653, boost::test_tools::tolerance(1e-13));

  // The default weight decay is PyTorch's 1e-2; a group can turn it off.
  Tensor q = scalar_param(1.0);
  Tensor r = scalar_param(1.0);
  AdamW grouped({{.params = {q}}, {.params = {r}, .weight_decay = 0.0}}, {.lr = 0.1});
  BOOST_TEST(grouped.groups()[0].weight_decay == 1e-2);
  q.set_grad(tensor({0.5}, {.dtype = kFloat64}));
  r.set_grad(tensor({0.5}, {.dtype = kFloat64}));
  grouped.step();
  BOOST_TEST(q.item() == 0.999 - 0.1 * 0.5 / (0.5 + 1e-8), boost::test_tools::tolerance(1e-14));
  BOOST_TEST(r.item() == 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(amsgrad_divides_by_the_largest_second_moment) {
  // betas (0.5, 0.5) make v fall quickly: gradients 1, 0.1, 0.1.
  //   v = 0.5, 0.255, 0.1325 while v_max stays 0.5; m = 0.5, 0.3, 0.2.
  // Step 2 with amsgrad: m^ = 0.3 / 0.75 = 0.4, v^ = 0.5 / 0.75: p = 0.9 - 0.1 * 0.4 / 0.81650 = 0.85101...
  // Without amsgrad v^ = 0.255 / 0.75 = 0.34: p = 0.9 - 0.1 * 0.4 / 0.58310 = 0.83140...
  const std::vector<double> grads{1.0, 0.1, 0.1};
  Tensor p = scalar_param(1.0);
  Adam with({p}, {.lr = 0.1, .betas = {0.5, 0.5}, .amsgrad = true});
  const std::vector<double> ams = run(with, p, grads);
  BOOST_TEST(ams[0] == 0.900000001, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(ams[1] == 0.8510102067443365, boost::test_tools::tolerance(1e-13));
  BOOST_TEST(ams[2] == 0.8207730493035983, boost::test_tools::tolerance(1e-13));
  BOOST_TEST(with.state_tensors().back().first == "0.0.max_exp_avg_sq");
  BOOST_TEST(with.state_tensors().back().second.item() == 0.5);

  Tensor q = scalar_param(1.0);
  Adam without({q}, {.lr = 0.1, .betas = {0.5, 0.5}});
  const std::vector<double> plain = run(without, q, grads);
  BOOST_TEST(plain[1] == 0.831400568119467, boost::test_tools::tolerance(1e-13));
  BOOST_TEST(plain[2] == 0.7726627217717528, boost::test_tools::tolerance(1e-13));
}

BOOST_AUTO_TEST_CASE(each_parameter_counts_its_own_steps) {
  // A parameter without a gradient is skipped, so its step count (and bias correction) lags behind.
  Tensor a = scalar_param(1.0);
  Tensor b = scalar_param(1.0);
  Adam opt({a, b}, {.lr = 0.1});
  a.set_grad(tensor({0.5}, {.dtype = kFloat64}));
  opt.step();
  BOOST_TEST(b.item() == 1.0);
  BOOST_TEST(opt.state_tensors().size() == 4u);  // "0.lr" and a's three: b has no state yet
  b.set_grad(tensor({0.5}, {.dtype = kFloat64}));
  a.set_grad(tensor({-1.0}, {.dtype = kFloat64}));
  opt.step();
  BOOST_TEST(a.item() == 0.9366103542405654, boost::test_tools::tolerance(1e-13));  // its second step
  BOOST_TEST(b.item() == 0.900000002, boost::test_tools::tolerance(1e-14));         // its first step
}

BOOST_AUTO_TEST_CASE(float32_parameters_keep_float32_state) {
  Tensor p = full({3}, 2.0f, {.requires_grad = true});
  Adam opt({p}, {.lr = 0.5});
  p.set_grad(tensor({1.0, -1.0, 0.0}));
  opt.step();
  // Step 1 moves by lr in the sign of the gradient; a zero gradient does not move (0 / (0 + eps)).
  check_values(p, {1.5, 2.5, 2.0}, 1e-6);
  BOOST_TEST(opt.state_tensors()[2].second.dtype() == kFloat32);
}

BOOST_AUTO_TEST_CASE(invalid_hyperparameters_name_the_value) {
  Tensor p = scalar_param(1.0);
  BOOST_CHECK_EXCEPTION(Adam({p}, {.lr = -1e-3}), ValueError, has_message("Adam: invalid learning rate: -0.001"));
  BOOST_CHECK_EXCEPTION(Adam({p}, {.betas = {1.0, 0.999}}), ValueError,
                        has_message("Adam: invalid beta parameter at index 0: 1"));
  BOOST_CHECK_EXCEPTION(Adam({p}, {.betas = {0.9, -0.5}}), ValueError,
                        has_message("Adam: invalid beta parameter at index 1: -0.5"));
  BOOST_CHECK_EXCEPTION(Adam({p}, {.eps = 0.0}), ValueError, has_message("Adam: invalid epsilon value: 0"));
  BOOST_CHECK_EXCEPTION(Adam({p}, {.eps = -1e-8}), ValueError, has_message("Adam: invalid epsilon value: -1e-08"));
  BOOST_CHECK_EXCEPTION(Adam({p}, {.weight_decay = -0.1}), ValueError, has_message("Adam: invalid weight decay: -0.1"));
  BOOST_CHECK_EXCEPTION(AdamW({p}, {.weight_decay = -0.1}), ValueError,
                        has_message("AdamW: invalid weight decay: -0.1"));
  BOOST_CHECK_EXCEPTION(AdamW({p}, {.betas = {0.9, 1.0}}), ValueError,
                        has_message("AdamW: invalid beta parameter at index 1: 1"));
  BOOST_CHECK_EXCEPTION(AdamW({{.params = {p}, .lr = -5.0}}, {}), ValueError,
                        has_message("AdamW: group 0: invalid learning rate: -5"));
}

BOOST_AUTO_TEST_SUITE_END()
