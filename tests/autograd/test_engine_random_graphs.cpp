// Random compositions of ops, checked whole: each seed builds a small program of 12 steps drawn from the
// ops below, each step reading one to three earlier results, and runs it through the engine. The
// per-op tests check each op alone; these check what the ops do together: gradients that reach one
// tensor along several paths and add up, views and copies in between (transposes, slices, broadcasts,
// duplicated indices), reductions that broadcast back, and the float32 kernels fed by other ops'
// outputs. For every program:
// - gradcheck in float64 (central differences) over its three inputs;
// - the float32 run (the vectorised exp, tanh and softmax rows, layer norm, oneDNN's products) against
//   the float64 run, outputs and gradients, within a tolerance scaled by the largest magnitude.
// The ops are the smooth ones, and kinks are kept out of reach (max has no tie among random values;
// clamp and relu are left to their own tests), so that a finite difference is a fair reference.
#include "support/test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr std::int64_t kRows = 6, kCols = 16;  // every value of a program is [kRows, kCols]

struct Step {
  int op = 0;
  int a = 0, b = 0, c = 0;  // operands: indices of earlier values
  std::int64_t dim = 0;     // for the ops along a dim
};

struct Program {
  std::vector<Step> steps;
  Tensor mask;   // bool [kRows, kCols], for where
  Tensor index;  // int64 [kRows], rows with repeats, for index_select
  Tensor mix;    // [kRows, kCols] float64 weights of the final sum
  std::string text;  // what the program does, for a failure's message
};

constexpr int kOps = 22;
const char* const kNames[kOps] = {"add", "mul", "sub_div", "tanh", "sigmoid", "sin_exp", "gelu", "square_sqrt",
                                  "log1p_square", "softmax", "log_softmax", "layer_norm", "matmul_abt_c",
                                  "sum_keepdim_add", "mean_keepdim_mul", "max_keepdim_sub", "transpose_reshape",
                                  "slice_cat", "index_select", "attention", "fused_attention", "where"};

Program make_program(std::uint64_t seed) {
  Generator gen(seed);
  const auto pick = [&gen](std::int64_t n) { return randint(0, n, {}, gen).item<std::int64_t>(); };
  Program p;
  p.mask = rand({kRows, kCols}, gen) > 0.5;
  p.index = randint(0, kRows, {kRows}, gen);
  p.mix = uniform({kRows, kCols}, -1.0, 1.0, gen, {.dtype = kFloat64});
  for (int s = 0; s < 12; ++s) {
    const std::int64_t values = 3 + s;  // three inputs, then one value per step
    // Mostly recent values, so that paths get long; sometimes an input again, so that they also branch.
    const auto operand = [&] { return static_cast<int>(pick(3) == 0 ? pick(values) : values - 1 - pick(std::min<std::int64_t>(values, 4))); };
    Step step{.op = static_cast<int>(pick(kOps)), .a = operand(), .b = operand(), .c = operand(), .dim = pick(2)};
    p.text += fmt::format("v{} = {}(v{}, v{}, v{}, dim {}); ", values, kNames[step.op], step.a, step.b, step.c, step.dim);
    p.steps.push_back(step);
  }
  return p;
}

