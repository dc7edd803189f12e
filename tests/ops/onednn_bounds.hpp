// oneDNN against attograd's reference kernel for the ops and modules built on matmuls (linear,
// linear_relu, scaled-dot-product attention, the attention modules): forward value and every input's
// gradient, from the same float32 leaves and upstream gradient, computed three ways: on oneDNN
// (MatmulBackend::Auto), on the reference kernel (MatmulBackendGuard(MatmulBackend::Reference)), and
// in float64 (which never reaches oneDNN). Each value must lie within an elementwise bound, a float64
// tensor of the value's shape, derived below from the products' inner sizes and operands.
//
// Where the bounds come from. The two float32 paths run the same code except inside the matmuls,
// which add the L terms of each output element in different orders. Each path's product is within
//   γ_L · (|A|·|B|),    γ_L = 1e-5 · sqrt(L),
// of the exact product, elementwise: float32's rounding u = 6e-8 times sqrt(L) is the usual size of a
// sum's rounding, and 1e-5 (about 170 u) leaves room for unlucky orders (tests/backend/differential.hpp,
// whose constant this is). Everything else (the bias add, ReLU, the scale, the mask, softmax and its
// backward, sums over rows) is the same code on the same inputs: it adds no difference of its own and
// passes on, to first order, the differences it receives. Each bound below is that propagation written
// out. The same bounds hold between each float32 path and float64: the non-matmul steps' own float32
// rounding is a few u, which the floor ε = 1e-5 on the attention scores' error covers (the other ops'
// bounds already hold γ ≥ 1e-5 relative to the terms).
//
// The bf16 mode (MatmulPrecisionGuard(MatmulPrecision::BFloat16)): both paths round every operand to
// bfloat16 the same way (nearest even) and add the exact products in float32, so the same γ_L holds
// for every product whose operands are the same float32 values on both paths. An operand that already
// differs by a float32 rounding could round to neighbouring bfloat16 values on the two paths, 2^-8 of
// itself, which no float32 bound covers: each bf16 case is built so that no such operand exists, and
// checks that premise (see each).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backend/differential.hpp"
#include "support/test.hpp"

namespace attograd::testing {

// oneDNN 2.6 has a bf16 matmul only on CPUs with AVX-512; elsewhere the bf16 mode rounds the operands
// itself and runs oneDNN's strict float32 product (backend/matmul.cpp), which the bf16 cases then
// compare. They are skipped only where no bf16-mode product reaches oneDNN at all:
//   BOOST_AUTO_TEST_CASE(name, *boost::unit_test::precondition(onednn_has_bf16))
inline boost::test_tools::assertion_result onednn_has_bf16(boost::unit_test::test_unit_id) {
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  NoGradGuard no_grad;
  const std::uint64_t before = onednn_products();
  matmul(ones({4, 4}), ones({4, 4}));
  boost::test_tools::assertion_result r(onednn_products() > before);
  r.message() << "no bf16-mode product reaches oneDNN here: the bf16 mode runs on the reference kernel alone";
  return r;
}

// γ_L: the bound on a float32 sum of L terms, relative to the sum of their magnitudes.
inline double gamma(std::int64_t L) {
  return kMatmulTolerance * std::sqrt(static_cast<double>(std::max<std::int64_t>(L, 1)));
}
// The floor on the attention scores' error (softmax, scale and mask rounding in float32).
inline constexpr double kStepFloor = kMatmulTolerance;

// |A|·|B| in float64: what a product's rounding scales with.
inline Tensor absmm(const Tensor& a, const Tensor& b) { return matmul(abs(a).to(kFloat64), abs(b).to(kFloat64)); }
inline Tensor mag(const Tensor& t) { return abs(t).to(kFloat64); }

// The largest |actual - expected| / bound over the elements (0 when they are equal, infinite when they
// differ where the bound is 0): at most 1 when the bound holds.
inline double worst_ratio(const Tensor& actual, const Tensor& expected, const Tensor& bound,
                          std::string* where = nullptr) {
  BOOST_TEST_REQUIRE(actual.shape() == expected.shape());
  BOOST_TEST_REQUIRE(bound.shape() == expected.shape());
  const std::vector<double> x = actual.to_vector<double>(), y = expected.to_vector<double>(),
                            b = bound.to_vector<double>();
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = std::abs(x[i] - y[i]);
    const double r = d == 0.0 ? 0.0 : (b[i] > 0.0 ? d / b[i] : INFINITY);
    if (!(r <= worst)) {
      worst = r;
      if (where != nullptr) {
        *where = fmt::format("element {}: {} vs {}, difference {:.3g}, bound {:.3g}", i, x[i], y[i], d, b[i]);
      }
    }
  }
  return worst;
}

inline void check_bound(const Tensor& actual, const Tensor& expected, const Tensor& bound, const std::string& what) {
  std::string where;
  const double r = worst_ratio(actual, expected, bound, &where);
  BOOST_TEST(r <= 1.0, fmt::format("{}: outside the bound at {} ({:.3g} times the bound)", what, where, r));
  BOOST_TEST_MESSAGE(fmt::format("{}: largest difference {:.3g} of the bound", what, r));
}

