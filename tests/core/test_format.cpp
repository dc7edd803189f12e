// Printing tensors: the exact text for each rank and dtype, the autograd suffixes, special values,
// scientific notation, summarised big tensors and views.
#include "support/test.hpp"

#include <cmath>
#include <string>

using namespace attograd;
using namespace attograd::testing;

namespace {
std::string str(const Tensor& t) { return fmt::format("{}", t); }
}  // namespace

BOOST_AUTO_TEST_SUITE(format)

BOOST_AUTO_TEST_CASE(rank_zero) {
  BOOST_TEST(str(scalar_tensor(3.5)) == "tensor(3.5000)");
  BOOST_TEST(str(scalar_tensor(-0.25, {.dtype = kFloat64})) == "tensor(-0.2500, dtype=float64)");
  BOOST_TEST(str(scalar_tensor(7.0, {.dtype = kInt64})) == "tensor(7, dtype=int64)");
  BOOST_TEST(str(scalar_tensor(1.0, {.dtype = kBool})) == "tensor(true, dtype=bool)");
}

BOOST_AUTO_TEST_CASE(rank_one_right_aligns_the_entries) {
  BOOST_TEST(str(tensor({1.0, 2.0, 3.0})) == "tensor([1.0000, 2.0000, 3.0000])");
  BOOST_TEST(str(tensor({1.0, -2.0})) == "tensor([ 1.0000, -2.0000])");
  BOOST_TEST(str(tensor({0.5, 12.25, -100.0})) == "tensor([   0.5000,   12.2500, -100.0000])");
  BOOST_TEST(str(tensor({0.1})) == "tensor([0.1000])");  // the float nearest 0.1, rounded to 4 digits
  BOOST_TEST(str(tensor({0.00005, 1.0}, {.dtype = kFloat64})) == "tensor([5.0000e-05, 1.0000e+00], dtype=float64)");
  BOOST_TEST(str(zeros({0})) == "tensor([])");
}

BOOST_AUTO_TEST_CASE(rank_two) {
  BOOST_TEST(str(tensor({{1.0, 2.5}, {-3.0, 4.0}})) ==
             "tensor([[ 1.0000,  2.5000],\n"
             "        [-3.0000,  4.0000]])");
  BOOST_TEST(str(eye(2, 3, {.dtype = kFloat64})) ==
             "tensor([[1.0000, 0.0000, 0.0000],\n"
             "        [0.0000, 1.0000, 0.0000]], dtype=float64)");
  BOOST_TEST(str(zeros({1, 1})) == "tensor([[0.0000]])");
}

BOOST_AUTO_TEST_CASE(rank_three_separates_blocks_by_a_blank_line) {
  BOOST_TEST(str(arange(12.0).reshape({2, 2, 3})) ==
             "tensor([[[ 0.0000,  1.0000,  2.0000],\n"
             "         [ 3.0000,  4.0000,  5.0000]],\n"
             "\n"
             "        [[ 6.0000,  7.0000,  8.0000],\n"
             "         [ 9.0000, 10.0000, 11.0000]]])");
  BOOST_TEST(str(arange(4.0, {.dtype = kInt64}).reshape({2, 1, 1, 2})) ==
             "tensor([[[[0, 1]]],\n"
             "\n"
             "\n"
             "        [[[2, 3]]]], dtype=int64)");
}

BOOST_AUTO_TEST_CASE(integer_and_bool_dtypes) {
  BOOST_TEST(str(arange(6.0, {.dtype = kInt64}).reshape({2, 3})) ==
             "tensor([[0, 1, 2],\n"
             "        [3, 4, 5]], dtype=int64)");
  BOOST_TEST(str(tensor_of<std::int64_t>({-10, 5, 123}, {3})) == "tensor([-10,   5, 123], dtype=int64)");
  BOOST_TEST(str(tensor_of<bool>({true, false, true}, {3})) == "tensor([ true, false,  true], dtype=bool)");
  BOOST_TEST(str(tensor_of<bool>({true, false, false, true}, {2, 2})) ==
             "tensor([[ true, false],\n"
             "        [false,  true]], dtype=bool)");
  // Big integers never switch to scientific notation.
  BOOST_TEST(str(tensor_of<std::int64_t>({1000000000000, 1}, {2})) == "tensor([1000000000000,             1], dtype=int64)");
}

