// Attention inspection: what the modules record (scores and weights of the last forward, and their
// gradients after backward), checked against the returned weights, by hand, and by finite differences.
#include "support/test.hpp"

#include <array>
#include <cmath>
#include <functional>

#include "nn/attention_support.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

// Central difference of f at element index of a (detached copy of) t.
double finite_difference(const std::function<double(const Tensor&)>& f, const Tensor& t,
                         std::initializer_list<std::int64_t> index, double eps = 1e-6) {
  Tensor plus = t.detach().clone(), minus = t.detach().clone();
  plus.set(index, t.at(index) + eps);
  minus.set(index, t.at(index) - eps);
  return (f(plus) - f(minus)) / (2 * eps);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_record)

BOOST_AUTO_TEST_CASE(nothing_is_recorded_unless_asked) {
  Generator gen(20);
  MultiHeadSelfAttention m(4, 2, {.generator = &gen});
  BOOST_TEST(!m.recording());
  m(randn({3, 4}, gen));
  BOOST_TEST(m.recorded().empty());
  BOOST_TEST(!m.recorded().scores_grad().defined());
}

BOOST_AUTO_TEST_CASE(recorded_weights_are_the_returned_weights_as_b_h_t_t) {
  Generator gen(21);
  MultiHeadSelfAttention m(6, 3, {.causal = true, .generator = &gen});
  m.record(true);
  BOOST_TEST(m.recording());
  const AttentionResult batched = m.forward_with_weights(randn({2, 4, 6}, gen));
  BOOST_TEST((m.recorded().weights.shape() == Shape{2, 3, 4, 4}));
  BOOST_TEST((m.recorded().scores.shape() == Shape{2, 3, 4, 4}));
  check_close(m.recorded().weights, batched.weights, 0.0);
  // An unbatched input is recorded with B = 1.
  const AttentionResult single = m.forward_with_weights(randn({4, 6}, gen));
  BOOST_TEST((m.recorded().weights.shape() == Shape{1, 3, 4, 4}));
  check_close(m.recorded().weights.squeeze(0), single.weights, 0.0);
  // The scores are the softmax's input: masked ones are -inf, and softmax gives back the weights.
  const Tensor S = m.recorded().scores;
  BOOST_TEST(all(eq(where(causal_mask(4), S, -INFINITY), -INFINITY)));
  BOOST_TEST(!any(isinf(where(logical_not(causal_mask(4)), S, 0.0))));
  check_close(softmax(S, -1), m.recorded().weights, 0.0);

  // SelfAttention has one head: H = 1.
  SelfAttention sa;
  sa.record();
  const AttentionResult r = sa.forward_with_weights(randn({5, 3}, gen));
  BOOST_TEST((sa.recorded().weights.shape() == Shape{1, 1, 5, 5}));
  check_close(sa.recorded().weights.squeeze(), r.weights, 0.0);
}

BOOST_AUTO_TEST_CASE(recorded_scores_are_scaled_dot_products_by_hand) {
  // Basic form, scaled: S = X Xᵀ / sqrt(k).
  Generator gen(22);
  SelfAttention sa({.scaled = true});
  sa.record();
  const Tensor x = randn({2, 5, 4}, gen, {.dtype = kFloat64});
  sa(x);
  check_close(sa.recorded().scores.squeeze(1), matmul(x, x.mT()) / 2.0, 1e-14);
  // Multi-head: S = Q_h K_hᵀ / sqrt(D) with Q_h head h's slice (D = 3 columns) of X Wqᵀ.
  MultiHeadSelfAttention m(6, 2, {.generator = &gen});
  m.to(kFloat64);
  m.record();
  const Tensor x6 = randn({2, 5, 6}, gen, {.dtype = kFloat64});
  m(x6);
  const Tensor q = linear(x6, m.query.weight), k = linear(x6, m.key.weight);
  for (std::int64_t h = 0; h < 2; ++h) {
    const Tensor expected = matmul(q.narrow(-1, 3 * h, 3), k.narrow(-1, 3 * h, 3).mT()) / std::sqrt(3.0);
    check_close(m.recorded().scores.select(1, h), expected, 1e-13);
  }
}

