// How the teaching tools print values: 4 significant digits, every value of a small tensor, and
// min/max/mean/norm of a large one.
#include "support/test.hpp"

#include <limits>

using namespace attograd;
using viz::format_number;
using viz::summarize;

BOOST_AUTO_TEST_SUITE(summary)

BOOST_AUTO_TEST_CASE(numbers_have_four_significant_digits) {
  BOOST_TEST(format_number(0.28041462) == "0.2804");
  BOOST_TEST(format_number(-1.25) == "-1.25");
  BOOST_TEST(format_number(12345.0) == "1.234e+04");
  BOOST_TEST(format_number(1e-7) == "1e-07");
  BOOST_TEST(format_number(-0.0) == "0");
  BOOST_TEST(format_number(std::numeric_limits<double>::infinity()) == "inf");
  BOOST_TEST(format_number(std::numeric_limits<double>::quiet_NaN()) == "nan");
}

BOOST_AUTO_TEST_CASE(small_tensors_show_every_value_nested_by_dims) {
  BOOST_TEST(summarize(scalar_tensor(0.5)) == "0.5");
  BOOST_TEST(summarize(tensor({0.5, -1.0})) == "[0.5, -1]");
  BOOST_TEST(summarize(tensor(std::vector<double>{1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3})) == "[[1, 2, 3], [4, 5, 6]]");
  BOOST_TEST(summarize(tensor_of<std::int64_t>({3, -2}, {2})) == "[3, -2]");
  BOOST_TEST(summarize(tensor({1.0, 2.0}) > 1.5) == "[false, true]");
  BOOST_TEST(summarize(zeros({0})) == "[]");
  BOOST_TEST(summarize(Tensor()) == "undefined");
}

BOOST_AUTO_TEST_CASE(large_tensors_show_min_max_mean_and_norm) {
  // 1..8: mean 4.5, norm sqrt(204) = 14.28
  const Tensor t = arange(8.0, {.dtype = kFloat64}) + 1.0;
  BOOST_TEST(summarize(t) == "min 1, max 8, mean 4.5, norm 14.28");
  BOOST_TEST(summarize(t, 8) == "[1, 2, 3, 4, 5, 6, 7, 8]");
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  // Non-finite values are counted; the mean and norm are of the finite ones.
  BOOST_TEST(summarize(tensor({1.0, 3.0, nan, inf, 2.0, 2.0, 4.0}, {.dtype = kFloat64}), 2) ==
             "min 1, max inf, mean 2.4, norm 5.831, 1 NaN, 1 infinite");
  BOOST_TEST(summarize(tensor({nan, nan, nan}), 2) == "all 3 values NaN");
}

BOOST_AUTO_TEST_SUITE_END()
