// scaled_dot_product_attention and causal_mask: hand-computed attention (the scale), rows summing to
// 1, masked weights exactly 0, causality, permutation equivariance, gradchecks, errors.
#include "support/test.hpp"

#include <cmath>

using namespace attograd;
using namespace attograd::testing;

namespace {
Tensor f64(std::initializer_list<std::initializer_list<double>> rows) { return tensor(rows, {.dtype = kFloat64}); }
// Two tokens, D = 4: Q Kᵀ = [[2, 0], [0, 2]]. With the right scale 1/sqrt(4) = 1/2 the scores are
// [[1, 0], [0, 1]]; a wrong 1/D = 1/4 would give [[0.5, 0], [0, 0.5]].
const Tensor kQ = f64({{2, 0, 0, 0}, {0, 2, 0, 0}});
const Tensor kK = f64({{1, 0, 0, 0}, {0, 1, 0, 0}});
const Tensor kV = f64({{1, 2}, {3, 4}});
const double kE = std::exp(1.0);
}  // namespace

BOOST_AUTO_TEST_SUITE(attention_op)

BOOST_AUTO_TEST_CASE(causal_mask_is_true_above_the_diagonal) {
  const Tensor m = causal_mask(3);
  BOOST_TEST((m.dtype() == kBool));
  BOOST_TEST((m.shape() == Shape{3, 3}));
  BOOST_TEST((m.to_vector<bool>() == std::vector<bool>{false, true, true, false, false, true, false, false, false}));
  BOOST_TEST((causal_mask(1).to_vector<bool>() == std::vector<bool>{false}));
  BOOST_TEST((causal_mask(0).shape() == Shape{0, 0}));
  BOOST_CHECK_EXCEPTION(causal_mask(-2), ValueError, has_message("causal_mask: the sequence length must be >= 0, got -2"));
}

BOOST_AUTO_TEST_CASE(two_token_attention_by_hand_uses_one_over_sqrt_d) {
  // weights row 0: softmax([1, 0]) = [e/(1+e), 1/(1+e)]; output row 0 = w00 v0 + w01 v1
  const double a = kE / (1.0 + kE), b = 1.0 / (1.0 + kE);
  const AttentionResult r = scaled_dot_product_attention_with_weights(kQ, kK, kV);
  check_values(r.weights, {a, b, b, a}, 1e-14);
  check_values(r.output, {a * 1 + b * 3, a * 2 + b * 4, b * 1 + a * 3, b * 2 + a * 4}, 1e-14);
  check_values(r.output, {1.5378828427399902, 2.5378828427399904, 2.4621171572600096, 3.4621171572600096}, 1e-14);
  // The wrong scale 1/D would give sigmoid(0.5) = 0.622 instead of 0.731: far outside the tolerance.
  BOOST_TEST(std::abs(r.weights.at({0, 0}) - 1.0 / (1.0 + std::exp(-0.5))) > 0.1);
  // An explicit scale replaces the default: 1/4 gives exactly that other attention.
  const double s = 1.0 / (1.0 + std::exp(-0.5));
  check_values(attention_weights(kQ, kK, {}, 0.25), {s, 1 - s, 1 - s, s}, 1e-14);
  check_values(scaled_dot_product_attention(kQ, kK, kV, {}, 0.25), {1.7550813375962908, 2.755081337596291,
                                                                    2.244918662403709, 3.244918662403709},
               1e-14);
  // scale 0: uniform weights, every output the mean of the values
  check_values(scaled_dot_product_attention(kQ, kK, kV, {}, 0.0), {2, 3, 2, 3}, 1e-14);
}

BOOST_AUTO_TEST_CASE(the_default_scale_uses_the_head_size_not_the_model_width) {
  // [B=1, H=2, T=2, D=4]: two heads of size 4 (model width 8). Each head must use 1/sqrt(4).
  const Tensor q = stack({kQ, kQ * 0.5}, 0).unsqueeze(0);
  const Tensor k = stack({kK, kK}, 0).unsqueeze(0);
  const Tensor v = stack({kV, kV}, 0).unsqueeze(0);
  const AttentionResult r = scaled_dot_product_attention_with_weights(q, k, v);
  BOOST_TEST((r.output.shape() == Shape{1, 2, 2, 2}));
  BOOST_TEST((r.weights.shape() == Shape{1, 2, 2, 2}));
  const double a = kE / (1.0 + kE), b = 1.0 / (1.0 + kE);
  const double s = 1.0 / (1.0 + std::exp(-0.5));  // head 1 has half the scores
  check_values(r.weights, {a, b, b, a, s, 1 - s, 1 - s, s}, 1e-14);
}

