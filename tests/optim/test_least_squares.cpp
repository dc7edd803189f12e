// End to end: fit w in y = X w (3 weights, noisy targets) by gradient descent on the mean squared
// error, and compare with the exact least-squares solution from the normal equations XᵀX w = Xᵀy.
#include "support/test.hpp"

#include <array>
#include <cmath>

using namespace attograd;
using namespace attograd::optim;
using namespace attograd::testing;

namespace {

constexpr std::int64_t kRows = 32;

struct Problem {
  Tensor X;  // [N, 3]
  Tensor y;  // [N, 1]
  std::array<double, 3> exact{};
};

// Solves the 3 x 3 system A w = r by Gaussian elimination with partial pivoting.
std::array<double, 3> solve3(std::array<std::array<double, 3>, 3> A, std::array<double, 3> r) {
  for (int c = 0; c < 3; ++c) {
    int pivot = c;
    for (int i = c + 1; i < 3; ++i) {
      if (std::abs(A[i][c]) > std::abs(A[pivot][c])) pivot = i;
    }
    std::swap(A[c], A[pivot]);
    std::swap(r[c], r[pivot]);
    for (int i = c + 1; i < 3; ++i) {
      const double f = A[i][c] / A[c][c];
      for (int j = c; j < 3; ++j) A[i][j] -= f * A[c][j];
      r[i] -= f * r[c];
    }
  }
  std::array<double, 3> w{};
  for (int i = 2; i >= 0; --i) {
    double s = r[i];
    for (int j = i + 1; j < 3; ++j) s -= A[i][j] * w[j];
    w[i] = s / A[i][i];
  }
  return w;
}

Problem make_problem() {
  Generator gen(2024);
  Problem p;
  p.X = randn({kRows, 3}, gen, {.dtype = kFloat64});
  const Tensor w_true = tensor(std::vector<double>{1.5, -2.0, 0.5}, {3, 1}, {.dtype = kFloat64});
  p.y = matmul(p.X, w_true) + 0.1 * randn({kRows, 1}, gen, {.dtype = kFloat64});
  // Normal equations, by hand.
  std::array<std::array<double, 3>, 3> XtX{};
  std::array<double, 3> Xty{};
  for (std::int64_t n = 0; n < kRows; ++n) {
    for (int i = 0; i < 3; ++i) {
      Xty[i] += p.X.at({n, i}) * p.y.at({n, 0});
      for (int j = 0; j < 3; ++j) XtX[i][j] += p.X.at({n, i}) * p.X.at({n, j});
    }
  }
  p.exact = solve3(XtX, Xty);
  return p;
}

// Minimises mean((X w - y)^2) from w = 0 for `steps` steps; returns w.
std::vector<double> fit(Optimizer& opt, Tensor& w, const Problem& p, int steps) {
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    const Tensor err = matmul(p.X, w) - p.y;
    (err * err).mean().backward();
    opt.step();
  }
  return w.to_vector<double>();
}

void check_solution(const std::vector<double>& w, const std::array<double, 3>& exact) {
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(std::abs(w[i] - exact[i]) < 1e-3, fmt::format("w[{}] = {} vs exact {}", i, w[i], exact[i]));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(least_squares)

BOOST_AUTO_TEST_CASE(the_exact_solution_is_near_the_true_weights) {
  // A check on the oracle itself: with small noise the least-squares solution is close to [1.5, -2, 0.5]
  // but not equal to it.
  const Problem p = make_problem();
  BOOST_TEST(std::abs(p.exact[0] - 1.5) < 0.1);
  BOOST_TEST(std::abs(p.exact[1] + 2.0) < 0.1);
  BOOST_TEST(std::abs(p.exact[2] - 0.5) < 0.1);
  BOOST_TEST(p.exact[0] != 1.5);
}

BOOST_AUTO_TEST_CASE(sgd_with_momentum_converges) {
  const Problem p = make_problem();
  Tensor w = zeros({3, 1}, {.dtype = kFloat64, .requires_grad = true});
  SGD opt({w}, {.lr = 0.05, .momentum = 0.9});
  check_solution(fit(opt, w, p, 300), p.exact);
}

BOOST_AUTO_TEST_CASE(adam_converges) {
  const Problem p = make_problem();
  Tensor w = zeros({3, 1}, {.dtype = kFloat64, .requires_grad = true});
  Adam opt({w}, {.lr = 0.05});
  // Adam's steps do not shrink with the gradient, so the lr is annealed to let it settle.
  CosineAnnealingLR schedule(opt, 1000);
  for (int step = 0; step < 1000; ++step) {
    fit(opt, w, p, 1);
    schedule.step();
  }
  check_solution(w.to_vector<double>(), p.exact);
}

BOOST_AUTO_TEST_SUITE_END()
