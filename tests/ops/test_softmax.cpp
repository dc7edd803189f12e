// softmax and log_softmax (lib/ops/softmax.cpp): reference values, gradients along every dim, and the
// behaviour the header documents for large, infinite and fully masked inputs.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// softmax([0, 1, 2]) = softmax([1, 2, 3]) = e^i / (1 + e + e^2), and its logarithm.
const std::vector<double> kSoftmax123 = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
const std::vector<double> kLogSoftmax123 = {-2.4076059644443806, -1.4076059644443804, -0.4076059644443803};

bool any_nan(const Tensor& t) {
  for (double v : t.to_vector()) {
    if (std::isnan(v)) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(softmax_values)

BOOST_AUTO_TEST_CASE(values_by_hand) {
  const Tensor x = tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64});
  check_values(softmax(x, 0), kSoftmax123, 1e-15);
  check_values(log_softmax(x, -1), kLogSoftmax123, 1e-15);
  check_values(x.softmax(-1), kSoftmax123, 1e-15);
  check_values(x.log_softmax(0), kLogSoftmax123, 1e-15);
  check_values(softmax(tensor({1.0f, 2.0f, 3.0f}), 0), kSoftmax123, 1e-6);
  BOOST_TEST((softmax(tensor({1.0f, 2.0f}), 0).dtype() == kFloat32));

  // Along dim 0 of [[1, 5], [2, 5], [3, 5]]: the first column is [1, 2, 3], the second is uniform.
  const Tensor m = tensor({{1.0, 5.0}, {2.0, 5.0}, {3.0, 5.0}}, {.dtype = kFloat64});
  const double third = 1.0 / 3.0;
  check_values(softmax(m, 0), {kSoftmax123[0], third, kSoftmax123[1], third, kSoftmax123[2], third}, 1e-15);
  check_values(log_softmax(m, -2), {kLogSoftmax123[0], std::log(third), kLogSoftmax123[1], std::log(third),
                                    kLogSoftmax123[2], std::log(third)},
               1e-15);
  // Along dim 1: [1, 5] gives 1 / (1 + e^4).
  const double small = 1.0 / (1.0 + std::exp(4.0));
  check_values(softmax(m, 1), {small, 1 - small, 1 / (1 + std::exp(3.0)), 1 - 1 / (1 + std::exp(3.0)),
                               1 / (1 + std::exp(2.0)), 1 - 1 / (1 + std::exp(2.0))},
               1e-15);
}

BOOST_AUTO_TEST_CASE(rows_are_non_negative_and_sum_to_one_along_every_dim) {
  Generator gen(1);
  const Tensor x = randn({2, 3, 4}, gen, {.dtype = kFloat64}) * 5.0;
  for (int d = -3; d < 3; ++d) {
    BOOST_TEST_CONTEXT("dim " << d) {
      const Tensor y = softmax(x, d);
      BOOST_TEST((y.shape() == x.shape()));
      BOOST_TEST(all(ge(y, 0.0)));
      check_close(sum(y, {d}), ones(sum(x, {d}).shape(), {.dtype = kFloat64}), 1e-12);
      check_close(sum(exp(log_softmax(x, d)), {d}), ones(sum(x, {d}).shape(), {.dtype = kFloat64}), 1e-12);
    }
  }
  const Tensor y32 = softmax(randn({5, 7}, gen) * 4.0, 1);
  check_close(sum(y32, {1}), ones({5}), 1e-6);
}

BOOST_AUTO_TEST_CASE(views_and_rank_zero) {
  Generator gen(2);
  const Tensor x = randn({3, 4}, gen, {.dtype = kFloat64});
  check_close(softmax(x.transpose(0, 1), 0), softmax(x, 1).transpose(0, 1), 1e-15);
  check_close(log_softmax(x.transpose(0, 1), 1), log_softmax(x, 0).transpose(0, 1), 1e-15);
  check_close(softmax(x.narrow(1, 1, 2), 1), softmax(x.narrow(1, 1, 2).contiguous(), 1), 1e-15);
  check_close(softmax(x.select(0, 1).expand({2, 4}), 1), softmax(x.select(0, 1), 0).expand({2, 4}), 1e-15);
  // A single element has all the weight.
  BOOST_TEST(softmax(scalar_tensor(7.0), 0).item() == 1.0);
  BOOST_TEST(log_softmax(scalar_tensor(7.0), -1).item() == 0.0);
  BOOST_TEST((softmax(zeros({3, 0}), 1).shape() == Shape{3, 0}));
}

BOOST_AUTO_TEST_CASE(log_softmax_is_the_log_of_softmax_where_finite) {
  Generator gen(3);
  Tensor x = randn({4, 6}, gen, {.dtype = kFloat64}) * 3.0;
  x.set({0, 2}, -kInf);
  x.set({3, 0}, -kInf);
  x.set({3, 5}, -kInf);
  const std::vector<double> p = softmax(x, 1).to_vector();
  const std::vector<double> lp = log_softmax(x, 1).to_vector();
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0.0) {
      BOOST_TEST(std::abs(lp[i] - std::log(p[i])) <= 1e-12);
    } else {
      BOOST_TEST(lp[i] == -kInf);
    }
  }
}

