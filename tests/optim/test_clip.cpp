// clip_grad_norm: the total norm over all gradients (2, 1 and inf), the scaling, the no-op below the
// threshold, tied and gradient-less parameters, non-finite norms and the errors.
#include "support/test.hpp"

#include <cmath>
#include <limits>

using namespace attograd;
using namespace attograd::optim;
using namespace attograd::testing;

namespace {

// A float64 parameter whose gradient is `grad`.
Tensor with_grad(std::initializer_list<double> grad) {
  Tensor p = zeros({static_cast<std::int64_t>(grad.size())}, {.dtype = kFloat64, .requires_grad = true});
  p.set_grad(tensor(grad, {.dtype = kFloat64}));
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(clip)

BOOST_AUTO_TEST_CASE(two_norm_over_all_gradients_scales_them_down) {
  // Gradients [3, 4] and [12]: total = sqrt(9 + 16 + 144) = 13. Clipping to 6.5 scales by
  // 6.5 / (13 + 1e-6), just under one half.
  Tensor a = with_grad({3.0, 4.0});
  Tensor b = with_grad({12.0});
  const double total = clip_grad_norm({a, b}, 6.5);
  BOOST_TEST(total == 13.0, boost::test_tools::tolerance(1e-15));
  const double f = 6.5 / (13.0 + 1e-6);
  check_values(a.grad(), {3 * f, 4 * f}, 1e-15);
  check_values(b.grad(), {12 * f}, 1e-15);
  // The clipped norm is max_norm, up to the 1e-6 guard.
  const double after = clip_grad_norm({a, b}, 100.0);
  BOOST_TEST(after == 6.5, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(after < 6.5);
}

BOOST_AUTO_TEST_CASE(inf_norm_is_the_largest_magnitude) {
  Tensor a = with_grad({3.0, -4.0});
  Tensor b = with_grad({2.0});
  const double total = clip_grad_norm({a, b}, 2.0, std::numeric_limits<double>::infinity());
  BOOST_TEST(total == 4.0);
  const double f = 2.0 / (4.0 + 1e-6);
  check_values(a.grad(), {3 * f, -4 * f}, 1e-15);
  check_values(b.grad(), {2 * f}, 1e-15);
}

BOOST_AUTO_TEST_CASE(one_norm_sums_magnitudes) {
  Tensor a = with_grad({3.0, -4.0});
  Tensor b = with_grad({-12.0});
  BOOST_TEST(clip_grad_norm({a, b}, 100.0, 1.0) == 19.0, boost::test_tools::tolerance(1e-15));
  // p = 3: (27 + 64 + 1728)^(1/3)
  BOOST_TEST(clip_grad_norm({a, b}, 100.0, 3.0) == std::cbrt(1819.0), boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(below_the_threshold_nothing_changes) {
  Tensor a = with_grad({3.0, 4.0});
  Tensor before = a.grad().clone();
  BOOST_TEST(clip_grad_norm({a}, 5.5) == 5.0, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(a.grad().to_vector<double>() == before.to_vector<double>(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tied_parameters_count_once_and_missing_gradients_are_skipped) {
  Tensor a = with_grad({3.0, 4.0});
  Tensor unused = zeros({2}, {.dtype = kFloat64, .requires_grad = true});  // grad() undefined
  // a listed twice would make the norm sqrt(50) and scale a's gradient twice.
  const double total = clip_grad_norm({a, unused, a}, 2.5);
  BOOST_TEST(total == 5.0, boost::test_tools::tolerance(1e-15));
  check_values(a.grad(), {1.5, 2.0}, 1e-6);
  BOOST_TEST(!unused.grad().defined());
  BOOST_TEST(clip_grad_norm({unused}, 1.0) == 0.0);
  BOOST_TEST(clip_grad_norm({}, 1.0) == 0.0);
}

BOOST_AUTO_TEST_CASE(float32_gradients_stay_float32) {
  // 1e5 gradients of 1e-3: the norm is sqrt(1e5 * 1e-6) = sqrt(0.1).
  Tensor p = zeros({100000}, {.requires_grad = true});
  p.set_grad(full({100000}, 1e-3));
  const double total = clip_grad_norm({p}, 1.0);
  BOOST_TEST(total == std::sqrt(0.1), boost::test_tools::tolerance(1e-6));
  BOOST_TEST(p.grad().dtype() == kFloat32);
  clip_grad_norm({p}, 0.1 * std::sqrt(0.1));
  BOOST_TEST(p.grad().dtype() == kFloat32);
  BOOST_TEST(p.grad().at({12345}) == 1e-4, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(a_non_finite_norm_is_returned_and_leaves_the_gradients) {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor a = with_grad({inf, 1.0});
  Tensor b = with_grad({3.0});
  BOOST_TEST(std::isinf(clip_grad_norm({a, b}, 1.0)));
  check_values(b.grad(), {3.0});
  BOOST_TEST(std::isinf(clip_grad_norm({a, b}, 1.0, inf)));
  check_values(a.grad(), {inf, 1.0});

  Tensor n = with_grad({std::nan(""), 1.0});
  BOOST_TEST(std::isnan(clip_grad_norm({n, b}, 1.0)));
  BOOST_TEST(std::isnan(clip_grad_norm({b, n}, 1.0, inf)));
  BOOST_TEST(std::isnan(clip_grad_norm({n, b}, 1.0, inf)));
  check_values(b.grad(), {3.0});
  BOOST_CHECK_EXCEPTION(clip_grad_norm({n, b}, 1.0, 2.0, true), ValueError,
                        has_message("clip_grad_norm: the total 2-norm of the gradients is nan"));
  BOOST_CHECK_EXCEPTION(clip_grad_norm({a}, 1.0, inf, true), ValueError,
                        has_message("clip_grad_norm: the total inf-norm of the gradients is inf"));
}

BOOST_AUTO_TEST_CASE(invalid_arguments_name_the_value) {
  Tensor a = with_grad({3.0, 4.0});
  BOOST_CHECK_EXCEPTION(clip_grad_norm({a}, -1.0), ValueError, has_message("clip_grad_norm: invalid max_norm: -1"));
  BOOST_CHECK_EXCEPTION(clip_grad_norm({a}, std::nan("")), ValueError,
                        has_message("clip_grad_norm: invalid max_norm: nan"));
  BOOST_CHECK_EXCEPTION(clip_grad_norm({a}, 1.0, 0.0), ValueError,
                        has_message("clip_grad_norm: invalid norm type: 0 (expected a positive number or infinity)"));
  BOOST_CHECK_EXCEPTION(clip_grad_norm({a}, 1.0, -std::numeric_limits<double>::infinity()), ValueError,
                        has_message("invalid norm type: -inf"));
  BOOST_CHECK_EXCEPTION(clip_grad_norm({a, Tensor()}, 1.0), ValueError,
                        has_message("clip_grad_norm: parameter 1 is undefined"));
  check_values(a.grad(), {3.0, 4.0});  // nothing was clipped by the failed calls
}

BOOST_AUTO_TEST_SUITE_END()
