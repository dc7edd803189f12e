// nn::init: in-place re-initialisation seen through every handle, value ranges, seeding, errors.
#include "support/test.hpp"

#include <algorithm>
#include <cmath>

#include <attograd/nn/init.hpp>
#include <attograd/nn/linear.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(init_functions)

BOOST_AUTO_TEST_CASE(writes_into_the_parameter_every_handle_sees) {
  Linear fc{4, 3};
  const Tensor held = fc.weight;  // an optimiser's handle, say
  const Tensor returned = init::constant_(fc.weight, 0.5);
  BOOST_TEST(returned.is_same(fc.weight));
  check_values(held, std::vector<double>(12, 0.5), 0.0);
  init::zeros_(fc.bias);
  check_values(fc.bias, {0.0, 0.0, 0.0}, 0.0);
  init::ones_(fc.bias);
  check_values(fc.bias, {1.0, 1.0, 1.0}, 0.0);
  BOOST_TEST(fc.weight.requires_grad());
  BOOST_TEST(fc.weight.is_leaf());
}

BOOST_AUTO_TEST_CASE(uniform_stays_in_its_range_and_repeats_with_a_seed) {
  Tensor t = zeros({1000});
  Generator gen(5);
  init::uniform_(t, -0.2, 0.3, gen);
  const std::vector<double> v = t.to_vector<double>();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  BOOST_TEST(*lo >= -0.2);
  BOOST_TEST(*hi <= 0.3);
  BOOST_TEST(*lo < -0.19);
  BOOST_TEST(*hi > 0.29);
  Tensor again = zeros({1000});
  Generator gen2(5);
  init::uniform_(again, -0.2, 0.3, gen2);
  check_close(again, t, 0.0);
}

BOOST_AUTO_TEST_CASE(normal_has_the_mean_and_spread_asked_for) {
  Tensor t = zeros({20000}, {.dtype = kFloat64});
  Generator gen(9);
  init::normal_(t, 1.0, 0.02, gen);
  const std::vector<double> v = t.to_vector<double>();
  double sum = 0.0, sq = 0.0;
  for (double x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / static_cast<double>(v.size()));
  BOOST_TEST(std::abs(mean - 1.0) < 0.001);
  BOOST_TEST(std::abs(sd - 0.02) < 0.001);
  BOOST_TEST((t.dtype() == kFloat64));
}

BOOST_AUTO_TEST_CASE(bad_arguments) {
  Tensor t = zeros({3});
  BOOST_CHECK_EXCEPTION(init::uniform_(t, 1.0, -1.0), ValueError, has_message("got low 1 and high -1"));
  BOOST_CHECK_EXCEPTION(init::normal_(t, 0.0, -1.0), ValueError, has_message("got mean 0 and std -1"));
  Tensor ids = zeros({3}, {.dtype = kInt64});
  BOOST_CHECK_EXCEPTION(init::normal_(ids, 0.0, 1.0), DTypeError,
                        has_message("init::normal_: expected a floating-point tensor, got int64"));
  BOOST_CHECK_EXCEPTION(init::uniform_(ids, 0.0, 1.0), DTypeError, has_message("init::uniform_"));
}

BOOST_AUTO_TEST_SUITE_END()
