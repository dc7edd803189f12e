// The fused softmax kernels (lib/ops/softmax.cpp, lib/backend/reduce.cpp) against their composite
// oracles: attention's scaled_masked_softmax against softmax(masked_fill(S * c, mask, -inf), -1), and
// softmax's one-kernel backward against Y * (dY - sum(dY * Y)). Values and gradients in float32 and
// float64, masks broadcast from [Tq, Tk] and from [B, 1, 1, Tk], fully masked rows, and a gradcheck.
#include "support/test.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/softmax_fused.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor composite(const Tensor& s, const Tensor& mask, double c) {
  Tensor scores = s * c;
  if (mask.defined()) scores = masked_fill(scores, mask, -kInf);
  return softmax(scores, -1);
}

// Both versions' values and gradient of sum(A * W) with respect to S, for a fixed random W.
void compare(const Shape& shape, const Tensor& mask, double c, DType dtype, double tolerance) {
  Generator gen(7);
  const Tensor base = randn(shape, gen, {.dtype = dtype});
  const Tensor w = randn(shape, gen, {.dtype = dtype});
  Tensor s1 = base.clone().requires_grad_();
  Tensor s2 = base.clone().requires_grad_();
  const Tensor a1 = scaled_masked_softmax(s1, mask, c);
  const Tensor a2 = composite(s2, mask, c);
  check_close(a1, a2, tolerance);
  (a1 * w).sum().backward();
  (a2 * w).sum().backward();
  check_close(s1.grad(), s2.grad(), tolerance);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scaled_masked_softmax_op)

BOOST_AUTO_TEST_CASE(matches_the_composite_with_a_causal_mask) {
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-6 : 1e-13;
    compare({2, 3, 5, 5}, causal_mask(5), 0.125, dtype, tol);  // [T, T] broadcast over [B, H]
    compare({4, 4}, causal_mask(4), 2.0, dtype, tol);          // no batch dims at all
  }
}

BOOST_AUTO_TEST_CASE(matches_the_composite_without_a_mask_and_with_a_padding_mask) {
  compare({2, 2, 3, 6}, Tensor(), 0.5, kFloat64, 1e-13);
  // Per sequence padding: [B, 1, 1, Tk], key 0 of sequence 1 and keys 4, 5 of sequence 0 masked.
  Tensor pad = zeros({2, 1, 1, 6}, {.dtype = kBool});
  pad.set({0, 0, 0, 4}, 1.0);
  pad.set({0, 0, 0, 5}, 1.0);
  pad.set({1, 0, 0, 0}, 1.0);
  compare({2, 2, 3, 6}, pad, 0.5, kFloat64, 1e-13);
  compare({2, 2, 3, 6}, pad, 0.5, kFloat32, 1e-6);
}

BOOST_AUTO_TEST_CASE(a_masked_key_gets_weight_zero_and_a_fully_masked_row_is_all_zero) {
  const Tensor s = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}).reshape({2, 3}).requires_grad_();
  Tensor mask = zeros({2, 3}, {.dtype = kBool});
  mask.set({0, 2}, 1.0);
  mask.set({1, 0}, 1.0);
  mask.set({1, 1}, 1.0);
  mask.set({1, 2}, 1.0);
  const Tensor a = scaled_masked_softmax(s, mask, 2.0);
  // Row 0: softmax([2, 4, -inf]) = [1, e^2, 0] / (1 + e^2). Row 1: every key masked, weights 0.
  const double e2 = std::exp(2.0);
  check_values(a, {1.0 / (1.0 + e2), e2 / (1.0 + e2), 0.0, 0.0, 0.0, 0.0}, 1e-7);
  a.sum().backward();  // each row sums to 1 (or 0): no gradient reaches any score
  check_values(s.grad(), {0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, 1e-7);
}

BOOST_AUTO_TEST_CASE(its_gradient_matches_finite_differences) {
  Generator gen(3);
  const Tensor mask = causal_mask(4);
  check_gradients([&](const auto& in) { return scaled_masked_softmax(in[0], mask, 0.7); }, {rand64({2, 4, 4}, gen)});
  check_gradients([&](const auto& in) { return scaled_masked_softmax(in[0], Tensor(), 1.3); }, {rand64({3, 5}, gen)});
}