BOOST_AUTO_TEST_CASE(errors) {
  BOOST_CHECK_EXCEPTION(softmax(tensor_of<std::int64_t>({1, 2}, {2}), 0), DTypeError,
                        has_message("softmax: expected a floating-point tensor, got int64; convert with .to(kFloat32)"));
  BOOST_CHECK_EXCEPTION(log_softmax(tensor_of<bool>({true}, {1}), 0), DTypeError,
                        has_message("log_softmax: expected a floating-point tensor, got bool"));
  BOOST_CHECK_EXCEPTION(softmax(zeros({2, 3, 4}), 3), IndexError,
                        has_message("softmax: dim 3 is out of range for a tensor of rank 3 (expected -3..2)"));
  BOOST_CHECK_EXCEPTION(log_softmax(zeros({2, 3}), -3), IndexError,
                        has_message("log_softmax: dim -3 is out of range for a tensor of rank 2 (expected -2..1)"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(softmax_stability)

BOOST_AUTO_TEST_CASE(large_inputs_give_the_same_as_shifted_inputs) {
  // Shifting a row by a constant does not change softmax; e^1e4 would overflow without the shift.
  for (double big : {1e4, -1e4}) {
    check_values(softmax(tensor({big, big + 1, big + 2}), 0), kSoftmax123, 1e-6);  // float32: exact here
    check_values(log_softmax(tensor({big, big + 1, big + 2}), 0), kLogSoftmax123, 1e-6);
  }
  for (double big : {1e8, -1e8}) {
    check_values(softmax(tensor({big, big + 1, big + 2}, {.dtype = kFloat64}), 0), kSoftmax123, 1e-9);
    check_values(log_softmax(tensor({big, big + 1, big + 2}, {.dtype = kFloat64}), 0), kLogSoftmax123, 1e-9);
  }
  // In float32, 1e8 and 1e8 + 1 are the same number: equal weights, all finite.
  check_values(softmax(tensor({1e8, 1e8}), 0), {0.5, 0.5}, 0.0);
  // Far apart: the small one gets weight 0 (log_softmax keeps the finite difference).
  check_values(softmax(tensor({1e8, 0.0}, {.dtype = kFloat64}), 0), {1.0, 0.0}, 0.0);
  check_values(log_softmax(tensor({1e8, 0.0}, {.dtype = kFloat64}), 0), {0.0, -1e8}, 0.0);

  // Gradients at large inputs are finite and equal those at shifted inputs.
  Tensor a = tensor({1e8, 1e8 + 1, 1e8 + 2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = tensor({0.0, 1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor up = tensor({0.3, -1.0, 2.0}, {.dtype = kFloat64});
  softmax(a, 0).backward(up);
  softmax(b, 0).backward(up);
  check_close(a.grad(), b.grad(), 1e-9);
}

BOOST_AUTO_TEST_CASE(minus_infinity_gets_weight_exactly_zero) {
  Tensor x = tensor({0.0, -kInf, 1.0, -kInf}, {.dtype = kFloat64, .requires_grad = true});
  const double e = std::exp(1.0);
  const Tensor y = softmax(x, 0);
  check_values(y, {1 / (1 + e), 0.0, e / (1 + e), 0.0}, 1e-15);
  BOOST_TEST(y.at({1}) == 0.0);
  BOOST_TEST(y.at({3}) == 0.0);
  check_values(log_softmax(x, 0), {-std::log1p(e), -kInf, 1 - std::log1p(e), -kInf}, 1e-15);
  // No gradient reaches a masked entry, and the others are finite.
  y.backward(tensor({1.0, 2.0, 3.0, 4.0}, {.dtype = kFloat64}));
  BOOST_TEST(x.grad().at({1}) == 0.0);
  BOOST_TEST(x.grad().at({3}) == 0.0);
  BOOST_TEST(!any_nan(x.grad()));
  // y0 (1 - y0) - y0 y2 * 3 with y0 + y2 = 1: the gradient of a two-way softmax.
  const double y0 = 1 / (1 + e);
  BOOST_TEST(std::abs(x.grad().at({0}) - y0 * (1 - y0) * (1.0 - 3.0)) <= 1e-14);
}

BOOST_AUTO_TEST_CASE(a_fully_masked_row_gives_zeros_never_nan) {
  Tensor x = tensor({{-kInf, -kInf, -kInf}, {1.0, 2.0, 3.0}}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor y = softmax(x, 1);
  check_values(y, {0, 0, 0, kSoftmax123[0], kSoftmax123[1], kSoftmax123[2]}, 1e-15);
  y.backward(tensor({{5.0, -2.0, 7.0}, {1.0, 0.0, 0.0}}, {.dtype = kFloat64}));
  const std::vector<double> g = x.grad().to_vector();
  BOOST_TEST(g[0] == 0.0);
  BOOST_TEST(g[1] == 0.0);
  BOOST_TEST(g[2] == 0.0);
  BOOST_TEST(!any_nan(x.grad()));

  // log_softmax: -inf weights (log 0), and the gradient dY passes through unchanged (documented).
  x.zero_grad();
  const Tensor ly = log_softmax(x, 1);
  check_values(ly, {-kInf, -kInf, -kInf, kLogSoftmax123[0], kLogSoftmax123[1], kLogSoftmax123[2]}, 1e-15);
  ly.backward(tensor({{5.0, -2.0, 7.0}, {1.0, 0.0, 0.0}}, {.dtype = kFloat64}));
  check_values(x.grad().select(0, 0), {5.0, -2.0, 7.0}, 0.0);
  BOOST_TEST(!any_nan(x.grad()));

  // Along dim 0 the masked entries form a column.
  check_values(softmax(x.transpose(0, 1), 1).select(1, 0), {0, 0, 0}, 0.0);
  // float32 too.
  check_values(softmax(full({2, 2}, -kInf), 1), {0, 0, 0, 0}, 0.0);
  check_values(log_softmax(full({2}, -kInf), 0), {-kInf, -kInf}, 0.0);
}

BOOST_AUTO_TEST_CASE(plus_infinity_shares_the_weight) {
  check_values(softmax(tensor({kInf, 0.0, kInf}, {.dtype = kFloat64}), 0), {0.5, 0.0, 0.5}, 0.0);
  check_values(log_softmax(tensor({kInf, 0.0, kInf}, {.dtype = kFloat64}), 0), {std::log(0.5), -kInf, std::log(0.5)},
               0.0);
  check_values(softmax(tensor({1.0, kInf, -kInf}), 0), {0.0, 1.0, 0.0}, 0.0);
  check_values(log_softmax(tensor({1.0, kInf, -kInf}), 0), {-kInf, 0.0, -kInf}, 0.0);
  // The gradient of a saturated softmax is zero, and finite.
  Tensor x = tensor({1.0, kInf, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  softmax(x, 0).backward(tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64}));
  check_values(x.grad(), {0.0, 0.0, 0.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(nan_propagates_to_its_row) {
  // A NaN input is not a masked entry: its row is NaN (as in PyTorch), the other rows are untouched.
  const Tensor x = tensor({{kNaN, 1.0, 2.0}, {kNaN, -kInf, -kInf}, {1.0, 2.0, 3.0}}, {.dtype = kFloat64});
  for (const Tensor& y : {softmax(x, 1), log_softmax(x, 1)}) {
    const std::vector<double> v = y.to_vector();
    for (int i = 0; i < 6; ++i) BOOST_TEST(std::isnan(v[static_cast<std::size_t>(i)]), "element " << i);
  }
  check_values(softmax(x, 1).select(0, 2), kSoftmax123, 1e-15);
  BOOST_TEST(std::isnan(softmax(tensor({-kInf, kNaN}), 0).at({0})));
  BOOST_TEST(std::isnan(softmax(tensor({kInf, kNaN}), 0).at({0})));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(softmax_gradients)

BOOST_AUTO_TEST_CASE(along_every_dim_of_a_rank_3_tensor) {
  Generator gen(4);
  const Tensor x = rand64({2, 3, 4}, gen, 2.0);
  for (int d = -3; d < 3; ++d) {
    BOOST_TEST_CONTEXT("dim " << d) {
      check_gradients([d](const auto& in) { return softmax(in[0], d); }, {x});
      check_gradients([d](const auto& in) { return log_softmax(in[0], d); }, {x});
    }
  }
}

BOOST_AUTO_TEST_CASE(other_shapes) {
  Generator gen(5);
  for (const Shape& shape : {Shape{}, Shape{1}, Shape{5}, Shape{3, 1}, Shape{1, 4}, Shape{2, 1, 3, 2}}) {
    const Tensor x = rand64(shape, gen);
    for (int d = -std::max(shape.rank(), 1); d < std::max(shape.rank(), 1); ++d) {
      BOOST_TEST_CONTEXT("shape " << fmt::format("{}", shape) << " dim " << d) {
        check_gradients([d](const auto& in) { return softmax(in[0], d); }, {x});
        check_gradients([d](const auto& in) { return log_softmax(in[0], d); }, {x});
      }
    }
  }
  // Through a non-contiguous view.
  check_gradients([](const auto& in) { return softmax(in[0].transpose(0, 1), 1); }, {rand64({3, 4}, gen)});
}

BOOST_AUTO_TEST_CASE(with_masked_entries_and_a_fully_masked_row) {
  // The masked inputs are constants of the function, so the finite differences see zero there too.
  Generator gen(6);
  const Tensor mask = tensor_of<bool>({false, true, false, false,  //
                                       true, true, true, true,     // fully masked
                                       false, false, false, true},
                                      {3, 4});
  const double minus_inf = -kInf;
  check_gradients([&](const auto& in) { return softmax(masked_fill(in[0], mask, minus_inf), 1); },
                  {rand64({3, 4}, gen)});
  // log_softmax is -inf at masked entries: compare only the finite ones (gradients through where).
  check_gradients(
      [&](const auto& in) { return where(mask, 0.0 * in[0], log_softmax(masked_fill(in[0], mask, minus_inf), 1)); },
      {rand64({3, 4}, gen)});
}

BOOST_AUTO_TEST_SUITE_END()