BOOST_AUTO_TEST_CASE(recorded_gradients_match_finite_differences) {
  // L = sum(MHSA(X) * G). After backward the record holds dL/dS and dL/dA; spot-check elements of both
  // against central differences of L recomputed from a perturbed A (or S), downstream of the module.
  Generator gen(23);
  MultiHeadSelfAttention m(4, 2, {.bias = true, .causal = true, .generator = &gen});
  m.to(kFloat64);
  m.record();
  const Tensor x = rand64({2, 3, 4}, gen);
  const Tensor G = randn({2, 3, 4}, gen, {.dtype = kFloat64});
  const Tensor loss = (m(x) * G).sum();
  const AttentionRecord rec = m.recorded();
  BOOST_TEST(!rec.scores_grad().defined());  // before backward
  loss.backward();
  const Tensor dS = rec.scores_grad(), dA = rec.weights_grad();
  BOOST_TEST_REQUIRE(dS.defined());
  BOOST_TEST_REQUIRE(dA.defined());
  BOOST_TEST((dS.shape() == Shape{2, 2, 3, 3}));
  BOOST_TEST((dA.shape() == Shape{2, 2, 3, 3}));

  NoGradGuard no_grad;
  // The oracle reproduces the module's loss from the recorded weights.
  BOOST_TEST(std::abs(loss_from_weights(m, x, rec.weights, G).item() - loss.item()) < 1e-12);
  auto from_weights = [&](const Tensor& A) { return loss_from_weights(m, x, A, G).item(); };
  auto from_scores = [&](const Tensor& S) { return loss_from_weights(m, x, softmax(S, -1), G).item(); };
  const std::vector<std::array<std::int64_t, 4>> spots{{0, 0, 1, 0}, {0, 1, 2, 1}, {1, 0, 2, 2}, {1, 1, 1, 1}};
  for (const auto& [b, h, i, j] : spots) {
    BOOST_TEST_CONTEXT("element " << b << ", " << h << ", " << i << ", " << j) {
      BOOST_TEST(std::abs(dA.at({b, h, i, j}) - finite_difference(from_weights, rec.weights, {b, h, i, j})) < 1e-7);
      BOOST_TEST(std::abs(dS.at({b, h, i, j}) - finite_difference(from_scores, rec.scores, {b, h, i, j})) < 1e-7);
    }
  }
  // A masked score does not affect the loss: its gradient is exactly 0. The masked weight's gradient
  // is not (dA = dY Vᵀ whatever A is): it is what the loss would gain if that weight were allowed.
  BOOST_TEST(dS.at({1, 0, 0, 2}) == 0.0);
  BOOST_TEST(std::abs(dA.at({1, 0, 0, 2}) - finite_difference(from_weights, rec.weights, {1, 0, 0, 2})) < 1e-7);
  BOOST_TEST(std::abs(dA.at({1, 0, 0, 2})) > 1e-6);
  // And the two are linked by the softmax's Jacobian: dS = A * (dA - rowsum(dA * A)).
  check_close(dS, rec.weights * (dA - sum(dA * rec.weights, {-1}, true)), 1e-14);
}

BOOST_AUTO_TEST_CASE(basic_form_gradients_match_finite_differences) {
  // Y = A X: dL/dA = dY Xᵀ for L = sum(Y * G), and dL/dS through the softmax.
  Generator gen(24);
  SelfAttention sa({.scaled = true});
  sa.record();
  const Tensor x = rand64({4, 3}, gen);
  const Tensor G = randn({4, 3}, gen, {.dtype = kFloat64});
  (sa(x) * G).sum().backward();
  const AttentionRecord& rec = sa.recorded();
  NoGradGuard no_grad;
  const Tensor X = x.detach();
  check_close(rec.weights_grad().squeeze(), matmul(G, X.mT()), 1e-14);
  auto from_scores = [&](const Tensor& S) { return (matmul(softmax(S, -1).squeeze(), X) * G).sum().item(); };
  for (std::int64_t i = 0; i < 4; ++i) {
    const double numeric = finite_difference(from_scores, rec.scores, {0, 0, i, (i + 1) % 4});
    BOOST_TEST(std::abs(rec.scores_grad().at({0, 0, i, (i + 1) % 4}) - numeric) < 1e-7);
  }
}

BOOST_AUTO_TEST_CASE(a_forward_without_gradients_records_values_only) {
  Generator gen(25);
  MultiHeadSelfAttention m(4, 2, {.generator = &gen});
  m.record();
  {
    NoGradGuard no_grad;
    const AttentionResult r = m.forward_with_weights(randn({3, 4}, gen));
    check_close(m.recorded().weights.squeeze(0), r.weights, 0.0);
  }
  BOOST_TEST(!m.recorded().weights.requires_grad());
  BOOST_TEST(!m.recorded().weights_grad().defined());
  // The basic form on an input that needs no gradient: nothing requires grad at all.
  SelfAttention sa;
  sa.record();
  sa(randn({3, 4}, gen));
  BOOST_TEST(!sa.recorded().empty());
  BOOST_TEST(!sa.recorded().scores_grad().defined());
}

BOOST_AUTO_TEST_CASE(record_keeps_the_last_recorded_forward) {
  Generator gen(26);
  SelfAttention sa;
  sa.record();
  const Tensor first = randn({3, 2}, gen, {.dtype = kFloat64});
  const Tensor second = randn({4, 2}, gen, {.dtype = kFloat64});
  sa(first);
  const Tensor kept = sa.recorded().weights;
  sa(second);  // replaces the record
  BOOST_TEST((sa.recorded().weights.shape() == Shape{1, 1, 4, 4}));
  sa.record(false);
  sa(first);  // not recorded: the record is still the second forward's
  BOOST_TEST((sa.recorded().weights.shape() == Shape{1, 1, 4, 4}));
  check_close(kept.squeeze(), sa.forward_with_weights(first).weights, 0.0);
  sa.clear_record();
  BOOST_TEST(sa.recorded().empty());
}

BOOST_AUTO_TEST_SUITE_END()
