// The attention modules on oneDNN against the reference kernel and float64: the output, the input's
// gradient and every parameter's gradient, in float32 and in the bf16 mode, within bounds derived in
// tests/ops/onednn_bounds.hpp (attention) and composed here with the projections' (linear).
#include "support/test.hpp"

#include <map>

#include "ops/onednn_bounds.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

// One run of a module: its output, the input's gradient, each parameter's gradient by name.
struct ModulePass {
  Tensor y, dx;
  std::map<std::string, Tensor> grads;
  std::uint64_t products = 0;
};

ModulePass run_module(AttentionModule& m, const std::function<Tensor(const Tensor&)>& forward, const Tensor& x,
                      const Tensor& g, DType dtype) {
  m.zero_grad();
  m.to(dtype);  // float32 -> float64 -> float32 is exact
  const Tensor xl = x.to(dtype).detach().clone().requires_grad_();
  ModulePass p;
  const std::uint64_t before = onednn_products();
  const Tensor y = forward(xl);
  y.backward(g.to(dtype));
  p.products = onednn_products() - before;
  p.y = y.detach();
  p.dx = xl.grad();
  for (const auto& [name, t] : m.named_parameters()) p.grads[name] = t.grad();
  m.zero_grad();
  m.to(kFloat32);
  return p;
}

// bounds: "y", "x" and each parameter's name. oneDNN against the reference kernel, and in the strict
// mode both against float64. The forwards below are forward_with_weights: the composite, whose
// products run on oneDNN; forward() runs fused_attention from 128 keys on, whose products are loops of
// attograd's own, checked against this composite in tests/ops/test_attention_fused.cpp.
void check_module(AttentionModule& m, const std::function<Tensor(const Tensor&)>& forward, const Tensor& x,
                  const Tensor& g, std::uint64_t products, const std::map<std::string, Tensor>& bounds,
                  const std::string& what) {
  const ModulePass fast = run_module(m, forward, x, g, kFloat32);
  BOOST_TEST(fast.products == products, fmt::format("{}: {} of {} products ran on oneDNN", what, fast.products,
                                                    products));
  ModulePass ref;
  {
    MatmulBackendGuard reference(MatmulBackend::Reference);
    ref = run_module(m, forward, x, g, kFloat32);
  }
  const auto check = [&](const ModulePass& a, const ModulePass& b, const std::string& pair) {
    check_bound(a.y, b.y, bounds.at("y"), fmt::format("{}, value, {}", what, pair));
    check_bound(a.dx, b.dx, bounds.at("x"), fmt::format("{}, dx, {}", what, pair));
    for (const auto& [name, grad] : a.grads) {
      check_bound(grad, b.grads.at(name), bounds.at(name), fmt::format("{}, d{}, {}", what, name, pair));
    }
  };
  check(fast, ref, "oneDNN vs reference");
  if (matmul_precision() == MatmulPrecision::Strict) {
    const ModulePass exact = run_module(m, forward, x, g, kFloat64);
    check(fast, exact, "oneDNN vs float64");
    check(ref, exact, "reference vs float64");
  }
}

// --- SelfAttention: Q = K = V = X, one head ------------------------------------------------------
// dX = dQ + dK + dV (the engine adds the three, the same code on every path), so its bound is the sum
// of the three bounds of onednn_bounds.hpp.
void check_self_attention(SelfAttentionOptions options, const Tensor& x, const Tensor& g, const std::string& what) {
  SelfAttention m(options);
  const Tensor x64 = x.to(kFloat64).unsqueeze(1);  // [B, 1, T, C]
  const double c = options.scaled ? 1.0 / std::sqrt(static_cast<double>(x.size(-1))) : 1.0;
  Tensor a64;
  {
    NoGradGuard no_grad;
    a64 = m.forward_with_weights(x.to(kFloat64)).weights.unsqueeze(1);
  }
  const AttentionBounds b = attention_bounds(x64, x64, x64, a64, g.to(kFloat64).unsqueeze(1), c);
  check_module(m, [&m](const Tensor& t) { return m.forward_with_weights(t).output; }, x, g, 6,
               {{"y", b.y.squeeze(1)}, {"x", (b.dq + b.dk + b.dv).squeeze(1)}}, what);
}