Tensor apply(const Step& s, const std::vector<Tensor>& v, const Program& p) {
  const Tensor &a = v[s.a], &b = v[s.b], &c = v[s.c];
  switch (s.op) {
    case 0: return a + b;
    case 1: return a * b;
    case 2: return (a - b) / (c * c + 1.0);
    case 3: return tanh(a);
    case 4: return sigmoid(a) * b;
    case 5: return sin(a) * exp(tanh(b));
    case 6: return gelu(a);
    case 7: return sqrt(a * a + 0.5);
    case 8: return log(a * a + 1.0);
    case 9: return softmax(a * 2.0, s.dim) * static_cast<double>(kCols);
    case 10: return log_softmax(a, s.dim);
    case 11: return layer_norm(a, {kCols}, b.select(0, 0), c.select(0, 1));
    case 12: return matmul(matmul(a, b.mT()), c) * 0.05;  // [R, C]·[C, R]·[R, C]
    case 13: return a.sum(s.dim, true) * 0.1 + b;
    case 14: return a.mean(s.dim, true) * b;
    case 15: return b - max(a, s.dim, true);
    case 16: return a.mT().contiguous().reshape({kRows, kCols}) + b;  // the elements of a, permuted
    case 17: return cat({a.slice(1, 0, kCols / 2), b.slice(1, kCols / 2, kCols)}, 1);
    case 18: return index_select(a, 0, p.index) + b;  // repeated rows add their gradients
    case 19: return scaled_dot_product_attention(a, b, c, s.dim == 1 ? causal_mask(kRows) : Tensor{});
    case 20: return fused_attention(a, b, c, s.dim == 1 ? causal_mask(kRows) : Tensor{});
    default: return where(p.mask, a, b * 0.5);
  }
}

// The program's output: every value it made, each weighted, summed (so that no step is dead).
Tensor run(const Program& p, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> v = inputs;
  for (const Step& s : p.steps) v.push_back(apply(s, v, p));
  const Tensor mix = p.mix.to(inputs[0].dtype());
  Tensor total;
  for (std::size_t i = inputs.size(); i < v.size(); ++i) {
    const Tensor term = (v[i] * mix).sum();
    total = total.defined() ? total + term : term;
  }
  return total;
}

std::vector<Tensor> inputs_for(std::uint64_t seed) {
  Generator gen(1000 + seed);
  std::vector<Tensor> in;
  for (int i = 0; i < 3; ++i) in.push_back(uniform({kRows, kCols}, -1.5, 1.5, gen, {.dtype = kFloat64, .requires_grad = true}));
  return in;
}

double largest(const Tensor& t) { return max(abs(t.to(kFloat64))).item(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(random_graphs)

BOOST_AUTO_TEST_CASE(float64_gradients_agree_with_central_differences) {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const Program p = make_program(seed);
    const GradcheckResult r = gradcheck([&p](const std::vector<Tensor>& in) { return run(p, in); }, inputs_for(seed));
    BOOST_TEST(r.ok, "seed " << seed << ": " << r.message << "\nprogram: " << p.text);
  }
}

BOOST_AUTO_TEST_CASE(float32_agrees_with_float64) {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const Program p = make_program(seed);
    const std::vector<Tensor> in64 = inputs_for(seed);
    std::vector<Tensor> in32;
    for (const Tensor& t : in64) in32.push_back(t.detach().to(kFloat32).requires_grad_());
    const Tensor out64 = run(p, in64), out32 = run(p, in32);
    out64.backward();
    out32.backward();
    // float32 rounds each of a few hundred operations at 6e-8 relative; through 12 steps with sums of
    // up to 96 terms and products of three factors, 2e-4 of the largest magnitude leaves room for the
    // reordered sums of the vectorised and oneDNN paths, and is far below what a wrong kernel gives.
    const double tol = 2e-4;
    const double out_scale = std::max(1.0, std::abs(out64.item()));
    BOOST_TEST(std::abs(out32.item() - out64.item()) <= tol * out_scale,
               "seed " << seed << ": output " << out32.item() << " vs " << out64.item() << "\nprogram: " << p.text);
    for (std::size_t i = 0; i < in64.size(); ++i) {
      // A program may not read every input; then neither run gives it a gradient.
      BOOST_TEST(in32[i].grad().defined() == in64[i].grad().defined(), "seed " << seed << ", input " << i);
      if (!in64[i].grad().defined() || !in32[i].grad().defined()) continue;
      const double scale = std::max(1.0, largest(in64[i].grad()));
      const double diff = largest(in32[i].grad().to(kFloat64) - in64[i].grad());
      BOOST_TEST(diff <= tol * scale, "seed " << seed << ": input " << i << "'s gradient differs by " << diff
                                              << " (largest " << scale << ")\nprogram: " << p.text);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