// One run of a computation: its value and the gradient of each leaf, and the products oneDNN computed.
struct Pass {
  Tensor value;
  std::vector<Tensor> grads;
  std::uint64_t products = 0;
};
using Computation = std::function<Tensor(const std::vector<Tensor>& leaves)>;

// f on fresh copies of the leaves in `dtype`, then backward from g.
inline Pass run_pass(const Computation& f, const std::vector<Tensor>& leaves, const Tensor& g, DType dtype) {
  std::vector<Tensor> in;
  for (const Tensor& t : leaves) in.push_back(t.to(dtype).detach().clone().requires_grad_());
  Pass p;
  const std::uint64_t before = onednn_products();
  const Tensor y = f(in);
  y.backward(g.to(dtype));
  p.products = onednn_products() - before;
  p.value = y.detach();
  for (const Tensor& t : in) p.grads.push_back(t.grad());
  return p;
}

// The three runs: oneDNN (which must have computed `products` products: all of them), the reference
// kernel (none), and float64 (only in the strict mode: the bf16 mode rounds float32 products only).
struct Passes {
  Pass onednn, reference, exact;
};
inline Passes run_three(const Computation& f, const std::vector<Tensor>& leaves, const Tensor& g,
                        std::uint64_t products, const std::string& what) {
  Passes p;
  p.onednn = run_pass(f, leaves, g, kFloat32);
  BOOST_TEST(p.onednn.products == products, fmt::format("{}: {} of {} products ran on oneDNN", what,
                                                        p.onednn.products, products));
  {
    MatmulBackendGuard reference(MatmulBackend::Reference);
    p.reference = run_pass(f, leaves, g, kFloat32);
    BOOST_TEST(p.reference.products == 0u);
  }
  if (matmul_precision() == MatmulPrecision::Strict) p.exact = run_pass(f, leaves, g, kFloat64);
  return p;
}

// bounds[0] bounds the value, bounds[1 + i] leaf i's gradient. oneDNN against the reference kernel,
// and in the strict mode each float32 path against float64.
inline void check_passes(const Passes& p, const std::vector<Tensor>& bounds, const std::vector<std::string>& names,
                         const std::string& what) {
  const auto check = [&](const Pass& a, const Pass& b, const std::string& pair) {
    check_bound(a.value, b.value, bounds[0], fmt::format("{}, value, {}", what, pair));
    for (std::size_t i = 0; i < a.grads.size(); ++i) {
      check_bound(a.grads[i], b.grads[i], bounds[i + 1], fmt::format("{}, d{}, {}", what, names[i], pair));
    }
  };
  check(p.onednn, p.reference, "oneDNN vs reference");
  if (p.exact.value.defined()) {
    check(p.onednn, p.exact, "oneDNN vs float64");
    check(p.reference, p.exact, "reference vs float64");
  }
}

// --- linear --------------------------------------------------------------------------------------
// Y = X·Wᵀ + b    X [N, I] (leading dims folded into N)  W [O, I]  b [O]  upstream G [N, O]
//   Y:  one product of I terms plus the bias:       γ_{I+1} (|X|·|W|ᵀ + |b|)
//   dX = G·W      (O terms):                         γ_O  |G|·|W|
//   dW = Gᵀ·X     (N terms):                         γ_N  |G|ᵀ·|X|
//   db = G summed over the N rows: the same code on the same G on both float32 paths (equal); against
//        float64 a float32 sum of N terms:          γ_N  Σ|G|
// For linear_relu, G is the upstream gradient with the ReLU mask applied (dZ = G where Z > 0). Where a
// pre-activation Z lies within twice its bound of 0, two paths may disagree on its sign and so on
// that element of dZ, by at most |G|: with U = |G| there and 0 elsewhere, the bounds grow by
//   dX: |U|·|W|    dW: |U|ᵀ·|X|    db: Σ|U|      (linear_relu_bounds)
struct LinearBounds {
  Tensor y, dx, dw, db;
};
inline LinearBounds linear_bounds(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& g) {
  const std::int64_t I = w.size(1), O = w.size(0), N = x.numel() / I;
  const Tensor x2 = x.reshape({N, I}), g2 = g.reshape({N, O});
  LinearBounds r;
  r.y = (b.defined() ? absmm(x, w.mT()) + mag(b) : absmm(x, w.mT())) * gamma(I + 1);
  r.dx = absmm(g2, w).reshape(x.shape()) * gamma(O);
  r.dw = absmm(g2.mT(), x2) * gamma(N);
  r.db = sum(mag(g2), {0}) * gamma(N);
  return r;
}

