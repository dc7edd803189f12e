// Bad-input table for the pointwise ops (arithmetic, unary functions, comparisons, where and
// masked_fill), the reductions and softmax: each invalid call, the exception it must throw, and the
// op and values its message must name.
#include "support/test.hpp"

#include <cmath>
#include <limits>

#include "reliability/bad_inputs.hpp"

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(bad_inputs_elementwise)

BOOST_AUTO_TEST_CASE(arithmetic) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("add broadcast mismatch", [] { add(f32({2, 3}), f32({4})); },
                      {"add: shapes [2, 3] and [4] cannot be broadcast", "dim -1 is 3 vs 4"}),
      bad<ShapeError>("sub broadcast mismatch in a leading dim", [] { sub(f32({2, 1, 3}), f32({4, 2, 3})); },
                      {"sub: shapes [2, 1, 3] and [4, 2, 3]", "dim -3 is 2 vs 4"}),
      bad<ShapeError>("mul zero-size vs 2", [] { mul(f32({0, 3}), f32({2, 3})); },
                      {"mul: shapes [0, 3] and [2, 3]", "0 vs 2"}),
      bad<ShapeError>("div operator mismatch", [] { f32({5}) / f32({6}); }, {"div: shapes [5] and [6]"}),
      bad<ShapeError>("int64 with float32 mismatch", [] { i64({3}) + f32({2}); }, {"add: shapes [3] and [2]"}),
      bad<ValueError>("add undefined lhs", [] { add(kUndefined, f32({2})); }, {"add: lhs is an undefined tensor"}),
      bad<ValueError>("mul undefined rhs", [] { f32({2}) * kUndefined; }, {"mul: rhs is an undefined tensor"}),
      bad<ValueError>("add scalar to undefined", [] { kUndefined + 1.0; }, {"add", "undefined"}),
      bad<ValueError>("scalar minus undefined", [] { 1.0 - kUndefined; }, {"sub", "undefined"}),
      bad<ValueError>("neg undefined", [] { -kUndefined; }, {"neg", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(unary_functions) {
  BOOST_TEST(check_bad_inputs({
      bad<DTypeError>("exp of int64", [] { exp(i64({2})); }, {"exp: expected a floating-point tensor, got int64"}),
      bad<DTypeError>("log of bool", [] { log(mask({2})); }, {"log", "bool"}),
      bad<DTypeError>("sqrt of int64", [] { sqrt(i64({2})); }, {"sqrt", "int64"}),
      bad<DTypeError>("tanh of int64", [] { tanh(i64({2})); }, {"tanh", "int64"}),
      bad<DTypeError>("sin of int64", [] { sin(i64({2})); }, {"sin: expected a floating-point tensor, got int64", ".to(kFloat32)"}),
      bad<DTypeError>("cos of bool", [] { cos(mask({2})); }, {"cos", "bool"}),
      bad<ValueError>("sin of undefined", [] { sin(kUndefined); }, {"sin: input is an undefined tensor"}),
      bad<ValueError>("cos of undefined", [] { cos(kUndefined); }, {"cos", "undefined"}),
      bad<DTypeError>("sigmoid of bool", [] { sigmoid(mask({2})); }, {"sigmoid", "bool"}),
      bad<DTypeError>("relu of int64", [] { relu(i64({2})); }, {"relu", "int64"}),
      bad<DTypeError>("gelu of int64", [] { gelu(i64({2})); }, {"gelu", "int64"}),
      bad<DTypeError>("abs of int64", [] { abs(i64({2})); }, {"abs", "int64"}),
      bad<DTypeError>("pow of int64", [] { pow(i64({2}), 2.0); }, {"pow", "int64"}),
      bad<ValueError>("clamp with NaN lo", [] { clamp(f32({2}), std::nan(""), 1.0); },
                      {"clamp: bounds must not be NaN", "lo nan", "hi 1"}),
      bad<ValueError>("clamp with NaN hi", [] { clamp(f32({2}), std::nullopt, std::nan("")); },
                      {"clamp", "lo none and hi nan"}),
      bad<DTypeError>("clamp of int64", [] { clamp(i64({2}), 0.0, 1.0); }, {"clamp", "int64"}),
      bad<ValueError>("exp of undefined", [] { exp(kUndefined); }, {"exp: input is an undefined tensor"}),
      bad<ValueError>("tanh of undefined", [] { tanh(kUndefined); }, {"tanh", "undefined"}),
      bad<ValueError>("gelu of undefined", [] { gelu(kUndefined); }, {"gelu", "undefined"}),
      bad<ValueError>("clamp of undefined", [] { clamp(kUndefined, 0.0, 1.0); }, {"clamp", "undefined"}),
      bad<ValueError>("pow of undefined", [] { pow(kUndefined, 2.0); }, {"pow", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(comparisons_where_and_masked_fill) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("eq broadcast mismatch", [] { eq(f32({2, 3}), f32({4})); }, {"eq: shapes [2, 3] and [4]"}),
      bad<ShapeError>("lt operator mismatch", [] { f32({3}) < f32({2}); }, {"lt: shapes [3] and [2]"}),
      bad<ShapeError>("ge mismatch", [] { ge(f32({3, 1}), f32({2, 4})); }, {"ge", "[3, 1]", "[2, 4]"}),
      bad<ShapeError>("gt mismatch", [] { gt(f32({2, 3}), f32({3, 2})); }, {"gt", "[2, 3]", "[3, 2]"}),
      bad<ShapeError>("le mismatch", [] { le(f32({5}), f32({4})); }, {"le", "[5]", "[4]"}),
      bad<ShapeError>("ne mismatch", [] { ne(i64({2, 2}), i64({3})); }, {"ne", "[2, 2]", "[3]"}),
      bad<DTypeError>("logical_and of float lhs", [] { logical_and(f32({2}), mask({2})); },
                      {"logical_and: lhs must be a bool tensor (a mask), got float32"}),
      bad<DTypeError>("logical_or of int64 rhs", [] { logical_or(mask({2}), i64({2})); },
                      {"logical_or: rhs must be a bool tensor", "int64"}),
      bad<DTypeError>("logical_not of float", [] { logical_not(f32({2})); }, {"logical_not", "float32"}),
      bad<ShapeError>("logical_and shape mismatch", [] { logical_and(mask({2}), mask({3})); },
                      {"logical_and", "[2]", "[3]"}),
      bad<DTypeError>("where with a float condition", [] { where(f32({2}), f32({2}), f32({2})); },
                      {"where: cond must be a bool tensor", "float32"}),
      bad<ShapeError>("where with a mismatched branch", [] { where(mask({2}), f32({3}), f32({2})); },
                      {"where", "[3]", "[2]"}),
      bad<ShapeError>("where with a mismatched condition", [] { where(mask({4}), f32({3}), 0.0); },
                      {"where", "[4]", "[3]"}),
      bad<ShapeError>("masked_fill mask does not broadcast", [] { masked_fill(f32({2, 3}), mask({3, 2}), 0.0); },
                      {"masked_fill: shapes [3, 2] and [2, 3] cannot be broadcast"}),
      bad<ShapeError>("masked_fill mask bigger than input", [] { masked_fill(f32({3}), mask({2, 3}), 0.0); },
                      {"masked_fill", "[2, 3]", "[3]"}),
      bad<DTypeError>("masked_fill float mask", [] { masked_fill(f32({3}), f32({3}), 0.0); },
                      {"masked_fill", "mask", "float32"}),
      bad<DTypeError>("all of a float tensor", [] { all(f32({2})); }, {"all", "float32"}),
      bad<DTypeError>("any of an int64 tensor", [] { any(i64({2})); }, {"any", "int64"}),
      // An undefined tensor is refused by the op that got it, by name (require_defined).
      bad<ValueError>("eq with undefined lhs", [] { eq(kUndefined, f32({2})); }, {"eq", "undefined"}),
      bad<ValueError>("where with undefined cond", [] { where(kUndefined, f32({2}), f32({2})); },
                      {"where", "undefined"}),
      bad<ValueError>("masked_fill of undefined", [] { masked_fill(kUndefined, mask({2}), 0.0); },
                      {"masked_fill", "undefined"}),
      bad<ValueError>("isnan of undefined", [] { isnan(kUndefined); }, {"isnan", "undefined"}),
      bad<ValueError>("isinf of undefined", [] { isinf(kUndefined); }, {"isinf", "undefined"}),
      // allclose compares any two tensors (other shapes are not close, other dtypes compare as doubles),
      // so its only invalid calls are undefined tensors and tolerances that make no comparison true.
      bad<ValueError>("allclose of undefined a", [] { allclose(kUndefined, f32({2})); },
                      {"allclose: a is an undefined tensor"}),
      bad<ValueError>("allclose of undefined b", [] { allclose(f32({2}), kUndefined); },
                      {"allclose: b is an undefined tensor"}),
      bad<ValueError>("allclose negative rtol", [] { allclose(f32({2}), f32({2}), -1e-5); },
                      {"allclose: rtol and atol must be finite and >= 0, got rtol -1e-05 and atol 1e-08"}),
      bad<ValueError>("allclose NaN atol", [] { allclose(f32({2}), f32({2}), 1e-5, std::nan("")); },
                      {"allclose", "atol nan"}),
      bad<ValueError>("allclose infinite rtol", [] { allclose(f32({2}), f32({2}), kInf); }, {"allclose", "rtol inf"}),
  }));
}

BOOST_AUTO_TEST_CASE(reductions) {
  BOOST_TEST(check_bad_inputs({
      bad<IndexError>("sum dim past the rank", [] { sum(f32({2, 3}), {2}); },
                      {"sum: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"}),
      bad<IndexError>("sum negative dim past the rank", [] { sum(f32({2, 3}), {-3}); }, {"sum", "dim -3", "rank 2"}),
      bad<IndexError>("sum the same dim twice", [] { sum(f32({2, 3}), {1, -1}); },
                      {"sum: dim 1 appears twice in [1, -1]"}),
      // A rank-0 tensor accepts dim 0 and -1, as in PyTorch; dim 1 is out of range.
      bad<IndexError>("mean dim of a scalar", [] { mean(f32({}), {1}); }, {"mean", "dim 1", "rank 0"}),
      bad<DTypeError>("mean of int64", [] { mean(i64({2})); }, {"mean: expected a floating-point tensor, got int64"}),
      bad<IndexError>("max dim out of range", [] { max(f32({2}), {1}); }, {"max", "dim 1", "rank 1"}),
      bad<ShapeError>("max of an empty tensor", [] { max(f32({0})); },
                      {"max: cannot reduce dim 0 of size 0 (shape [0])", "maximum"}),
      bad<ShapeError>("min over an empty dim", [] { min(f32({2, 0}), {1}); },
                      {"min: cannot reduce dim 1 of size 0 (shape [2, 0])", "minimum"}),
      bad<DTypeError>("max of bool", [] { max(mask({2})); }, {"max: expected a numeric tensor, got bool"}),
      bad<IndexError>("argmax dim out of range", [] { argmax(f32({2, 3}), 2); }, {"argmax", "dim 2", "rank 2"}),
      bad<IndexError>("argmin dim of a scalar", [] { argmin(f32({}), 1); }, {"argmin", "dim 1", "rank 0"}),
      bad<ShapeError>("argmax over an empty dim", [] { argmax(f32({3, 0}), 1); },
                      {"argmax: cannot reduce dim 1 of size 0 (shape [3, 0])"}),
      bad<ShapeError>("argmin of an empty tensor", [] { argmin(f32({2, 0})); }, {"argmin", "size 0", "[2, 0]"}),
      bad<DTypeError>("argmax of bool", [] { argmax(mask({2}), 0); }, {"argmax", "bool"}),
      bad<ShapeError>("sum_to a shape that does not broadcast", [] { sum_to(f32({2, 3}), {4}); },
                      {"sum_to", "[2, 3]", "[4]"}),
      // An undefined tensor is refused by the op that got it, by name (require_defined).
      bad<ValueError>("sum of undefined", [] { sum(kUndefined); }, {"sum", "undefined"}),
      bad<ValueError>("argmax of undefined", [] { argmax(kUndefined, 0); }, {"argmax", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax) {
  BOOST_TEST(check_bad_inputs({
      bad<IndexError>("softmax dim out of range", [] { softmax(f32({2, 3}), 2); },
                      {"softmax: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"}),
      bad<IndexError>("softmax of a scalar", [] { softmax(f32({}), 1); }, {"softmax", "dim 1", "rank 0"}),
      bad<IndexError>("log_softmax negative dim out of range", [] { log_softmax(f32({4}), -2); },
                      {"log_softmax", "dim -2", "rank 1"}),
      bad<DTypeError>("softmax of int64", [] { softmax(i64({3}), 0); }, {"softmax", "int64"}),
      bad<DTypeError>("log_softmax of bool", [] { log_softmax(mask({3}), 0); }, {"log_softmax", "bool"}),
      bad<ValueError>("softmax of undefined", [] { softmax(kUndefined, 0); }, {"softmax", "undefined"}),
  }));
}

BOOST_AUTO_TEST_SUITE_END()