// --- MultiHeadSelfAttention ----------------------------------------------------------------------
// Q = X·Wqᵀ + bq (and K, V), split into H heads of D; attention as in onednn_bounds.hpp with the
// projections' bounds as its inputs' errors; Y = Hcat·Woᵀ + bo with Hcat the heads side by side.
//   eQ = γ_{C+1} (|X||Wq|ᵀ + |bq|)                     (each projection, linear's bound)
//   dHcat = G·Wo, its error eG = γ_C |G||Wo|          (the attention's upstream gradient)
//   δY    ≤ γ_{C+1} (|Hcat||Wo|ᵀ + |bo|) + eH·|Wo|ᵀ, eH the attention's output bound
//   δdWo  ≤ γ_N |G|ᵀ|Hcat| + |G|ᵀ eH                  δdbo ≤ γ_N Σ|G|     (N = B·T rows)
//   δdWq  ≤ γ_N |dQ|ᵀ|X| + e_dQᵀ|X|                    δdbq ≤ γ_N Σ|dQ| + Σ e_dQ
//   δdX   ≤ Σ over q, k, v of γ_C |dQ||Wq| + e_dQ·|Wq|
// with dQ, dK, dV the float64 gradients of the heads and e_dQ their attention bounds, heads side by side.
std::map<std::string, Tensor> mhsa_bounds(const MultiHeadSelfAttention& m, const Tensor& x, const Tensor& g) {
  const std::int64_t B = x.size(0), T = x.size(1), C = m.emb(), H = m.heads(), D = m.head_size(), N = B * T;
  const auto split = [&](const Tensor& t) { return t.reshape({B, T, H, D}).transpose(1, 2); };
  const auto merge = [&](const Tensor& t) { return t.transpose(1, 2).reshape({B, T, C}); };
  const auto rows = [&](const Tensor& t) { return t.reshape({N, C}); };
  std::map<std::string, Tensor> p;
  for (const auto& [name, t] : m.named_parameters()) p[name] = t.detach().to(kFloat64);
  const auto bias = [&](const std::string& l) { return p.count(l + ".bias") ? p.at(l + ".bias") : Tensor(); };
  const Tensor X = x.to(kFloat64), G = g.to(kFloat64);
  std::map<std::string, Tensor> proj, err, leaf;
  for (const std::string l : {"query", "key", "value"}) {
    proj[l] = split(linear(X, p.at(l + ".weight"), bias(l)));
    err[l] = split(linear_bounds(X, p.at(l + ".weight"), bias(l), zeros({B, T, C}, {.dtype = kFloat64})).y);
    leaf[l] = proj[l].detach().requires_grad_();
  }
  const double c = 1.0 / std::sqrt(static_cast<double>(D));
  const AttentionResult r = scaled_dot_product_attention_with_weights(
      leaf["query"], leaf["key"], leaf["value"], m.causal() ? causal_mask(T) : Tensor(), c);
  const Tensor Wo = p.at("out.weight");
  const Tensor dH = matmul(G, Wo);
  r.output.backward(split(dH));
  const AttentionBounds ab = attention_bounds(proj["query"], proj["key"], proj["value"], r.weights.detach(),
                                              split(dH), c,
                                              {err["query"], err["key"], err["value"], split(absmm(G, Wo) * gamma(C))});
  const Tensor Hcat = merge(r.output.detach()), eH = merge(ab.y);
  std::map<std::string, Tensor> b;
  b["y"] = linear_bounds(Hcat, Wo, bias("out"), G).y + matmul(eH, mag(Wo).mT());
  b["out.weight"] = absmm(rows(G).mT(), rows(Hcat)) * gamma(N) + matmul(mag(rows(G)).mT(), rows(eH));
  if (p.count("out.bias")) b["out.bias"] = sum(mag(rows(G)), {0}) * gamma(N);
  Tensor dx = zeros({B, T, C}, {.dtype = kFloat64});
  const std::map<std::string, Tensor> grad_bound{{"query", ab.dq}, {"key", ab.dk}, {"value", ab.dv}};
  for (const std::string l : {"query", "key", "value"}) {
    const Tensor dP = merge(leaf[l].grad()), eP = merge(grad_bound.at(l)), W = p.at(l + ".weight");
    b[l + ".weight"] = absmm(rows(dP).mT(), rows(X)) * gamma(N) + matmul(rows(eP).mT(), mag(rows(X)));
    if (p.count(l + ".bias")) b[l + ".bias"] = sum(mag(rows(dP)), {0}) * gamma(N) + sum(rows(eP), {0});
    dx = dx + absmm(dP, W) * gamma(C) + matmul(eP, mag(W));
  }
  b["x"] = dx;
  return b;
}

// Products of one forward and backward: 3 projections, Q·Kᵀ, A·V, the output projection; backward 2
// per projection and 4 for the attention.
constexpr std::uint64_t kMhsaProducts = 6 + 4 * 2 + 4;

void check_mhsa(MultiHeadSelfAttention& m, const Tensor& x, const Tensor& g, const std::string& what) {
  check_module(m, [&m](const Tensor& t) { return m.forward_with_weights(t).output; }, x, g, kMhsaProducts,
               mhsa_bounds(m, x, g), what);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_modules_onednn)

