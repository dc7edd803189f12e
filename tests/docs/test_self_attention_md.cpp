// docs/self-attention.md's numbers. Each fenced block after a marker `<!-- self-attention: NAME` in the
// doc is computed here with the code the doc shows and compared with the doc's text exactly: if
// attograd or the doc changes, this test says which block no longer matches. Beside each block, the
// claims the doc makes about it are checked too (rows sum to 1, the module gives the same numbers as
// the ops written out, the two gradient paths add up to autograd's gradient).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "support/test.hpp"

using namespace attograd;

namespace {

// The doc is found from this file's own path, tests/docs/ -> docs/.
std::string doc_text() {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" /
                    "self-attention.md";
  std::ifstream in(path);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " + path.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The body of the first fenced block after the marker `<!-- self-attention: name`.
std::string doc_block(const std::string& name) {
  const std::string text = doc_text();
  const std::string marker = "<!-- self-attention: " + name + " ";
  const auto at = text.find(marker);
  BOOST_TEST_REQUIRE(at != std::string::npos, "docs/self-attention.md lacks " + marker);
  const auto body = text.find('\n', text.find("```", at)) + 1;
  return text.substr(body, text.find("\n```", body) - body + 1);
}

// A matrix as the doc prints it: one row per line, each number in 8 columns with 4 decimals.
std::string rows(const Tensor& m) {
  std::string s;
  for (std::int64_t i = 0; i < m.size(0); ++i) {
    for (std::int64_t j = 0; j < m.size(1); ++j) {
      const double v = m.at({i, j});
      s += fmt::format("{:8.4f}", std::abs(v) < 5e-5 ? 0.0 : v);  // no "-0.0000"
    }
    s += "\n";
  }
  return s;
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return abs(a - b).max().item(); }

const TensorOptions f64{.dtype = kFloat64};

// The doc's three vectors of size 2 and an upstream gradient.
Tensor doc_X() { return tensor({{1, 2}, {0, 1}, {2, -1}}, f64); }
Tensor doc_dY() { return tensor({{1, 0}, {0, 1}, {1, -1}}, f64); }

}  // namespace

BOOST_AUTO_TEST_SUITE(self_attention_md)

BOOST_AUTO_TEST_CASE(derived_weights) {
  const Tensor X = doc_X();
  const Tensor raw = matmul(X, X.mT());  // W' [3, 3]
  const Tensor W = softmax(raw, -1);
  const Tensor Y = matmul(W, X);
  const std::string text = fmt::format("W' = X Xt\n{}W = softmax of each row of W'\n{}Y = W X\n{}", rows(raw),
                                       rows(W), rows(Y));
  BOOST_TEST(text == doc_block("basic"));
  // The module computes the same, and the rows are distributions.
  const auto [Y2, W2] = nn::SelfAttention().forward_with_weights(X);
  BOOST_TEST(max_abs_diff(W2, W) == 0.0);
  BOOST_TEST(max_abs_diff(Y2, Y) == 0.0);
  BOOST_TEST(max_abs_diff(W.sum({1}), ones({3}, f64)) < 1e-15);
}

BOOST_AUTO_TEST_CASE(two_gradient_paths) {
  const Tensor X = doc_X().requires_grad_(), dY = doc_dY();
  const Tensor W = softmax(matmul(X, X.mT()), -1);
  matmul(W, X).backward(dY);  // both paths: autograd's dX
  const Tensor full = X.grad().clone();
  // By the formulas of docs/derivations/attention.md, c = 1 (the basic form is unscaled).
  NoGradGuard no_grad;
  const Tensor Wv = W.detach(), Xv = X.detach();
  const Tensor values = matmul(Wv.mT(), dY);               // Wᵀ dY
  const Tensor dW = matmul(dY, Xv.mT());                   // dY Xᵀ
  const Tensor dS = Wv * (dW - (dW * Wv).sum({1}, true));  // the softmax's backward
  const Tensor weights = matmul(dS + dS.mT(), Xv);         // X is both the query and the key
  const std::string text = fmt::format(
      "through the values, Wt dY\n{}through the weights, (dS + dSt) X\n{}the two added\n{}autograd's dX\n{}",
      rows(values), rows(weights), rows(values + weights), rows(full));
  BOOST_TEST(text == doc_block("paths"));
  BOOST_TEST(max_abs_diff(values + weights, full) < 1e-14);
  // The same split done by autograd: W detached (values only), X detached as the value (weights only).
  Tensor X1 = Xv.clone().requires_grad_(), X2 = Xv.clone().requires_grad_();
  {
    EnableGradGuard grad_on;
    matmul(softmax(matmul(X1, X1.mT()), -1).detach(), X1).backward(dY);
    matmul(softmax(matmul(X2, X2.mT()), -1), X2.detach()).backward(dY);
  }
  BOOST_TEST(max_abs_diff(X1.grad(), values) < 1e-14);
  BOOST_TEST(max_abs_diff(X2.grad(), weights) < 1e-14);
}

BOOST_AUTO_TEST_CASE(why_the_scale) {
  // Independent random queries and keys with entries N(0, 1), and an upstream gradient G = dL/dA with
  // entries N(0, 1) whatever C is, so that dS shows the softmax's own effect.
  std::string text = "   C  scale      std of S  mean largest weight  mean |dS|\n";
  Generator gen(0);
  const std::int64_t T = 8;
  for (const std::int64_t C : {4, 64, 512}) {
    const Tensor Q = randn({T, C}, gen, f64), K = randn({T, C}, gen, f64), G = randn({T, T}, gen, f64);
    for (const bool scaled : {false, true}) {
      const double c = scaled ? 1.0 / std::sqrt(static_cast<double>(C)) : 1.0;
      Tensor S = matmul(Q, K.mT()) * c;  // [T, T]
      S.requires_grad_();                // a leaf here, so that S.grad() is dL/dS
      const Tensor A = softmax(S, -1);
      A.backward(G);
      const double spread = std::sqrt(pow(S.detach() - S.detach().mean(), 2.0).mean().item());
      const double largest = max(A.detach(), {1}).mean().item();
      const double dS = abs(S.grad()).mean().item();
      text += fmt::format("{:4}  {:<9} {:9.2f}  {:19.3f}  {:9.2g}\n", C, scaled ? "1/sqrt(C)" : "1", spread, largest,
                          dS);
    }
  }
  BOOST_TEST(text == doc_block("scale"));
}

BOOST_AUTO_TEST_CASE(keys_queries_values) {
  Generator gen(0);
  nn::MultiHeadSelfAttention attn(4, 2, {.generator = &gen});
  const std::string text = fmt::format("{}\n", attn);
  BOOST_TEST(text == doc_block("module"));
  BOOST_TEST(attn.parameter_count() == 3 * 4 * 4 + 4 * 4 + 4);
}

BOOST_AUTO_TEST_CASE(per_head_scale) {
  // Identity projections and no output bias: the module is then the scaled basic form run on each
  // head's slice of the vectors.
  nn::MultiHeadSelfAttention attn(4, 2);
  attn.to(kFloat64);
  {
    NoGradGuard no_grad;
    for (Tensor* w : {&attn.query.weight, &attn.key.weight, &attn.value.weight, &attn.out.weight}) {
      w->copy_(eye(4, -1, f64));
    }
    attn.out.bias.zero_();
  }
  const Tensor X = tensor({{1, 2, 0, 1}, {0, 1, 2, -1}, {2, -1, 1, 1}}, f64);
  const Tensor Y = attn(X);
  auto by_hand = [&](double c) {  // each head: softmax(c Xh Xhᵀ) Xh, then the heads side by side
    std::vector<Tensor> heads;
    for (std::int64_t h = 0; h < 2; ++h) {
      const Tensor Xh = X.narrow(1, 2 * h, 2);
      heads.push_back(matmul(softmax(matmul(Xh, Xh.mT()) * c, -1), Xh));
    }
    return cat(heads, 1);
  };
  const double per_head = max_abs_diff(Y, by_hand(1 / std::sqrt(2.0)));
  const double full_width = max_abs_diff(Y, by_hand(1 / std::sqrt(4.0)));
  const std::string text = fmt::format(
      "Y, identity projections\n{}largest difference from the heads by hand with 1/sqrt(D): {:.2g}\n"
      "largest difference from the heads by hand with 1/sqrt(C): {:.2g}\n",
      rows(Y), per_head, full_width);
  BOOST_TEST(text == doc_block("heads"));
  BOOST_TEST(per_head < 1e-15);
  BOOST_TEST(full_width > 0.01);
}

BOOST_AUTO_TEST_CASE(causal_mask_before_the_softmax) {
  const Tensor X = doc_X();
  const Tensor W = nn::SelfAttention({.causal = true}).forward_with_weights(X).weights;
  // The wrong way: zero the weights above the diagonal after the softmax.
  const Tensor after = masked_fill(softmax(matmul(X, X.mT()), -1), causal_mask(3), 0.0);
  const auto sums = [](const Tensor& w) {
    const Tensor s = w.sum({1});
    return fmt::format("{:.4f} {:.4f} {:.4f}", s.at({0}), s.at({1}), s.at({2}));
  };
  const std::string text = fmt::format("W, masked before the softmax\n{}row sums: {}\n"
                                       "W, zeroed after the softmax\n{}row sums: {}\n",
                                       rows(W), sums(W), rows(after), sums(after));
  BOOST_TEST(text == doc_block("mask"));
  // Output i depends on inputs j <= i only: change the last input, the first two outputs stay.
  nn::SelfAttention causal({.causal = true});
  const Tensor X2 = X + tensor({{0, 0}, {0, 0}, {5, 5}}, f64);
  BOOST_TEST(max_abs_diff(causal(X).narrow(0, 0, 2), causal(X2).narrow(0, 0, 2)) == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
