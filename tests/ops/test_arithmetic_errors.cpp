// Bad input to add, sub, mul, div, neg and pow: shapes that do not broadcast, undefined tensors. Each
// message names the op and the values.
#include "support/test.hpp"

#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

using namespace attograd;
using namespace attograd::testing;

namespace {

struct Named {
  std::string op;
  std::function<Tensor(const Tensor&, const Tensor&)> f;
};

// The op name in the message is the same whether the named function or the operator was called.
const std::vector<Named> kOps = {
    {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
    {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
    {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
    {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
    {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
    {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
    {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
    {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(arithmetic_errors)

BOOST_AUTO_TEST_CASE(shapes_that_do_not_broadcast_name_the_op_both_shapes_and_the_dim) {
  struct Case {
    Shape a, b;
    std::string says;  // after "<op>: "
  };
  const Case cases[] = {
      {{2, 3}, {4}, "shapes [2, 3] and [4] cannot be broadcast: dim -1 is 3 vs 4"},
      {{4}, {2, 3}, "shapes [4] and [2, 3] cannot be broadcast: dim -1 is 4 vs 3"},
      {{2, 3, 4}, {5, 4}, "shapes [2, 3, 4] and [5, 4] cannot be broadcast: dim -2 is 3 vs 5"},
      {{3, 1}, {2, 4}, "shapes [3, 1] and [2, 4] cannot be broadcast: dim -2 is 3 vs 2"},
      {{2, 1, 3}, {4, 2, 3}, "shapes [2, 1, 3] and [4, 2, 3] cannot be broadcast: dim -3 is 2 vs 4"},
      {{0, 3}, {2, 3}, "shapes [0, 3] and [2, 3] cannot be broadcast: dim -2 is 0 vs 2"},
  };
  for (const Named& op : kOps) {
    for (const Case& c : cases) {
      BOOST_TEST_CONTEXT(fmt::format("{} of {} and {}", op.op, c.a, c.b)) {
        // With and without gradients, and in different dtypes: the same message, before any work.
        BOOST_CHECK_EXCEPTION(op.f(zeros(c.a), ones(c.b)), ShapeError, has_message(fmt::format("{}: {}", op.op, c.says)));
        BOOST_CHECK_EXCEPTION(op.f(zeros(c.a, {.dtype = kFloat64, .requires_grad = true}), ones(c.b)), ShapeError,
                              has_message(fmt::format("{}: {}", op.op, c.says)));
        BOOST_CHECK_EXCEPTION(op.f(zeros(c.a, {.dtype = kInt64}), ones(c.b, {.dtype = kFloat32})), ShapeError,
                              has_message(fmt::format("{}: {}", op.op, c.says)));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_failed_op_leaves_its_inputs_untouched) {
  Tensor a = ones({2, 3}, {.requires_grad = true});
  Tensor b = ones({4});
  BOOST_CHECK_THROW(a * b, ShapeError);
  BOOST_TEST(!a.grad().defined());
  BOOST_TEST(a.is_leaf());
  // a still works afterwards, and only the successful op reaches its gradient.
  (a * 2.0).sum().backward();
  check_values(a.grad(), {2, 2, 2, 2, 2, 2}, 0.0);
}

BOOST_AUTO_TEST_CASE(an_undefined_tensor_is_named_by_the_op) {
  // A common slip: using x.grad() before any backward reached x.
  const Tensor x = ones({2}, {.requires_grad = true});
  const Tensor undefined = x.grad();
  BOOST_CHECK_EXCEPTION(add(undefined, x), ValueError, has_message("add: lhs is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(x - undefined, ValueError, has_message("sub: rhs is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(undefined * x, ValueError, has_message("mul: lhs is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(x / undefined, ValueError, has_message("div: rhs is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(undefined * 0.1, ValueError, has_message("mul: input is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(0.1 - undefined, ValueError, has_message("sub: input is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(1.0 / undefined, ValueError, has_message("div: input is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(undefined + 1.0, ValueError, has_message("add: input is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(undefined - 1.0, ValueError, has_message("sub: input is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(-undefined, ValueError, has_message("neg: input is an undefined tensor"));
  BOOST_CHECK_EXCEPTION(pow(undefined, 2.0), ValueError, has_message("pow: input is an undefined tensor"));
}

BOOST_AUTO_TEST_SUITE_END()
