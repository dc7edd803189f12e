// fused_attention (lib/ops/attention_fused.cpp) against its oracle, the composite
// scaled_dot_product_attention_with_weights: gradcheck in float64, the values and all three gradients
// in float64 (tight) and float32 (a derived tolerance), with causal and padding masks, fully masked
// rows, T = 1, T not a multiple of the 64-key block, broadcast batch dims; its errors; and that
// scaled_dot_product_attention runs it only when no weights are asked for and the keys are many enough.
#include "support/test.hpp"

#include <cmath>

using namespace attograd;
using namespace attograd::testing;

namespace {

struct Qkv {
  Tensor q, k, v;
};

Qkv random_qkv(const Shape& q, const Shape& k, const Shape& v, DType dtype, std::uint64_t seed) {
  Generator gen(seed);
  return {randn(q, gen, {.dtype = dtype}), randn(k, gen, {.dtype = dtype}), randn(v, gen, {.dtype = dtype})};
}

// Runs both paths from the same values and compares Y, dQ, dK and dV for the loss sum(Y * W).
void compare(const Qkv& in, const Tensor& mask, std::optional<double> scale, double tolerance) {
  std::vector<Tensor> grads[2];
  Tensor y[2];
  for (int path = 0; path < 2; ++path) {
    Tensor q = in.q.clone().requires_grad_(), k = in.k.clone().requires_grad_(), v = in.v.clone().requires_grad_();
    y[path] = path == 0 ? fused_attention(q, k, v, mask, scale)
                        : scaled_dot_product_attention_with_weights(q, k, v, mask, scale).output;
    Generator gen(99);
    const Tensor w = randn(y[path].shape(), gen, {.dtype = y[path].dtype()});
    (y[path] * w).sum().backward();
    grads[path] = {q.grad(), k.grad(), v.grad()};
  }
  check_close(y[0], y[1], tolerance);
  for (int i = 0; i < 3; ++i) check_close(grads[0][i], grads[1][i], tolerance);
}

// [B, 1, 1, Tk]: sequence b has its last pad[b] keys masked (padding), broadcast over heads and queries.
Tensor padding_mask(std::int64_t B, std::int64_t Tk, const std::vector<std::int64_t>& pad) {
  Tensor m = zeros({B, 1, 1, Tk}, {.dtype = kBool});
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t j = Tk - pad[static_cast<std::size_t>(b)]; j < Tk; ++j) m.set({b, 0, 0, j}, 1.0);
  }
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fused_attention_op)

BOOST_AUTO_TEST_CASE(its_gradients_match_finite_differences) {
  Generator gen(5);
  // q, k and v all checked; causal, padded with a fully masked row, and 70 keys (two blocks, the
  // second partial).
  check_gradients([](const auto& in) { return fused_attention(in[0], in[1], in[2], causal_mask(5)); },
                  {rand64({2, 5, 3}, gen), rand64({2, 5, 3}, gen), rand64({2, 5, 2}, gen)});
  Tensor rows = zeros({3, 70}, {.dtype = kBool});
  for (std::int64_t j = 0; j < 70; ++j) rows.set({1, j}, 1.0);  // query 1 sees nothing
  rows.set({0, 69}, 1.0);
  check_gradients([&](const auto& in) { return fused_attention(in[0], in[1], in[2], rows, 0.7); },
                  {rand64({3, 2}, gen), rand64({70, 2}, gen), rand64({70, 2}, gen)});
}

