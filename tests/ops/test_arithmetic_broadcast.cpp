// Gradients through broadcasting summed back to each input's shape, views (transposed, narrowed,
// expanded) as inputs, and tensors with no elements.
#include "support/test.hpp"

#include <functional>
#include <ostream>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace attograd {
// Lets BOOST_TEST print a dtype when a comparison fails.
std::ostream& boost_test_print_type(std::ostream& os, DType t) { return os << name(t); }
}  // namespace attograd

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(arithmetic_broadcast)

BOOST_AUTO_TEST_CASE(a_bias_added_to_every_row_gets_the_column_sums) {
  // y = x + b, x [4, 3], b [3]: dx = dy, db[j] = sum_i dy[i][j].
  Tensor x = zeros({4, 3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = zeros({3}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor dy = arange(12.0, {.dtype = kFloat64}).reshape({4, 3});  // rows 0 1 2, 3 4 5, ...
  (x + b).backward(dy);
  BOOST_TEST(b.grad().shape() == Shape{3});
  check_values(b.grad(), {0 + 3 + 6 + 9, 1 + 4 + 7 + 10, 2 + 5 + 8 + 11}, 0.0);
  check_close(x.grad(), dy, 0.0);
  // The same with b on the left, and subtracted: db = -(column sums).
  b.zero_grad();
  (x - b).backward(dy);
  check_values(b.grad(), {-18, -22, -26}, 0.0);
  b.zero_grad();
  (b + x).backward(dy);
  check_values(b.grad(), {18, 22, 26}, 0.0);
}

BOOST_AUTO_TEST_CASE(a_column_and_a_row_get_row_sums_and_column_sums) {
  // c = a * b, a [2, 1], b [1, 3]: da[i] = sum_j dc[i][j] b[j], db[j] = sum_i dc[i][j] a[i].
  Tensor a = tensor(std::vector<double>{1.0, 2.0}, {2, 1}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = tensor({{1.0, 10.0, 100.0}}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor dc = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {.dtype = kFloat64});
  (a * b).backward(dc);
  BOOST_TEST(a.grad().shape() == (Shape{2, 1}));
  BOOST_TEST(b.grad().shape() == (Shape{1, 3}));
  check_values(a.grad(), {1 + 20 + 300, 4 + 50 + 600}, 0.0);
  check_values(b.grad(), {1 + 8, 2 + 10, 3 + 12}, 0.0);
}

BOOST_AUTO_TEST_CASE(a_rank_0_tensor_gets_the_sum_of_everything) {
  Tensor s = scalar_tensor(2.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor m = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {.dtype = kFloat64, .requires_grad = true});
  (m / s).sum().backward();
  BOOST_TEST(s.grad().shape() == Shape{});
  // d/ds sum(m / s) = -sum(m) / s^2 = -21 / 4
  BOOST_TEST(s.grad().item() == -21.0 / 4.0);
  check_values(m.grad(), {0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 0.0);
}

BOOST_AUTO_TEST_CASE(both_contributions_of_a_broadcast_input_used_twice_are_added) {
  // y = (x + b) * b, x [2, 2], b [2]: dy/db[j] = sum_i (x[i][j] + 2 b[j]).
  Tensor x = tensor({{1.0, 2.0}, {3.0, 4.0}}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = tensor({10.0, 20.0}, {.dtype = kFloat64, .requires_grad = true});
  ((x + b) * b).sum().backward();
  check_values(b.grad(), {(1 + 3) + 2 * 2 * 10.0, (2 + 4) + 2 * 2 * 20.0}, 0.0);
  check_values(x.grad(), {10, 20, 10, 20}, 0.0);
}

BOOST_AUTO_TEST_CASE(size_1_dims_broadcast_against_3d_gradcheck) {
  Generator gen(11);
  check_gradients([](const std::vector<Tensor>& in) { return in[0] * in[1] + in[2]; },
                  {rand64({4, 1, 3}, gen), rand64({2, 1}, gen), rand64({1, 1, 1}, gen)});
}

BOOST_AUTO_TEST_CASE(a_transposed_view_as_input_gives_the_right_values_and_gradients) {
  // base [2, 3] = [[1, 2, 3], [4, 5, 6]]; t = baseᵀ [3, 2] = [[1, 4], [2, 5], [3, 6]], not contiguous.
  Tensor base = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {.dtype = kFloat64, .requires_grad = true});
  Tensor w = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor t = base.transpose(0, 1);
  BOOST_TEST(!t.is_contiguous());
  const Tensor y = t * w;
  check_values(y, {1, 8, 6, 20, 15, 36}, 0.0);
  y.sum().backward();
  // d base[i][j] = w[j][i]: the gradient goes back through the transpose.
  check_values(base.grad(), {1, 3, 5, 2, 4, 6}, 0.0);
  check_values(w.grad(), {1, 4, 2, 5, 3, 6}, 0.0);
  // A transposed view with a broadcast partner: t [3, 2] + [2].
  // (A new view: the first one's graph was freed by the backward above.)
  base.zero_grad();
  const Tensor z = base.transpose(0, 1) + tensor({100.0, 200.0}, {.dtype = kFloat64});
  check_values(z, {101, 204, 102, 205, 103, 206}, 0.0);
  z.backward(tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, {.dtype = kFloat64}));
  check_values(base.grad(), {1, 3, 5, 2, 4, 6}, 0.0);
}

BOOST_AUTO_TEST_CASE(views_as_inputs_gradcheck) {
  Generator gen(12);
  // transposed, narrowed (with an offset and a row stride), and selected views on both sides.
  check_gradients([](const std::vector<Tensor>& in) { return in[0].transpose(0, 1) / in[1]; },
                  {rand64({3, 2}, gen), rand64_away_from_zero({2, 3}, gen, 0.5)});
  check_gradients([](const std::vector<Tensor>& in) { return in[0].narrow(1, 1, 2) * in[1].mT(); },
                  {rand64({3, 4}, gen), rand64({2, 3}, gen)});
  check_gradients([](const std::vector<Tensor>& in) { return in[0].narrow(0, 1, 2) - in[0].narrow(0, 0, 2); },
                  {rand64({3, 2}, gen)});
  check_gradients([](const std::vector<Tensor>& in) { return 3.0 / in[0].transpose(0, 2) + in[0].select(1, 0); },
                  {rand64_away_from_zero({2, 2, 2}, gen, 0.5)});
  check_gradients([](const std::vector<Tensor>& in) { return -in[0].expand({3, 4}) * 2.0; }, {rand64({4}, gen)});
}

BOOST_AUTO_TEST_CASE(a_narrowed_view_as_input_gives_the_right_values_and_gradients) {
  // x [3, 4] = 0..11; n = x[:, 1:3] = [[1, 2], [5, 6], [9, 10]] (offset 1, row stride 4).
  Tensor x = arange(12.0, {.dtype = kFloat64}).reshape({3, 4}).detach().requires_grad_();
  const Tensor n = x.narrow(1, 1, 2);
  check_values(n * n, {1, 4, 25, 36, 81, 100}, 0.0);
  check_values(n - 1.0, {0, 1, 4, 5, 8, 9}, 0.0);
  (n * n).sum().backward();
  // d/dx sum(n^2) = 2x inside the narrowed columns, 0 outside.
  check_values(x.grad(), {0, 2, 4, 0, 0, 10, 12, 0, 0, 18, 20, 0}, 0.0);
  // Overlapping views of one tensor: rows 0..1 times rows 1..2.
  Tensor r = tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64, .requires_grad = true});
  (r.narrow(0, 0, 2) * r.narrow(0, 1, 2)).sum().backward();  // r0 r1 + r1 r2
  check_values(r.grad(), {2.0, 1.0 + 3.0, 2.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(empty_tensors_pass_through_every_op_and_get_empty_gradients) {
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, const Tensor&)>>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
  };
  const std::pair<Shape, Shape> shapes[] = {{{0, 3}, {0, 3}}, {{0, 3}, {3}}, {{0, 3}, {1, 3}},
                                            {{0, 3}, {}},     {{2, 0}, {2, 1}}, {{0}, {1}}};
  for (const auto& [name, f] : ops) {
    for (const auto& [sa, sb] : shapes) {
      BOOST_TEST_CONTEXT(fmt::format("{} of {} and {}", name, sa, sb)) {
        Tensor a = ones(sa, {.dtype = kFloat64, .requires_grad = true});
        Tensor b = full(sb, 2.0, {.dtype = kFloat64, .requires_grad = true});
        const Tensor y = f(a, b);
        BOOST_TEST(y.shape() == broadcast_shapes("test", sa, sb));
        BOOST_TEST(y.numel() == 0);
        y.backward(zeros(y.shape(), {.dtype = kFloat64}));
        BOOST_TEST(a.grad().shape() == sa);
        BOOST_TEST(b.grad().shape() == sb);
        // A non-empty input broadcast over an empty dim receives a sum of nothing: zero.
        check_values(b.grad(), std::vector<double>(static_cast<std::size_t>(b.numel()), 0.0), 0.0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(empty_tensors_with_scalars_neg_and_pow) {
  Tensor x = zeros({0, 3}, {.dtype = kFloat64, .requires_grad = true});
  for (const Tensor& y : {x + 1.0, 1.0 - x, x * 2.0, x / 2.0, 2.0 / x, -x, pow(x, 2.0), pow(x, 0.5)}) {
    BOOST_TEST(y.shape() == (Shape{0, 3}));
    BOOST_TEST(y.requires_grad());
    x.zero_grad();
    y.backward(zeros({0, 3}, {.dtype = kFloat64}));
    BOOST_TEST(x.grad().shape() == (Shape{0, 3}));
  }
  // And through a reduction: the sum of nothing is 0, its gradient an empty tensor.
  x.zero_grad();
  Tensor total = (x * 3.0 + 1.0).sum();
  BOOST_TEST(total.item() == 0.0);
  total.backward();
  BOOST_TEST(x.grad().shape() == (Shape{0, 3}));
  // int64 and bool empties too.
  BOOST_TEST((zeros({0}, {.dtype = kInt64}) + 1.0).dtype() == kInt64);
  BOOST_TEST((zeros({0}, {.dtype = kBool}) * 0.5).shape() == Shape{0});
}

BOOST_AUTO_TEST_SUITE_END()
