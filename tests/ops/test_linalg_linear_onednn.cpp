// linear and linear_relu on oneDNN against the reference kernel and float64: the value and the
// gradients of the input, the weight and the bias, in float32 and in the bf16 mode, within the bounds
// of tests/ops/onednn_bounds.hpp (derived there from each product's inner size and operands).
#include "support/test.hpp"

#include "ops/onednn_bounds.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

struct Case {
  Shape x, w;
  bool bias = true;
  bool transposed_input = false;  // the leaf is xᵀ, and x reaches linear as its transposed view
  std::string name;
};

const std::vector<Case> kCases{
    {{16, 24}, {12, 24}, true, false, "[16, 24]·[12, 24]ᵀ + b"},
    {{2, 5, 24}, {7, 24}, true, false, "a sequence [2, 5, 24], folded into rows"},
    {{9, 33}, {5, 33}, false, false, "no bias, odd sizes"},
    {{32, 256}, {64, 256}, true, false, "K = 256"},
    {{16, 24}, {12, 24}, true, true, "a transposed input"},
    {{1, 40}, {3, 40}, true, false, "one row"},
};

// The leaves {x (or xᵀ), w, b} (b absent without bias).
std::vector<Tensor> leaves_for(const Case& c, Generator& gen) {
  std::vector<Tensor> in{randn(c.transposed_input ? Shape{c.x[1], c.x[0]} : c.x, gen), randn(c.w, gen)};
  if (c.bias) in.push_back(randn({c.w[0]}, gen));
  return in;
}

Tensor linear_of(const Case& c, const std::vector<Tensor>& in, bool relu) {
  const Tensor x = c.transposed_input ? in[0].mT() : in[0];
  const Tensor b = in.size() > 2 ? in[2] : Tensor();
  return relu ? linear_relu(x, in[1], b) : linear(x, in[1], b);
}

// Runs one case three ways and checks it. For linear_relu the bounds are linear's with the upstream
// gradient masked, plus what a pre-activation near 0 may change (linear_relu_bounds); the
// pre-activation comes from the reference path of the current mode.
void check_case(const Case& c, bool relu, Generator& gen) {
  const std::vector<Tensor> in = leaves_for(c, gen);
  Shape out = c.x;
  out[-1] = c.w[0];
  const Tensor g = randn(out, gen);
  const Tensor x64 = (c.transposed_input ? in[0].mT() : in[0]).to(kFloat64), w64 = in[1].to(kFloat64);
  const Tensor b64 = c.bias ? in[2].to(kFloat64) : Tensor();
  LinearBounds bound = linear_bounds(x64, w64, b64, g.to(kFloat64));
  const std::string what = fmt::format("{}{}", relu ? "linear_relu, " : "linear, ", c.name);
  if (relu) {
    Tensor pre;
    {
      NoGradGuard no_grad;
      MatmulBackendGuard reference(MatmulBackend::Reference);
      pre = linear_of(c, in, false);
    }
    bound = linear_relu_bounds(x64, w64, b64, g, pre);
  }
  const Computation f = [&c, relu](const std::vector<Tensor>& t) { return linear_of(c, t, relu); };
  const Passes p = run_three(f, in, g, 3, what);
  std::vector<Tensor> bounds{bound.y, c.transposed_input ? bound.dx.mT() : bound.dx, bound.dw};
  if (c.bias) bounds.push_back(bound.db);
  check_passes(p, bounds, {"x", "w", "b"}, what);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(linear_onednn)

BOOST_AUTO_TEST_CASE(linear_float32_matches_the_reference_and_float64) {
  Generator gen(11);
  for (const Case& c : kCases) check_case(c, false, gen);
}

BOOST_AUTO_TEST_CASE(linear_relu_float32_matches_the_reference_and_float64) {
  Generator gen(12);
  for (const Case& c : kCases) check_case(c, true, gen);
}

BOOST_AUTO_TEST_CASE(linear_bf16_matches_the_rounding_reference, *boost::unit_test::precondition(onednn_has_bf16)) {
  // Every product's operands are leaves or the upstream gradient (masked by ReLU in linear_relu): the
  // same float32 values on both paths, rounded to the same bfloat16 values.
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  Generator gen(13);
  for (const Case& c : kCases) {
    check_case(c, false, gen);
    check_case(c, true, gen);
  }
}

BOOST_AUTO_TEST_CASE(the_bounds_see_a_wrong_layout_and_a_small_error) {
  // The check can fail: W read transposed (a square W, so the shapes still fit) is far outside the
  // bound, and so is one output element moved by 1e-3 of its terms' size.
  Generator gen(14);
  const Tensor x = randn({8, 16}, gen), w = randn({16, 16}, gen);
  NoGradGuard no_grad;
  const Tensor bound = linear_bounds(x, w, Tensor(), ones({8, 16})).y;
  const Tensor right = linear(x, w).to(kFloat64);
  BOOST_TEST(worst_ratio(linear(x, w), right, bound) <= 1.0);
  BOOST_TEST(worst_ratio(linear(x, w.mT().contiguous()), right, bound) > 100.0);
  std::vector<double> bump(8 * 16, 0.0);
  bump[3 * 16 + 5] = 1e-3 * absmm(x, w.mT()).at({3, 5});
  BOOST_TEST(worst_ratio(right + tensor(bump, {8, 16}, {.dtype = kFloat64}), right, bound) > 10.0);
}

BOOST_AUTO_TEST_SUITE_END()
