// SelfAttention and MultiHeadSelfAttention as modules: shapes, parameters and their initialisation,
// printing, both dtypes, an independent per-head oracle, gradchecks of every input and parameter, and
// errors. The lecture's behaviours are in test_attention_lecture.cpp, recording in test_attention_record.cpp.
#include "support/test.hpp"

#include <cmath>

#include "nn/attention_support.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.named_parameters()) out.push_back(name);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_modules)

BOOST_AUTO_TEST_CASE(output_shape_equals_input_shape) {
  Generator gen(1);
  SelfAttention basic;
  SelfAttention scaled_causal({.scaled = true, .causal = true});
  MultiHeadSelfAttention mhsa(8, 2, {.generator = &gen});
  for (const Shape& shape : {Shape{5, 8}, Shape{3, 5, 8}, Shape{2, 1, 8}}) {
    const Tensor x = randn(shape, gen);
    BOOST_TEST((basic(x).shape() == shape));
    BOOST_TEST((scaled_causal(x).shape() == shape));
    BOOST_TEST((mhsa(x).shape() == shape));
  }
  // The weights: [T, T] or [B, T, T] for the basic form, [H, T, T] or [B, H, T, T] with heads.
  BOOST_TEST((basic.forward_with_weights(randn({5, 8}, gen)).weights.shape() == Shape{5, 5}));
  BOOST_TEST((basic.forward_with_weights(randn({3, 5, 8}, gen)).weights.shape() == Shape{3, 5, 5}));
  BOOST_TEST((mhsa.forward_with_weights(randn({5, 8}, gen)).weights.shape() == Shape{2, 5, 5}));
  BOOST_TEST((mhsa.forward_with_weights(randn({3, 5, 8}, gen)).weights.shape() == Shape{3, 2, 5, 5}));
  // Empty sequences give empty outputs (no NaN, no crash).
  BOOST_TEST((basic(zeros({0, 8})).shape() == Shape{0, 8}));
  BOOST_TEST((scaled_causal(zeros({2, 0, 8})).shape() == Shape{2, 0, 8}));
  BOOST_TEST((mhsa(zeros({2, 0, 8})).shape() == Shape{2, 0, 8}));
  BOOST_TEST((mhsa.forward_with_weights(zeros({0, 3, 8})).weights.shape() == Shape{0, 2, 3, 3}));
  // The basic form has no parameters and works for any vector size.
  BOOST_TEST(basic.parameter_count() == 0);
  BOOST_TEST((basic(randn({4, 3}, gen)).shape() == Shape{4, 3}));
}

BOOST_AUTO_TEST_CASE(parameter_counts_are_3k2_plus_k2_plus_k_whatever_the_heads) {
  // K, Q, V: 3k² without bias; the output projection k² + k (lecture slides 19-20).
  for (std::int64_t heads : {1, 2, 4, 8}) {
    MultiHeadSelfAttention m(8, heads);
    BOOST_TEST(m.parameter_count() == 3 * 64 + 64 + 8);
    BOOST_TEST(m.head_size() == 8 / heads);
  }
  MultiHeadSelfAttention plain(6, 3, {.out_bias = false});
  BOOST_TEST(plain.parameter_count() == 4 * 36);
  BOOST_TEST(names(plain) == (std::vector<std::string>{"query.weight", "key.weight", "value.weight", "out.weight"}),
             boost::test_tools::per_element());
  BOOST_TEST(!plain.out.has_bias());
  MultiHeadSelfAttention biased(6, 3, {.bias = true});
  BOOST_TEST(biased.parameter_count() == 4 * 36 + 4 * 6);
  BOOST_TEST(names(biased) == (std::vector<std::string>{"query.weight", "query.bias", "key.weight", "key.bias",
                                                          "value.weight", "value.bias", "out.weight", "out.bias"}),
             boost::test_tools::per_element());
  for (const auto& [name, p] : biased.named_parameters()) {
    BOOST_TEST(p.requires_grad());
    BOOST_TEST((p.shape() == (name.ends_with("weight") ? Shape{6, 6} : Shape{6})), name);
  }
  // The projections are Linear modules, C -> C.
  for (const Linear* l : {&biased.query, &biased.key, &biased.value, &biased.out}) {
    BOOST_TEST(l->in_features() == 6);
    BOOST_TEST(l->out_features() == 6);
  }
}

