// check_loss, result_line, accuracy.
#include "support/test.hpp"

#include <attograd/train/report.hpp>

using namespace attograd;
using namespace attograd::train;
using namespace attograd::testing;

BOOST_AUTO_TEST_CASE(check_loss_stops_on_nan_and_inf_naming_the_step) {
  check_loss(0.3, 1);
  BOOST_CHECK_EXCEPTION(check_loss(NAN, 42), ValueError, has_message("the loss is nan at step 42"));
  BOOST_CHECK_EXCEPTION(check_loss(INFINITY, 7), ValueError, has_message("anomaly"));
}

BOOST_AUTO_TEST_CASE(result_line_format) {
  BOOST_TEST(result_line({{"test_accuracy", "1.000"}, {"steps", "2000"}}) == "result: test_accuracy=1.000 steps=2000");
  BOOST_TEST(result_line({}) == "result:");
}

BOOST_AUTO_TEST_CASE(accuracy_counts_argmax_hits) {
  Tensor logits = tensor({{0.1, 0.9}, {0.8, 0.2}, {0.3, 0.7}, {0.6, 0.4}});
  Tensor targets = tensor_of<std::int64_t>({1, 0, 0, 1}, {4});
  BOOST_TEST(accuracy(logits, targets) == 0.5);
  Tensor seq = zeros({2, 3, 5});
  BOOST_TEST(accuracy(seq, zeros({2, 3}, {.dtype = kInt64})) == 1.0);  // ties go to class 0
  BOOST_CHECK_EXCEPTION(accuracy(logits, zeros({4, 1}, {.dtype = kInt64})), ShapeError, has_message("accuracy:"));
}
