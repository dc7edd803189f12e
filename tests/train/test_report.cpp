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

// Float targets were converted to int64 silently, so 0.7 counted as class 0; they are refused as
// cross_entropy refuses them.
BOOST_AUTO_TEST_CASE(accuracy_refuses_float_targets) {
  Tensor logits = tensor({{0.1, 0.9}, {0.8, 0.2}});
  BOOST_CHECK_EXCEPTION(accuracy(logits, tensor({0.7, 0.0})), DTypeError,
                        has_message("accuracy: targets must be int64 class indices, got float32; convert with .to(kInt64)"));
  BOOST_CHECK_EXCEPTION(accuracy(logits, Tensor()), ValueError, has_message("accuracy: targets is an undefined tensor"));
  BOOST_TEST(accuracy(logits, tensor_of<bool>({true, false}, {2})) == 1.0);  // bool classes 0 and 1 still count
}