BOOST_AUTO_TEST_CASE(causal_two_token_attention) {
  // Token 0 may only see itself: its output is v0 exactly. Token 1 sees both, as before.
  const double a = kE / (1.0 + kE), b = 1.0 / (1.0 + kE);
  const AttentionResult r = scaled_dot_product_attention_with_weights(kQ, kK, kV, causal_mask(2));
  check_values(r.weights, {1.0, 0.0, b, a}, 1e-14);
  BOOST_TEST(r.weights.at({0, 1}) == 0.0);  // exactly
  check_values(r.output, {1.0, 2.0, b * 1 + a * 3, b * 2 + a * 4}, 1e-14);
}

BOOST_AUTO_TEST_CASE(rows_sum_to_one_and_masked_weights_are_exactly_zero) {
  Generator gen(12);
  const Tensor q = randn({2, 3, 5, 4}, gen, {.dtype = kFloat64}) * 3.0;
  const Tensor k = randn({2, 3, 5, 4}, gen, {.dtype = kFloat64}) * 3.0;
  const Tensor ones_ = ones({2, 3, 5}, {.dtype = kFloat64});
  const Tensor plain = attention_weights(q, k);
  check_close(sum(plain, {-1}), ones_, 1e-12);
  BOOST_TEST(all(ge(plain, 0.0)));

  const Tensor causal = attention_weights(q, k, causal_mask(5));
  check_close(sum(causal, {-1}), ones_, 1e-12);
  const auto w = causal.to_vector<double>();
  for (std::size_t n = 0; n < w.size(); ++n) {
    const std::size_t i = n / 5 % 5, j = n % 5;
    if (j > i && w[n] != 0.0) {
      BOOST_TEST(false, "weight " << n << " (query " << i << ", key " << j << ") is " << w[n] << ", not 0");
      break;
    }
  }
  // float32 too
  const Tensor w32 = attention_weights(q.to(kFloat32), k.to(kFloat32), causal_mask(5));
  BOOST_TEST((w32.dtype() == kFloat32));
  check_close(sum(w32, {-1}), ones_, 1e-6);
  BOOST_TEST(!any(logical_and(causal_mask(5), ne(w32, 0.0))));
}

BOOST_AUTO_TEST_CASE(masks_broadcast_and_a_fully_masked_row_gives_zeros) {
  Generator gen(13);
  const Tensor q = randn({2, 3, 4}, gen, {.dtype = kFloat64});
  const Tensor k = randn({2, 3, 4}, gen, {.dtype = kFloat64});
  const Tensor v = randn({2, 3, 2}, gen, {.dtype = kFloat64});
  // a padding mask per batch element [B, 1, Tk]: batch 0 hides key 2, batch 1 hides nothing
  const Tensor pad = tensor_of<bool>({false, false, true, false, false, false}, {2, 1, 3});
  const Tensor w = attention_weights(q, k, pad);
  for (int i = 0; i < 3; ++i) BOOST_TEST(w.at({0, i, 2}) == 0.0);
  BOOST_TEST(w.at({1, 0, 2}) > 0.0);
  check_close(sum(w, {-1}), ones({2, 3}, {.dtype = kFloat64}), 1e-12);
  // a row with every key masked: weights 0 and output 0 (softmax's convention), never NaN
  const Tensor row1 = tensor_of<bool>({false, false, false, true, true, true, false, false, false}, {3, 3});
  const Tensor y = scaled_dot_product_attention(q, k, v, row1);
  check_values(y.select(1, 1), {0, 0, 0, 0}, 0.0);
  BOOST_TEST(!any(isnan(y)));
}

BOOST_AUTO_TEST_CASE(causal_outputs_do_not_depend_on_later_tokens) {
  Generator gen(14);
  Tensor q = randn({4, 3}, gen, {.dtype = kFloat64});
  Tensor k = randn({4, 3}, gen, {.dtype = kFloat64});
  Tensor v = randn({4, 3}, gen, {.dtype = kFloat64});
  const Tensor y = scaled_dot_product_attention(q, k, v, causal_mask(4));
  // change the last token's key and value: outputs 0..2 stay, output 3 changes
  Tensor k2 = k.clone(), v2 = v.clone();
  k2.set({3, 0}, 5.0);
  v2.set({3, 1}, -7.0);
  const Tensor y2 = scaled_dot_product_attention(q, k2, v2, causal_mask(4));
  check_close(y2.narrow(0, 0, 3), y.narrow(0, 0, 3), 0.0);
  BOOST_TEST(!allclose(y2.select(0, 3), y.select(0, 3)));
}