BOOST_AUTO_TEST_CASE(initialisation_is_pytorchs_linear_and_seeded) {
  // U(-1/sqrt(k), 1/sqrt(k)) for every weight and bias, k = 16: bound 0.25.
  Generator a(7), b(7), c(8);
  MultiHeadSelfAttention m1(16, 4, {.bias = true, .generator = &a});
  MultiHeadSelfAttention m2(16, 4, {.bias = true, .generator = &b});
  MultiHeadSelfAttention m3(16, 4, {.bias = true, .generator = &c});
  for (const Tensor& p : m1.parameters()) {
    const Tensor magnitude = abs(p);
    BOOST_TEST(magnitude.max().item() <= 0.25);
    // Spread over the whole range: a weight matrix of 256 uniform values reaches past 0.2.
    if (p.dim() == 2) BOOST_TEST(magnitude.max().item() > 0.2);
  }
  const auto p1 = m1.parameters(), p2 = m2.parameters(), p3 = m3.parameters();
  for (std::size_t i = 0; i < p1.size(); ++i) {
    BOOST_TEST((p1[i].to_vector<float>() == p2[i].to_vector<float>()));  // same seed: same model
    BOOST_TEST((p1[i].to_vector<float>() != p3[i].to_vector<float>()));
  }
  // The mean of 4·256 + 4·16 uniform values is near 0 (standard error about 0.0045).
  double sum = 0;
  std::int64_t n = 0;
  for (const Tensor& p : p1) sum += p.sum().item(), n += p.numel();
  BOOST_TEST(std::abs(sum / static_cast<double>(n)) < 0.02);
}

BOOST_AUTO_TEST_CASE(projections_are_drawn_in_order_query_key_value_out) {
  // Each projection is a Linear drawn from the generator in turn, weight then bias: the same values as
  // four Linear layers made one after the other from the same seed.
  Generator a(9), b(9);
  MultiHeadSelfAttention m(6, 2, {.bias = true, .generator = &a});
  Linear q(6, 6, {.generator = &b}), k(6, 6, {.generator = &b}), v(6, 6, {.generator = &b}),
      o(6, 6, {.generator = &b});
  const std::vector<Tensor> expected{q.weight, q.bias, k.weight, k.bias, v.weight, v.bias, o.weight, o.bias};
  const std::vector<Tensor> got = m.parameters();
  BOOST_TEST_REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) check_close(got[i], expected[i], 0.0);
  // Each parameter tensor carries its path, for pictures and error messages.
  BOOST_TEST(m.query.weight.name() == "query.weight");
  BOOST_TEST(m.out.bias.name() == "out.bias");
}

BOOST_AUTO_TEST_CASE(prints_its_configuration_and_parameters) {
  MultiHeadSelfAttention m(4, 2, {.causal = true});
  BOOST_TEST(fmt::format("{}", m) ==
             "MultiHeadSelfAttention(emb=4, heads=2, head_size=2, bias=false, out_bias=true, causal=true)  "
             "[68 parameters]\n"
             "  query: Linear(in=4, out=4, bias=false)  weight [4, 4]  [16 parameters]\n"
             "  key: Linear(in=4, out=4, bias=false)  weight [4, 4]  [16 parameters]\n"
             "  value: Linear(in=4, out=4, bias=false)  weight [4, 4]  [16 parameters]\n"
             "  out: Linear(in=4, out=4, bias=true)  weight [4, 4], bias [4]  [20 parameters]");
  SelfAttention s({.scaled = true});
  BOOST_TEST(fmt::format("{}", s) == "SelfAttention(scaled=true, causal=false)  [0 parameters]");
}

