// sum, mean and sum_to (lib/ops/reduction.cpp): reference values, gradients on every rank 0..4 with
// size-1 dims, integer and bool sums, float32 accuracy, and the errors. max, min, argmax and argmin are
// in test_reduction_extremes.cpp.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Shapes of rank 0 to 4, with size-1 dims in several places.
const std::vector<Shape> kShapes = {{}, {1}, {4}, {3, 1}, {2, 3}, {1, 3, 2}, {2, 1, 3, 2}};

// The dim lists worth reducing over for a rank: all ({}), every single dim (both signs), and a few sets
// of several dims, given out of order and with negative entries.
std::vector<Shape> dim_lists(int rank) {
  std::vector<Shape> lists{Shape{}};
  const int r = std::max(rank, 1);  // a rank-0 tensor accepts dim 0 and -1
  for (int d = -r; d < r; ++d) lists.push_back(Shape{d});
  if (rank >= 2) {
    lists.push_back(Shape{0, rank - 1});
    lists.push_back(Shape{-1, 0});
  }
  if (rank >= 3) lists.push_back(Shape{2, 0, 1});
  if (rank >= 4) lists.push_back(Shape{-1, 1});
  return lists;
}

// [[1, 2, 3], [4, 5, 6]] in float64.
Tensor small() { return tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {.dtype = kFloat64}); }

