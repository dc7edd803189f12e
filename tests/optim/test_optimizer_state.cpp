// Optimiser state for checkpoints: the names state_tensors() gives, a round trip that continues
// bit-identically, and load_state_tensors() refusing bad state whole, changing nothing.
#include "support/test.hpp"

#include <attograd/nn/module.hpp>

using namespace attograd;
using namespace attograd::optim;
using namespace attograd::testing;

namespace {

std::vector<std::string> names(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

// Three parameters in two groups, the same values every time; a fixed least-squares-like loss.
struct Params {
  Tensor w, v, b;
  Params() {
    Generator gen(7);
    w = randn({3, 2}, gen).requires_grad_();
    v = randn({2}, gen).requires_grad_();
    b = randn({1}, gen).requires_grad_();
  }
  std::vector<ParamGroup> groups() const { return {{.params = {w, v}}, {.params = {b}, .weight_decay = 0.0}}; }
  void backward(int step) const {
    Generator gen(100 + static_cast<std::uint64_t>(step));
    Tensor x = randn({4, 3}, gen);
    Tensor target = randn({4, 2}, gen);
    Tensor err = matmul(x, w) * v + b - target;
    (err * err).mean().backward();
  }
  std::vector<float> values() const {
    std::vector<float> out;
    for (const Tensor& t : {w, v, b}) {
      for (float x : t.to_vector<float>()) out.push_back(x);
    }
    return out;
  }
};

template <class Opt, class Options>
void check_round_trip(const Options& options) {
  Params original;
  Opt opt(original.groups(), options);
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    original.backward(step);
    opt.step();
  }
  // A fresh optimiser over fresh copies of the parameters, made the same way.
  Params copy;
  {
    NoGradGuard no_grad;
    copy.w.copy_(original.w);
    copy.v.copy_(original.v);
    copy.b.copy_(original.b);
  }
  Opt resumed(copy.groups(), options);
  resumed.load_state_tensors(opt.state_tensors());
  for (int step = 3; step < 6; ++step) {
    opt.zero_grad();
    original.backward(step);
    opt.step();
    resumed.zero_grad();
    copy.backward(step);
    resumed.step();
  }
  BOOST_TEST(original.values() == copy.values(), boost::test_tools::per_element());  // bit-identical
  BOOST_TEST(original.values() != Params().values());  // and they did move
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optimizer_state)

BOOST_AUTO_TEST_CASE(names_give_group_index_and_what) {
  Params p;
  Adam opt(p.groups(), {.lr = 0.01, .amsgrad = true});
  BOOST_TEST(names(opt.state_tensors()) == (std::vector<std::string>{"0.lr", "1.lr"}),
             boost::test_tools::per_element());
  p.backward(0);
  opt.step();
  const NamedTensors state = opt.state_tensors();
  const std::vector<std::string> expected{
      "0.lr",           "0.0.step",     "0.0.exp_avg", "0.0.exp_avg_sq", "0.0.max_exp_avg_sq",
      "0.1.step",       "0.1.exp_avg",  "0.1.exp_avg_sq", "0.1.max_exp_avg_sq",
      "1.lr",           "1.0.step",     "1.0.exp_avg", "1.0.exp_avg_sq", "1.0.max_exp_avg_sq"};
  BOOST_TEST(names(state) == expected, boost::test_tools::per_element());
  BOOST_TEST(state[0].second.dtype() == kFloat64);
  BOOST_TEST(state[0].second.dim() == 0);
  BOOST_TEST(state[0].second.item() == 0.01);
  BOOST_TEST(state[2].second.shape() == (Shape{3, 2}));
  BOOST_TEST(state[6].second.shape() == (Shape{2}));

  SGD sgd(p.groups(), {.lr = 0.1, .momentum = 0.9});
  sgd.step();
  BOOST_TEST(names(sgd.state_tensors()) ==
                 (std::vector<std::string>{"0.lr", "0.0.momentum_buffer", "0.1.momentum_buffer", "1.lr",
                                           "1.0.momentum_buffer"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sgd_resumes_bit_identically) {
  check_round_trip<SGD>(SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-2});
}

BOOST_AUTO_TEST_CASE(adam_resumes_bit_identically) {
  check_round_trip<Adam>(AdamOptions{.lr = 0.01, .weight_decay = 1e-3, .amsgrad = true});
  check_round_trip<AdamW>(AdamWOptions{.lr = 0.01});
}

BOOST_AUTO_TEST_CASE(loading_copies_and_restores_the_lr) {
  Params p;
  SGD opt(p.groups(), {.lr = 0.1, .momentum = 0.9});
  p.backward(0);
  opt.step();
  opt.set_lr(1, 0.025);
  Params q;
  SGD other(q.groups(), {.lr = 0.1, .momentum = 0.9});
  const NamedTensors state = opt.state_tensors();
  other.load_state_tensors(state);
  BOOST_TEST(other.lr(0) == 0.1);
  BOOST_TEST(other.lr(1) == 0.025);
  // The loaded buffers are copies: stepping `opt` does not change `other`'s.
  const std::vector<double> loaded = other.state_tensors()[1].second.to_vector<double>();
  opt.step();
  BOOST_TEST(other.state_tensors()[1].second.to_vector<double>() == loaded, boost::test_tools::per_element());

  // Loading the state of an optimiser that has not stepped clears the state: the next step is a first step.
  SGD never(q.groups(), {.lr = 0.1, .momentum = 0.9});
  other.load_state_tensors(never.state_tensors());
  BOOST_TEST(other.state_tensors().size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_state_is_reported_whole_and_nothing_changes) {
  Params p;
  Adam opt(p.groups(), {.lr = 0.01});
  p.backward(0);
  opt.step();
  NamedTensors state = opt.state_tensors();
  const NamedTensors before = opt.state_tensors();
  const std::vector<float> exp_avg_before = before[2].second.to_vector<float>();

  NamedTensors bad = state;
  bad[2].second = zeros({2, 3});                                     // 0.0.exp_avg mis-shaped
  bad[3].second = zeros({3, 2}, {.dtype = kFloat64});                // 0.0.exp_avg_sq mis-typed
  bad[1].second = scalar_tensor(2.0, {.dtype = kFloat64});           // 0.0.step as a float
  bad.erase(bad.begin() + 6);                                        // 0.1.exp_avg_sq gone
  bad.emplace_back("0.2.exp_avg", zeros({1}));                       // group 0 has 2 parameters
  bad.emplace_back("0.0.momentum_buffer", zeros({3, 2}));            // Adam keeps no such thing
  bad.emplace_back("2.lr", scalar_tensor(0.1, {.dtype = kFloat64})); // no group 2
  bad.emplace_back("weights", zeros({1}));                           // not a state name
  bad.emplace_back("1.lr", scalar_tensor(0.1, {.dtype = kFloat64})); // twice
  bad.erase(bad.begin());                                            // 0.lr gone
  BOOST_CHECK_EXCEPTION(
      opt.load_state_tensors(bad), ValueError,
      has_message("Adam: cannot load the state (10 problems):\n"
                  "  '0.0.step': expected an int64 rank-0 step count, got float64 []\n"
                  "  '0.0.exp_avg': float32 [2, 3] does not match the parameter's float32 [3, 2]\n"
                  "  '0.0.exp_avg_sq': float64 [3, 2] does not match the parameter's float32 [3, 2]\n"
                  "  '0.2.exp_avg': group 0 has 2 parameters\n"
                  "  '0.0.momentum_buffer': Adam keeps no state called 'momentum_buffer' (it keeps: step, exp_avg, "
                  "exp_avg_sq)\n"
                  "  '2.lr': there is no group 2 (the optimiser has 2)\n"
                  "  'weights' is not a state name ('<group>.lr' or '<group>.<index>.<state>')\n"
                  "  '1.lr' appears more than once\n"
                  "  '0.lr' is missing\n"
                  "  '0.1.exp_avg_sq' is missing (a parameter has all of its state or none)"));

  NamedTensors bad_values = state;
  bad_values[0].second = scalar_tensor(-0.5, {.dtype = kFloat64});
  bad_values[1].second = scalar_tensor(-1, {.dtype = kInt64});
  bad_values.emplace_back("0.0.extra", Tensor());
  BOOST_CHECK_EXCEPTION(opt.load_state_tensors(bad_values), ValueError,
                        has_message("(3 problems):\n"
                                    "  '0.lr': invalid learning rate: -0.5\n"
                                    "  '0.0.step': invalid step count: -1\n"
                                    "  '0.0.extra' is undefined"));

  // Nothing changed: same lr, same state values, and the next step goes on from them.
  BOOST_TEST(opt.lr(0) == 0.01);
  const NamedTensors after = opt.state_tensors();
  BOOST_TEST(names(after) == names(before), boost::test_tools::per_element());
  BOOST_TEST(after[1].second.item<std::int64_t>() == 1);
  BOOST_TEST(after[2].second.to_vector<float>() == exp_avg_before, boost::test_tools::per_element());

  SGD plain(p.groups(), {.lr = 0.1});
  BOOST_CHECK_EXCEPTION(plain.load_state_tensors({{"0.lr", scalar_tensor(0.1, {.dtype = kFloat64})},
                                                  {"1.lr", scalar_tensor(0.1, {.dtype = kFloat64})},
                                                  {"0.0.momentum_buffer", zeros({3, 2})}}),
                        ValueError, has_message("SGD keeps no state called 'momentum_buffer' (it keeps: nothing)"));
}

BOOST_AUTO_TEST_SUITE_END()