BOOST_AUTO_TEST_CASE(heads_match_an_oracle_built_from_narrowed_projections) {
  // Each head h attends with its own slice h·D .. h·D + D - 1 of Q, K and V, scaled by 1/sqrt(D);
  // the heads are concatenated and projected. Built here with narrow and cat (not reshape and
  // transpose, as the module does) and scaled_dot_product_attention, whose default scale is 1/sqrt(D).
  Generator gen(3);
  MultiHeadSelfAttention m(6, 3, {.bias = true, .causal = true, .generator = &gen});
  m.to(kFloat64);
  const Tensor x = randn({2, 4, 6}, gen, {.dtype = kFloat64});
  const Tensor q = linear(x, m.query.weight, m.query.bias), k = linear(x, m.key.weight, m.key.bias),
               v = linear(x, m.value.weight, m.value.bias);
  std::vector<Tensor> heads, weights;
  for (std::int64_t h = 0; h < 3; ++h) {
    const AttentionResult r = scaled_dot_product_attention_with_weights(q.narrow(-1, 2 * h, 2), k.narrow(-1, 2 * h, 2),
                                                                        v.narrow(-1, 2 * h, 2), causal_mask(4));
    heads.push_back(r.output);
    weights.push_back(r.weights);
  }
  const Tensor expected = linear(cat(heads, -1), m.out.weight, m.out.bias);
  const AttentionResult got = m.forward_with_weights(x);
  check_close(got.output, expected, 1e-12);
  check_close(got.weights, stack(weights, 1), 1e-12);
  // An unbatched input is the same computation with B = 1.
  check_close(m(x.select(0, 1)), expected.select(0, 1), 1e-12);
}

BOOST_AUTO_TEST_CASE(float32_and_float64_agree) {
  Generator gen(4);
  MultiHeadSelfAttention m(8, 2, {.bias = true, .generator = &gen});
  const Tensor x32 = randn({2, 5, 8}, gen);
  const Tensor y32 = m(x32);
  BOOST_TEST((y32.dtype() == kFloat32));
  m.to(kFloat64);
  const Tensor y64 = m(x32.to(kFloat64));
  BOOST_TEST((y64.dtype() == kFloat64));
  check_close(y32.to(kFloat64), y64, 1e-5);

  SelfAttention basic({.scaled = true, .causal = true});
  const AttentionResult r32 = basic.forward_with_weights(x32);
  const AttentionResult r64 = basic.forward_with_weights(x32.to(kFloat64));
  BOOST_TEST((r32.output.dtype() == kFloat32 && r32.weights.dtype() == kFloat32));
  check_close(r32.output.to(kFloat64), r64.output, 1e-5);
  check_close(r32.weights.to(kFloat64), r64.weights, 1e-5);
}

// forward() runs fused_attention unless the module records (from 128 keys on: shorter sequences take
// the composite anyway): recording keeps the composite and its record, and both give the same output.
BOOST_AUTO_TEST_CASE(forward_is_fused_unless_recording) {
  Generator gen(8);
  MultiHeadSelfAttention m(8, 2, {.causal = true, .generator = &gen});
  m.to(kFloat64);
  const Tensor x = randn({2, 130, 8}, gen, {.dtype = kFloat64}).requires_grad_();  // 130: three key blocks
  const Tensor fused = m(x);
  BOOST_TEST(m.recorded().empty());
  m.record(true);
  const Tensor recorded = m(x);
  BOOST_TEST(!m.recorded().empty());
  BOOST_TEST((m.recorded().weights.shape() == Shape{2, 2, 130, 130}));
  check_close(fused, recorded, 1e-12);
  SelfAttention basic({.causal = true});
  check_close(basic(x), basic.forward_with_weights(x).output, 1e-12);
}