BOOST_AUTO_TEST_CASE(self_attention_float32_matches_the_reference_and_float64) {
  Generator gen(31);
  for (const SelfAttentionOptions o : {SelfAttentionOptions{}, SelfAttentionOptions{.scaled = true},
                                       SelfAttentionOptions{.scaled = true, .causal = true}}) {
    const Tensor x = randn({2, 9, 16}, gen) * 0.5, g = randn({2, 9, 16}, gen);
    check_self_attention(o, x, g, fmt::format("SelfAttention scaled={} causal={}", o.scaled, o.causal));
  }
}

BOOST_AUTO_TEST_CASE(self_attention_bf16_matches_the_rounding_reference,
                     *boost::unit_test::precondition(onednn_has_bf16)) {
  // x and the upstream gradient small integers: the scores X·Xᵀ and dA = G·Xᵀ are exact integers on both
  // paths, so A and dS are the same float32 values on both, and no product's operand differs (the
  // output A·X and the gradients are results, not operands of later products). A is checked.
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  Generator gen(32);
  for (const SelfAttentionOptions o : {SelfAttentionOptions{.scaled = true},
                                       SelfAttentionOptions{.scaled = true, .causal = true}}) {
    const Tensor x = small_integers({2, 8, 16}, gen), g = small_integers({2, 8, 16}, gen);
    {
      NoGradGuard no_grad;
      SelfAttention m(o);
      const Tensor a = m.forward_with_weights(x).weights;
      MatmulBackendGuard reference(MatmulBackend::Reference);
      BOOST_TEST(a.to_vector<float>() == m.forward_with_weights(x).weights.to_vector<float>(),
                 boost::test_tools::per_element());
    }
    check_self_attention(o, x, g, fmt::format("bf16 SelfAttention causal={}", o.causal));
  }
}

BOOST_AUTO_TEST_CASE(multi_head_float32_matches_the_reference_and_float64) {
  Generator gen(33);
  for (const MultiHeadSelfAttentionOptions o :
       {MultiHeadSelfAttentionOptions{}, MultiHeadSelfAttentionOptions{.bias = true, .causal = true}}) {
    MultiHeadSelfAttentionOptions with_gen = o;
    with_gen.generator = &gen;
    MultiHeadSelfAttention m(16, 4, with_gen);
    const Tensor x = randn({2, 7, 16}, gen), g = randn({2, 7, 16}, gen);
    check_mhsa(m, x, g, fmt::format("MultiHeadSelfAttention bias={} causal={}", o.bias, o.causal));
  }
}

BOOST_AUTO_TEST_CASE(multi_head_bf16_matches_the_rounding_reference, *boost::unit_test::precondition(onednn_has_bf16)) {
  // Every product's operands must be the same float32 values on both paths. With x, the weights, the
  // biases and the upstream gradient in {-1, 0, 1}, C = 8, H = 2 (D = 4, scale 1/2) and T = 4, the
  // projections, dA = dHcat·Vᵀ and dHcat = G·Wo are exact integers. The attention output A·V feeds the
  // output projection, so it must be exact too: with every query 0 (Wq = 0, bq = 0), or every key the
  // same (Wk = 0), each row of A is 1/4 exactly and A·V is exact, as is dQ = dS·K (dS is a multiple of
  // 2^-12 after rounding, |dQ| < 2^12: 24 bits). The first case leaves dK = 0, the second dQ = 0; together
  // they reach every parameter. Not causal: a causal row of 3 weights would be 1/3, not exact.
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  Generator gen(34);
  for (const std::string zeroed : {"query", "key"}) {
    MultiHeadSelfAttention m(8, 2, {.bias = true, .generator = &gen});
    for (const auto& [name, t] : m.named_parameters()) {
      Tensor value = randint(-1, 2, t.shape(), gen).to(kFloat32);
      if (name == zeroed + ".weight" || (zeroed == "query" && name == "query.bias")) value = zeros(t.shape());
      NoGradGuard no_grad;
      Tensor(t).copy_(value);
    }
    const Tensor x = randint(-1, 2, {2, 4, 8}, gen).to(kFloat32), g = randint(-1, 2, {2, 4, 8}, gen).to(kFloat32);
    {
      NoGradGuard no_grad;
      const Tensor a = m.forward_with_weights(x).weights;
      BOOST_TEST((a.to_vector<float>() == std::vector<float>(static_cast<std::size_t>(a.numel()), 0.25f)),
                 "the premise: every weight exactly 1/4");
    }
    check_mhsa(m, x, g, fmt::format("bf16 MultiHeadSelfAttention, {} projection zeroed", zeroed));
  }
}

BOOST_AUTO_TEST_SUITE_END()
