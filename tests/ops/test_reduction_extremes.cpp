// max, min, argmax and argmin (lib/ops/reduction.cpp): reference values, the tie rules (argmax returns the
// first element in row-major order; max's gradient is shared evenly among the tied elements), NaN,
// gradients on every rank, errors.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

const std::vector<Shape> kShapes = {{}, {1}, {4}, {3, 1}, {2, 3}, {1, 3, 2}, {2, 1, 3, 2}};

std::vector<Shape> dim_lists(int rank) {
  std::vector<Shape> lists{Shape{}};
  const int r = std::max(rank, 1);
  for (int d = -r; d < r; ++d) lists.push_back(Shape{d});
  if (rank >= 2) {
    lists.push_back(Shape{0, rank - 1});
    lists.push_back(Shape{-1, 0});
  }
  if (rank >= 3) lists.push_back(Shape{2, 0, 1});
  if (rank >= 4) lists.push_back(Shape{-1, 1});
  return lists;
}

// Distinct float64 values 0.5 apart in a random order, so that no maximum is near a tie (where max has
// no derivative) and a finite-difference step cannot change which element wins.
Tensor distinct64(const Shape& shape, Generator& gen) {
  std::vector<double> v;
  for (std::int64_t p : randperm(shape.numel(), gen).to_vector<std::int64_t>()) {
    v.push_back(0.5 * static_cast<double>(p) - 3.0);
  }
  return tensor(v, shape, {.dtype = kFloat64, .requires_grad = true});
}

Tensor ramp() { return arange(24.0, {.dtype = kFloat64}).reshape({2, 3, 4}); }  // [i, j, k] = 12i + 4j + k