BOOST_AUTO_TEST_CASE(self_attention_gradchecks) {
  // Inputs of norm about 1.4 (scale 0.5, k = 4) keep the softmax away from saturation, where
  // finite differences of tiny gradients say little.
  Generator gen(5);
  for (bool scaled : {false, true}) {
    for (bool causal : {false, true}) {
      SelfAttention sa({.scaled = scaled, .causal = causal});
      for (const Shape& shape : {Shape{4, 3}, Shape{2, 3, 4}, Shape{1, 1, 2}}) {
        BOOST_TEST_CONTEXT("scaled " << scaled << ", causal " << causal << ", shape " << fmt::format("{}", shape)) {
          check_module_gradients(sa, [&](const auto& in) { return sa(in[0]); }, {rand64(shape, gen, 0.5)});
          // The weights themselves, as a function of X (a loss on attention uses this path alone).
          check_gradients([&](const auto& in) { return sa.forward_with_weights(in[0]).weights; },
                          {rand64(shape, gen, 0.5)});
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(multi_head_self_attention_gradchecks_every_parameter) {
  Generator gen(6);
  for (bool bias : {false, true}) {
    for (bool causal : {false, true}) {
      for (std::int64_t heads : {1, 2}) {
        MultiHeadSelfAttention m(4, heads, {.bias = bias, .out_bias = !bias, .causal = causal, .generator = &gen});
        m.to(kFloat64);
        BOOST_TEST_CONTEXT("bias " << bias << ", causal " << causal << ", heads " << heads) {
          check_module_gradients(m, [&](const auto& in) { return m(in[0]); }, {rand64({2, 3, 4}, gen)});
          check_module_gradients(m, [&](const auto& in) { return m(in[0]); }, {rand64({3, 4}, gen)});
          // The weights alone depend on the input and the query and key projections only.
          std::vector<Tensor> qk{rand64({1, 3, 4}, gen), m.query.weight, m.key.weight};
          if (bias) qk.insert(qk.end(), {m.query.bias, m.key.bias});
          check_gradients([&](const auto& in) { return m.forward_with_weights(in[0]).weights; }, qk,
                          {.in_place = true});
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(forward_add_is_the_residual_plus_forward) {
  // The residual is added by the output projection's product (linear_add): the sum's bits, batched and
  // not, with and without the output bias.
  Generator gen(12);
  for (bool out_bias : {true, false}) {
    MultiHeadSelfAttention m(8, 2, {.out_bias = out_bias, .causal = true, .generator = &gen});
    for (const Shape& shape : {Shape{2, 5, 8}, Shape{5, 8}}) {
      const Tensor x = randn(shape, gen), r = randn(shape, gen);
      BOOST_TEST(m.forward_add(x, r).to_vector() == (r + m(x)).to_vector());
      BOOST_TEST((m.forward_add(x, r).shape() == shape));
    }
  }
  MultiHeadSelfAttention m(8, 2);
  BOOST_CHECK_EXCEPTION(m.forward_add(ones({2, 5, 8}), ones({5, 8})), ShapeError,
                        has_message("MultiHeadSelfAttention::forward_add: residual [5, 8] must have the input's "
                                    "shape [2, 5, 8]"));
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_clear_errors) {
  SelfAttention sa;
  BOOST_CHECK_EXCEPTION(sa(ones({4})), ShapeError,
                        has_message("SelfAttention: expected an input [T, C] or [B, T, C], got shape [4]"));
  BOOST_CHECK_EXCEPTION(sa(ones({1, 2, 3, 4})), ShapeError, has_message("got shape [1, 2, 3, 4]"));
  BOOST_CHECK_EXCEPTION(sa(ones({2, 3}, {.dtype = kInt64})), DTypeError,
                        has_message("SelfAttention: expected a floating-point input, got int64"));
  SelfAttention scaled({.scaled = true});
  BOOST_CHECK_EXCEPTION(scaled(ones({2, 3, 0})), ShapeError,
                        has_message("SelfAttention: the vectors of input [2, 3, 0] are empty"));

  BOOST_CHECK_EXCEPTION(MultiHeadSelfAttention(10, 3), ValueError,
                        has_message("MultiHeadSelfAttention: emb 10 is not divisible by heads 3"));
  BOOST_CHECK_EXCEPTION(MultiHeadSelfAttention(8, 0), ValueError,
                        has_message("emb and heads must be positive, got emb 8 and heads 0"));
  BOOST_CHECK_EXCEPTION(MultiHeadSelfAttention(0, 2), ValueError, has_message("got emb 0 and heads 2"));
  MultiHeadSelfAttention m(8, 2);
  BOOST_CHECK_EXCEPTION(m(ones({2, 5, 6})), ShapeError,
                        has_message("MultiHeadSelfAttention: expected inputs of 8 features (emb), got shape [2, 5, 6]"));
  BOOST_CHECK_EXCEPTION(m(ones({8})), ShapeError,
                        has_message("MultiHeadSelfAttention: expected an input [T, C] or [B, T, C], got shape [8]"));
  BOOST_CHECK_EXCEPTION(m(ones({1, 1, 2, 8})), ShapeError, has_message("got shape [1, 1, 2, 8]"));
  BOOST_CHECK_EXCEPTION(m(ones({2, 8}, {.dtype = kFloat64})), DTypeError,
                        has_message("MultiHeadSelfAttention: expected floating-point tensors of one dtype, got input "
                                    "float64 and parameters float32"));
  BOOST_CHECK_EXCEPTION(m(ones({2, 8}, {.dtype = kInt64})), DTypeError,
                        has_message("expected a floating-point input, got int64"));
}

BOOST_AUTO_TEST_SUITE_END()
