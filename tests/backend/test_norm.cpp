// layer_norm's fused kernels (lib/backend/norm.cpp, called by lib/ops/norm.cpp) against the composite
// of mean, sub, mul, sqrt and div they replace (layer_norm_composite): values and all three gradients
// in float32 and float64, with and without weight and bias, over one and two normalized dims, on a
// non-contiguous input; plus a float64 gradcheck of the fused op.
#include "support/test.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "backend/norm.hpp"
#include "backend/row_sum.hpp"
#include "ops/norm_composite.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

struct Case {
  Shape x_shape;
  Shape normalized;
  bool affine;
};

// Values and gradients of sum(Y * R) for a fixed random R, fused against composite.
void compare(const Case& c, DType dtype, double tolerance, bool transposed = false) {
  Generator gen(21);
  Tensor base = randn(c.x_shape, gen, {.dtype = dtype}) * 3.0 + 1.5;
  if (transposed) base = base.transpose(0, 1).contiguous().transpose(0, 1);  // same values, other strides
  const Tensor r = randn(c.x_shape, gen, {.dtype = dtype});
  const Tensor w0 = randn(c.normalized, gen, {.dtype = dtype});
  const Tensor b0 = randn(c.normalized, gen, {.dtype = dtype});
  Tensor x1 = base.detach().requires_grad_(), x2 = base.clone().requires_grad_();
  Tensor w1, w2, b1, b2;
  if (c.affine) {
    w1 = w0.clone().requires_grad_();
    w2 = w0.clone().requires_grad_();
    b1 = b0.clone().requires_grad_();
    b2 = b0.clone().requires_grad_();
  }
  const Tensor y1 = layer_norm(x1, c.normalized, w1, b1);
  const Tensor y2 = layer_norm_composite(x2, c.normalized, w2, b2, 1e-5);
  BOOST_TEST(y1.grad_fn_name() == "layer_norm");
  check_close(y1, y2, tolerance);
  (y1 * r).sum().backward();
  (y2 * r).sum().backward();
  check_close(x1.grad(), x2.grad(), tolerance);
  if (c.affine) {
    check_close(w1.grad(), w2.grad(), tolerance * 10);  // sums over every row
    check_close(b1.grad(), b2.grad(), tolerance * 10);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layer_norm_fused)

BOOST_AUTO_TEST_CASE(matches_the_composite_in_float64) {
  for (const Case& c : {Case{{4, 6}, {6}, true}, Case{{2, 3, 8}, {8}, true}, Case{{2, 3, 4}, {3, 4}, true},
                        Case{{5, 7}, {7}, false}, Case{{3, 1}, {1}, true}}) {
    compare(c, kFloat64, 1e-12);
  }
  compare({{3, 4, 5}, {5}, true}, kFloat64, 1e-12, /*transposed=*/true);
}

BOOST_AUTO_TEST_CASE(matches_the_composite_in_float32) {
  compare({{8, 64, 128}, {128}, true}, kFloat32, 2e-5);  // the transformers' shape, smaller batch
  compare({{6, 10}, {10}, false}, kFloat32, 2e-5);
}

BOOST_AUTO_TEST_CASE(a_constant_row_gives_the_bias_and_a_finite_gradient) {
  Tensor x = full({2, 4}, 3.0, {.dtype = kFloat64}).requires_grad_();
  Tensor b = tensor({0.5, -1.0, 2.0, 0.0}, {.dtype = kFloat64}).requires_grad_();
  const Tensor w = ones({4}, {.dtype = kFloat64});
  const Tensor y = layer_norm(x, {4}, w, b);
  check_values(y, {0.5, -1.0, 2.0, 0.0, 0.5, -1.0, 2.0, 0.0}, 1e-12);
  (y * tensor({1.0, 2.0, 3.0, 4.0}, {.dtype = kFloat64})).sum().backward();
  // xhat = 0, so dX = rstd (G - mean(G)) with rstd = 1/sqrt(eps) and G = [1, 2, 3, 4]: mean 2.5.
  const double rs = 1.0 / std::sqrt(1e-5);
  check_values(x.grad(), {-1.5 * rs, -0.5 * rs, 0.5 * rs, 1.5 * rs, -1.5 * rs, -0.5 * rs, 0.5 * rs, 1.5 * rs}, 1e-6);
  check_values(b.grad(), {2.0, 4.0, 6.0, 8.0}, 1e-12);
}

BOOST_AUTO_TEST_CASE(hand_computed_values) {
  // Row [1, 2, 3, 6]: mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5.
  const Tensor x = tensor({1.0, 2.0, 3.0, 6.0}, {.dtype = kFloat64}).reshape({1, 4});
  const double s = 1.0 / std::sqrt(3.5 + 1e-5);
  check_values(layer_norm(x, {4}), {-2.0 * s, -1.0 * s, 0.0, 3.0 * s}, 1e-12);
}

BOOST_AUTO_TEST_CASE(gradcheck_of_every_input) {
  Generator gen(4);
  check_gradients([](const auto& in) { return layer_norm(in[0], {4}, in[1], in[2]); },
                  {rand64({3, 4}, gen), rand64({4}, gen), rand64({4}, gen)});
  check_gradients([](const auto& in) { return layer_norm(in[0], {2, 3}, in[1], in[2]); },
                  {rand64({2, 2, 3}, gen), rand64({2, 3}, gen), rand64({2, 3}, gen)});
  check_gradients([](const auto& in) { return layer_norm(in[0], {5}); }, {rand64({2, 5}, gen)});
}

BOOST_AUTO_TEST_CASE(weight_of_another_dtype_is_refused) {
  // It used to take the composite path and give a float64 result; the kernels and the composite now
  // see one dtype only (docs/conventions.md, "Dtypes"), and the composite serves n = 0 alone.
  const Tensor x = tensor({1.0, 2.0, 4.0}, {.dtype = kFloat64}).reshape({1, 3});
  const Tensor w = ones({3});  // float32
  BOOST_CHECK_EXCEPTION(layer_norm(x, {3}, w), DTypeError,
                        has_message("layer_norm: expected floating-point tensors of one dtype, got input float64 and "
                                    "weight float32"));
  const Tensor y = layer_norm(x, {3}, w.to(kFloat64));
  BOOST_TEST(y.dtype() == kFloat64);
  check_close(y, layer_norm(x, {3}), 1e-12);
}

// float32 rows run in vectors (norm.cpp's f32 loops); their bits must be those of the plain loops,
// written here one pass at a time: every row length up to 19 (each tail of the vector body) and 128.
BOOST_AUTO_TEST_CASE(float32_rows_give_the_plain_loops_bits) {
  const auto bits = [](const Tensor& t) {
    std::vector<std::uint32_t> out(static_cast<std::size_t>(t.numel()));
    std::memcpy(out.data(), t.data<float>(), out.size() * sizeof(float));
    return out;
  };
  Generator gen(23);
  for (std::int64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 128}) {
    const std::int64_t rows = 3;
    const Tensor x = randn({rows, n}, gen) * 2.0 + 0.5, dy = randn({rows, n}, gen);
    const Tensor w = randn({n}, gen), b = randn({n}, gen);
    for (const bool affine : {true, false}) {
      Tensor y = empty({rows, n}), mean = empty({rows}), rstd = empty({rows});
      backend::layer_norm_forward(x, affine ? w : Tensor(), affine ? b : Tensor(), 1e-5, y, mean, rstd);
      Tensor dx = empty({rows, n}), dw = empty({n}), db = empty({n});
      backend::layer_norm_backward(dy, x, mean, rstd, affine ? w : Tensor(), &dx, &dw, &db);
      // The plain loops, in float with double sums, as norm.cpp's general path computes them.
      const float* px = x.data<float>();
      const float* pg = dy.data<float>();
      Tensor y2 = empty({rows, n}), dx2 = empty({rows, n});
      std::vector<double> sw(static_cast<std::size_t>(n)), sb(static_cast<std::size_t>(n));
      for (std::int64_t r = 0; r < rows; ++r) {
        const float* xr = px + r * n;
        const float* gr = pg + r * n;
        const float mu = static_cast<float>(backend::row_sum(n, [&](std::int64_t i) { return double{xr[i]}; }) / n);
        const double v = backend::row_sum(n, [&](std::int64_t i) { return double{(xr[i] - mu) * (xr[i] - mu)}; });
        const float rs = static_cast<float>(1.0 / std::sqrt(double{static_cast<float>(v / n)} + 1e-5));
        BOOST_TEST(mean.data<float>()[r] == mu);
        BOOST_TEST(rstd.data<float>()[r] == rs);
        std::vector<float> xhat(static_cast<std::size_t>(n)), g(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) {
          const auto k = static_cast<std::size_t>(i);
          float out = (xr[i] - mu) * rs;
          if (affine) out *= w.data<float>()[i];
          if (affine) out += b.data<float>()[i];
          y2.data<float>()[r * n + i] = out;
          xhat[k] = (xr[i] - mu) * rs;
          g[k] = affine ? gr[i] * w.data<float>()[i] : gr[i];
          sw[k] += double{gr[i] * xhat[k]};
          sb[k] += double{gr[i]};
        }
        const auto at = [](std::int64_t i) { return static_cast<std::size_t>(i); };
        const float mg = static_cast<float>(backend::row_sum(n, [&](std::int64_t i) { return double{g[at(i)]}; }) / n);
        const double sgx = backend::row_sum(n, [&](std::int64_t i) { return double{g[at(i)] * xhat[at(i)]}; });
        const float mgx = static_cast<float>(sgx / n);
        for (std::int64_t i = 0; i < n; ++i) {
          const auto k = static_cast<std::size_t>(i);
          dx2.data<float>()[r * n + i] = rs * (g[k] - mg - xhat[k] * mgx);
        }
      }
      BOOST_TEST_INFO("n " << n << (affine ? ", with weight and bias" : ""));
      BOOST_TEST(bits(y) == bits(y2));
      BOOST_TEST(bits(dx) == bits(dx2));
      for (std::int64_t i = 0; i < n; ++i) {
        BOOST_TEST(dw.data<float>()[i] == static_cast<float>(sw[static_cast<std::size_t>(i)]));
        BOOST_TEST(db.data<float>()[i] == static_cast<float>(sb[static_cast<std::size_t>(i)]));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