BOOST_AUTO_TEST_CASE(matches_the_composite_in_float64) {
  constexpr double kTight = 1e-12;
  compare(random_qkv({2, 3, 7, 4}, {2, 3, 7, 4}, {2, 3, 7, 5}, kFloat64, 1), Tensor(), std::nullopt, kTight);
  compare(random_qkv({2, 2, 130, 8}, {2, 2, 130, 8}, {2, 2, 130, 8}, kFloat64, 2), causal_mask(130), std::nullopt,
          kTight);  // 130 = 64 + 64 + 2: a partial block on each side
  compare(random_qkv({1, 1, 1, 3}, {1, 1, 1, 3}, {1, 1, 1, 3}, kFloat64, 3), causal_mask(1), std::nullopt, kTight);
  // Cross attention, Tq != Tk, padding of 0, 5 and all 67 keys (sequence 2 fully masked).
  compare(random_qkv({3, 2, 9, 4}, {3, 2, 67, 4}, {3, 2, 67, 6}, kFloat64, 4), padding_mask(3, 67, {0, 5, 67}), 0.3,
          kTight);
  // Batch dims broadcast: one k and v for every head, a [Tq, Tk] mask for every sequence.
  compare(random_qkv({2, 4, 6, 4}, {2, 1, 6, 4}, {1, 6, 4}, kFloat64, 5), causal_mask(6), std::nullopt, kTight);
}

// Float32: both paths round differently (the composite sums each row of A·V once; the fused one per
// block, then rescales by α and 1/l). Each result is a sum of at most n = Tk + max(D, Dv) products
// of terms of order 1 here (randn values, weights ≤ 1), each path's error is below n·u times that
// (u = 2^-24, the unit roundoff; the usual bound for a recursive sum), and the two differ by at most
// twice that. With Tk = 100 and D = 16: 2·116·2^-24 ≈ 1.4e-5. The gradients pass through two such
// sums (dP, then dS·K), so double it again: 2.8e-5. The observed worst is 7e-7 (relative, over Y, dQ,
// dK, dV and both seeds), a fortieth of it: the bound is a worst case, rounding errors mostly cancel.
BOOST_AUTO_TEST_CASE(matches_the_composite_in_float32_within_the_rounding_bound) {
  const double u = std::ldexp(1.0, -24);
  const double bound = 2 * 2 * (100 + 16) * u;
  compare(random_qkv({2, 2, 100, 16}, {2, 2, 100, 16}, {2, 2, 100, 16}, kFloat32, 6), causal_mask(100), std::nullopt,
          bound);
  compare(random_qkv({2, 2, 100, 16}, {2, 2, 100, 16}, {2, 2, 100, 16}, kFloat32, 7), padding_mask(2, 100, {3, 100}),
          std::nullopt, bound);
}

BOOST_AUTO_TEST_CASE(a_fully_masked_row_gives_output_zero_and_gradient_zero) {
  Qkv in = random_qkv({1, 4, 3}, {1, 4, 3}, {1, 4, 2}, kFloat64, 8);
  Tensor mask = zeros({4, 4}, {.dtype = kBool});
  for (std::int64_t j = 0; j < 4; ++j) mask.set({2, j}, 1.0);  // query 2 may attend to nothing
  Tensor q = in.q.requires_grad_();
  const Tensor y = fused_attention(q, in.k, in.v, mask);
  // Exactly 0, as the composite's weights of 0 give (softmax's convention; PyTorch gives NaN).
  BOOST_TEST(y.at({0, 2, 0}) == 0.0);
  BOOST_TEST(y.at({0, 2, 1}) == 0.0);
  y.sum().backward();
  for (std::int64_t d = 0; d < 3; ++d) BOOST_TEST(q.grad().at({0, 2, d}) == 0.0);
  BOOST_TEST(q.grad().at({0, 1, 0}) != 0.0);  // the other rows do get gradients
}

BOOST_AUTO_TEST_CASE(hand_computed_values) {
  // One query, two keys: scores c·q·k = 0.5·[2, 0] = [1, 0]; weights [e, 1]/(e + 1); Y = weights·V.
  const Tensor q = tensor({2.0}).reshape({1, 1}).to(kFloat64);
  const Tensor k = tensor({1.0, 0.0}).reshape({2, 1}).to(kFloat64);
  const Tensor v = tensor({10.0, 20.0, 30.0, 40.0}).reshape({2, 2}).to(kFloat64);
  const double e = std::exp(1.0);
  check_values(fused_attention(q, k, v, Tensor(), 0.5),
               {(10 * e + 30) / (e + 1), (20 * e + 40) / (e + 1)}, 1e-14);
}