BOOST_AUTO_TEST_CASE(autograd_suffixes) {
  Tensor x = tensor({1.0, 2.0}, {.requires_grad = true});
  BOOST_TEST(str(x) == "tensor([1.0000, 2.0000], requires_grad=true)");
  BOOST_TEST(str(x * 2.0) == "tensor([2.0000, 4.0000], grad_fn=mul)");
  Tensor y = tensor({3.0}, {.dtype = kFloat64, .requires_grad = true});
  BOOST_TEST(str(y.exp().log()) == "tensor([3.0000], dtype=float64, grad_fn=log)");
  BOOST_TEST(str(y.detach()) == "tensor([3.0000], dtype=float64)");
  {
    NoGradGuard no_grad;
    BOOST_TEST(str(x * 2.0) == "tensor([2.0000, 4.0000])");
  }
}

BOOST_AUTO_TEST_CASE(nan_and_inf) {
  BOOST_TEST(str(tensor({NAN, INFINITY, -INFINITY, 1.0})) == "tensor([   nan,    inf,   -inf, 1.0000])");
  BOOST_TEST(str(scalar_tensor(NAN, {.dtype = kFloat64})) == "tensor(nan, dtype=float64)");
  // Non-finite values do not decide the notation.
  BOOST_TEST(str(tensor({INFINITY, 0.5})) == "tensor([   inf, 0.5000])");
  BOOST_TEST(str(tensor({NAN, 1e9})) == "tensor([       nan, 1.0000e+09])");
}

BOOST_AUTO_TEST_CASE(scientific_for_very_large_or_small_values) {
  BOOST_TEST(str(tensor({1e9, 1.0})) == "tensor([1.0000e+09, 1.0000e+00])");
  BOOST_TEST(str(tensor({-2e8})) == "tensor([-2.0000e+08])");
  BOOST_TEST(str(tensor({1e-5, 1.0})) == "tensor([1.0000e-05, 1.0000e+00])");
  BOOST_TEST(str(scalar_tensor(1.5e-7, {.dtype = kFloat64})) == "tensor(1.5000e-07, dtype=float64)");
  // The boundaries: 1e8 and above, or any non-zero below 1e-4.
  BOOST_TEST(str(tensor({99999999.0}, {.dtype = kFloat64})) == "tensor([99999999.0000], dtype=float64)");
  BOOST_TEST(str(tensor({100000000.0}, {.dtype = kFloat64})) == "tensor([1.0000e+08], dtype=float64)");
  BOOST_TEST(str(tensor({0.0001}, {.dtype = kFloat64})) == "tensor([0.0001], dtype=float64)");
  BOOST_TEST(str(tensor({0.0000999}, {.dtype = kFloat64})) == "tensor([9.9900e-05], dtype=float64)");
  // Zeros are not small values.
  BOOST_TEST(str(tensor({0.0, 1.0})) == "tensor([0.0000, 1.0000])");
  BOOST_TEST(str(tensor({-0.0, 0.0})) == "tensor([-0.0000,  0.0000])");
}