BOOST_AUTO_TEST_CASE(self_attention_is_permutation_equivariant) {
  // Lecture slide 32: permuting the inputs permutes the outputs the same way (q = k = v = x, no mask).
  Generator gen(15);
  const Tensor x = randn({5, 4}, gen, {.dtype = kFloat64});
  const std::vector<std::int64_t> perm{3, 0, 4, 1, 2};
  std::vector<Tensor> rows;
  for (std::int64_t p : perm) rows.push_back(x.select(0, p));
  const Tensor xp = stack(rows, 0);
  const Tensor y = scaled_dot_product_attention(x, x, x);
  const Tensor yp = scaled_dot_product_attention(xp, xp, xp);
  for (std::size_t i = 0; i < perm.size(); ++i) {
    check_close(yp.select(0, static_cast<std::int64_t>(i)), y.select(0, perm[i]), 1e-14);
  }
}

BOOST_AUTO_TEST_CASE(gradients_for_q_k_and_v_are_checked_against_finite_differences) {
  Generator gen(16);
  auto sdpa = [](Tensor mask, std::optional<double> scale) {
    return [mask, scale](const std::vector<Tensor>& in) {
      return scaled_dot_product_attention(in[0], in[1], in[2], mask, scale);
    };
  };
  // plain 2-D, and Dv different from D
  check_gradients(sdpa({}, {}), {rand64({3, 4}, gen), rand64({3, 4}, gen), rand64({3, 2}, gen)});
  // batched, causal
  check_gradients(sdpa(causal_mask(4), {}), {rand64({2, 4, 3}, gen), rand64({2, 4, 3}, gen), rand64({2, 4, 3}, gen)});
  // heads [B, H, T, D], causal, an explicit scale
  check_gradients(sdpa(causal_mask(3), 0.7),
                  {rand64({2, 2, 3, 2}, gen), rand64({2, 2, 3, 2}, gen), rand64({2, 2, 3, 2}, gen)});
  // cross-attention (Tq = 2, Tk = 5) with keys and values shared across the batch (broadcast)
  check_gradients(sdpa({}, {}), {rand64({3, 2, 4}, gen), rand64({5, 4}, gen), rand64({5, 3}, gen)});
  // a padding mask and a fully masked row; a single token
  const Tensor pad = tensor_of<bool>({false, true, false, true, true, true}, {2, 3});
  check_gradients(sdpa(pad, {}), {rand64({2, 2}, gen), rand64({3, 2}, gen), rand64({3, 2}, gen)});
  check_gradients(sdpa(causal_mask(1), {}), {rand64({1, 3}, gen), rand64({1, 3}, gen), rand64({1, 3}, gen)});
  // self-attention with one input in all three roles (both paths of slide 9), and the weights alone
  check_gradients([](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[0], in[0]); },
                  {rand64({4, 3}, gen)});
  check_gradients([](const std::vector<Tensor>& in) { return attention_weights(in[0], in[1], causal_mask(3)); },
                  {rand64({3, 2}, gen), rand64({3, 2}, gen)});
}

