// dropout: mask statistics, the 1/(1-p) scale, determinism for a seed, eval mode, the gradient, errors.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
double fraction_of_zeros(const Tensor& y) {
  std::int64_t zeros = 0;
  for (double v : y.to_vector<double>()) zeros += v == 0.0;
  return static_cast<double>(zeros) / static_cast<double>(y.numel());
}
}  // namespace

BOOST_AUTO_TEST_SUITE(dropout_op)

BOOST_AUTO_TEST_CASE(drops_about_p_and_scales_the_rest_by_one_over_one_minus_p) {
  Generator gen(11);
  const Tensor x = ones({200, 500});
  for (double p : {0.1, 0.3, 0.5, 0.9}) {
    const Tensor y = dropout(x, p, true, gen);
    // 100000 Bernoulli draws: the fraction's standard deviation is at most 0.0016; allow ~6 of them.
    BOOST_TEST(std::abs(fraction_of_zeros(y) - p) < 0.01, "p = " << p << ": fraction " << fraction_of_zeros(y));
    const auto kept = static_cast<float>(1.0 / (1.0 - p));
    for (double v : y.to_vector<double>()) {
      if (v != 0.0 && v != static_cast<double>(kept)) {
        BOOST_TEST(false, "p = " << p << ": a kept value is " << v << ", expected " << kept);
        break;
      }
    }
    // The scale keeps the expected value: the mean stays near 1.
    BOOST_TEST(std::abs(mean(y).item() - 1.0) < 0.05, "p = " << p << ": mean " << mean(y).item());
  }
}

BOOST_AUTO_TEST_CASE(the_mask_depends_only_on_the_seed) {
  const Tensor x = rand({64, 33}, {.dtype = kFloat64}) + 1.0;  // no zeros of its own
  Generator a(7), b(7), c(8);
  const Tensor ya = dropout(x, 0.4, true, a);
  check_close(dropout(x, 0.4, true, b), ya, 0.0);           // same seed, same mask
  BOOST_TEST(!allclose(dropout(x, 0.4, true, c), ya));      // another seed, another mask
  BOOST_TEST(!allclose(dropout(x, 0.4, true, a), ya));      // the generator moved on
  // The same positions are dropped whatever the dtype.
  Generator d(7);
  const Tensor y32 = dropout(x.to(kFloat32), 0.4, true, d);
  BOOST_TEST((eq(y32, 0.0).to_vector<bool>() == eq(ya, 0.0).to_vector<bool>()));
  // The overload without a generator uses the default one.
  manual_seed(5);
  const Tensor first = dropout(x, 0.5);
  manual_seed(5);
  check_close(dropout(x, 0.5, true), first, 0.0);
}

BOOST_AUTO_TEST_CASE(identity_in_eval_mode_and_for_p_zero) {
  Generator gen(1);
  const Tensor x = randn({3, 4}, gen);
  const Generator::State before = gen.state();
  BOOST_TEST(dropout(x, 0.5, false, gen).is_same(x));
  BOOST_TEST(dropout(x, 0.0, true, gen).is_same(x));
  BOOST_TEST(dropout(x, 1.0, false, gen).is_same(x));
  BOOST_TEST((gen.state() == before));  // nothing drawn
}

BOOST_AUTO_TEST_CASE(p_one_gives_zeros_and_a_zero_gradient) {
  Generator gen(1);
  Tensor x = randn({3, 4}, gen, {.dtype = kFloat64}).requires_grad_();
  Tensor y = dropout(x, 1.0, true, gen);
  check_close(y, zeros({3, 4}, {.dtype = kFloat64}), 0.0);
  y.sum().backward();
  check_close(x.grad(), zeros({3, 4}, {.dtype = kFloat64}), 0.0);
}

BOOST_AUTO_TEST_CASE(gradient_is_the_same_mask_times_the_scale) {
  Generator g1(21), g2(21);
  Tensor x = randn({10, 20}, g1, {.dtype = kFloat64}).requires_grad_();
  g1.manual_seed(21);
  Tensor y = dropout(x, 0.25, true, g1);
  const Tensor mask = dropout(ones({10, 20}, {.dtype = kFloat64}), 0.25, true, g2);  // M / (1 - p)
  const std::vector<double> m = mask.to_vector<double>();
  BOOST_TEST(std::count(m.begin(), m.end(), 0.0) > 0);
  check_close(y, x.detach() * mask, 0.0);
  Tensor up = randn({10, 20}, g2, {.dtype = kFloat64});
  y.backward(up);
  check_close(x.grad(), up * mask, 0.0);

  // And against finite differences, with a generator reseeded on every call so the mask is fixed.
  Generator gen(3);
  for (Shape shape : {Shape{5}, Shape{3, 4}, Shape{2, 1, 3}}) {
    check_gradients([](const std::vector<Tensor>& in) {
      Generator g(9);
      return dropout(in[0], 0.4, true, g);
    }, {rand64(shape, gen)});
  }
}

BOOST_AUTO_TEST_CASE(bad_p_and_dtypes_are_errors) {
  Generator gen(1);
  const Tensor x = ones({2});
  BOOST_CHECK_EXCEPTION(dropout(x, 1.5, true, gen), ValueError,
                        has_message("dropout: probability p must be between 0 and 1, got 1.5"));
  BOOST_CHECK_EXCEPTION(dropout(x, -0.1, true, gen), ValueError, has_message("got -0.1"));
  BOOST_CHECK_EXCEPTION(dropout(x, NAN, false, gen), ValueError, has_message("got nan"));
  BOOST_CHECK_EXCEPTION(dropout(tensor_of<std::int64_t>({1, 2}, {2}), 0.5, true, gen), DTypeError,
                        has_message("dropout: expected a floating-point tensor, got int64; convert with .to(kFloat32)"));
}

BOOST_AUTO_TEST_SUITE_END()