inline LinearBounds linear_relu_bounds(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& g,
                                       const Tensor& z) {
  const Tensor masked = g.to(kFloat64) * gt(z, 0.0).to(kFloat64);
  LinearBounds r = linear_bounds(x, w, b, masked);
  const Tensor ambiguous = le(abs(z.to(kFloat64)), r.y * 2.0).to(kFloat64);
  const std::int64_t I = w.size(1), O = w.size(0), N = x.numel() / I;
  const Tensor u = (mag(g) * ambiguous).reshape({N, O});
  r.dx = r.dx + absmm(u, w).reshape(x.shape());
  r.dw = r.dw + absmm(u.mT(), x.reshape({N, I}));
  r.db = r.db + sum(u, {0});
  return r;
}

// --- attention -----------------------------------------------------------------------------------
// S = c·Q·Kᵀ    A = softmax(S, masked)    Y = A·V         Q [.., Tq, D]  K [.., Tk, D]  V [.., Tk, Dv]
// dV = Aᵀ·G    dA = G·Vᵀ    dS = c·A⊙(dA - r), r = rowsum(A⊙dA)    dQ = dS·K    dK = dSᵀ·Q
// q, k, v, g, a: float64 values; eq, ek, ev, eg: bounds on how far the float32 paths' q, k, v and
// upstream gradient may be from them (0 for leaves; the projections' bounds inside a module).
//   δS    ≤ c (γ_D |Q||K|ᵀ + eq|K|ᵀ + |Q|ekᵀ);  Δ_i = its largest element in row i, + ε
//   δA_ij = A_ij (δS_ij - Σ_l A_il δS_il)                   ≤ 2 Δ_i A_ij   (masked: A = 0 on both)
//   δY    ≤ δA·|V| + A·ev + γ_Tk A|V|                       ≤ (2Δ + γ_Tk) ⊙ A|V| + A·ev
//   δdV   ≤ δAᵀ|G| + Aᵀeg + γ_Tq Aᵀ|G|                      ≤ Aᵀ((2Δ + γ_Tq) ⊙ |G|) + Aᵀeg
//   |dA| ≤ P = |G||V|ᵀ, Pm_i its row maximum; δdA ≤ E = γ_Dv P + eg|V|ᵀ + |G|evᵀ, Em_i its row maximum
//   |dA - r| ≤ 2 Pm_i and δr_i ≤ 2Δ_i Pm_i + Em_i, so with dS' = A⊙(dA - r):
//   |dS'| ≤ 2 A Pm,   δdS' ≤ A ⊙ (2Δ·2Pm + Em + 2Δ Pm + Em) = A ⊙ (6Δ Pm + 2Em) =: W
//   δdQ   ≤ c (W + γ_Tk 2A Pm)·|K| + c (2A Pm)·ek
//   δdK   ≤ c (W + γ_Tq 2A Pm)ᵀ·|Q| + c (2A Pm)ᵀ·eq
struct AttentionBounds {
  Tensor y, dq, dk, dv;
};
struct AttentionErrors {  // bounds on the inputs' own differences; undefined = 0
  Tensor q, k, v, g;
};
inline AttentionBounds attention_bounds(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& a,
                                        const Tensor& g, double c, const AttentionErrors& e = {}) {
  const std::int64_t D = q.size(-1), Tq = q.size(-2), Tk = k.size(-2), Dv = v.size(-1);
  const Tensor Q = mag(q), K = mag(k), V = mag(v), G = mag(g), A = mag(a);
  Tensor ds = matmul(Q, K.mT()) * gamma(D);
  if (e.q.defined()) ds = ds + matmul(e.q, K.mT());
  if (e.k.defined()) ds = ds + matmul(Q, e.k.mT());
  const Tensor delta = max(ds * c, {-1}, true) + kStepFloor;  // [.., Tq, 1]
  AttentionBounds r;
  r.y = (delta * 2.0 + gamma(Tk)) * matmul(A, V);
  if (e.v.defined()) r.y = r.y + matmul(A, e.v);
  r.dv = matmul(A.mT(), (delta * 2.0 + gamma(Tq)) * G);
  if (e.g.defined()) r.dv = r.dv + matmul(A.mT(), e.g);
  const Tensor P = matmul(G, V.mT());
  const Tensor Pm = max(P, {-1}, true);
  Tensor E = P * gamma(Dv);
  if (e.g.defined()) E = E + matmul(e.g, V.mT());
  if (e.v.defined()) E = E + matmul(G, e.v.mT());
  const Tensor Em = max(E, {-1}, true);
  const Tensor W = A * (delta * Pm * 6.0 + Em * 2.0);
  const Tensor dS = A * Pm * 2.0;
  r.dq = matmul(W + dS * gamma(Tk), K) * c;
  r.dk = matmul((W + dS * gamma(Tq)).mT(), Q) * c;
  if (e.k.defined()) r.dq = r.dq + matmul(dS, e.k) * c;
  if (e.q.defined()) r.dk = r.dk + matmul(dS.mT(), e.q) * c;
  return r;
}

// Values that bfloat16 holds exactly and whose products and sums float32 holds exactly: integers in
// [-2, 2]. Products of such inputs come out the same on both paths, whatever the order of the sums.
inline Tensor small_integers(const Shape& shape, Generator& gen) { return randint(-2, 3, shape, gen).to(kFloat32); }

}  // namespace attograd::testing