BOOST_AUTO_TEST_CASE(a_head_splits_output_comes_in_vs_layout) {
  // q, k, v [B, H, T, D] viewing [B, T, H, D] projections: Y comes in v's layout, so joining the heads
  // back into [B, T, C] is a view; values and gradients bit for bit those of contiguous heads, whose
  // Y is contiguous. float64 (reference kernel, a contiguous block copied over) checked by finite
  // differences through the join.
  Generator gen(18);
  const auto heads = [](const Tensor& t) { return t.view({2, 6, 3, 4}).transpose(1, 2); };  // [2, 3, 6, 4]
  const auto joined = [](const Tensor& y) { return y.transpose(1, 2).reshape({2, 6, 12}); };
  const auto attend = [&](const Tensor& q, const Tensor& k, const Tensor& v) {
    return scaled_dot_product_attention_with_weights(q, k, v, causal_mask(6)).output;
  };
  check_gradients([&](const std::vector<Tensor>& in) { return joined(attend(heads(in[0]), heads(in[1]), heads(in[2]))); },
                  {rand64({2, 6, 12}, gen), rand64({2, 6, 12}, gen), rand64({2, 6, 12}, gen)});
  for (const DType dtype : {kFloat32, kFloat64}) {
    std::vector<Tensor> in, copies;
    for (int i = 0; i < 3; ++i) {
      in.push_back(randn({2, 6, 12}, gen, {.dtype = dtype}).requires_grad_());
      copies.push_back(in.back().detach().requires_grad_());
    }
    const Tensor v = heads(in[2]);
    const Tensor y = attend(heads(in[0]), heads(in[1]), v);
    BOOST_TEST(y.strides() == v.strides());
    BOOST_TEST(joined(y).is_contiguous());
    const Tensor yc =
        attend(heads(copies[0]).contiguous(), heads(copies[1]).contiguous(), heads(copies[2]).contiguous());
    BOOST_TEST(yc.is_contiguous());
    BOOST_TEST(y.to_vector() == yc.to_vector());
    const Tensor up = randn({2, 6, 12}, gen, {.dtype = dtype});
    (joined(y) * up).sum().backward();
    (joined(yc) * up).sum().backward();
    for (int i = 0; i < 3; ++i) BOOST_TEST(in[i].grad().to_vector() == copies[i].grad().to_vector());
  }
}

BOOST_AUTO_TEST_CASE(float32_agrees_with_float64_forward_and_backward) {
  // The float32 path (oneDNN's matmul where available) against float64, for output and gradients.
  Generator gen(17);
  std::vector<Tensor> in64, in32;
  for (int i = 0; i < 3; ++i) {
    const Tensor x = randn({2, 2, 6, 8}, gen, {.dtype = kFloat64});
    in64.push_back(x.clone().requires_grad_());
    in32.push_back(x.to(kFloat32).requires_grad_());
  }
  const Tensor up = randn({2, 2, 6, 8}, gen, {.dtype = kFloat64});
  const Tensor y64 = scaled_dot_product_attention(in64[0], in64[1], in64[2], causal_mask(6));
  const Tensor y32 = scaled_dot_product_attention(in32[0], in32[1], in32[2], causal_mask(6));
  BOOST_TEST((y32.dtype() == kFloat32));
  check_close(y32, y64, 1e-5);
  y64.backward(up);
  y32.backward(up.to(kFloat32));
  for (int i = 0; i < 3; ++i) check_close(in32[i].grad(), in64[i].grad(), 1e-5);
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_errors_naming_the_shapes) {
  const Tensor q = zeros({2, 3, 4}), k = zeros({2, 3, 4}), v = zeros({2, 3, 4});
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, zeros({2, 3, 5}), v), ShapeError,
                        has_message("scaled_dot_product_attention: q and k must have the same last dim (the key size "
                                    "D), got q [2, 3, 4] and k [2, 3, 5]"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, k, zeros({2, 4, 4})), ShapeError,
                        has_message("v needs one row per key (dim -2 equal to k's), got k [2, 3, 4] and v [2, 4, 4]"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(zeros({4}), zeros({4}), zeros({4})), ShapeError,
                        has_message("q and k need at least 2 dims [.., T, D], got q [4] and k [4]"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, zeros({3, 3, 4}), zeros({3, 3, 4})), ShapeError,
                        has_message("the batch dims of q [2, 3, 4] and k [3, 3, 4] cannot be broadcast"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, k, zeros({4, 3, 4})), ShapeError,
                        has_message("the batch dims of q [2, 3, 4], k [2, 3, 4] and v [4, 3, 4] cannot be broadcast"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, k, v, causal_mask(4)), ShapeError,
                        has_message("the mask of shape [4, 4] does not broadcast to the attention scores' shape "
                                    "[2, 3, 3]"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, k, v, zeros({3, 3})), DTypeError,
                        has_message("the mask must be bool (true = masked), got float32"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, k.to(kFloat64), v), DTypeError,
                        has_message("expected floating-point tensors of one dtype, got q float32 and k float64"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, k, v.to(kFloat64)), DTypeError,
                        has_message("got q float32, k float32 and v float64; mixed dtypes are not promoted"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(q, k, v, {}, NAN), ValueError, has_message("scale must be finite, got nan"));
  BOOST_CHECK_EXCEPTION(scaled_dot_product_attention(zeros({2, 0}), zeros({2, 0}), zeros({2, 1})), ShapeError,
                        has_message("the key size D (last dim of q [2, 0]) is 0"));
}

BOOST_AUTO_TEST_SUITE_END()