std::vector<std::int64_t> ints(const Tensor& t) { return t.to_vector<std::int64_t>(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(max_and_min)

BOOST_AUTO_TEST_CASE(values_by_hand) {
  const Tensor x = tensor({{1.0, 5.0, 2.0}, {7.0, 0.0, -3.0}}, {.dtype = kFloat64});
  BOOST_TEST(max(x).item() == 7.0);
  BOOST_TEST(min(x).item() == -3.0);
  BOOST_TEST(max(x).dim() == 0);
  BOOST_TEST(x.max().item() == 7.0);
  BOOST_TEST(x.min().item() == -3.0);
  check_values(max(x, {1}), {5, 7}, 0.0);
  check_values(min(x, {0}), {1, 0, -3}, 0.0);
  check_values(max(x, {-2}, true), {7, 5, 2}, 0.0);
  BOOST_TEST((max(x, {-2}, true).shape() == (Shape{1, 3})));
  BOOST_TEST((min(x, {1}, true).shape() == (Shape{2, 1})));

  const Tensor r = ramp();
  check_values(max(r, {0, 2}), {15, 19, 23}, 0.0);
  check_values(min(r, {2, 0}), {0, 4, 8}, 0.0);
  BOOST_TEST((max(r, {0, 2}, true).shape() == (Shape{1, 3, 1})));
  check_values(max(r, {1}), {8, 9, 10, 11, 20, 21, 22, 23}, 0.0);
  check_values(min(r.permute({2, 1, 0}), {1, 2}), {0, 1, 2, 3}, 0.0);  // a non-contiguous view
  BOOST_TEST((max(r, {}, true).shape() == (Shape{1, 1, 1})));
  BOOST_TEST(max(r, {}, true).item() == 23.0);
}

BOOST_AUTO_TEST_CASE(integer_tensors_keep_their_dtype) {
  const std::int64_t big = (std::int64_t{1} << 53) + 1;  // not a double: compared exactly
  const Tensor x = tensor_of<std::int64_t>({big, big - 1, -5, 4}, {2, 2});
  BOOST_TEST((max(x).dtype() == kInt64));
  BOOST_TEST(max(x).item<std::int64_t>() == big);
  BOOST_TEST(ints(min(x, {1})) == (std::vector<std::int64_t>{big - 1, -5}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tied_elements_share_the_gradient_evenly) {
  Tensor x = tensor({{3.0, 1.0, 3.0}, {2.0, 2.0, 0.0}}, {.dtype = kFloat64, .requires_grad = true});
  max(x, {1}).backward(tensor({10.0, 20.0}, {.dtype = kFloat64}));
  check_values(x.grad(), {5, 0, 5, 10, 10, 0}, 0.0);
  x.zero_grad();
  max(x).backward();
  check_values(x.grad(), {0.5, 0, 0.5, 0, 0, 0}, 0.0);
  x.zero_grad();
  min(x, {0}).backward(tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64}));
  check_values(x.grad(), {0, 2, 0, 1, 0, 3}, 0.0);

  // All equal, over several dims: each reduced block of four shares its gradient.
  Tensor y = full({2, 2, 2}, 5.0, {.dtype = kFloat64, .requires_grad = true});
  max(y, {2, 0}).backward(tensor({1.0, 2.0}, {.dtype = kFloat64}));
  check_values(y.grad(), {0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5}, 0.0);
  y.zero_grad();
  min(y).backward();
  check_values(y.grad(), {0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125}, 0.0);
  y.zero_grad();
  max(y.transpose(0, 2), {0, 1}).backward(tensor({1.0, 2.0}, {.dtype = kFloat64}));
  // y^T[a, b, c] = y[c, b, a]: the block with c fixed is y[c, :, :].
  check_values(y.grad(), {0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5}, 0.0);

  // float32 too, on a row of ties in a bigger tensor
  Tensor z = tensor({{1.0, 4.0, 4.0, 4.0, 4.0}, {0.0, 0.0, 0.0, 0.0, 9.0}}, {.requires_grad = true});
  z.max(-1).sum().backward();
  check_values(z.grad(), {0, 0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0, 1}, 0.0);
}

BOOST_AUTO_TEST_CASE(at_a_tie_of_two_the_gradient_is_the_central_difference) {
  // A central difference at a tie of two measures the mean of the one-sided slopes, 1/2 to each: the
  // even share passes gradcheck there (a whole gradient to one of them would not).
  const Tensor x = tensor({{3.0, 1.0, 3.0}, {2.0, 2.0, 0.0}}, {.dtype = kFloat64, .requires_grad = true});
  const auto by_rows = [](const std::vector<Tensor>& in) { return max(in[0], {1}); };
  const auto whole = [](const std::vector<Tensor>& in) { return min(-in[0]); };
  BOOST_TEST(gradcheck(by_rows, {x}).ok);
  BOOST_TEST(gradcheck(whole, {x}).ok);
}

BOOST_AUTO_TEST_CASE(nan_wins) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = tensor({{1.0, nan, 3.0}, {2.0, 0.0, -1.0}}, {.dtype = kFloat64, .requires_grad = true});
  BOOST_TEST(std::isnan(max(x).item()));
  BOOST_TEST(std::isnan(min(x).item()));
  check_values(max(x, {1}), {nan, 2.0}, 0.0);
  check_values(min(x, {1}), {nan, -1.0}, 0.0);
  check_values(max(x, {0}), {2.0, nan, 3.0}, 0.0);
  // The gradient goes to the NaN; two NaNs share it.
  max(x, {1}).backward(tensor({1.0, 1.0}, {.dtype = kFloat64}));
  check_values(x.grad(), {0, 1, 0, 1, 0, 0}, 0.0);
  Tensor two = tensor({nan, 1.0, nan}, {.dtype = kFloat64, .requires_grad = true});
  min(two).backward();
  check_values(two.grad(), {0.5, 0, 0.5}, 0.0);
}

BOOST_AUTO_TEST_CASE(infinities_are_ordinary_values) {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor x = tensor({-inf, 2.0, inf, -inf}, {.dtype = kFloat64});
  BOOST_TEST(max(x).item() == inf);
  BOOST_TEST(min(x).item() == -inf);
  BOOST_TEST(argmin(x).item<std::int64_t>() == 0);
  BOOST_TEST(max(full({3}, -inf)).item() == -inf);
}

BOOST_AUTO_TEST_CASE(rank_zero_gives_a_new_tensor) {
  Tensor x = scalar_tensor(2.5, {.dtype = kFloat64, .requires_grad = true});
  const Tensor m = max(x);
  BOOST_TEST(m.item() == 2.5);
  BOOST_TEST(min(x, {0}, true).item() == 2.5);
  BOOST_TEST(!m.is_same(x));
  BOOST_TEST(m.grad_fn_name() != "");
  m.backward();
  BOOST_TEST(x.grad().item() == 1.0);
  {
    NoGradGuard no_grad;
    Tensor n = max(x);
    n.fill_(7.0);  // writes into the result only
  }
  BOOST_TEST(x.item() == 2.5);
}

BOOST_AUTO_TEST_CASE(empty_results_are_fine_but_empty_reductions_are_errors) {
  // Reducing a non-empty dim of an empty tensor gives an empty result, as in PyTorch.
  BOOST_TEST((max(zeros({0, 3}), {1}).shape() == (Shape{0})));
  BOOST_TEST((argmax(zeros({0, 3}), 1, true).shape() == (Shape{0, 1})));
  // An empty set has no maximum.
  BOOST_CHECK_EXCEPTION(max(zeros({2, 0, 3}), {1}), ShapeError,
                        has_message("max: cannot reduce dim 1 of size 0 (shape [2, 0, 3]): an empty set has no maximum"));
  BOOST_CHECK_EXCEPTION(min(zeros({2, 0, 3}), {2, 1}), ShapeError,
                        has_message("min: cannot reduce dim 1 of size 0 (shape [2, 0, 3]): an empty set has no minimum"));
  BOOST_CHECK_EXCEPTION(max(zeros({2, 0, 3})), ShapeError, has_message("max: cannot reduce dim 1 of size 0 (shape [2, 0, 3])"));
  BOOST_CHECK_EXCEPTION(argmax(zeros({2, 0, 3}), -2), ShapeError,
                        has_message("argmax: cannot reduce dim 1 of size 0 (shape [2, 0, 3])"));
  BOOST_CHECK_EXCEPTION(argmin(zeros({2, 0})), ShapeError, has_message("argmin: cannot reduce dim 1 of size 0 (shape [2, 0])"));
}

BOOST_AUTO_TEST_CASE(gradients_on_every_rank) {
  Generator gen(3);
  for (const Shape& shape : kShapes) {
    const Tensor x = distinct64(shape, gen);
    for (const Shape& dims : dim_lists(shape.rank())) {
      for (bool keepdim : {false, true}) {
        BOOST_TEST_CONTEXT("shape " << fmt::format("{}", shape) << " dims " << fmt::format("{}", dims)
                                    << " keepdim " << keepdim) {
          check_gradients([&](const auto& in) { return max(in[0], dims, keepdim); }, {x});
          check_gradients([&](const auto& in) { return min(in[0], dims, keepdim); }, {x});
        }
      }
    }
  }
}

// Checks whose result is max's (min's) own node, so that they target it (docs/teaching.md, the op
// manifest): the last dim kept, where no reshape follows.
BOOST_AUTO_TEST_CASE(gradients_of_the_op_itself) {
  Generator gen(4);
  for (const Shape& shape : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}}) {
    const Tensor x = distinct64(shape, gen);
    check_gradients([](const auto& in) { return max(in[0], {-1}, true); }, {x});
    check_gradients([](const auto& in) { return min(in[0], {-1}, true); }, {x});
  }
  CheckTarget target;
  check_gradients([](const auto& in) { return max(in[0], {-1}, true); }, {distinct64({2, 3}, gen)});
  BOOST_TEST(target.key() == "max");
}