// 0..23 as [2, 3, 4]: element [i, j, k] is 12i + 4j + k.
Tensor ramp() { return arange(24.0, {.dtype = kFloat64}).reshape({2, 3, 4}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(sum_and_mean)

BOOST_AUTO_TEST_CASE(sum_values_by_hand) {
  const Tensor x = small();
  BOOST_TEST(sum(x).dim() == 0);
  BOOST_TEST(sum(x).item() == 21.0);
  check_values(sum(x, {0}), {5, 7, 9}, 0.0);
  check_values(sum(x, {1}), {6, 15}, 0.0);
  check_values(sum(x, {-1}), {6, 15}, 0.0);
  BOOST_TEST((sum(x, {-1}, true).shape() == (Shape{2, 1})));
  BOOST_TEST((sum(x, {0}, true).shape() == (Shape{1, 3})));
  BOOST_TEST((sum(x, {0, 1}, true).shape() == (Shape{1, 1})));
  BOOST_TEST(sum(x, {1, 0}).item() == 21.0);
  BOOST_TEST(x.sum().item() == 21.0);
  check_values(x.sum({0}, true), {5, 7, 9}, 0.0);

  // Several dims of a rank-3 tensor: sum over i and k of 12i + 4j + k = 32j + 60.
  const Tensor r = ramp();
  check_values(sum(r, {0, 2}), {60, 92, 124}, 0.0);
  check_values(sum(r, {-1, 0}), {60, 92, 124}, 0.0);
  BOOST_TEST((sum(r, {2, 0}, true).shape() == (Shape{1, 3, 1})));
  // Over dim 1: 3 * (12i + k) + 12.
  check_values(sum(r, {1}), {12, 15, 18, 21, 48, 51, 54, 57}, 0.0);
}

BOOST_AUTO_TEST_CASE(an_empty_dim_list_means_every_dim) {
  const Tensor r = ramp();
  BOOST_TEST(sum(r, {}).dim() == 0);
  BOOST_TEST(sum(r, {}).item() == 276.0);
  BOOST_TEST((sum(r, {}, true).shape() == (Shape{1, 1, 1})));
  BOOST_TEST(sum(r, {}, true).item() == 276.0);
  BOOST_TEST(mean(r, {}).item() == 11.5);
  BOOST_TEST((mean(r, {}, true).shape() == (Shape{1, 1, 1})));
}

BOOST_AUTO_TEST_CASE(one_dim_as_an_integer_is_that_dim_alone) {
  // x.sum(-1) as PyTorch writes it; a braced list stays a list of dims ({} is every dim, above).
  const Tensor r = ramp();
  check_values(r.sum(-1), sum(r, {-1}).to_vector<double>(), 0.0);
  check_values(sum(r, 1), sum(r, {1}).to_vector<double>(), 0.0);
  BOOST_TEST((r.sum(0, true).shape() == (Shape{1, 3, 4})));
  BOOST_TEST((mean(r, std::int64_t{2}, true).shape() == (Shape{2, 3, 1})));
  check_values(r.mean(1), mean(r, {1}).to_vector<double>(), 0.0);
  check_values(r.max(-1), max(r, {-1}).to_vector<double>(), 0.0);
  check_values(min(r, 0), min(r, {0}).to_vector<double>(), 0.0);
  BOOST_TEST((r.max(std::size_t{1}, true).shape() == (Shape{2, 1, 4})));
  BOOST_CHECK_THROW(r.sum(3), IndexError);
  BOOST_CHECK_THROW(max(r, -4), IndexError);
}

BOOST_AUTO_TEST_CASE(mean_values_by_hand) {
  const Tensor x = small();
  BOOST_TEST(mean(x).item() == 3.5);
  check_values(mean(x, {0}), {2.5, 3.5, 4.5}, 0.0);
  check_values(mean(x, {-1}, true), {2.0, 5.0}, 0.0);
  BOOST_TEST((mean(x, {-1}, true).shape() == (Shape{2, 1})));
  check_values(mean(ramp(), {0, 2}), {7.5, 11.5, 15.5}, 0.0);
  BOOST_TEST((x.mean({1}).dtype() == kFloat64));
  BOOST_TEST((tensor({1.0f, 2.0f}).mean().dtype() == kFloat32));
}

BOOST_AUTO_TEST_CASE(rank_zero_and_empty_tensors) {
  const Tensor s = scalar_tensor(3.5, {.dtype = kFloat64});
  BOOST_TEST(sum(s).item() == 3.5);
  BOOST_TEST(sum(s, {0}).dim() == 0);
  BOOST_TEST(sum(s, {-1}, true).dim() == 0);
  BOOST_TEST(mean(s, {0}).item() == 3.5);

  // The sum of nothing is 0; the mean of nothing is 0 / 0, NaN (as in PyTorch).
  const Tensor e = zeros({0, 3}, {.dtype = kFloat64});
  BOOST_TEST(sum(e).item() == 0.0);
  check_values(sum(e, {0}), {0, 0, 0}, 0.0);
  BOOST_TEST((sum(e, {1}).shape() == (Shape{0})));
  BOOST_TEST(std::isnan(mean(e).item()));
}

BOOST_AUTO_TEST_CASE(sums_of_views_read_through_their_strides) {
  const Tensor x = small();
  check_values(sum(x.transpose(0, 1), {1}), {5, 7, 9}, 0.0);
  check_values(sum(x.narrow(1, 1, 2), {1}), {5, 11}, 0.0);
  check_values(sum(x.select(0, 1).expand({4, 3}), {0}), {16, 20, 24}, 0.0);
  check_values(sum(ramp().permute({2, 0, 1}), {1, 2}), {60, 66, 72, 78}, 0.0);
}

BOOST_AUTO_TEST_CASE(sum_of_bool_counts_trues_as_int64) {
  const Tensor mask = tensor_of<bool>({true, false, true, true, true, true}, {2, 3});
  const Tensor total = sum(mask);
  BOOST_TEST((total.dtype() == kInt64));
  BOOST_TEST(total.item<std::int64_t>() == 5);
  const Tensor rows = sum(mask, {1});
  BOOST_TEST((rows.dtype() == kInt64));
  BOOST_TEST(rows.to_vector<std::int64_t>() == (std::vector<std::int64_t>{2, 3}), boost::test_tools::per_element());
  BOOST_TEST(sum(mask, {0}, true).to_vector<std::int64_t>() == (std::vector<std::int64_t>{2, 1, 2}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(int64_sums_are_exact) {
  // 2^53 + 1 + 1: a sum through double would round each partial sum back to 2^53.
  const std::int64_t big = std::int64_t{1} << 53;
  const Tensor x = tensor_of<std::int64_t>({big, 1, 1, -4, 7, 2}, {2, 3});
  BOOST_TEST((sum(x).dtype() == kInt64));
  BOOST_TEST(sum(x).item<std::int64_t>() == big + 7);
  BOOST_TEST(sum(x, {1}).to_vector<std::int64_t>() == (std::vector<std::int64_t>{big + 2, 5}),
             boost::test_tools::per_element());
  BOOST_TEST(sum(x, {0}).to_vector<std::int64_t>() == (std::vector<std::int64_t>{big - 4, 8, 3}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(float32_sums_accumulate_in_double) {
  // A million copies of 0.1f: a float accumulator drifts by about 1%; double keeps every digit float has.
  const double tenth = static_cast<double>(0.1f);
  const Tensor x = full({1000000}, 0.1);
  BOOST_TEST((sum(x).dtype() == kFloat32));
  BOOST_TEST(sum(x).item() == static_cast<double>(static_cast<float>(1e6 * tenth)));
  BOOST_TEST(std::abs(mean(x).item() - tenth) <= 1e-7);

  // Along a dim, both when the summed elements are adjacent and when they are a row apart.
  check_values(sum(x.reshape({2, 500000}), {1}), {5e5 * tenth, 5e5 * tenth}, 1e-7);
  check_values(sum(x.reshape({500000, 2}), {0}), {5e5 * tenth, 5e5 * tenth}, 1e-7);
}

BOOST_AUTO_TEST_CASE(sum_and_mean_gradients_on_every_rank) {
  Generator gen(11);
  for (const Shape& shape : kShapes) {
    const Tensor x = rand64(shape, gen);
    for (const Shape& dims : dim_lists(shape.rank())) {
      for (bool keepdim : {false, true}) {
        BOOST_TEST_CONTEXT("shape " << fmt::format("{}", shape) << " dims " << fmt::format("{}", dims)
                                    << " keepdim " << keepdim) {
          check_gradients([&](const auto& in) { return sum(in[0], dims, keepdim); }, {x});
          check_gradients([&](const auto& in) { return mean(in[0], dims, keepdim); }, {x});
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(gradients_by_hand) {
  // d(sum over dim 1)/dx = 1 everywhere; the mean divides by the 4 elements of each row.
  Tensor x = zeros({2, 4}, {.dtype = kFloat64, .requires_grad = true});
  sum(x, {1}).backward(tensor({2.0, 3.0}, {.dtype = kFloat64}));
  check_values(x.grad(), {2, 2, 2, 2, 3, 3, 3, 3}, 0.0);
  x.zero_grad();
  mean(x, {1}, true).backward(tensor(std::vector<double>{2.0, 3.0}, {2, 1}, {.dtype = kFloat64}));
  check_values(x.grad(), {0.5, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75}, 0.0);
  x.zero_grad();
  mean(x).backward();
  check_values(x.grad(), std::vector<double>(8, 0.125), 0.0);
  BOOST_TEST(sum(x).grad_fn_name() == "sum");
}

BOOST_AUTO_TEST_CASE(mean_of_integers_is_a_dtype_error) {
  const Tensor ids = tensor_of<std::int64_t>({1, 2, 3}, {3});
  BOOST_CHECK_EXCEPTION(mean(ids), DTypeError,
                        has_message("mean: expected a floating-point tensor, got int64; convert with .to(kFloat32)"));
  BOOST_CHECK_EXCEPTION(mean(ids, {0}, true), DTypeError, has_message("mean: expected a floating-point tensor, got int64"));
  BOOST_CHECK_EXCEPTION(mean(tensor_of<bool>({true}, {1})), DTypeError,
                        has_message("mean: expected a floating-point tensor, got bool"));
  BOOST_TEST(mean(ids.to(kFloat32)).item() == 2.0);
}

BOOST_AUTO_TEST_CASE(dims_out_of_range_are_index_errors) {
  const Tensor x = small();
  BOOST_CHECK_EXCEPTION(sum(x, {3}), IndexError,
                        has_message("sum: dim 3 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(sum(x, {0, -3}), IndexError,
                        has_message("sum: dim -3 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(mean(x, {2}, true), IndexError,
                        has_message("mean: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(sum(scalar_tensor(1.0), {1}), IndexError,
                        has_message("sum: dim 1 is out of range for a tensor of rank 0 (expected -1..0)"));
}

BOOST_AUTO_TEST_CASE(duplicate_dims_are_index_errors) {
  const Tensor x = small();
  BOOST_CHECK_EXCEPTION(sum(x, {1, -1}), IndexError, has_message("sum: dim 1 appears twice in [1, -1]"));
  BOOST_CHECK_EXCEPTION(sum(x, {0, 0}, true), IndexError, has_message("sum: dim 0 appears twice in [0, 0]"));
  BOOST_CHECK_EXCEPTION(mean(x, {-2, 1, 0}), IndexError, has_message("mean: dim 0 appears twice in [-2, 1, 0]"));
  BOOST_CHECK_EXCEPTION(sum(scalar_tensor(1.0), {0, -1}), IndexError, has_message("sum: dim 0 appears twice in [0, -1]"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sum_to_shape)

BOOST_AUTO_TEST_CASE(sums_broadcast_dims_away) {
  const Tensor r = ramp();
  const Tensor a = sum_to(r, {3, 1});
  BOOST_TEST((a.shape() == (Shape{3, 1})));
  check_values(a, {60, 92, 124}, 0.0);
  const Tensor b = sum_to(r, {4});
  check_values(b, {60, 66, 72, 78}, 0.0);
  const Tensor c = sum_to(r, {2, 1, 1});
  check_values(c, {66, 210}, 0.0);
  const Tensor d = sum_to(r, {});
  BOOST_TEST(d.dim() == 0);
  BOOST_TEST(d.item() == 276.0);
  check_values(sum_to(r, {1, 3, 4}), {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34}, 0.0);  // 2(4j + k) + 12
  BOOST_TEST((sum_to(r, {1, 3, 4}).shape() == (Shape{1, 3, 4})));
  BOOST_TEST(sum_to(r, {2, 3, 4}).is_same(r));  // nothing to sum: x itself
}

BOOST_AUTO_TEST_CASE(gradients) {
  Generator gen(5);
  const Tensor x = rand64({2, 3, 4}, gen);
  for (const Shape& to : {Shape{3, 1}, Shape{4}, Shape{2, 1, 4}, Shape{}}) {
    BOOST_TEST_CONTEXT("to " << fmt::format("{}", to)) {
      check_gradients([&](const auto& in) { return sum_to(in[0], to); }, {x});
    }
  }
  check_gradients([](const auto& in) { return sum_to(in[0], {1, 3}); }, {rand64({4, 1, 3}, gen)});
}

BOOST_AUTO_TEST_CASE(shapes_that_do_not_broadcast_are_shape_errors) {
  const Tensor x = zeros({2, 3});
  BOOST_CHECK_EXCEPTION(sum_to(x, {4}), ShapeError,
                        has_message("sum_to: shape [2, 3] cannot be summed to [4] ([4] does not broadcast to [2, 3])"));
  BOOST_CHECK_EXCEPTION(sum_to(x, {2, 1, 3}), ShapeError,
                        has_message("sum_to: shape [2, 3] cannot be summed to [2, 1, 3]"));
  BOOST_CHECK_EXCEPTION(sum_to(x, {2, 2}), ShapeError,
                        has_message("sum_to: shape [2, 3] cannot be summed to [2, 2]"));
  BOOST_CHECK_EXCEPTION(sum_to(zeros({3, 1}), {3, 4}), ShapeError,
                        has_message("sum_to: shape [3, 1] cannot be summed to [3, 4]"));
}

BOOST_AUTO_TEST_SUITE_END()