BOOST_AUTO_TEST_CASE(attention_uses_it_and_agrees_with_the_composite) {
  Generator gen(11);
  const Tensor q = randn({2, 2, 5, 4}, gen, {.dtype = kFloat64});
  const Tensor k = randn({2, 2, 5, 4}, gen, {.dtype = kFloat64});
  const Tensor weights = attention_weights(q, k, causal_mask(5), std::nullopt);
  check_close(weights, composite(matmul(q, k.mT()), causal_mask(5), 0.5), 1e-13);  // c = 1/sqrt(4)
  BOOST_TEST(weights.dtype() == kFloat64);
}

// float32 rows take their own loop (backend/reduce.cpp: scaled_masked_row_f32), which computes a
// masked row only up to its last unmasked key and works in vectors of eight: the same bits as the
// composite, on rows long enough for the vector body and its tail, and on rows holding NaN or +inf.
BOOST_AUTO_TEST_CASE(float32_rows_give_the_composites_bits) {
  const auto bits = [](const Tensor& t) {
    const Tensor c = t.contiguous();
    std::vector<std::uint32_t> out(static_cast<std::size_t>(c.numel()));
    std::memcpy(out.data(), c.data<float>(), out.size() * sizeof(float));
    return out;
  };
  Generator gen(12);
  Tensor pad = zeros({2, 1, 1, 37}, {.dtype = kBool});  // sequence 0: keys 30.. masked; 1: keys 3, 36
  for (std::int64_t j = 30; j < 37; ++j) pad.set({0, 0, 0, j}, 1.0);
  pad.set({1, 0, 0, 3}, 1.0);
  pad.set({1, 0, 0, 36}, 1.0);
  Tensor s = randn({2, 3, 37, 37}, gen) * 4.0;
  s.set({0, 1, 2, 1}, std::numeric_limits<double>::quiet_NaN());  // a NaN row
  s.set({1, 0, 20, 7}, kInf);                                      // a row with +inf
  s.set({1, 2, 9, 36}, std::numeric_limits<double>::quiet_NaN());  // NaN under the mask: no effect
  for (const Tensor& mask : {causal_mask(37), pad, Tensor()}) {
    for (const double c : {0.125, 1.0}) {
      BOOST_TEST(bits(scaled_masked_softmax(s, mask, c)) == bits(composite(s, mask, c)));
    }
  }
  const Tensor row = scaled_masked_softmax(s, causal_mask(37), 1.0);
  BOOST_TEST(std::isnan(row.at({0, 1, 2, 36})));  // NaN at key 1 of query 2: the whole row, as composed
  BOOST_TEST(row.at({1, 0, 20, 7}) == 1.0);       // the +inf key takes all the weight
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(softmax_backward_kernel)

// softmax's backward is one kernel; Y * (dY - sum(dY * Y, {d}, true)) is its oracle, along every dim
// (inner > 1 for the leading ones) and with a non-contiguous incoming gradient.
BOOST_AUTO_TEST_CASE(matches_the_composite_along_every_dim) {
  Generator gen(5);
  const Tensor x = randn({3, 4, 5}, gen, {.dtype = kFloat64});
  const Tensor dy_t = randn({5, 4, 3}, gen, {.dtype = kFloat64});
  const Tensor dy = dy_t.permute({2, 1, 0});  // [3, 4, 5], not contiguous
  for (int d = 0; d < 3; ++d) {
    Tensor xr = x.clone().requires_grad_();
    const Tensor y = softmax(xr, d);
    y.backward(dy);
    const Tensor yv = y.detach();
    check_close(xr.grad(), yv * (dy - sum(dy * yv, {d}, true)), 1e-14);
  }
}

BOOST_AUTO_TEST_CASE(gradcheck_along_each_dim_in_float64) {
  Generator gen(9);
  for (int d = 0; d < 3; ++d) {
    check_gradients([d](const auto& in) { return softmax(in[0], d); }, {rand64({2, 3, 4}, gen)});
  }
}

BOOST_AUTO_TEST_SUITE_END()
