// where and masked_fill (lib/ops/compare.cpp): the two ops of the family that carry gradients.
// Reference values, exact gradients, gradchecks with broadcasting of every operand, errors.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

Tensor mask(const std::vector<bool>& v, const Shape& shape) { return tensor_of<bool>(v, shape); }

Tensor f64(const std::vector<double>& v, const Shape& shape, bool grad = false) {
  return tensor(v, shape, {.dtype = kFloat64, .requires_grad = grad});
}

// A random mask with both values present.
Tensor random_mask(const Shape& shape, Generator& gen) {
  std::vector<bool> v;
  for (std::int64_t i = 0; i < shape.numel(); ++i) v.push_back(i == 0 || (i != 1 && gen.uniform() < 0.5));
  return tensor_of<bool>(v, shape);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(where_op)

BOOST_AUTO_TEST_CASE(values_by_hand) {
  const Tensor c = mask({true, false, true}, {3});
  check_values(where(c, f64({1, 2, 3}, {3}), f64({10, 20, 30}, {3})), {1, 20, 3}, 0.0);
  // cond [2, 1], a [3], b rank 0: [[a], [b b b]].
  check_values(where(mask({true, false}, {2, 1}), f64({1, 2, 3}, {3}), scalar_tensor(9.0, {.dtype = kFloat64})),
               {1, 2, 3, 9, 9, 9}, 0.0);
  // cond [3], a [2, 1], b [2, 3].
  const Tensor y = where(c, f64({1, 2}, {2, 1}), f64({10, 20, 30, 40, 50, 60}, {2, 3}));
  BOOST_TEST((y.shape() == Shape{2, 3}));
  check_values(y, {1, 20, 1, 2, 50, 2}, 0.0);
  // A rank-0 condition picks a whole tensor.
  check_values(where(mask({false}, {}), f64({1, 2}, {2}), f64({3, 4}, {2})), {3, 4}, 0.0);
  // Views as operands.
  const Tensor m = f64({1, 2, 3, 4}, {2, 2});
  check_values(where(mask({true, false, false, true}, {2, 2}), m.transpose(0, 1), -m), {1, -2, -3, 4}, 0.0);
  BOOST_TEST((where(c, f64({1, 2, 3}, {3}), f64({1, 2, 3}, {3})).dtype() == kFloat64));
}

BOOST_AUTO_TEST_CASE(dtypes_promote) {
  const Tensor c = mask({true, false}, {2});
  const Tensor y = where(c, tensor({1.5f, 2.5f}), tensor_of<std::int64_t>({7, 8}, {2}));
  BOOST_TEST((y.dtype() == kFloat32));
  check_values(y, {1.5, 8}, 0.0);
  const Tensor z = where(c, tensor({1.5f, 2.5f}), f64({3, 4}, {2}));
  BOOST_TEST((z.dtype() == kFloat64));
  const Tensor ids = where(c, tensor_of<std::int64_t>({1, 2}, {2}), tensor_of<std::int64_t>({3, 4}, {2}));
  BOOST_TEST((ids.dtype() == kInt64));
  BOOST_TEST(ids.to_vector<std::int64_t>() == (std::vector<std::int64_t>{1, 4}), boost::test_tools::per_element());
  const Tensor bits = where(c, mask({false, false}, {2}), mask({true, true}, {2}));
  BOOST_TEST((bits.dtype() == kBool));
  BOOST_TEST(bits.to_vector<std::int64_t>() == (std::vector<std::int64_t>{0, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(exact_gradients) {
  // cond [T, F, T]; a [1] broadcast to [3] receives the two upstream values it was chosen for.
  Tensor a = f64({5}, {1}, true);
  Tensor b = f64({1, 2, 3}, {3}, true);
  where(mask({true, false, true}, {3}), a, b).backward(f64({10, 20, 30}, {3}));
  check_values(a.grad(), {40}, 0.0);
  check_values(b.grad(), {0, 20, 0}, 0.0);

  // Mixed dtypes: the float32 side gets a float32 gradient.
  Tensor a32 = tensor({1.0f, 2.0f}, {.requires_grad = true});
  Tensor b64 = f64({3, 4}, {2}, true);
  where(mask({false, true}, {2}), a32, b64).backward(f64({0.5, 0.25}, {2}));
  BOOST_TEST((a32.grad().dtype() == kFloat32));
  check_values(a32.grad(), {0, 0.25}, 0.0);
  check_values(b64.grad(), {0.5, 0}, 0.0);

  // Only one side needs a gradient.
  Tensor c = f64({1, 2}, {2}, true);
  where(mask({true, false}, {2}), f64({0, 0}, {2}), c).backward(f64({1, 1}, {2}));
  check_values(c.grad(), {0, 1}, 0.0);
}

BOOST_AUTO_TEST_CASE(gradchecks_with_broadcasting) {
  Generator gen(21);
  struct Case {
    Shape cond, a, b;
  };
  for (const Case& k : {Case{{2, 3}, {2, 3}, {2, 3}}, Case{{3}, {2, 1}, {2, 3}}, Case{{2, 1}, {3}, {}},
                        Case{{2, 1, 3}, {1, 3}, {2, 1, 1}}, Case{{}, {2, 2}, {2}}, Case{{4, 1}, {1}, {1, 5}}}) {
    BOOST_TEST_CONTEXT("cond " << fmt::format("{}", k.cond) << " a " << fmt::format("{}", k.a) << " b "
                               << fmt::format("{}", k.b)) {
      const Tensor cond = k.cond.rank() == 0 ? mask({true}, {}) : random_mask(k.cond, gen);
      check_gradients([&](const auto& in) { return where(cond, in[0], in[1]); }, {rand64(k.a, gen), rand64(k.b, gen)});
      // One side only: the other is a constant.
      check_gradients([&](const auto& in) { return where(cond, in[0], in[1]); },
                      {rand64(k.a, gen), randn(k.b, gen, {.dtype = kFloat64})});
      check_gradients([&](const auto& in) { return where(cond, in[0], in[1]); },
                      {randn(k.a, gen, {.dtype = kFloat64}), rand64(k.b, gen)});
    }
  }
}

BOOST_AUTO_TEST_CASE(scalar_overload) {
  const Tensor c = mask({true, false, true}, {3});
  const Tensor y = where(c, f64({1, 2, 3}, {3}), 0.5);
  BOOST_TEST((y.dtype() == kFloat64));
  check_values(y, {1, 0.5, 3}, 0.0);
  BOOST_TEST((where(c, tensor({1.0f, 2.0f, 3.0f}), 0.5).dtype() == kFloat32));
  // An integer tensor with a fractional scalar gives floats, not a truncated 0.
  const Tensor z = where(c, tensor_of<std::int64_t>({1, 2, 3}, {3}), 0.5);
  BOOST_TEST((z.dtype() == kFloat32));
  check_values(z, {1, 0.5, 3}, 0.0);
  // The condition broadcasts against the tensor.
  check_values(where(mask({false, true}, {2, 1}), f64({1, 2}, {2}), -1.0), {-1, -1, 1, 2}, 0.0);

  Tensor a = f64({1, 2, 3}, {3}, true);
  where(c, a, 0.5).backward(f64({4, 5, 6}, {3}));
  check_values(a.grad(), {4, 0, 6}, 0.0);
  Generator gen(22);
  check_gradients([&](const auto& in) { return where(c, in[0], 2.0); }, {rand64({2, 3}, gen)});
  check_gradients([&](const auto& in) { return where(mask({true, false}, {2, 1}), in[0], -3.0); }, {rand64({3}, gen)});
}

BOOST_AUTO_TEST_CASE(errors) {
  BOOST_CHECK_EXCEPTION(where(ones({3}), zeros({3}), zeros({3})), DTypeError,
                        has_message("where: cond must be a bool tensor (a mask), got float32"));
  BOOST_CHECK_EXCEPTION(where(tensor_of<std::int64_t>({1}, {1}), zeros({3}), 1.0), DTypeError,
                        has_message("where: cond must be a bool tensor (a mask), got int64"));
  BOOST_CHECK_EXCEPTION(where(mask({true, false, true, false}, {4}), zeros({3}), zeros({3})), ShapeError,
                        has_message("where: shapes [4] and [3] cannot be broadcast: dim -1 is 4 vs 3"));
  BOOST_CHECK_EXCEPTION(where(mask({true}, {1}), zeros({2}), zeros({3})), ShapeError,
                        has_message("where: shapes [2] and [3] cannot be broadcast: dim -1 is 2 vs 3"));
}

BOOST_AUTO_TEST_CASE(changing_the_condition_before_backward_is_caught) {
  // where saves cond for backward: overwriting it would route the gradient to the wrong side.
  Tensor c = mask({true, false}, {2});
  Tensor a = f64({1, 2}, {2}, true);
  Tensor y = where(c, a, 0.0);
  c.set({1}, 1.0);
  BOOST_CHECK_EXCEPTION(y.backward(f64({1, 1}, {2})), AutogradError, has_message("saved by 'where'"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(masked_fill_op)

BOOST_AUTO_TEST_CASE(values_by_hand) {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  check_values(masked_fill(x, mask({false, true, false, true, false, false}, {2, 3}), -1.0), {1, -1, 3, -1, 5, 6}, 0.0);
  // The mask broadcasts to x's shape: a column, a row, a single value.
  check_values(masked_fill(x, mask({false, false, true}, {3}), 0.0), {1, 2, 0, 4, 5, 0}, 0.0);
  check_values(masked_fill(x, mask({true, false}, {2, 1}), 7.0), {7, 7, 7, 4, 5, 6}, 0.0);
  check_values(masked_fill(x, mask({true}, {}), 7.0), {7, 7, 7, 7, 7, 7}, 0.0);
  check_values(masked_fill(x.transpose(0, 1), mask({true, false}, {2}), 0.0), {0, 4, 0, 5, 0, 6}, 0.0);
  const double inf = std::numeric_limits<double>::infinity();
  check_values(masked_fill(x, mask({true, false, false}, {1, 3}), -inf), {-inf, 2, 3, -inf, 5, 6}, 0.0);
  BOOST_TEST((masked_fill(x, mask({true}, {1}), 0.0).dtype() == kFloat64));
  BOOST_TEST((masked_fill(x, mask({true}, {1}), 0.0).shape() == x.shape()));
  // x's dtype is kept.
  const Tensor ids = masked_fill(tensor_of<std::int64_t>({1, 2}, {2}), mask({false, true}, {2}), 9.0);
  BOOST_TEST((ids.dtype() == kInt64));
  BOOST_TEST(ids.to_vector<std::int64_t>() == (std::vector<std::int64_t>{1, 9}), boost::test_tools::per_element());
  BOOST_TEST((masked_fill(ones({2}), mask({true, false}, {2}), 2.0).dtype() == kFloat32));
}

BOOST_AUTO_TEST_CASE(masked_positions_get_zero_gradient) {
  Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  masked_fill(x, mask({false, true, false, true, false, false}, {2, 3}), 100.0).backward(f64({1, 2, 3, 4, 5, 6}, {2, 3}));
  check_values(x.grad(), {1, 0, 3, 0, 5, 6}, 0.0);
  x.zero_grad();
  masked_fill(x, mask({true, false, false}, {3}), 0.0).backward(f64({1, 1, 1, 1, 1, 1}, {2, 3}));
  check_values(x.grad(), {0, 1, 1, 0, 1, 1}, 0.0);
}

BOOST_AUTO_TEST_CASE(gradchecks) {
  Generator gen(23);
  for (const Shape& mask_shape : {Shape{2, 3}, Shape{3}, Shape{2, 1}, Shape{}, Shape{1, 3}}) {
    BOOST_TEST_CONTEXT("mask " << fmt::format("{}", mask_shape)) {
      const Tensor m = mask_shape.rank() == 0 ? mask({false}, {}) : random_mask(mask_shape, gen);
      check_gradients([&](const auto& in) { return masked_fill(in[0], m, -2.0); }, {rand64({2, 3}, gen)});
    }
  }
  const Tensor m4 = random_mask({2, 1, 3, 1}, gen);
  check_gradients([&](const auto& in) { return masked_fill(in[0], m4, 0.5); }, {rand64({2, 2, 3, 2}, gen)});
}

BOOST_AUTO_TEST_CASE(errors) {
  BOOST_CHECK_EXCEPTION(masked_fill(zeros({3}), tensor_of<std::int64_t>({1, 0, 1}, {3}), 0.0), DTypeError,
                        has_message("masked_fill: mask must be a bool tensor (a mask), got int64"));
  // The mask broadcasts with x, but to a bigger shape than x's.
  BOOST_CHECK_EXCEPTION(masked_fill(zeros({3}), mask({true, false, true, true, false, true}, {2, 3}), 0.0), ShapeError,
                        has_message("masked_fill: mask of shape [2, 3] does not broadcast to the input's shape [3]"));
  BOOST_CHECK_EXCEPTION(masked_fill(zeros({2, 1}), mask({true, false, true}, {3}), 0.0), ShapeError,
                        has_message("masked_fill: mask of shape [3] does not broadcast to the input's shape [2, 1]"));
  // The mask does not broadcast with x at all.
  BOOST_CHECK_EXCEPTION(masked_fill(zeros({2, 3}), mask({true, false, true, false}, {4}), 0.0), ShapeError,
                        has_message("masked_fill: shapes [4] and [2, 3] cannot be broadcast: dim -1 is 4 vs 3"));
}

BOOST_AUTO_TEST_SUITE_END()
