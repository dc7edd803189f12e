// Factories without randomness: constants, ranges, identity, tensors from values. Random factories and
// the generator are in test_random.cpp.
#include "support/test.hpp"

#include <cstdint>
#include <vector>

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(factories)

BOOST_AUTO_TEST_CASE(zeros_ones_full_for_every_dtype) {
  Tensor z = zeros({2, 3});
  BOOST_TEST((z.shape() == Shape{2, 3}));
  BOOST_TEST((z.dtype() == kFloat32));
  BOOST_TEST(!z.requires_grad());
  check_values(z, std::vector<double>(6, 0.0));

  check_values(ones({4}, {.dtype = kFloat64}), {1, 1, 1, 1});
  BOOST_TEST((ones({4}, {.dtype = kFloat64}).dtype() == kFloat64));
  check_values(full({2, 2}, -2.5), {-2.5, -2.5, -2.5, -2.5});
  check_values(full({3}, 7.0, {.dtype = kInt64}), {7, 7, 7});
  BOOST_TEST((full({3}, 7.0, {.dtype = kInt64}).to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 7, 7}));
  BOOST_TEST((ones({2}, {.dtype = kBool}).to_vector<bool>() == std::vector<bool>{true, true}));
  BOOST_TEST((zeros({2}, {.dtype = kBool}).to_vector<bool>() == std::vector<bool>{false, false}));
  BOOST_TEST((zeros({2}, {.dtype = kInt64}).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0}));

  // Rank 0 and size 0.
  BOOST_TEST(zeros({}).numel() == 1);
  BOOST_TEST(ones({}).item() == 1.0);
  BOOST_TEST(zeros({0, 4}).numel() == 0);
  BOOST_TEST(full({3, 0}, 1.0).to_vector().empty());

  Tensor w = ones({2}, {.dtype = kFloat64, .requires_grad = true});
  BOOST_TEST(w.requires_grad());
  BOOST_TEST(w.is_leaf());
  BOOST_CHECK_EXCEPTION(zeros({2, -3}), ShapeError, has_message("negative size in shape [2, -3]"));
}

BOOST_AUTO_TEST_CASE(like_factories_copy_shape_and_dtype_only) {
  Tensor src = full({2, 3}, 5.0, {.dtype = kFloat64, .requires_grad = true}).mT();
  Tensor z = zeros_like(src);
  BOOST_TEST((z.shape() == Shape{3, 2}));
  BOOST_TEST((z.dtype() == kFloat64));
  BOOST_TEST(!z.requires_grad());  // as in PyTorch
  BOOST_TEST(z.is_contiguous());
  check_values(z, std::vector<double>(6, 0.0));
  check_values(ones_like(src), std::vector<double>(6, 1.0));
  check_values(full_like(src, -1.25), std::vector<double>(6, -1.25));
  BOOST_TEST((full_like(tensor_of<std::int64_t>({1, 2}, {2}), 9.0).dtype() == kInt64));
}

BOOST_AUTO_TEST_CASE(scalar_tensor_has_rank_zero) {
  Tensor s = scalar_tensor(3.25, {.dtype = kFloat64});
  BOOST_TEST(s.dim() == 0);
  BOOST_TEST(s.numel() == 1);
  BOOST_TEST(s.item() == 3.25);
  BOOST_TEST((s.dtype() == kFloat64));
  BOOST_TEST(scalar_tensor(1.0, {.requires_grad = true}).requires_grad());
  BOOST_TEST(scalar_tensor(-4.0, {.dtype = kInt64}).item<std::int64_t>() == -4);
}

BOOST_AUTO_TEST_CASE(arange_is_pythons_range) {
  check_values(arange(5.0), {0, 1, 2, 3, 4});
  check_values(arange(2.0, 6.0), {2, 3, 4, 5});
  check_values(arange(0.0, 1.0, 0.25), {0, 0.25, 0.5, 0.75});  // end exclusive
  check_values(arange(0.0, 1.1, 0.5), {0, 0.5, 1.0});          // a partial last step counts
  check_values(arange(5.0, 0.0, -1.0), {5, 4, 3, 2, 1});
  check_values(arange(1.0, -1.0, -0.5), {1, 0.5, 0, -0.5});
  BOOST_TEST(arange(3.0, 3.0).numel() == 0);
  BOOST_TEST(arange(0.0, 0.3, 0.1).numel() == 3);  // 0.3 / 0.1 is 2.9999999999999996

  Tensor ids = arange(4.0, {.dtype = kInt64});
  BOOST_TEST((ids.dtype() == kInt64));
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3}));
  Tensor d = arange(0.0, 1.0, 0.1, {.dtype = kFloat64});
  BOOST_TEST(d.numel() == 10);
  BOOST_TEST(d.at({9}) == 9 * 0.1);
  BOOST_TEST(arange(3.0, {.dtype = kFloat64, .requires_grad = true}).requires_grad());
}