BOOST_AUTO_TEST_CASE(bool_tensors_are_dtype_errors) {
  const Tensor mask = tensor_of<bool>({true, false}, {2});
  BOOST_CHECK_EXCEPTION(max(mask), DTypeError, has_message("max: expected a numeric tensor, got bool"));
  BOOST_CHECK_EXCEPTION(min(mask, {0}), DTypeError, has_message("min: expected a numeric tensor, got bool"));
  BOOST_CHECK_EXCEPTION(argmax(mask, 0), DTypeError, has_message("argmax: expected a numeric tensor, got bool"));
  BOOST_CHECK_EXCEPTION(argmin(mask), DTypeError, has_message("argmin: expected a numeric tensor, got bool"));
}

BOOST_AUTO_TEST_CASE(bad_dims_are_index_errors) {
  const Tensor x = zeros({2, 3});
  BOOST_CHECK_EXCEPTION(max(x, {2}), IndexError,
                        has_message("max: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(min(x, {-3}, true), IndexError,
                        has_message("min: dim -3 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(max(x, {0, -2}), IndexError, has_message("max: dim 0 appears twice in [0, -2]"));
  BOOST_CHECK_EXCEPTION(min(x, {1, 1}), IndexError, has_message("min: dim 1 appears twice in [1, 1]"));
  BOOST_CHECK_EXCEPTION(argmax(x, 2), IndexError,
                        has_message("argmax: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(argmin(x, -3, true), IndexError,
                        has_message("argmin: dim -3 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(argmax(scalar_tensor(1.0), 1), IndexError,
                        has_message("argmax: dim 1 is out of range for a tensor of rank 0 (expected -1..0)"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(argmax_and_argmin)

BOOST_AUTO_TEST_CASE(indices_by_hand) {
  const Tensor x = tensor({{1.0, 5.0, 2.0}, {7.0, 0.0, 7.0}}, {.dtype = kFloat64});
  const Tensor a = argmax(x, 1);
  BOOST_TEST((a.dtype() == kInt64));
  BOOST_TEST((a.shape() == (Shape{2})));
  BOOST_TEST(ints(a) == (std::vector<std::int64_t>{1, 0}), boost::test_tools::per_element());  // tie 7, 7: first
  BOOST_TEST(ints(argmax(x, 0)) == (std::vector<std::int64_t>{1, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(ints(argmin(x, -1)) == (std::vector<std::int64_t>{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(ints(argmin(x, 0)) == (std::vector<std::int64_t>{0, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST((argmax(x, 1, true).shape() == (Shape{2, 1})));
  BOOST_TEST((argmin(x, 0, true).shape() == (Shape{1, 3})));
  BOOST_TEST(ints(x.argmax(-1)) == (std::vector<std::int64_t>{1, 0}), boost::test_tools::per_element());

  const Tensor r = ramp();
  BOOST_TEST(ints(argmax(r, 1)) == std::vector<std::int64_t>(8, 2), boost::test_tools::per_element());
  BOOST_TEST(ints(argmin(r.transpose(0, 2), 0)) == std::vector<std::int64_t>(6, 0), boost::test_tools::per_element());
  BOOST_TEST(ints(argmax(r.transpose(0, 2), 2)) == std::vector<std::int64_t>(12, 1), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(flattened_indices) {
  const Tensor x = tensor({{1.0, 5.0, 2.0}, {7.0, 0.0, 7.0}}, {.dtype = kFloat64});
  const Tensor a = argmax(x);
  BOOST_TEST(a.dim() == 0);
  BOOST_TEST((a.dtype() == kInt64));
  BOOST_TEST(a.item<std::int64_t>() == 3);
  BOOST_TEST(argmin(x).item<std::int64_t>() == 4);
  // A transposed view is flattened in its own row-major order: x^T = [[1, 7], [5, 0], [2, 7]].
  BOOST_TEST(argmax(x.transpose(0, 1)).item<std::int64_t>() == 1);
  BOOST_TEST(argmin(x.transpose(0, 1)).item<std::int64_t>() == 3);
  BOOST_TEST(argmax(scalar_tensor(4.0)).item<std::int64_t>() == 0);
  BOOST_TEST(argmax(scalar_tensor(4.0), 0).item<std::int64_t>() == 0);
  BOOST_TEST(argmin(scalar_tensor(4.0), -1, true).dim() == 0);
  BOOST_TEST(argmax(tensor_of<std::int64_t>({3, 9, 9, -1}, {4})).item<std::int64_t>() == 1);
  BOOST_TEST(argmin(tensor_of<std::int64_t>({3, -1, 9, -1}, {2, 2})).item<std::int64_t>() == 1);
}

BOOST_AUTO_TEST_CASE(nan_wins_and_the_first_nan_is_chosen) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor x = tensor({{1.0, nan, 3.0, nan}, {2.0, 9.0, 0.0, -1.0}});
  BOOST_TEST(argmax(x).item<std::int64_t>() == 1);
  BOOST_TEST(argmin(x).item<std::int64_t>() == 1);
  BOOST_TEST(ints(argmax(x, 1)) == (std::vector<std::int64_t>{1, 1}), boost::test_tools::per_element());
  BOOST_TEST(ints(argmin(x, 1)) == (std::vector<std::int64_t>{1, 3}), boost::test_tools::per_element());
  BOOST_TEST(ints(argmax(x, 0)) == (std::vector<std::int64_t>{1, 0, 0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(indices_carry_no_gradient) {
  const Tensor x = tensor({1.0, 3.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  BOOST_TEST(!argmax(x, 0).requires_grad());
  BOOST_TEST(!argmin(x).requires_grad());
}

BOOST_AUTO_TEST_CASE(the_argmax_picks_the_max) {
  // On random data with a few forced ties, max and argmax (min and argmin) agree, along every dim of a rank-3 tensor.
  Generator gen(9);
  Tensor x = randint(0, 4, {3, 4, 5}, gen).to(kFloat32);
  for (int d = 0; d < 3; ++d) {
    Shape along{1, 1, 1};  // positions 0..n-1 along dim d
    along[d] = x.size(d);
    const Tensor positions = arange(static_cast<double>(x.size(d)), {.dtype = kInt64}).reshape(along);
    const Tensor picked = where(eq(positions, argmax(x, d, true)), x, 0.0);
    check_close(sum(picked, {d}, true), max(x, {d}, true), 0.0);
    const Tensor lowest = where(eq(positions, argmin(x, d, true)), x, 0.0);
    check_close(sum(lowest, {d}, true), min(x, {d}, true), 0.0);
  }
}

BOOST_AUTO_TEST_SUITE_END()
