// The optimiser base: which tensors it accepts, tied parameters kept and updated once, groups,
// zero_grad, updates seen through every handle, skipped gradients, and a module converted to float64.
#include "support/test.hpp"

#include <attograd/nn/module.hpp>

using namespace attograd;
using namespace attograd::optim;
using namespace attograd::testing;

namespace {

Tensor param(std::initializer_list<double> values) {
  return tensor(values, {.dtype = kFloat64, .requires_grad = true});
}

struct Affine : nn::Module {
  Tensor weight, bias;
  Affine() : Module("Affine") {
    weight = register_parameter("weight", ones({2, 2}));
    bias = register_parameter("bias", zeros({2}));
  }
  Tensor forward(const Tensor& x) const { return matmul(x, weight.mT()) + bias; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(optimizer)

BOOST_AUTO_TEST_CASE(a_tensor_listed_twice_is_kept_and_updated_once) {
  Tensor w = param({1.0, 2.0});
  Tensor b = param({0.0});
  SGD opt({w, b, w}, {.lr = 0.1, .momentum = 0.9});
  BOOST_TEST(opt.groups()[0].params.size() == 2u);
  BOOST_TEST(opt.groups()[0].params[0].is_same(w));
  BOOST_TEST(opt.groups()[0].params[1].is_same(b));
  w.set_grad(tensor({1.0, 1.0}, {.dtype = kFloat64}));
  opt.step();
  check_values(w, {0.9, 1.9}, 1e-15);  // one update of 0.1, not two
  // Tied weights through a model: the shared tensor's gradient holds both uses; it moves once.
  Tensor shared = param({1.0});
  SGD tied({shared, shared}, {.lr = 0.5});
  (shared * 2.0 + shared * 3.0).sum().backward();  // d/dshared = 5
  tied.step();
  check_values(shared, {1.0 - 0.5 * 5.0}, 1e-15);
}

BOOST_AUTO_TEST_CASE(a_tensor_in_two_groups_is_an_error_naming_it) {
  Tensor w = param({1.0});
  w.set_name("encoder.weight");
  Tensor b = param({1.0});
  BOOST_CHECK_EXCEPTION(SGD({{.params = {b, w}}, {.params = {w}}}, {.lr = 0.1}), ValueError,
                        has_message("SGD: parameter 'encoder.weight' (group 1, index 0) is also in group 0 (index 1); "
                                    "a parameter can be in one group only"));
  Tensor unnamed = param({1.0});
  BOOST_CHECK_EXCEPTION(Adam({{.params = {unnamed}}, {.params = {b, unnamed}}}, {}), ValueError,
                        has_message("Adam: parameter 1 of group 1 is also in group 0 (index 0)"));
}

BOOST_AUTO_TEST_CASE(only_floating_leaves_that_require_grad_are_accepted) {
  Tensor leaf = param({1.0});
  leaf.set_name("w");
  Tensor computed = leaf * 2.0;
  BOOST_CHECK_EXCEPTION(SGD({leaf, computed}, {.lr = 0.1}), ValueError,
                        has_message("SGD: parameter 1 of group 0 is not a leaf (it was computed by 'mul')"));
  Tensor frozen = tensor({1.0}).set_name("frozen");
  BOOST_CHECK_EXCEPTION(SGD({frozen}, {.lr = 0.1}), ValueError,
                        has_message("SGD: parameter 'frozen' (group 0, index 0) does not require grad"));
  Tensor ids = tensor_of<std::int64_t>({1, 2}, {2});
  BOOST_CHECK_EXCEPTION(Adam({leaf, ids}, {}), DTypeError,
                        has_message("Adam: parameter 1 of group 0 has dtype int64; only floating-point tensors can "
                                    "be optimised"));
  BOOST_CHECK_EXCEPTION(SGD({leaf, Tensor()}, {.lr = 0.1}), ValueError,
                        has_message("SGD: parameter 1 of group 0 is undefined"));
  BOOST_CHECK_EXCEPTION(SGD(std::vector<Tensor>{}, {.lr = 0.1}), ValueError,
                        has_message("SGD: got an empty parameter list"));
  BOOST_CHECK_EXCEPTION(AdamW(std::vector<ParamGroup>{{.params = {}}}, {}), ValueError,
                        has_message("AdamW: got an empty parameter list"));
  // An empty group beside others is fine (a model with no biases, say).
  SGD ok({{.params = {leaf}}, {.params = {}, .weight_decay = 0.0}}, {.lr = 0.1});
  BOOST_TEST(ok.groups().size() == 2u);
}

BOOST_AUTO_TEST_CASE(zero_grad_drops_every_gradient) {
  Tensor a = param({1.0});
  Tensor b = param({2.0});
  SGD opt({{.params = {a}}, {.params = {b}}}, {.lr = 0.1});
  (a * b).sum().backward();
  BOOST_TEST(a.grad().defined());
  BOOST_TEST(b.grad().defined());
  opt.zero_grad();
  BOOST_TEST(!a.grad().defined());
  BOOST_TEST(!b.grad().defined());
  opt.step();  // no gradients: nothing moves
  BOOST_TEST(a.item() == 1.0);
  BOOST_TEST(b.item() == 2.0);
}

BOOST_AUTO_TEST_CASE(undefined_gradients_are_skipped_and_keep_their_state) {
  Tensor a = param({1.0});
  Tensor b = param({1.0});
  SGD opt({a, b}, {.lr = 0.1, .momentum = 0.5});
  a.set_grad(tensor({1.0}, {.dtype = kFloat64}));
  b.set_grad(tensor({1.0}, {.dtype = kFloat64}));
  opt.step();  // both: buffer 1, p = 0.9
  b.zero_grad();
  a.set_grad(tensor({1.0}, {.dtype = kFloat64}));
  opt.step();  // a: buffer 1.5, p = 0.75; b untouched, its buffer too
  BOOST_TEST(a.item() == 0.75, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(b.item() == 0.9, boost::test_tools::tolerance(1e-15));
  b.set_grad(tensor({1.0}, {.dtype = kFloat64}));
  a.zero_grad();
  opt.step();  // b: buffer 0.5 * 1 + 1 = 1.5 (its own second step), p = 0.75
  BOOST_TEST(b.item() == 0.75, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(updates_a_module_in_place_for_every_handle) {
  Affine model;
  Tensor held = model.weight;  // some other handle, made before the optimiser
  SGD opt(model.parameters(), {.lr = 0.5});
  BOOST_TEST(opt.groups()[0].params.size() == 2u);
  // y = sum(x W^T + b) with x = [1, 2]: dW = [[1, 2], [1, 2]], db = [1, 1].
  model.forward(tensor({{1.0, 2.0}})).sum().backward();
  opt.step();
  check_values(model.weight, {0.5, 0.0, 0.5, 0.0});
  check_values(held, {0.5, 0.0, 0.5, 0.0});
  check_values(model.bias, {-0.5, -0.5});
  BOOST_TEST(model.weight.requires_grad());
  BOOST_TEST(model.weight.is_leaf());
  // The module's gradients can be dropped through the optimiser.
  opt.zero_grad();
  BOOST_TEST(!model.weight.grad().defined());
}

BOOST_AUTO_TEST_CASE(state_follows_a_module_converted_to_float64) {
  Affine model;
  Adam opt(model.parameters(), {.lr = 0.1});
  model.forward(tensor({{1.0, 2.0}})).sum().backward();
  opt.step();
  BOOST_TEST(opt.state_tensors()[2].second.dtype() == kFloat32);
  model.to(kFloat64);
  model.forward(tensor({{1.0, 2.0}}, {.dtype = kFloat64})).sum().backward();
  opt.step();
  const NamedTensors state = opt.state_tensors();
  BOOST_TEST(state[1].first == "0.0.step");
  BOOST_TEST(state[1].second.dtype() == kInt64);
  BOOST_TEST(state[1].second.item<std::int64_t>() == 2);
  BOOST_TEST(state[2].second.dtype() == kFloat64);
  BOOST_TEST(model.weight.dtype() == kFloat64);
  // Two steps of 0.1 in the gradient's direction (the gradient did not change sign): 1 - 0.2.
  BOOST_TEST(model.weight.at({0, 0}) == 0.8, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(no_weight_decay_on_biases_by_name) {
  // The usual split: decay the weight matrices, not the biases (nor norms' gains).
  Affine model;
  std::vector<Tensor> decay, no_decay;
  for (const auto& [name, p] : model.named_parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  AdamW opt({{.params = decay}, {.params = no_decay, .weight_decay = 0.0}}, {.lr = 0.1, .weight_decay = 0.5});
  model.bias.set_grad(zeros({2}));
  model.weight.set_grad(zeros({2, 2}));
  {
    NoGradGuard no_grad;
    model.bias.fill_(1.0);
  }
  opt.step();  // zero gradients: only the decoupled decay moves anything, p * (1 - 0.1 * 0.5)
  check_values(model.weight, {0.95, 0.95, 0.95, 0.95});
  check_values(model.bias, {1.0, 1.0});
}

BOOST_AUTO_TEST_SUITE_END()