BOOST_AUTO_TEST_CASE(bad_inputs_get_the_composites_errors) {
  const Tensor q = zeros({2, 3, 4}), k = zeros({2, 3, 4}), v = zeros({2, 3, 4});
  BOOST_CHECK_EXCEPTION(fused_attention(q, k, v, zeros({3, 3})), DTypeError,
                        has_message("scaled_dot_product_attention: the mask must be bool (true = masked), got float32"));
  BOOST_CHECK_EXCEPTION(fused_attention(q, k, v, zeros({4, 3}, {.dtype = kBool})), ShapeError,
                        has_message("the mask of shape [4, 3] does not broadcast to the attention scores' shape "
                                    "[2, 3, 3]"));
  BOOST_CHECK_EXCEPTION(fused_attention(q, zeros({2, 3, 5}), v), ShapeError,
                        has_message("q and k must have the same last dim (the key size D)"));
  BOOST_CHECK_EXCEPTION(fused_attention(q, k, zeros({2, 2, 4})), ShapeError,
                        has_message("v needs one row per key (dim -2 equal to k's), got k [2, 3, 4] and v [2, 2, 4]"));
  BOOST_CHECK_EXCEPTION(fused_attention(q, k, v, Tensor(), NAN), ValueError, has_message("scale must be finite"));
  BOOST_CHECK_EXCEPTION(fused_attention(q, k, zeros({2, 3, 4}, {.dtype = kFloat64})), DTypeError,
                        has_message("scaled_dot_product_attention"));
  // The same messages from scaled_dot_product_attention, which runs the fused op for float32.
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, k, v, zeros({4, 3}, {.dtype = kBool})), ShapeError,
                        has_message("does not broadcast to the attention scores' shape [2, 3, 3]"));
}

BOOST_AUTO_TEST_CASE(sdpa_runs_it_unless_the_weights_are_asked_for) {
  Qkv in = random_qkv({2, 128, 4}, {2, 128, 4}, {2, 128, 4}, kFloat32, 9);
  Tensor q = in.q.requires_grad_();
  BOOST_TEST(scaled_dot_product_attention(q, in.k, in.v, causal_mask(128)).grad_fn_name() == "fused_attention");
  BOOST_TEST(scaled_dot_product_attention_with_weights(q, in.k, in.v).output.grad_fn_name() == "matmul");
}

// Below 128 keys, or 6 per dimension of a query, the composite is the faster (attention_fused.cpp):
// scaled_dot_product_attention takes it there, from the shapes alone, at any thread count; the fused op
// still runs at any length when called by name.
BOOST_AUTO_TEST_CASE(sdpa_runs_the_composite_for_short_sequences) {
  struct Case {
    std::int64_t keys, head;
    const char* op;
  };
  for (const Case& c : {Case{127, 4, "matmul"}, Case{128, 4, "fused_attention"}, Case{191, 32, "matmul"},
                        Case{192, 32, "fused_attention"}, Case{5, 4, "matmul"}}) {
    for (int threads : {1, 2}) {
      ThreadCount t(threads);
      Qkv in = random_qkv({2, 3, c.head}, {2, c.keys, c.head}, {2, c.keys, 4}, kFloat32, 9);
      Tensor q = in.q.requires_grad_();
      BOOST_TEST(scaled_dot_product_attention(q, in.k, in.v).grad_fn_name() == c.op,
                 c.keys << " keys, head " << c.head << ", " << threads << " threads");
    }
  }
  Qkv in = random_qkv({2, 5, 4}, {2, 5, 4}, {2, 5, 4}, kFloat32, 9);
  BOOST_TEST(fused_attention(in.q.requires_grad_(), in.k, in.v).grad_fn_name() == "fused_attention");
}

BOOST_AUTO_TEST_SUITE_END()
