// Comparisons, logical ops, isnan/isinf, all/any and allclose (lib/ops/compare.cpp). where and
// masked_fill, which carry gradients, are in test_compare_where.cpp.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A bool tensor's elements as 0/1, in row-major order.
std::vector<std::int64_t> bits(const Tensor& t) {
  BOOST_TEST_REQUIRE((t.dtype() == kBool), "expected a bool tensor");
  return t.to_vector<std::int64_t>();
}

Tensor mask(const std::vector<bool>& v, const Shape& shape) { return tensor_of<bool>(v, shape); }

using Bits = std::vector<std::int64_t>;

}  // namespace

BOOST_AUTO_TEST_SUITE(comparisons)

BOOST_AUTO_TEST_CASE(tensor_with_tensor_broadcasting_and_mixed_dtypes) {
  // [1, 3] float32 against [2, 1] float64: a [2, 3] mask.
  const Tensor a = tensor({{1.0, 2.0, 3.0}});
  const Tensor b = tensor(std::vector<double>{2.0, 3.0}, {2, 1}, {.dtype = kFloat64});
  BOOST_TEST((eq(a, b).shape() == Shape{2, 3}));
  BOOST_TEST(bits(eq(a, b)) == (Bits{0, 1, 0, 0, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(ne(a, b)) == (Bits{1, 0, 1, 1, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(lt(a, b)) == (Bits{1, 0, 0, 1, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(le(a, b)) == (Bits{1, 1, 0, 1, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(gt(a, b)) == (Bits{0, 0, 1, 0, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(ge(a, b)) == (Bits{0, 1, 1, 0, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(a < b) == bits(lt(a, b)), boost::test_tools::per_element());
  BOOST_TEST(bits(a <= b) == bits(le(a, b)), boost::test_tools::per_element());
  BOOST_TEST(bits(a > b) == bits(gt(a, b)), boost::test_tools::per_element());
  BOOST_TEST(bits(a >= b) == bits(ge(a, b)), boost::test_tools::per_element());
  // The other way round.
  BOOST_TEST(bits(gt(b, a)) == bits(lt(a, b)), boost::test_tools::per_element());

  // int64 against float32: compared as floats, so 2 < 2.5.
  const Tensor ids = tensor_of<std::int64_t>({1, 2, 3}, {3});
  const Tensor f = tensor({1.5, 2.0, 2.5});
  BOOST_TEST(bits(lt(ids, f)) == (Bits{1, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(eq(ids, f)) == (Bits{0, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(ge(f, ids)) == (Bits{1, 1, 0}), boost::test_tools::per_element());
  // bool against int64: true is 1.
  const Tensor m = mask({true, false}, {2});
  const Tensor ones64 = tensor_of<std::int64_t>({1, 1}, {2});
  BOOST_TEST(bits(eq(m, ones64)) == (Bits{1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(lt(m, ones64)) == (Bits{0, 1}), boost::test_tools::per_element());
  // bool against bool: false < true.
  BOOST_TEST(bits(lt(mask({false, true, false}, {3}), mask({true, true, false}, {3}))) == (Bits{1, 0, 0}),
             boost::test_tools::per_element());
  // Rank 0 against anything.
  BOOST_TEST(bits(gt(scalar_tensor(2.0), a)) == (Bits{1, 0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tensor_with_scalar) {
  const Tensor x = tensor({{-1.0, 0.0}, {2.5, 4.0}}, {.dtype = kFloat64});
  BOOST_TEST(bits(eq(x, 2.5)) == (Bits{0, 0, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(ne(x, 2.5)) == (Bits{1, 1, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(lt(x, 0.0)) == (Bits{1, 0, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(le(x, 0.0)) == (Bits{1, 1, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(gt(x, 2.5)) == (Bits{0, 0, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(ge(x, 2.5)) == (Bits{0, 0, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(x < 0.0) == bits(lt(x, 0.0)), boost::test_tools::per_element());
  BOOST_TEST(bits(x <= 0.0) == bits(le(x, 0.0)), boost::test_tools::per_element());
  BOOST_TEST(bits(x > 2.5) == bits(gt(x, 2.5)), boost::test_tools::per_element());
  BOOST_TEST(bits(x >= 2.5) == bits(ge(x, 2.5)), boost::test_tools::per_element());
  BOOST_TEST((eq(x, 1.0).shape() == x.shape()));

  // Integer tensors against a fractional scalar are not truncated: 2 < 2.5, and nothing equals 2.5.
  const Tensor ids = tensor_of<std::int64_t>({1, 2, 3}, {3});
  BOOST_TEST(bits(lt(ids, 2.5)) == (Bits{1, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(eq(ids, 2.5)) == (Bits{0, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(eq(ids, 2.0)) == (Bits{0, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(eq(mask({true, false}, {2}), 1.0)) == (Bits{1, 0}), boost::test_tools::per_element());
  // Views are read through their strides.
  BOOST_TEST(bits(gt(x.transpose(0, 1), 0.0)) == (Bits{0, 1, 0, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_float32_tensor_is_compared_in_float32) {
  // tensor({0.1}) holds 0.1f, which is not the double 0.1: as in PyTorch, the scalar is taken in the
  // tensor's dtype, so the value you wrote equals the value you wrote.
  const Tensor x = tensor({0.1, 0.2, 0.3});
  BOOST_TEST(bits(eq(x, 0.1)) == (Bits{1, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(ne(x, 0.3)) == (Bits{1, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(gt(x, 0.1)) == (Bits{0, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(le(x, 0.2)) == (Bits{1, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(lt(x, 1e300)) == (Bits{1, 1, 1}), boost::test_tools::per_element());  // beyond float: +inf
}

BOOST_AUTO_TEST_CASE(nan_compares_unequal_to_everything) {
  const Tensor x = tensor({kNaN, 1.0});
  BOOST_TEST(bits(eq(x, x)) == (Bits{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(ne(x, x)) == (Bits{1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(le(x, kInf)) == (Bits{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(ge(x, kNaN)) == (Bits{0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(masks_carry_no_gradient) {
  const Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor y = tensor({1.0f, 3.0f}, {.requires_grad = true});
  BOOST_TEST(!lt(x, y).requires_grad());
  BOOST_TEST(!eq(x, 1.0).requires_grad());
  BOOST_TEST(!lt(x, y).grad_fn());
}

BOOST_AUTO_TEST_CASE(shapes_that_do_not_broadcast) {
  BOOST_CHECK_EXCEPTION(lt(zeros({2, 3}), zeros({4})), ShapeError,
                        has_message("lt: shapes [2, 3] and [4] cannot be broadcast: dim -1 is 3 vs 4"));
  BOOST_CHECK_EXCEPTION(eq(zeros({2, 1}), zeros({3, 5})), ShapeError,
                        has_message("eq: shapes [2, 1] and [3, 5] cannot be broadcast: dim -2 is 2 vs 3"));
  BOOST_CHECK_EXCEPTION(zeros({2}) >= zeros({3}), ShapeError, has_message("ge: shapes [2] and [3] cannot be broadcast"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(logical)

BOOST_AUTO_TEST_CASE(and_or_not) {
  const Tensor a = mask({true, false, true, false}, {4});
  const Tensor b = mask({true, true, false, false}, {4});
  BOOST_TEST(bits(logical_and(a, b)) == (Bits{1, 0, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(logical_or(a, b)) == (Bits{1, 1, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(logical_not(a)) == (Bits{0, 1, 0, 1}), boost::test_tools::per_element());
  // Broadcasting: [2, 1] with [3].
  const Tensor rows = mask({true, false}, {2, 1});
  const Tensor cols = mask({true, false, true}, {3});
  BOOST_TEST(bits(logical_and(rows, cols)) == (Bits{1, 0, 1, 0, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(logical_or(rows, cols)) == (Bits{1, 1, 1, 1, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(bits(logical_not(rows.expand({2, 2}))) == (Bits{0, 0, 1, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(non_bool_inputs_are_dtype_errors) {
  const Tensor m = mask({true}, {1});
  BOOST_CHECK_EXCEPTION(logical_and(ones({1}), m), DTypeError,
                        has_message("logical_and: lhs must be a bool tensor (a mask), got float32"));
  BOOST_CHECK_EXCEPTION(logical_and(m, tensor_of<std::int64_t>({1}, {1})), DTypeError,
                        has_message("logical_and: rhs must be a bool tensor (a mask), got int64"));
  BOOST_CHECK_EXCEPTION(logical_or(ones({1}, {.dtype = kFloat64}), m), DTypeError,
                        has_message("logical_or: lhs must be a bool tensor (a mask), got float64"));
  BOOST_CHECK_EXCEPTION(logical_or(m, ones({1})), DTypeError,
                        has_message("logical_or: rhs must be a bool tensor (a mask), got float32"));
  BOOST_CHECK_EXCEPTION(logical_not(tensor_of<std::int64_t>({0}, {1})), DTypeError,
                        has_message("logical_not: input must be a bool tensor (a mask), got int64"));
  BOOST_CHECK_EXCEPTION(logical_and(mask({true, false}, {2}), mask({true, false, true}, {3})), ShapeError,
                        has_message("logical_and: shapes [2] and [3] cannot be broadcast"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(predicates)

BOOST_AUTO_TEST_CASE(isnan_and_isinf) {
  for (DType t : {kFloat32, kFloat64}) {
    const Tensor x = tensor({1.0, kNaN, kInf, -kInf, 0.0, -kNaN}, {.dtype = t});
    BOOST_TEST(bits(isnan(x)) == (Bits{0, 1, 0, 0, 0, 1}), boost::test_tools::per_element());
    BOOST_TEST(bits(isinf(x)) == (Bits{0, 0, 1, 1, 0, 0}), boost::test_tools::per_element());
    BOOST_TEST(bits(isnan(x.reshape({3, 2}).transpose(0, 1))) == (Bits{0, 0, 0, 1, 0, 1}),
               boost::test_tools::per_element());
  }
  const Tensor ids = tensor_of<std::int64_t>({0, 5}, {2});
  BOOST_TEST(bits(isnan(ids)) == (Bits{0, 0}), boost::test_tools::per_element());
  BOOST_TEST(bits(isinf(ids)) == (Bits{0, 0}), boost::test_tools::per_element());
  BOOST_TEST(!isnan(tensor({1.0}, {.requires_grad = true})).requires_grad());
}

BOOST_AUTO_TEST_CASE(all_and_any) {
  BOOST_TEST(all(mask({true, true}, {2})));
  BOOST_TEST(!all(mask({true, false}, {2})));
  BOOST_TEST(any(mask({false, true}, {2})));
  BOOST_TEST(!any(mask({false, false}, {1, 2})));
  // Every element of nothing is true; no element of nothing is true.
  BOOST_TEST(all(mask({}, {0})));
  BOOST_TEST(!any(mask({}, {2, 0})));
  // Views: only the elements the view covers count.
  const Tensor m = mask({true, false, true, true}, {2, 2});
  BOOST_TEST(all(m.select(1, 0)));
  BOOST_TEST(!all(m.transpose(0, 1)));
  BOOST_TEST(!any(m.select(0, 0).narrow(0, 1, 1)));
  BOOST_TEST(all(m.select(0, 1).expand({3, 2})));
  BOOST_TEST(all(gt(tensor({1.0, 2.0}), 0.5)));
}

BOOST_AUTO_TEST_CASE(all_and_any_need_masks) {
  BOOST_CHECK_EXCEPTION(all(ones({2})), DTypeError, has_message("all: input must be a bool tensor (a mask), got float32"));
  BOOST_CHECK_EXCEPTION(any(tensor_of<std::int64_t>({1}, {1})), DTypeError,
                        has_message("any: input must be a bool tensor (a mask), got int64"));
}

BOOST_AUTO_TEST_CASE(allclose_values) {
  const Tensor a = tensor({1.0, 2.0}, {.dtype = kFloat64});
  BOOST_TEST(allclose(a, a));
  BOOST_TEST(allclose(a, tensor({1.0 + 1e-6, 2.0}, {.dtype = kFloat64})));  // within rtol 1e-5
  BOOST_TEST(!allclose(a, tensor({1.0001, 2.0}, {.dtype = kFloat64})));
  // atol alone near zero.
  BOOST_TEST(allclose(tensor({0.0}), tensor({1e-9})));
  BOOST_TEST(!allclose(tensor({0.0}), tensor({1e-7})));
  BOOST_TEST(allclose(tensor({0.0}), tensor({1e-3}), 0.0, 1e-2));
  BOOST_TEST(!allclose(tensor({0.0}), tensor({1e-3}), 0.0, 1e-4));
  // rtol is relative to b.
  BOOST_TEST(allclose(tensor({0.0}), tensor({1.0}), 1.0, 0.0));
  BOOST_TEST(!allclose(tensor({1.0}), tensor({0.0}), 1.0, 0.0));
  // Mixed dtypes: 0.1f and 0.1 differ by 1.5e-9.
  BOOST_TEST(allclose(tensor({0.1}), tensor({0.1}, {.dtype = kFloat64})));
  BOOST_TEST(allclose(tensor_of<std::int64_t>({3}, {1}), tensor({3.0})));
  // Views.
  BOOST_TEST(allclose(arange(6.0).reshape({2, 3}).transpose(0, 1), tensor({{0.0, 3.0}, {1.0, 4.0}, {2.0, 5.0}})));
}

BOOST_AUTO_TEST_CASE(allclose_shapes_nan_and_infinities) {
  // Different shapes are never close, even when they broadcast.
  BOOST_TEST(!allclose(zeros({2}), zeros({1, 2})));
  BOOST_TEST(!allclose(zeros({2}), zeros({3})));
  BOOST_TEST(allclose(zeros({0}), zeros({0})));
  // NaN is never close, not even to NaN.
  BOOST_TEST(!allclose(tensor({kNaN}), tensor({kNaN})));
  BOOST_TEST(!allclose(tensor({1.0, kNaN}), tensor({1.0, 2.0})));
  // An infinity is close only to the same infinity.
  BOOST_TEST(allclose(tensor({kInf, -kInf}), tensor({kInf, -kInf})));
  BOOST_TEST(!allclose(tensor({kInf}), tensor({-kInf})));
  BOOST_TEST(!allclose(tensor({1.0}), tensor({kInf})));
  BOOST_TEST(!allclose(tensor({kInf}), tensor({1.0})));
  BOOST_TEST(!allclose(tensor({1e300}, {.dtype = kFloat64}), tensor({kInf}, {.dtype = kFloat64})));
}

BOOST_AUTO_TEST_CASE(allclose_refuses_tolerances_that_compare_nothing) {
  // A negative or NaN tolerance made every comparison false, silently; an undefined tensor named no op.
  BOOST_CHECK_EXCEPTION(allclose(zeros({2}), zeros({2}), -1e-5), ValueError,
                        has_message("allclose: rtol and atol must be finite and >= 0, got rtol -1e-05 and atol 1e-08"));
  BOOST_CHECK_EXCEPTION(allclose(zeros({2}), zeros({2}), 0.0, kNaN), ValueError, has_message("atol nan"));
  BOOST_CHECK_EXCEPTION(allclose(Tensor(), zeros({2})), ValueError, has_message("allclose: a is an undefined tensor"));
  BOOST_TEST(allclose(zeros({2}), zeros({2}), 0.0, 0.0));  // zero tolerances: exact equality
}

BOOST_AUTO_TEST_SUITE_END()
