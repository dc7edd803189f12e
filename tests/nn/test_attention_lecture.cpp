// The lecture's claims about self-attention, each asserted on both modules (Lecture 10: Transformers,
// MLVU): weights that are distributions, exactly-zero masked weights, permutation equivariance,
// causality, the dominant diagonal of the basic form, the per-head scale (by a reference value), and
// the two gradient paths through the derived weights (docs/derivations/attention.md).
#include "support/test.hpp"

#include <cmath>

#include "nn/attention_support.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double max_abs_diff(const Tensor& a, const Tensor& b) { return abs(a - b).max().item(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_lecture)

BOOST_AUTO_TEST_CASE(weights_are_distributions_and_masked_weights_are_exactly_zero) {
  Generator gen(10);
  MultiHeadSelfAttention mhsa(8, 4, {.generator = &gen});
  MultiHeadSelfAttention mhsa_causal(8, 4, {.causal = true, .generator = &gen});
  mhsa.to(kFloat64);
  mhsa_causal.to(kFloat64);
  SelfAttention basic, basic_causal({.causal = true});
  // Large inputs (norm about 8) push the basic form's softmax towards one-hot: still distributions.
  const Tensor x = randn({3, 6, 8}, gen, {.dtype = kFloat64}) * 3.0;
  const Tensor masked = causal_mask(6);
  struct Case {
    const char* name;
    Tensor weights;
    bool causal;
  };
  for (const Case& c : {Case{"basic", basic.forward_with_weights(x).weights, false},
                        Case{"basic causal", basic_causal.forward_with_weights(x).weights, true},
                        Case{"multi-head", mhsa.forward_with_weights(x).weights, false},
                        Case{"multi-head causal", mhsa_causal.forward_with_weights(x).weights, true}}) {
    BOOST_TEST_CONTEXT(c.name) {
      const Tensor& w = c.weights;
      BOOST_TEST(all(ge(w, 0.0)));
      const Tensor row_sums = w.sum({-1});
      check_close(row_sums, ones(row_sums.shape(), {.dtype = kFloat64}), 1e-12);
      if (c.causal) {
        // Masked before the softmax, so exactly 0 (not merely small), and row 0 is one-hot on itself.
        BOOST_TEST(all(eq(where(masked, w, 0.0), 0.0)));
        BOOST_TEST(all(eq(w.select(-2, 0).select(-1, 0), 1.0)));
      } else {
        BOOST_TEST(!any(eq(w, 0.0)));  // without the mask no weight is exactly 0 at this size
      }
    }
  }
  // float32 too.
  const Tensor w32 = basic_causal.forward_with_weights(x.to(kFloat32)).weights;
  check_close(w32.sum({-1}), ones({3, 6}), 1e-6);
  BOOST_TEST(all(eq(where(masked, w32, 0.0), 0.0)));
}

BOOST_AUTO_TEST_CASE(unmasked_self_attention_is_permutation_equivariant) {
  // SA(P X) = P SA(X): permuting the inputs permutes the outputs the same way (slide 32), so without
  // position information a model cannot see order.
  Generator gen(11);
  MultiHeadSelfAttention mhsa(6, 2, {.bias = true, .generator = &gen});
  mhsa.to(kFloat64);
  SelfAttention basic, scaled({.scaled = true});
  const Tensor P = permutation_matrix(7, gen);
  BOOST_TEST(max_abs_diff(P, eye(7, -1, {.dtype = kFloat64})) == 1.0);  // not the identity
  for (const Shape& shape : {Shape{7, 6}, Shape{2, 7, 6}}) {
    const Tensor x = randn(shape, gen, {.dtype = kFloat64});
    check_close(basic(matmul(P, x)), matmul(P, basic(x)), 1e-12);
    check_close(scaled(matmul(P, x)), matmul(P, scaled(x)), 1e-12);
    check_close(mhsa(matmul(P, x)), matmul(P, mhsa(x)), 1e-12);
    // The weights permute on both sides: A(P X) = P A(X) Pᵀ.
    check_close(mhsa.forward_with_weights(matmul(P, x)).weights,
                matmul(matmul(P, mhsa.forward_with_weights(x).weights), P.mT()), 1e-12);
  }
  // The causal mask breaks the symmetry: it is what tells a causal model the order.
  SelfAttention causal({.causal = true});
  const Tensor x = randn({7, 6}, gen, {.dtype = kFloat64});
  BOOST_TEST(max_abs_diff(causal(matmul(P, x)), matmul(P, causal(x))) > 1e-2);
}