BOOST_AUTO_TEST_CASE(arange_errors) {
  BOOST_CHECK_EXCEPTION(arange(0.0, 5.0, 0.0), ValueError,
                        has_message("arange: start 0, end 5 and step 0 must be finite, step non-zero"));
  BOOST_CHECK_EXCEPTION(arange(0.0, INFINITY), ValueError, has_message("end inf"));
  BOOST_CHECK_EXCEPTION(arange(NAN, 1.0), ValueError, has_message("start nan"));
  BOOST_CHECK_EXCEPTION(arange(0.0, 5.0, -1.0), ValueError,
                        has_message("arange: step -1 goes away from end 5 when starting at 0"));
  BOOST_CHECK_EXCEPTION(arange(5.0, 0.0, 2.0), ValueError, has_message("step 2 goes away from end 0"));
  BOOST_CHECK_EXCEPTION(arange(-1.0), ValueError, has_message("step 1 goes away from end -1"));
  // A count that no int64 holds was converted anyway (undefined behaviour) and then surfaced as a
  // negative size in empty(); now it is named as what it is.
  BOOST_CHECK_EXCEPTION(arange(0.0, 1e300, 1e-300), ValueError,
                        has_message("arange: from 0 to 1e+300 in steps of 1e-300 is too many elements"));
}

BOOST_AUTO_TEST_CASE(linspace_includes_both_ends) {
  check_values(linspace(0.0, 1.0, 5), {0, 0.25, 0.5, 0.75, 1.0});
  check_values(linspace(2.0, -2.0, 3), {2, 0, -2});
  Tensor l = linspace(0.0, 0.3, 4, {.dtype = kFloat64});
  BOOST_TEST(l.at({3}) == 0.3);  // the last point is end exactly, not 3 * 0.1
  BOOST_TEST(l.at({1}) == 0.1, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(linspace(0.0, 1.0, 0).numel() == 0);
  // One point is start, as in NumPy and PyTorch (it used to be end).
  check_values(linspace(3.0, 10.0, 1), {3.0});
  BOOST_TEST((linspace(0.0, 4.0, 3, {.dtype = kInt64}).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 2, 4}));
  BOOST_CHECK_EXCEPTION(linspace(0.0, 1.0, -1), ValueError, has_message("linspace: steps must be >= 0, got -1"));
}

BOOST_AUTO_TEST_CASE(eye_n_by_m) {
  check_values(eye(3), {1, 0, 0, 0, 1, 0, 0, 0, 1});
  Tensor wide = eye(2, 3);
  BOOST_TEST((wide.shape() == Shape{2, 3}));
  check_values(wide, {1, 0, 0, 0, 1, 0});
  Tensor tall = eye(3, 2, {.dtype = kFloat64});
  BOOST_TEST((tall.shape() == Shape{3, 2}));
  BOOST_TEST((tall.dtype() == kFloat64));
  check_values(tall, {1, 0, 0, 1, 0, 0});
  BOOST_TEST((eye(0).shape() == Shape{0, 0}));
  BOOST_TEST((eye(2, 0).shape() == Shape{2, 0}));
  BOOST_TEST((eye(2, -1).shape() == Shape{2, 2}));  // -1: m defaults to n
  BOOST_TEST((eye(2, 2, {.dtype = kBool}).to_vector<bool>() == std::vector<bool>{true, false, false, true}));

  BOOST_CHECK_EXCEPTION(eye(-2), ValueError, has_message("eye: n must be >= 0, got -2"));
  // Any other negative m used to be read as "m = n".
  BOOST_CHECK_EXCEPTION(eye(2, -3), ValueError, has_message("eye: m must be >= 0 (or -1 for m = n), got -3"));
}

