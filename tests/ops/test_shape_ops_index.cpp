// Views that pick elements, forward: narrow, slice (negative and clamped bounds, steps), select.
// Values by hand, storage sharing, offsets and strides, errors. Gradients: test_shape_ops_grad.cpp.
#include "support/test.hpp"

#include <limits>

using namespace attograd;
using namespace attograd::testing;

namespace {

Tensor iota(const Shape& shape) { return arange(static_cast<double>(shape.numel()), {.dtype = kFloat64}).reshape(shape); }

bool shares_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_ops_index)

BOOST_AUTO_TEST_CASE(narrow_keeps_a_window) {
  Tensor x = iota({3, 4});
  Tensor n = x.narrow(1, 1, 2);
  BOOST_TEST((n.shape() == (Shape{3, 2})));
  BOOST_TEST(n.offset() == 1);
  BOOST_TEST((n.strides() == (Strides{4, 1})));
  BOOST_TEST(shares_storage(x, n));
  BOOST_TEST(!n.is_contiguous());
  check_values(n, {1, 2, 5, 6, 9, 10});
  // A window of whole rows is contiguous; a negative start counts from the end.
  Tensor rows = x.narrow(0, -2, 2);
  BOOST_TEST(rows.is_contiguous());
  check_values(rows, {4, 5, 6, 7, 8, 9, 10, 11});
  BOOST_TEST((x.narrow(-1, 4, 0).shape() == (Shape{3, 0})));
  n.set({2, 1}, -3.0);
  BOOST_TEST(x.at({2, 2}) == -3.0);
}

BOOST_AUTO_TEST_CASE(narrow_errors) {
  Tensor x = iota({3, 4});
  BOOST_CHECK_EXCEPTION(x.narrow(1, 3, 2), IndexError,
                        has_message("narrow: start 3 and length 2 do not fit in dim 1 of size 4 (shape [3, 4])"));
  BOOST_CHECK_EXCEPTION(x.narrow(0, 0, -1), IndexError, has_message("length -1 do not fit in dim 0 of size 3"));
  // The message repeats the start as given.
  BOOST_CHECK_EXCEPTION(x.narrow(0, -4, 1), IndexError, has_message("narrow: start -4 and length 1 do not fit"));
  BOOST_CHECK_EXCEPTION(x.narrow(2, 0, 1), IndexError, has_message("narrow: dim 2 is out of range"));
  BOOST_CHECK_EXCEPTION(scalar_tensor(1.0).narrow(0, 0, 1), IndexError,
                        has_message("narrow: a rank-0 tensor has no dim to narrow"));
}

BOOST_AUTO_TEST_CASE(slice_with_steps) {
  Tensor x = iota({10});
  Tensor s = x.slice(0, 2, 8, 3);
  check_values(s, {2, 5});
  BOOST_TEST((s.strides() == (Strides{3})));
  BOOST_TEST(s.offset() == 2);
  BOOST_TEST(shares_storage(x, s));
  check_values(x.slice(0, 0, 10, 4), {0, 4, 8});
  check_values(x.slice(0, 1, 10, 4), {1, 5, 9});
  check_values(x.slice(0, 0, 10, 10), {0});
  check_values(x.slice(0, 0, 10, 100), {0});
  check_values(x.slice(0, 0, 9, 3), {0, 3, 6});
  // A slice of a slice multiplies the steps and adds the offsets.
  Tensor ss = x.slice(0, 1, 10, 2).slice(0, 1, 5, 2);  // x[1::2] = 1,3,5,7,9 -> [1::2] = 3,7
  BOOST_TEST((ss.strides() == (Strides{4})));
  BOOST_TEST(ss.offset() == 3);
  check_values(ss, {3, 7});
  s.set({1}, 50.0);
  BOOST_TEST(x.at({5}) == 50.0);
}

BOOST_AUTO_TEST_CASE(slice_bounds_are_negative_or_clamped_as_in_python) {
  Tensor x = iota({10});
  check_values(x.slice(0, -3, 10), {7, 8, 9});
  check_values(x.slice(0, -3, 100), {7, 8, 9});
  check_values(x.slice(0, 0, -8), {0, 1});
  check_values(x.slice(0, -100, 2), {0, 1});
  check_values(x.slice(0, -4, -1, 2), {6, 8});
  // Empty: start at or after end, or past the size.
  BOOST_TEST((x.slice(0, 8, 2).shape() == (Shape{0})));
  BOOST_TEST((x.slice(0, 12, 20).shape() == (Shape{0})));
  BOOST_TEST((x.slice(0, -1, -1).shape() == (Shape{0})));
  BOOST_TEST((x.slice(0, 100, -100, 3).shape() == (Shape{0})));
}

BOOST_AUTO_TEST_CASE(slice_along_an_inner_dim) {
  Tensor x = iota({3, 5});
  Tensor s = x.slice(-1, 1, 5, 2);  // columns 1 and 3
  BOOST_TEST((s.shape() == (Shape{3, 2})));
  BOOST_TEST((s.strides() == (Strides{5, 2})));
  check_values(s, {1, 3, 6, 8, 11, 13});
  // Of a transposed tensor.
  Tensor t = x.mT().slice(1, 0, 3, 2);  // x.mT() is [5, 3]; rows 0 and 2 of x, as columns
  BOOST_TEST((t.shape() == (Shape{5, 2})));
  check_values(t, {0, 10, 1, 11, 2, 12, 3, 13, 4, 14});
}

