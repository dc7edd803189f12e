// The engine's offer of the gradient an input already holds (Grads::input_grad_offered): made when
// nothing else can see it and no hook is installed, refused otherwise; a backward that adds in place
// gives the bits of the engine's own add. linear's dX uses it (a oneDNN sum post-op).
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// y = x, whose backward adds dY into x's gradient so far when the engine offers it, and notes whether
// it did.
Tensor in_place_probe(const Tensor& x, bool& offered) {
  static const autograd::Op probe_op({.name = "in_place_probe_test", .rule = "dX = dY"});
  Tensor y = x.detach().clone();
  if (autograd::Node* node = autograd::record(probe_op, y, {x})) {
    node->backward = [&offered](const Tensor& dY, autograd::Grads& d) {
      Tensor* held = d.input_grad_offered(0);
      offered = held != nullptr;
      if (held == nullptr) {
        d[0] = dY.clone();
        return;
      }
      held->add_(dY);
      d.added_in_place(0);
    };
  }
  return y;
}

// x's gradient from two linears that share it: the second one's dX is added into the first one's.
std::vector<double> shared_input_gradient(const Tensor& x0, const Tensor& w1, const Tensor& w2, const Tensor& up,
                                          bool through_a_layer) {
  const Tensor x = x0.detach().requires_grad_();
  const Tensor h = through_a_layer ? x * 1.5 : x;  // a node's buffer rather than a leaf's
  (sum((linear(h, w1) + linear(h, w2)) * up)).backward();
  return x.grad().to_vector();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(engine_in_place)

BOOST_AUTO_TEST_CASE(a_held_gradient_is_offered_and_added_into) {
  // L = sum(probe(x) * u) + sum(x * 2): the mul by 2 runs first (its branch is visited last), so the
  // probe finds x's gradient [2, ..] there, held by nothing else, and adds u into it.
  Tensor x = ones({3, 4}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor u = arange(12.0, {.dtype = kFloat64}).reshape({3, 4});
  bool offered = false;
  (sum(in_place_probe(x, offered) * u) + sum(x * 2.0)).backward();
  BOOST_TEST(offered);
  BOOST_TEST(x.grad().to_vector() == (u + 2.0).to_vector());
  // With a hook installed nothing is offered (a hook is shown each d[i]): the same gradient.
  x.zero_grad();
  offered = true;
  {
    const autograd::StepHookGuard hook([](const autograd::BackwardStep&) {}, {.reads_grad_output = false});
    (sum(in_place_probe(x, offered) * u) + sum(x * 2.0)).backward();
  }
  BOOST_TEST(!offered);
  BOOST_TEST(x.grad().to_vector() == (u + 2.0).to_vector());
  // The first gradient to reach x: there is nothing to add into yet.
  x.zero_grad();
  offered = true;
  sum(in_place_probe(x, offered) * u).backward();
  BOOST_TEST(!offered);
}

BOOST_AUTO_TEST_CASE(adding_in_place_without_an_offer_is_an_error) {
  static const autograd::Op eager_op({.name = "eager_in_place_test", .rule = "dX = dY"});
  Tensor x = ones({2, 2}, {.requires_grad = true});
  Tensor y = x.detach().clone();
  if (autograd::Node* node = autograd::record(eager_op, y, {x})) {
    node->backward = [](const Tensor&, autograd::Grads& d) { d.added_in_place(0); };
  }
  BOOST_CHECK_EXCEPTION(y.sum().backward(), AutogradError,
                        has_message("backward of 'eager_in_place_test': added_in_place(0) was called, but the engine "
                                    "offered no gradient of input 0 to add into; call it only when "
                                    "input_grad_offered(0) is not null, and assign d[0] otherwise"));
}

BOOST_AUTO_TEST_CASE(linear_adds_its_input_gradient_in_place_with_the_engines_bits) {
  // x [512, 32] feeds two linears: the second dX = dY·W2 is added to the first by its product, with the
  // bits of the engine's add, which it makes when a hook is installed. K = 48 on oneDNN: a sum post-op
  // into the held gradient; K = 8 and 200: the held gradient added to a new product (a binary
  // post-op). float32 at one and two threads, and float64 (the reference kernel, then the add); a
  // leaf's buffer and a node's.
  Generator gen(31);
  for (const auto& [dtype, K] : {std::pair{kFloat32, 48}, std::pair{kFloat32, 8}, std::pair{kFloat32, 200},
                                 std::pair{kFloat64, 48}}) {
    const Tensor x = randn({512, 32}, gen, {.dtype = dtype}), up = randn({512, K}, gen, {.dtype = dtype});
    const Tensor w1 = randn({K, 32}, gen, {.dtype = dtype}), w2 = randn({K, 32}, gen, {.dtype = dtype});
    for (const bool through_a_layer : {false, true}) {
      std::vector<double> engine_adds;
      {
        const autograd::StepHookGuard hook([](const autograd::BackwardStep&) {}, {.reads_grad_output = false});
        engine_adds = shared_input_gradient(x, w1, w2, up, through_a_layer);
      }
      for (const int threads : {1, 2}) {
        ThreadCount guard(threads);
        BOOST_TEST(shared_input_gradient(x, w1, w2, up, through_a_layer) == engine_adds,
                   dtype << ", K " << K << ", through a layer " << through_a_layer << ", " << threads
                         << " threads");
      }
      // And the values: dX = up·W1 + up·W2.
      check_close(tensor(engine_adds, {512, 32}, {.dtype = dtype}),
                  (through_a_layer ? 1.5 : 1.0) * (matmul(up, w1) + matmul(up, w2)), dtype == kFloat32 ? 1e-4 : 1e-12);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
