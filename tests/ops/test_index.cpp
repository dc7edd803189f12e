// index_select: values, every dtype, negative and repeated indices, gradients, errors.
#include "support/test.hpp"

#include <attograd/ops/index.hpp>

using namespace attograd;
using namespace attograd::testing;

namespace {
Tensor ids(std::vector<std::int64_t> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return tensor_of<std::int64_t>(v, {n});
}
}  // namespace

BOOST_AUTO_TEST_CASE(selects_rows_and_columns) {
  Tensor x = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}, {7.0, 8.0, 9.0}});
  check_values(index_select(x, 0, ids({2, 0})), {7, 8, 9, 1, 2, 3});
  check_values(index_select(x, 1, ids({1, 1, -1})), {2, 2, 3, 5, 5, 6, 8, 8, 9});
  check_values(index_select(x.mT(), 0, ids({0})), {1, 4, 7});  // from a view
  BOOST_TEST(index_select(x, 0, ids({})).shape() == (Shape{0, 3}));
}

BOOST_AUTO_TEST_CASE(works_for_int64_and_bool) {
  Tensor tokens = tensor_of<std::int64_t>({10, 11, 12, 13, 14, 15}, {3, 2});
  Tensor picked = index_select(tokens, 0, ids({1, 1}));
  BOOST_TEST(picked.dtype() == kInt64);
  BOOST_TEST((picked.to_vector<std::int64_t>() == std::vector<std::int64_t>{12, 13, 12, 13}));
  Tensor mask = tensor_of<bool>({true, false, true}, {3});
  BOOST_TEST((index_select(mask, 0, ids({1, 2})).to_vector<bool>() == std::vector<bool>{false, true}));
}

BOOST_AUTO_TEST_CASE(a_repeated_index_gets_every_gradient) {
  Tensor x = zeros({3, 2}, {.dtype = kFloat64, .requires_grad = true});
  index_select(x, 0, ids({1, 1, 2})).sum().backward();
  check_values(x.grad(), {0, 0, 2, 2, 1, 1});
}

BOOST_AUTO_TEST_CASE(gradients) {
  Generator gen(2);
  check_gradients([](const auto& in) { return index_select(in[0], 0, ids({2, 0, 2})); }, {rand64({3, 4}, gen)});
  check_gradients([](const auto& in) { return index_select(in[0], -1, ids({3, 1})); }, {rand64({2, 3, 4}, gen)});
}

BOOST_AUTO_TEST_CASE(errors) {
  Tensor x = ones({3, 2});
  BOOST_CHECK_EXCEPTION(index_select(x, 0, ids({0, 3})), IndexError,
                        has_message("index_select: index 3 at position 1 is out of range for dim 0 of size 3 (shape [3, 2])"));
  BOOST_CHECK_EXCEPTION(index_select(x, 2, ids({0})), IndexError, has_message("index_select: dim 2 is out of range"));
  BOOST_CHECK_EXCEPTION(index_select(x, 0, ones({1})), DTypeError,
                        has_message("index_select: the index must be a 1-D int64 tensor, got float32 of shape [1]"));
  BOOST_CHECK_EXCEPTION(index_select(scalar_tensor(1.0), 0, ids({0})), ShapeError, has_message("rank-0"));
}
