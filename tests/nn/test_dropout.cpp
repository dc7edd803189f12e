// Dropout module: train vs eval, the kept fraction and scale, the three generator choices, gradcheck,
// reaching it through a parent's eval(), errors.
#include "support/test.hpp"

#include <cmath>

#include <attograd/nn/dropout.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(dropout_module)

BOOST_AUTO_TEST_CASE(training_zeros_about_p_and_scales_the_rest) {
  Dropout drop{0.25, 1};
  BOOST_TEST(drop.is_training());
  const Tensor y = drop(ones({10000}));
  int zeros_seen = 0, badly_scaled = 0;
  for (double v : y.to_vector<double>()) {
    if (v == 0.0) {
      ++zeros_seen;
    } else if (std::abs(v - 1.0 / 0.75) > 1e-6) {
      ++badly_scaled;
    }
  }
  BOOST_TEST(badly_scaled == 0);
  BOOST_TEST(zeros_seen > 2350);  // 2500 expected, standard deviation about 43
  BOOST_TEST(zeros_seen < 2650);
}

BOOST_AUTO_TEST_CASE(eval_is_the_identity) {
  Dropout drop{0.9, 1};
  const Tensor x = tensor({1.0, -2.0, 3.0});
  drop.eval();
  BOOST_TEST(drop(x).is_same(x));
  drop.train();
  BOOST_TEST(drop(ones({100})).sum().item() != 100.0);
  // p = 0 never drops, p = 1 drops everything.
  Dropout none{0.0, 1}, all{1.0, 1};
  check_values(none(x), {1.0, -2.0, 3.0}, 0.0);
  check_values(all(x), {0.0, 0.0, 0.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(a_parents_eval_reaches_it) {
  struct Net : Module {
    Dropout drop{0.5, 3};
    Net() : Module("Net") { register_module("drop", drop); }
  } net;
  const Tensor x = ones({50});
  BOOST_TEST(net.drop(x).sum().item() != 50.0);
  net.eval();
  BOOST_TEST(!net.drop.is_training());
  check_close(net.drop(x), x, 0.0);
  net.train();
  BOOST_TEST(net.drop(x).sum().item() != 50.0);
}

BOOST_AUTO_TEST_CASE(generators_seed_own_and_default) {
  // Its own generator: two modules with one seed give one mask.
  Dropout a{0.5, 42}, b{0.5, 42};
  check_close(a(ones({64})), b(ones({64})), 0.0);
  // A shared generator: the module draws from it, so reseeding it repeats the mask.
  Generator gen(5);
  Dropout shared{0.5, gen};
  BOOST_TEST(&shared.generator() == &gen);
  const Tensor m1 = shared(ones({64}));
  gen.manual_seed(5);
  check_close(shared(ones({64})), m1, 0.0);
  // The same as the op with that generator.
  Generator op_gen(5);
  check_close(m1, dropout(ones({64}), 0.5, true, op_gen), 0.0);
  // The default generator.
  Dropout d{0.5};
  BOOST_TEST(&d.generator() == &default_generator());
  manual_seed(9);
  const Tensor d1 = d(ones({64}));
  manual_seed(9);
  check_close(d(ones({64})), d1, 0.0);
}

BOOST_AUTO_TEST_CASE(gradcheck_with_a_fixed_mask) {
  Dropout drop{0.3, 7};
  Generator gen(8);
  // Reseed before every call so that finite differences see the same mask.
  auto f = [&](const std::vector<Tensor>& in) {
    drop.generator().manual_seed(7);
    return drop(in[0]);
  };
  check_module_gradients(drop, f, {rand64({4, 5}, gen)});
  // dX = dY * M / (1 - p): zeros where dropped, 1/0.7 elsewhere.
  Tensor x = ones({20}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor y = f({x});
  y.sum().backward();
  check_close(x.grad(), y.detach(), 1e-12);
}

BOOST_AUTO_TEST_CASE(printing_and_errors) {
  Dropout drop{0.1};
  BOOST_TEST(drop.p() == 0.1);
  BOOST_TEST(fmt::format("{}", drop) == "Dropout(p=0.1)  [0 parameters]");
  BOOST_CHECK_EXCEPTION(Dropout(1.5), ValueError, has_message("Dropout: p must be between 0 and 1, got 1.5"));
  BOOST_CHECK_EXCEPTION(Dropout(-0.1, 3), ValueError, has_message("got -0.1"));
  BOOST_CHECK_EXCEPTION(Dropout(std::nan(""), default_generator()), ValueError, has_message("got nan"));
  Dropout d{0.5, 1};
  BOOST_CHECK_EXCEPTION(d(zeros({2}, {.dtype = kInt64})), DTypeError,
                        has_message("dropout: expected a floating-point"));
}

BOOST_AUTO_TEST_SUITE_END()