BOOST_AUTO_TEST_CASE(slice_errors) {
  Tensor x = iota({3, 5});
  BOOST_CHECK_EXCEPTION(x.slice(1, 0, 5, 0), ValueError, has_message("slice: step must be >= 1, got 0"));
  BOOST_CHECK_EXCEPTION(x.slice(1, 5, 0, -1), ValueError, has_message("slice: step must be >= 1, got -1"));
  BOOST_CHECK_EXCEPTION(x.slice(2, 0, 1), IndexError,
                        has_message("slice: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(scalar_tensor(1.0).slice(0, 0, 1), IndexError,
                        has_message("slice: a rank-0 tensor has no dim to slice"));
}

BOOST_AUTO_TEST_CASE(select_removes_the_dim) {
  Tensor x = iota({3, 4});
  Tensor row = x.select(0, 1);
  BOOST_TEST((row.shape() == (Shape{4})));
  BOOST_TEST(row.offset() == 4);
  BOOST_TEST(row.is_contiguous());
  check_values(row, {4, 5, 6, 7});
  Tensor col = x.select(1, -1);
  BOOST_TEST((col.shape() == (Shape{3})));
  BOOST_TEST((col.strides() == (Strides{4})));
  BOOST_TEST(col.offset() == 3);
  check_values(col, {3, 7, 11});
  BOOST_TEST(shares_storage(x, col));
  // Down to rank 0.
  Tensor one = x.select(0, 2).select(0, 1);
  BOOST_TEST(one.dim() == 0);
  BOOST_TEST(one.item() == 9.0);
  col.set({2}, -2.0);
  BOOST_TEST(x.at({2, 3}) == -2.0);
  // Of a 3-D tensor along the middle dim.
  Tensor y = iota({2, 3, 2});
  check_values(y.select(1, 2), {4, 5, 10, 11});
}

BOOST_AUTO_TEST_CASE(select_errors) {
  Tensor x = iota({3, 4});
  BOOST_CHECK_EXCEPTION(x.select(0, 3), IndexError,
                        has_message("select: index 3 is out of range for dim 0 of size 3 (shape [3, 4])"));
  BOOST_CHECK_EXCEPTION(x.select(1, -5), IndexError,
                        has_message("select: index -5 is out of range for dim 1 of size 4 (shape [3, 4])"));
  BOOST_CHECK_EXCEPTION(x.select(-3, 0), IndexError, has_message("select: dim -3 is out of range"));
  BOOST_CHECK_EXCEPTION(zeros({0, 2}).select(0, 0), IndexError,
                        has_message("select: index 0 is out of range for dim 0 of size 0"));
  BOOST_CHECK_EXCEPTION(scalar_tensor(1.0).select(0, 0), IndexError,
                        has_message("select: a rank-0 tensor has no dim to select from"));
}

BOOST_AUTO_TEST_CASE(extreme_bounds_steps_and_lengths_do_not_overflow) {
  // Python accepts x[::sys.maxsize]; the arithmetic on such bounds must not overflow int64.
  constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t small = std::numeric_limits<std::int64_t>::min();
  Tensor x = iota({10});
  check_values(x.slice(0, 0, big), x.to_vector());
  check_values(x.slice(0, small, big), x.to_vector());
  check_values(x.slice(0, 3, big, big), {3});
  check_values(x.slice(0, small, 2, big), {0});
  BOOST_TEST((x.slice(0, big, small, big).shape() == Shape{0}));
  Tensor w = zeros({4}, {.dtype = kFloat64, .requires_grad = true});
  w.slice(0, 1, big, big).sum().backward();
  check_values(w.grad(), {0, 1, 0, 0});
  BOOST_CHECK_EXCEPTION(x.narrow(0, 1, big), IndexError,
                        has_message("narrow: start 1 and length 9223372036854775807 do not fit in dim 0 of size 10"));
  BOOST_CHECK_EXCEPTION(x.narrow(0, small, 1), IndexError,
                        has_message("narrow: start -9223372036854775808 and length 1 do not fit"));
  BOOST_CHECK_EXCEPTION(x.select(0, small), IndexError, has_message("select: index -9223372036854775808 is out of range"));
}

BOOST_AUTO_TEST_CASE(views_of_a_tensor_with_no_elements) {
  // zeros({0, 3}) owns no memory at all; its views must still be safe to read and copy.
  Tensor e = zeros({0, 3}, {.dtype = kFloat64});
  Tensor col = e.select(1, 2);
  BOOST_TEST((col.shape() == Shape{0}));
  BOOST_TEST(col.to_vector().empty());
  BOOST_TEST((e.narrow(1, 1, 2).contiguous().shape() == Shape{0, 2}));
  BOOST_TEST((e.slice(1, 1, 3).mT().clone().shape() == Shape{2, 0}));
  BOOST_TEST((e.slice(1, 2, 3).reshape({-1}).shape() == Shape{0}));
  BOOST_TEST((cat({e.narrow(1, 2, 1), e.narrow(1, 0, 1)}, 1).shape() == Shape{0, 2}));
  e.slice(1, 1, 3).fill_(1.0);
  BOOST_TEST(e.select(1, 1).to_vector().empty());
  // An empty window after the last row, then after the last column, would point 6 elements past the
  // end of the storage: empty views start at offset 0 instead.
  Tensor past = iota({4, 6}).slice(0, 4, 4).slice(1, 6, 6);
  BOOST_TEST(past.offset() == 0);
  BOOST_TEST(past.to_vector().empty());
  Tensor g = zeros({0, 3}, {.dtype = kFloat64, .requires_grad = true});
  g.select(1, 2).sum().backward();
  BOOST_TEST((g.grad().shape() == Shape{0, 3}));
}

BOOST_AUTO_TEST_SUITE_END()