BOOST_AUTO_TEST_CASE(big_tensors_are_summarised) {
  BOOST_TEST(str(arange(2000.0, {.dtype = kInt64})) == "tensor([   0,    1,    2, ..., 1997, 1998, 1999], dtype=int64)");
  // The threshold is 1000 elements: 1000 are printed in full, 1001 are not.
  const std::string full = str(arange(1000.0, {.dtype = kInt64}));
  BOOST_TEST(full.find("...") == std::string::npos);
  BOOST_TEST(full.find(" 500, 501,") != std::string::npos);
  BOOST_TEST(str(arange(1001.0, {.dtype = kInt64})) ==
             "tensor([   0,    1,    2, ...,  998,  999, 1000], dtype=int64)");

  BOOST_TEST(str(arange(2000.0).reshape({200, 10})) ==
             "tensor([[   0.0000,    1.0000,    2.0000, ...,    7.0000,    8.0000,    9.0000],\n"
             "        [  10.0000,   11.0000,   12.0000, ...,   17.0000,   18.0000,   19.0000],\n"
             "        [  20.0000,   21.0000,   22.0000, ...,   27.0000,   28.0000,   29.0000],\n"
             "        ...,\n"
             "        [1970.0000, 1971.0000, 1972.0000, ..., 1977.0000, 1978.0000, 1979.0000],\n"
             "        [1980.0000, 1981.0000, 1982.0000, ..., 1987.0000, 1988.0000, 1989.0000],\n"
             "        [1990.0000, 1991.0000, 1992.0000, ..., 1997.0000, 1998.0000, 1999.0000]])");
  // A dim of at most 2 * 3 entries is shown whole even when the tensor is summarised.
  BOOST_TEST(str(arange(3000.0, {.dtype = kInt64}).reshape({500, 6})).find("[   0,    1,    2,    3,    4,    5],") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_ellipsis_of_a_block_dim_is_spaced_like_the_blocks) {
  // As in NumPy and PyTorch: "..." stands for hidden blocks and is separated from its neighbours by the
  // same blank line as they are (it used to follow the previous block on the next line).
  BOOST_TEST(str(arange(3000.0, {.dtype = kInt64}).reshape({1000, 3, 1})) ==
             "tensor([[[   0],\n"
             "         [   1],\n"
             "         [   2]],\n"
             "\n"
             "        [[   3],\n"
             "         [   4],\n"
             "         [   5]],\n"
             "\n"
             "        [[   6],\n"
             "         [   7],\n"
             "         [   8]],\n"
             "\n"
             "        ...,\n"
             "\n"
             "        [[2991],\n"
             "         [2992],\n"
             "         [2993]],\n"
             "\n"
             "        [[2994],\n"
             "         [2995],\n"
             "         [2996]],\n"
             "\n"
             "        [[2997],\n"
             "         [2998],\n"
             "         [2999]]], dtype=int64)");
}

BOOST_AUTO_TEST_CASE(print_options) {
  const Tensor t = arange(10.0, {.dtype = kFloat64}) / 3.0;
  BOOST_TEST(to_string(t, {.precision = 2}) ==
             "tensor([0.00, 0.33, 0.67, 1.00, 1.33, 1.67, 2.00, 2.33, 2.67, 3.00], dtype=float64)");
  BOOST_TEST(to_string(t, {.precision = 1, .threshold = 5, .edge_items = 2}) ==
             "tensor([0.0, 0.3, ..., 2.7, 3.0], dtype=float64)");
  BOOST_TEST(to_string(t, {.precision = 0, .threshold = 5, .edge_items = 0}) == "tensor([...], dtype=float64)");
  // fmt and to_string agree, with the default options.
  BOOST_TEST(str(t) == to_string(t));
}

BOOST_AUTO_TEST_CASE(views_print_in_logical_order) {
  const Tensor t = arange(6.0).reshape({2, 3});
  BOOST_TEST(str(t.transpose(0, 1)) ==
             "tensor([[0.0000, 3.0000],\n"
             "        [1.0000, 4.0000],\n"
             "        [2.0000, 5.0000]])");
  BOOST_TEST(str(t.select(1, 2)) == "tensor([2.0000, 5.0000])");
  BOOST_TEST(str(t.slice(1, 0, 3, 2)) ==
             "tensor([[0.0000, 2.0000],\n"
             "        [3.0000, 5.0000]])");
  BOOST_TEST(str(tensor({1.0, 2.0}).expand({2, 2})) ==
             "tensor([[1.0000, 2.0000],\n"
             "        [1.0000, 2.0000]])");
  // A summarised transposed view shows the logical first and last entries.
  BOOST_TEST(str(arange(2002.0, {.dtype = kInt64}).reshape({2, 1001}).mT()) ==
             "tensor([[   0, 1001],\n"
             "        [   1, 1002],\n"
             "        [   2, 1003],\n"
             "        ...,\n"
             "        [ 998, 1999],\n"
             "        [ 999, 2000],\n"
             "        [1000, 2001]], dtype=int64)");
}

BOOST_AUTO_TEST_CASE(undefined_and_empty) {
  BOOST_TEST(str(Tensor()) == "tensor(undefined)");
  BOOST_TEST(to_string(Tensor()) == "tensor(undefined)");
  BOOST_TEST(str(zeros({0}, {.dtype = kInt64})) == "tensor([], dtype=int64)");
  // An empty tensor of rank 2 or more shows its shape, as PyTorch does: nested brackets hid the sizes
  // after the zero ([2, 0, 3] printed as two empty rows with a blank line between them).
  BOOST_TEST(str(zeros({2, 0})) == "tensor([], size=[2, 0])");
  BOOST_TEST(str(zeros({2, 0, 3}, {.dtype = kFloat64})) == "tensor([], size=[2, 0, 3], dtype=float64)");
  BOOST_TEST(str(zeros({0, 4}).requires_grad_()) == "tensor([], size=[0, 4], requires_grad=true)");
}

BOOST_AUTO_TEST_SUITE_END()