BOOST_AUTO_TEST_CASE(tensor_from_values) {
  Tensor v = tensor({1.0, -2.0, 3.5});
  BOOST_TEST((v.shape() == Shape{3}));
  BOOST_TEST((v.dtype() == kFloat32));
  check_values(v, {1.0, -2.0, 3.5});

  Tensor m = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {.dtype = kFloat64});
  BOOST_TEST((m.shape() == Shape{2, 3}));
  BOOST_TEST((m.dtype() == kFloat64));
  BOOST_TEST(m.at({1, 0}) == 4.0);
  check_values(m, {1, 2, 3, 4, 5, 6});

  Tensor shaped = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 1, 2});
  BOOST_TEST((shaped.shape() == Shape{3, 1, 2}));
  BOOST_TEST(shaped.at({2, 0, 1}) == 6.0);
  BOOST_TEST(tensor(std::vector<double>{2.5}, {}).item() == 2.5);
  BOOST_TEST(tensor({1.0}, {.requires_grad = true}).requires_grad());
  // float32 storage rounds: 0.1 becomes the nearest float.
  BOOST_TEST(tensor({0.1}).item() == static_cast<double>(0.1f));
}

// A column written as rows of one value used to be a compile error (the call was ambiguous between the
// rank-1 and rank-2 overloads), and so was tensor({}).
BOOST_AUTO_TEST_CASE(tensor_from_one_value_rows_and_no_values) {
  Tensor column = tensor({{1.0}, {2.0}, {3.0}});
  BOOST_TEST((column.shape() == Shape{3, 1}));
  check_values(column, {1, 2, 3});
  Tensor one = tensor({{4.5}}, {.dtype = kFloat64});
  BOOST_TEST((one.shape() == Shape{1, 1}));
  BOOST_TEST((one.dtype() == kFloat64));
  BOOST_TEST(one.item() == 4.5);
  BOOST_TEST((tensor({}).shape() == Shape{0}));
  BOOST_TEST((tensor({{}}).shape() == Shape{1, 0}));
  BOOST_TEST((tensor({{}, {}}).shape() == Shape{2, 0}));
  BOOST_TEST((tensor({5.0}).shape() == Shape{1}));  // a single value is still rank 1
  BOOST_TEST((tensor({1, 2}).shape() == Shape{2}));  // integer literals still convert
}

BOOST_AUTO_TEST_CASE(tensor_from_values_errors) {
  BOOST_CHECK_EXCEPTION(tensor({{1.0, 2.0}, {3.0}}), ShapeError,
                        has_message("tensor: row 1 has 1 values but row 0 has 2"));
  BOOST_CHECK_EXCEPTION(tensor({{1.0}, {2.0, 3.0}, {4.0}}), ShapeError, has_message("row 1 has 2 values but row 0 has 1"));
  BOOST_CHECK_EXCEPTION(tensor(std::vector<double>{1, 2, 3}, {2, 2}), ShapeError,
                        has_message("tensor: 3 values cannot fill shape [2, 2] (4 elements)"));
  BOOST_CHECK_EXCEPTION(tensor(std::vector<double>{}, {}), ShapeError,
                        has_message("tensor: 0 values cannot fill shape [] (1 elements)"));
  BOOST_CHECK_EXCEPTION(tensor({1.0}, {.dtype = kInt64, .requires_grad = true}), DTypeError,
                        has_message("only floating-point tensors can require gradients, got int64"));
}

BOOST_AUTO_TEST_CASE(tensor_of_keeps_exact_values) {
  // int64 values beyond 2^53 survive, which a trip through double would not.
  const std::int64_t big = (std::int64_t{1} << 60) + 1;
  Tensor ids = tensor_of<std::int64_t>({big, -7, 0, 3}, {2, 2});
  BOOST_TEST((ids.dtype() == kInt64));
  BOOST_TEST((ids.shape() == Shape{2, 2}));
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{big, -7, 0, 3}));
  BOOST_TEST(ids.at<std::int64_t>({0, 0}) == big);

  Tensor mask = tensor_of<bool>({true, false, false}, {3});
  BOOST_TEST((mask.dtype() == kBool));
  BOOST_TEST((mask.to_vector<bool>() == std::vector<bool>{true, false, false}));

  Tensor f = tensor_of<float>({0.5f, 1.5f}, {2});
  BOOST_TEST((f.dtype() == kFloat32));
  Tensor d = tensor_of<double>({0.1}, {1});
  BOOST_TEST((d.dtype() == kFloat64));
  BOOST_TEST(d.item() == 0.1);

  BOOST_CHECK_EXCEPTION(tensor_of<std::int64_t>({1, 2, 3}, {2}), ShapeError,
                        has_message("tensor_of: 3 values cannot fill shape [2] (2 elements)"));
  BOOST_CHECK_EXCEPTION(tensor_of<bool>({true}, {2, 3}), ShapeError,
                        has_message("tensor_of: 1 values cannot fill shape [2, 3] (6 elements)"));
}

BOOST_AUTO_TEST_SUITE_END()