BOOST_AUTO_TEST_CASE(with_the_causal_mask_output_i_ignores_later_inputs) {
  // The gradient of output i with respect to input j > i is exactly 0 (not small): the masked weights
  // are exactly 0 and so is their softmax gradient. Inputs j <= i do get a gradient.
  Generator gen(12);
  const std::int64_t T = 5;
  MultiHeadSelfAttention mhsa(4, 2, {.bias = true, .causal = true, .generator = &gen});
  mhsa.to(kFloat64);
  SelfAttention basic({.causal = true}), scaled({.scaled = true, .causal = true});
  for (const Module* m : std::vector<const Module*>{&basic, &scaled, &mhsa}) {
    auto run = [&](const Tensor& x) {
      if (m == &mhsa) return mhsa(x);
      return static_cast<const SelfAttention*>(m)->forward(x);
    };
    for (std::int64_t i = 0; i < T; ++i) {
      BOOST_TEST_CONTEXT(m->type_name() << (m == &scaled ? " scaled" : "") << ", output " << i) {
        const Tensor x = rand64({2, T, 4}, gen);
        run(x).select(1, i).sum().backward();
        const Tensor g = abs(x.grad()).sum({0, 2});  // [T]: how much each input position matters
        for (std::int64_t j = 0; j < T; ++j) {
          if (j > i) BOOST_TEST(g.at({j}) == 0.0);
          else BOOST_TEST(g.at({j}) > 1e-6);
        }
        // The same in values: changing the later inputs leaves outputs 0..i unchanged, bit for bit.
        if (i + 1 < T) {
          const Tensor changed = x.detach().clone();
          {
            NoGradGuard no_grad;
            changed.narrow(1, i + 1, T - i - 1).copy_(randn({2, T - i - 1, 4}, gen, {.dtype = kFloat64}));
          }
          check_values(run(changed).narrow(1, 0, i + 1), run(x.detach()).narrow(1, 0, i + 1).to_vector<double>(), 0.0);
          BOOST_TEST(max_abs_diff(run(changed).narrow(1, i + 1, T - i - 1),
                                  run(x.detach()).narrow(1, i + 1, T - i - 1)) > 1e-6);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(in_the_basic_form_each_input_attends_most_to_itself) {
  // w'_ii = |x_i|² while w'_ij = x_i . x_j <= |x_i| |x_j| (Cauchy-Schwarz). With inputs of equal norm
  // the diagonal is therefore the strict row maximum in every row (equality needs parallel vectors).
  Generator gen(13);
  SelfAttention basic;
  const Tensor raw = randn({2, 10, 3}, gen, {.dtype = kFloat64});
  const Tensor unit = raw / sqrt(sum(raw * raw, {-1}, true));
  const Tensor w_unit = basic.forward_with_weights(unit).weights;
  const Tensor diagonal_is_max = eq(w_unit.argmax(-1), arange(10.0, {.dtype = kInt64}));
  BOOST_TEST(all(diagonal_is_max));

  // With random normal inputs of size k, |x_i|² is about k while x_i . x_j has mean 0 and standard
  // deviation |x_i| (the component of x_j along x_i is a standard normal): the diagonal loses a row
  // only if some x_j's component along x_i exceeds |x_i|, about sqrt(k). For k = 16 that is a 4-sigma
  // event (a simulation gives about 0.4% of rows), and for this seed every row of every sequence has
  // its maximum on the diagonal.
  const Tensor x16 = randn({20, 8, 16}, gen, {.dtype = kFloat64});
  const Tensor w16 = basic.forward_with_weights(x16).weights;
  BOOST_TEST(all(eq(w16.argmax(-1), arange(8.0, {.dtype = kInt64}))));
  // For k = 4, |x_i| is about 2 and often less, and each row has 7 rivals: the diagonal wins "most"
  // rows (about 71% in a simulation) rather than all. Here 110 of 160.
  const Tensor x4 = randn({20, 8, 4}, gen, {.dtype = kFloat64});
  const Tensor hits = eq(basic.forward_with_weights(x4).weights.argmax(-1), arange(8.0, {.dtype = kInt64}));
  const double fraction = hits.to(kFloat64).mean().item();
  BOOST_TEST(fraction == 110.0 / 160.0);
  BOOST_TEST(fraction > 0.6);
  BOOST_TEST(fraction < 1.0);
}

BOOST_AUTO_TEST_CASE(basic_form_reference_values) {
  // X = [[1, 0], [1, 1]]: X Xᵀ = [[1, 1], [1, 2]].
  // Unscaled: row 0 softmax(1, 1) = (1/2, 1/2); row 1 softmax(1, 2) = (1 - σ(1), σ(1)).
  // Y = W X: row 0 = (1, 1/2), row 1 = (1, σ(1)). Scaled by 1/sqrt(2): σ(1/sqrt(2)) instead of σ(1).
  const Tensor x = tensor({{1.0, 0.0}, {1.0, 1.0}}, {.dtype = kFloat64});
  const double s1 = sigmoid(1.0), s2 = sigmoid(1.0 / std::sqrt(2.0));
  const AttentionResult plain = SelfAttention().forward_with_weights(x);
  check_values(plain.weights, {0.5, 0.5, 1 - s1, s1}, 1e-15);
  check_values(plain.output, {1.0, 0.5, 1.0, s1}, 1e-15);
  const AttentionResult scaled = SelfAttention({.scaled = true}).forward_with_weights(x);
  check_values(scaled.output, {1.0, 0.5, 1.0, s2}, 1e-15);
  // Causal: row 0 sees only x_0.
  check_values(SelfAttention({.causal = true}).forward_with_weights(x).weights, {1.0, 0.0, 1 - s1, s1}, 1e-15);
  check_values(SelfAttention({.causal = true})(x), {1.0, 0.0, 1.0, s1}, 1e-15);
}

BOOST_AUTO_TEST_CASE(the_scale_is_per_head_by_a_reference_value) {
  // emb 4, 2 heads of size D = 2; Wq = Wk = Wv = Wo = I, bo = (0.1, 0.2, 0.3, 0.4).
  // X = [[1, 1, 0, 0], [0, 0, 1, 1]]: head 0 sees (1, 1) and (0, 0), head 1 sees (0, 0) and (1, 1).
  // Head 0 scores Q Kᵀ / sqrt(2) = [[2, 0], [0, 0]] / sqrt(2): row 0 weights (s, 1 - s) with
  // s = σ(sqrt(2)), row 1 (1/2, 1/2). Head 1 mirrors it. With V = X:
  //   head 0 outputs s·(1, 1) and (1/2)(1, 1); head 1 outputs (1/2)(1, 1) and s·(1, 1).
  // Concatenated: [[s, s, 1/2, 1/2], [1/2, 1/2, s, s]], then + bo.
  // The companion code's bug, 1/sqrt(emb) = 1/2, would give σ(1) = 0.731 for s instead of 0.804: a
  // gradient check is blind to it (the gradients of that other function are right), this is not.
  MultiHeadSelfAttention m(4, 2);
  m.to(kFloat64);
  const Tensor I = eye(4, -1, {.dtype = kFloat64});
  for (Linear* l : {&m.query, &m.key, &m.value, &m.out}) set_parameter(l->weight, I);
  set_parameter(m.out.bias, tensor({0.1, 0.2, 0.3, 0.4}, {.dtype = kFloat64}));
  const Tensor x = tensor({{1.0, 1.0, 0.0, 0.0}, {0.0, 0.0, 1.0, 1.0}}, {.dtype = kFloat64});
  const double s = sigmoid(std::sqrt(2.0));
  const AttentionResult r = m.forward_with_weights(x);
  check_values(r.weights, {s, 1 - s, 0.5, 0.5, 0.5, 0.5, 1 - s, s}, 1e-15);
  check_values(r.output, {s + 0.1, s + 0.2, 0.8, 0.9, 0.6, 0.7, s + 0.3, s + 0.4}, 1e-15);
  check_values(r.output, {0.9044296825069569, 1.004429682506957, 0.8, 0.9, 0.6, 0.7, 1.1044296825069568, 1.204429682506957}, 1e-15);
  BOOST_TEST(std::abs(r.output.at({0, 0}) - (sigmoid(1.0) + 0.1)) > 0.05);  // what 1/sqrt(emb) would give

  // A non-identity Wo mixes the heads: swapping its halves swaps where each head's output lands.
  set_parameter(m.out.weight, cat({I.narrow(0, 2, 2), I.narrow(0, 0, 2)}, 0));
  check_values(m(x), {0.6, 0.7, s + 0.3, s + 0.4, s + 0.1, s + 0.2, 0.8, 0.9}, 1e-15);
}

BOOST_AUTO_TEST_CASE(two_gradient_paths_in_the_basic_form) {
  // Y = A X with A = softmax(c X Xᵀ): X reaches Y through the values (linear) and through the weights.
  // dV = Aᵀ dY    dA = dY Xᵀ    dS = A * (dA - rowsum(dA * A))    dX = Aᵀ dY + c (dS + dSᵀ) X
  Generator gen(14);
  for (bool scaled : {false, true}) {
    for (const Shape& shape : {Shape{5, 3}, Shape{2, 4, 6}}) {
      BOOST_TEST_CONTEXT("scaled " << scaled << ", shape " << fmt::format("{}", shape)) {
        SelfAttention sa({.scaled = scaled});
        const double c = scaled ? 1.0 / std::sqrt(static_cast<double>(shape[-1])) : 1.0;
        const Tensor x = rand64(shape, gen);
        const Tensor dY = randn(shape, gen, {.dtype = kFloat64});
        const AttentionResult r = sa.forward_with_weights(x);
        (r.output * dY).sum().backward();

        const Tensor X = x.detach(), A = r.weights.detach();
        const Tensor linear_path = matmul(A.mT(), dY);
        const Tensor dA = matmul(dY, X.mT());
        const Tensor dS = A * (dA - sum(dA * A, {-1}, true));
        const Tensor weights_path = matmul(dS + dS.mT(), X) * c;
        check_close(x.grad(), linear_path + weights_path, 1e-12);
        // Both paths carry gradient: neither alone is the gradient.
        BOOST_TEST(max_abs_diff(x.grad(), linear_path) > 1e-2);
        BOOST_TEST(max_abs_diff(x.grad(), weights_path) > 1e-2);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(saturated_rows_leave_only_the_linear_path) {
  // Unscaled inputs of norm about 30 make each row of A one-hot on the diagonal: dS vanishes and the
  // gradient is the linear path Aᵀ dY alone (about dY). This is what the scale 1/sqrt(k) prevents.
  Generator gen(15);
  SelfAttention sa;
  const Tensor x = (randn({6, 16}, gen, {.dtype = kFloat64}) * 8.0).requires_grad_();
  const Tensor dY = randn({6, 16}, gen, {.dtype = kFloat64});
  const AttentionResult r = sa.forward_with_weights(x);
  (r.output * dY).sum().backward();
  check_close(r.weights, eye(6, -1, {.dtype = kFloat64}), 1e-12);
  check_close(x.grad(), dY, 1e-9);
}

BOOST_AUTO_TEST_SUITE_END()
