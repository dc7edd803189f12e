// Differential checks of oneDNN's float32 matmuls against attograd's reference kernel (shared by
// tests/backend/test_matmul.cpp and test_onednn.cpp).
//
// Tolerance, element-wise:  |oneDNN - reference| <= 1e-5 · sqrt(L) · (|A|·|B|)
// where |A|·|B| is the same product of the absolute values (the sum rounding errors scale with, so the
// bound holds however much the terms cancel) and L the number of terms each element sums (K for the
// forward product). Two float32 summations in different orders typically differ by about
// 6e-8 · sqrt(L) · (|A|·|B|): 1e-5 leaves a wide margin, while a misread layout (a transposed, shifted
// or mis-broadcast operand) gives errors of the order of |A|·|B| itself.
#pragma once

#include <cmath>
#include <functional>
#include <string>

#include "backend/matmul.hpp"
#include "backend/onednn.hpp"
#include "support/test.hpp"

namespace attograd::testing {

inline constexpr double kMatmulTolerance = 1e-5;

inline void check_within(const Tensor& actual, const Tensor& expected, const Tensor& scale, double terms,
                         const std::string& what) {
  BOOST_TEST_REQUIRE(actual.shape() == expected.shape(),
                     fmt::format("{}: shape {} vs reference {}", what, actual.shape(), expected.shape()));
  const std::vector<double> x = actual.to_vector<double>();
  const std::vector<double> y = expected.to_vector<double>();
  const std::vector<double> s = scale.to_vector<double>();
  const double tolerance = kMatmulTolerance * std::sqrt(std::max(terms, 1.0));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(std::abs(x[i] - y[i]) <= tolerance * s[i])) {
      BOOST_TEST(false, fmt::format("{}: element {}: oneDNN {} vs reference {} (allowed difference {})", what, i, x[i],
                                    y[i], tolerance * s[i]));
      return;
    }
  }
}

// Products oneDNN has computed so far.
inline std::uint64_t onednn_products() { return backend::onednn::cache_stats().products; }

// a·b (float32) through attograd::matmul, on oneDNN and on the reference kernel. Also fails when
// oneDNN did not compute it: comparing the reference with itself would prove nothing.
inline void check_matmul_matches_reference(const Tensor& a, const Tensor& b, const std::string& what) {
  NoGradGuard no_grad;
  const std::uint64_t before = onednn_products();
  const Tensor fast = matmul(a, b);
  BOOST_TEST(onednn_products() == before + 1, fmt::format("{}: the product did not run on oneDNN", what));
  MatmulBackendGuard reference(MatmulBackend::Reference);
  const Tensor expected = matmul(a, b);
  const Tensor scale = matmul(abs(a).to(kFloat64), abs(b).to(kFloat64));
  check_within(fast, expected, scale, static_cast<double>(a.size(-1)), what);
}

// backend::matmul_bias(a, b, bias) on oneDNN (the bias fused) and on the reference kernel followed by
// an add. The bound adds |bias| to |A|·|B|, and the bias is one more term.
inline void check_matmul_bias_matches_reference(const Tensor& a, const Tensor& b, const Tensor& bias,
                                                const std::string& what) {
  Tensor expected = empty(matmul(a, b).shape());
  Tensor fast = empty(expected.shape());
  const std::uint64_t before = onednn_products();
  backend::matmul_bias(a, b, bias, fast);
  BOOST_TEST(onednn_products() == before + 1, fmt::format("{}: the product did not run on oneDNN", what));
  MatmulBackendGuard reference(MatmulBackend::Reference);
  backend::matmul_bias(a, b, bias, expected);
  const Tensor scale = matmul(abs(a).to(kFloat64), abs(b).to(kFloat64)) + abs(bias).to(kFloat64);
  check_within(fast, expected, scale, static_cast<double>(a.size(-1) + 1), what);
}

// The product f(x, y) of two float32 leaves of these shapes, backward with a random upstream gradient
// g: the gradients on oneDNN (forward and both backward products: 3 products) against the reference.
// The bound for a gradient comes from the same backward run on |x|, |y| and |g|.
using Product = std::function<Tensor(const Tensor& x, const Tensor& y)>;

inline void check_backward_matches_reference(const Shape& xs, const Shape& ys, std::int64_t inner, const Product& f,
                                             Generator& gen, const std::string& what) {
  const Tensor x0 = randn(xs, gen);
  const Tensor y0 = randn(ys, gen);
  const auto run = [&](const Tensor& xv, const Tensor& yv, const Tensor& g) {
    Tensor x = xv.clone().requires_grad_();
    Tensor y = yv.clone().requires_grad_();
    f(x, y).backward(g);
    return std::pair{x.grad(), y.grad()};
  };
  Tensor out;
  {
    NoGradGuard no_grad;
    out = f(x0, y0);
  }
  const Tensor g = randn(out.shape(), gen);
  const std::uint64_t before = onednn_products();
  const auto [dx, dy] = run(x0, y0, g);
  BOOST_TEST(onednn_products() == before + 3, fmt::format("{}: forward and backward did not all run on oneDNN", what));
  MatmulBackendGuard reference(MatmulBackend::Reference);
  const auto [rx, ry] = run(x0, y0, g);
  const auto [sx, sy] = run(abs(x0).to(kFloat64), abs(y0).to(kFloat64), abs(g).to(kFloat64));
  // Terms summed per gradient element: every element of out takes `inner` products, spread evenly.
  const double n = static_cast<double>(out.numel()) * static_cast<double>(inner);
  check_within(dx, rx, sx, n / static_cast<double>(x0.numel()), what + " (gradient of x)");
  check_within(dy, ry, sy, n / static_cast<double>(y0.numel()), what + " (gradient of y)");
}

}  // namespace attograd::testing
