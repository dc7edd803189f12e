// scaled_dot_product_attention on oneDNN against the reference kernel and float64: the output and the
// gradients of q, k and v, with and without masks, in float32 and in the bf16 mode, within the bounds
// of tests/ops/onednn_bounds.hpp (derived there: the scores' rounding through the softmax, then the
// products after it).
#include "support/test.hpp"

#include <optional>

#include "ops/onednn_bounds.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

struct Case {
  Shape q, k, v;
  Tensor mask;                         // undefined: none
  std::optional<double> scale;         // default 1/sqrt(D)
  bool heads_from_btc = false;         // leaves [B, T, H, D], attention on their [B, H, T, D] views
  std::string name;
};

std::vector<Case> cases(Generator& gen) {
  return {
      {{2, 3, 8, 16}, {2, 3, 8, 16}, {2, 3, 8, 16}, {}, {}, false, "[B, H, T, D], no mask"},
      {{2, 3, 8, 16}, {2, 3, 8, 16}, {2, 3, 8, 16}, causal_mask(8), {}, false, "causal mask"},
      {{2, 3, 8, 16}, {2, 3, 8, 16}, {2, 3, 8, 16}, gt(rand({2, 1, 8, 8}, gen), 0.7), {}, false,
       "random mask [B, 1, T, T], broadcast over heads"},
      {{2, 5, 16}, {2, 7, 16}, {2, 7, 12}, {}, 0.3, false, "Tq 5, Tk 7, Dv 12, scale 0.3"},
      {{2, 8, 3, 16}, {2, 8, 3, 16}, {2, 8, 3, 16}, causal_mask(8), {}, true, "heads from [B, T, H, D], causal"},
      {{64, 64}, {64, 64}, {64, 64}, {}, {}, false, "T = 64, D = 64"},
  };
}

Tensor heads(const Case& c, const Tensor& t) { return c.heads_from_btc ? t.transpose(1, 2) : t; }

AttentionResult attend(const Case& c, const std::vector<Tensor>& in) {
  return scaled_dot_product_attention_with_weights(heads(c, in[0]), heads(c, in[1]), heads(c, in[2]), c.mask,
                                                   c.scale);
}

// q, k, v and an upstream gradient; small integers in the bf16 mode (see below).
void check_case(const Case& c, Generator& gen, bool integers) {
  auto make = [&](const Shape& s) { return integers ? small_integers(s, gen) : randn(s, gen); };
  const std::vector<Tensor> in{make(c.q), make(c.k), make(c.v)};
  Tensor out_shape_probe;
  {
    NoGradGuard no_grad;
    out_shape_probe = attend(c, in).output;
  }
  const Tensor g = make(out_shape_probe.shape());  // [.., Tq, Dv]: the heads' layout in both cases
  std::vector<Tensor> in64;
  for (const Tensor& t : in) in64.push_back(heads(c, t.to(kFloat64)));
  const double scale = c.scale.value_or(1.0 / std::sqrt(static_cast<double>(c.q[-1])));
  Tensor a64;
  {
    NoGradGuard no_grad;
    a64 = scaled_dot_product_attention_with_weights(in64[0], in64[1], in64[2], c.mask, c.scale).weights;
  }
  const AttentionBounds b = attention_bounds(in64[0], in64[1], in64[2], a64, g.to(kFloat64), scale);
  const Passes p = run_three([&c](const std::vector<Tensor>& t) { return attend(c, t).output; }, in, g, 6, c.name);
  const auto back = [&](const Tensor& t) { return c.heads_from_btc ? t.transpose(1, 2) : t; };  // to the leaf's layout
  check_passes(p, {b.y, back(b.dq), back(b.dk), back(b.dv)}, {"q", "k", "v"}, c.name);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_onednn)

BOOST_AUTO_TEST_CASE(float32_matches_the_reference_and_float64) {
  Generator gen(21);
  for (const Case& c : cases(gen)) check_case(c, gen, false);
}

BOOST_AUTO_TEST_CASE(bf16_matches_the_rounding_reference, *boost::unit_test::precondition(onednn_has_bf16)) {
  // With q, k, v and the upstream gradient small integers, the scores Q·Kᵀ and dA = G·Vᵀ are exact
  // integers on both paths, so the weights A and the softmax's backward dS are the same float32 values
  // on both: every bf16 product then has the same operands on both paths (the premise of the bounds in
  // the bf16 mode, checked on A below).
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  Generator gen(22);
  for (const Case& c : cases(gen)) {
    std::vector<Tensor> in{small_integers(c.q, gen), small_integers(c.k, gen), small_integers(c.v, gen)};
    NoGradGuard no_grad;
    const Tensor a = attend(c, in).weights;
    MatmulBackendGuard reference(MatmulBackend::Reference);
    BOOST_TEST(a.to_vector<float>() == attend(c, in).weights.to_vector<float>(), boost::test_tools::per_element());
  }
  for (const Case& c : cases(gen)) check_case(c, gen, true);
}

BOOST_AUTO_TEST_CASE(the_bounds_see_a_wrong_key) {
  // The check can fail: attention with two keys swapped gives other weights, far outside the bound.
  Generator gen(23);
  const Tensor q = randn({6, 8}, gen), k = randn({6, 8}, gen), v = randn({6, 8}, gen);
  NoGradGuard no_grad;
  const Tensor a = scaled_dot_product_attention_with_weights(q, k, v).weights.to(kFloat64);
  const AttentionBounds b = attention_bounds(q, k, v, a, ones({6, 8}), 1.0 / std::sqrt(8.0));
  const Tensor right = scaled_dot_product_attention(q, k, v).to(kFloat64);
  const Tensor swapped = cat({k.narrow(0, 1, 1), k.narrow(0, 0, 1), k.narrow(0, 2, 4)}, 0);
  BOOST_TEST(worst_ratio(scaled_dot_product_attention(q, k, v), right, b.y) <= 1.0);
  BOOST_TEST(worst_ratio(scaled_dot_product_attention(q, swapped, v), right, b.y) > 100.0);
}

BOOST_AUTO_TEST_SUITE_END()
