// Fused attention's block products on oneDNN (lib/backend/flash_onednn.cpp): the rule that picks them
// (from 64 dims per head, never under the reference backend), strict float32 kernels that are not
// oneDNN's reference implementation, each product against its plain sum within the rounding bound,
// the whole fused attention at heads of 64 and 80 dims (80: past the threshold and not a multiple of
// 16) against the float64 composite, forward and backward, with causal and padding masks, a fully
// masked row and T not a multiple of the 64-key block; and the same bits at one thread and at two.
#include "support/test.hpp"

#include <cmath>
#include <vector>

#include "backend/flash_onednn.hpp"
#include "backend/flash_products.hpp"
#include "backend/flash_run.hpp"
#include "backend/threads.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

const double u = std::ldexp(1.0, -24);  // float32's unit roundoff

// [B, 1, 1, Tk]: sequence b has its last pad[b] keys masked (padding), broadcast over heads and queries.
Tensor padding(std::int64_t B, std::int64_t Tk, const std::vector<std::int64_t>& pad) {
  Tensor m = zeros({B, 1, 1, Tk}, {.dtype = kBool});
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t j = Tk - pad[static_cast<std::size_t>(b)]; j < Tk; ++j) m.set({b, 0, 0, j}, 1.0);
  }
  return m;
}

std::vector<float> values(std::size_t count, std::uint64_t seed) {
  Generator gen(seed);
  return randn({static_cast<std::int64_t>(count)}, gen).to_vector<float>();
}

// fused_attention on float32 q, k, v [B, H, T, D] against the composite on the same values in float64:
// Y, dQ, dK and dV for the loss sum(Y * W), within `tolerance` relative to max(1, |value|).
void against_float64(std::int64_t T, std::int64_t D, const Tensor& mask, double tolerance) {
  Generator gen(3);
  const Tensor q = randn({2, 2, T, D}, gen), k = randn({2, 2, T, D}, gen), v = randn({2, 2, T, D}, gen);
  const Tensor w = randn({2, 2, T, D}, gen);
  std::vector<Tensor> results[2];
  for (int path = 0; path < 2; ++path) {
    const DType t = path == 0 ? kFloat32 : kFloat64;
    Tensor qi = q.to(t).detach().requires_grad_(), ki = k.to(t).detach().requires_grad_();
    Tensor vi = v.to(t).detach().requires_grad_();
    const std::uint64_t before = backend::flash_onednn_executions();
    const Tensor y = path == 0 ? fused_attention(qi, ki, vi, mask)
                               : scaled_dot_product_attention_with_weights(qi, ki, vi, mask).output;
    (y * w.to(t)).sum().backward();
    if (path == 0) BOOST_TEST(backend::flash_onednn_executions() > before);  // the op ran on oneDNN's products
    results[path] = {y, qi.grad(), ki.grad(), vi.grad()};
  }
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_TEST_CONTEXT("D " << D << ", output " << i << " (Y, dQ, dK, dV)") {
      check_close(results[0][i], results[1][i], tolerance);
    }
    const std::vector<double> a = results[0][i].to_vector<double>(), b = results[1][i].to_vector<double>();
    double worst = 0;
    for (std::size_t j = 0; j < a.size(); ++j) {
      worst = std::max(worst, std::abs(a[j] - b[j]) / std::max(1.0, std::abs(b[j])));
    }
    BOOST_TEST_MESSAGE("D " << D << ", output " << i << ": worst " << worst << " against " << tolerance);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flash_onednn)

BOOST_AUTO_TEST_CASE(the_rule_picks_onednn_from_64_dims_and_never_under_the_reference_backend) {
  BOOST_TEST((backend::flash_product_for(32, 32) == backend::flash_product_ours));
  BOOST_TEST((backend::flash_product_for(63, 63) == backend::flash_product_ours));
  BOOST_TEST((backend::flash_product_for(64, 32) == backend::flash_product_ours));  // both must reach 64
  BOOST_TEST((backend::flash_product_for(64, 64) == backend::flash_product_onednn));
  BOOST_TEST((backend::flash_product_for(80, 128) == backend::flash_product_onednn));
  const MatmulBackendGuard reference(MatmulBackend::Reference);
  BOOST_TEST((backend::flash_product_for(128, 128) == backend::flash_product_ours));
}

BOOST_AUTO_TEST_CASE(its_kernels_are_strict_float32_and_not_onednns_reference_loops) {
  for (std::int64_t D : {64, 80}) {
    for (bool ta : {false, true}) {
      for (bool acc : {false, true}) {
        const backend::FlashOnednnPlan p = backend::flash_onednn_plan(ta, acc, 64, D, 64, 64, D, D);
        BOOST_TEST(p.on_onednn, "D " << D << " ta " << ta << " acc " << acc);
        BOOST_TEST(p.strict_math);
        BOOST_TEST(p.implementation.find("ref") == std::string::npos, p.implementation);
      }
    }
  }
}

// C = (acc ? C : 0) + op(A)·B against the same sum in float64. A float32 sum of kk products, in any
// order and with or without FMA, is within (kk + 1)·u of the sum of its terms' sizes (the recursive-sum
// bound, the +1 for adding C); a misread layout, a lost "add into C" or a wrong leading dim is off by
// the order of the terms themselves.
BOOST_AUTO_TEST_CASE(each_product_matches_its_sum_within_the_rounding_bound) {
  struct Shape3 {
    std::int64_t m, n, kk;
  };
  for (const Shape3 s : {Shape3{64, 64, 64}, Shape3{64, 80, 64}, Shape3{22, 64, 80}, Shape3{64, 22, 22}}) {
    for (bool ta : {false, true}) {
      for (bool acc : {false, true}) {
        const std::int64_t lda = (ta ? s.m : s.kk) + 3, ldb = s.n + 2, ldc = s.n + 1;  // wider, as blocks are
        const std::vector<float> a = values(static_cast<std::size_t>((ta ? s.kk : s.m) * lda), 1);
        const std::vector<float> b = values(static_cast<std::size_t>(s.kk * ldb), 2);
        const std::vector<float> c0 = values(static_cast<std::size_t>(s.m * ldc), 3);
        std::vector<float> c = c0;
        backend::flash_product_onednn(ta, acc, s.m, s.n, s.kk, a.data(), lda, b.data(), ldb, c.data(), ldc);
        double worst = 0;  // the largest error as a fraction of its bound
        for (std::int64_t i = 0; i < s.m; ++i) {
          for (std::int64_t j = 0; j < s.n; ++j) {
            const auto at = static_cast<std::size_t>(i * ldc + j);
            double sum = acc ? c0[at] : 0.0, size = acc ? std::abs(c0[at]) : 0.0;
            for (std::int64_t p = 0; p < s.kk; ++p) {
              const double x = ta ? a[static_cast<std::size_t>(p * lda + i)] : a[static_cast<std::size_t>(i * lda + p)];
              sum += x * b[static_cast<std::size_t>(p * ldb + j)];
              size += std::abs(x * b[static_cast<std::size_t>(p * ldb + j)]);
            }
            worst = std::max(worst, std::abs(c[at] - sum) / ((s.kk + 1) * u * size));
          }
          // Past each row's n columns, up to its leading dim, nothing is written.
          for (std::int64_t j = s.n; j < ldc; ++j) {
            const auto at = static_cast<std::size_t>(i * ldc + j);
            BOOST_TEST(c[at] == c0[at]);
          }
        }
        BOOST_TEST(worst <= 1.0, "m " << s.m << " n " << s.n << " kk " << s.kk << " ta " << ta << " acc " << acc
                                      << ": error " << worst << " of the bound");
      }
    }
  }
}

// Float32 (oneDNN's products) against float64 (the composite, whose own error is negligible here) on
// the same values. A score sums D products of randn entries, whose sizes add to about (2/π)·D before
// the scale 1/√D, so it is within D·u·0.64·√D; a weight e^(s - L) inherits that twice (s and L) as a
// relative error. Y then sums Tk weights (at most 1 in all) times values of order 1, adding Tk·u, and
// the gradients go through two such chains (dP, then dS·K): tolerance 2·(2·0.64·D·√D + Tk + D)·u,
// relative to max(1, |value|): 1.4e-4 at D = 80, T = 150. Observed (--log_level=message): at most
// 1.4e-6, a hundredth of it, as a worst case should be. A wrong product is off by order 1.
BOOST_AUTO_TEST_CASE(fused_attention_on_its_products_matches_the_float64_composite) {
  const std::int64_t T = 150;  // 64 + 64 + 22: a partial block of queries and of keys
  for (std::int64_t D : {64, 80}) {
    const double tolerance = 2 * (2 * 0.64 * static_cast<double>(D) * std::sqrt(static_cast<double>(D)) + T + D) * u;
    against_float64(T, D, causal_mask(T), tolerance);
    // Sequence 1 fully masked (every row of it sees no key), sequence 0 with its last 30 keys masked.
    against_float64(T, D, padding(2, T, {30, T}), tolerance);
  }
}

// The kernel's default at these sizes is oneDNN's products (the same bits as passing them), which
// round differently from ours (so the first check means something).
BOOST_AUTO_TEST_CASE(the_kernel_runs_onednns_products_by_default_from_64_dims) {
  const std::uint64_t before = backend::flash_onednn_executions();
  flash_run(kFloat32, 150, 32, causal_mask(150));
  BOOST_TEST(backend::flash_onednn_executions() == before);  // 32 dims: ours
  const std::vector<Tensor> chosen = flash_run(kFloat32, 150, 64, causal_mask(150));
  BOOST_TEST(backend::flash_onednn_executions() > before);
  const std::vector<Tensor> onednn = flash_run(kFloat32, 150, 64, causal_mask(150), backend::flash_product_onednn);
  const std::vector<Tensor> ours = flash_run(kFloat32, 150, 64, causal_mask(150), backend::flash_product_ours);
  bool any_differs = false;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    BOOST_TEST((bytes(chosen[i]) == bytes(onednn[i])), "output " << i);
    any_differs = any_differs || bytes(chosen[i]) != bytes(ours[i]);
  }
  BOOST_TEST(any_differs);
}

BOOST_AUTO_TEST_CASE(same_bits_on_one_thread_and_on_two) {
  for (std::int64_t D : {64, 80}) {
    for (const Tensor& mask : {causal_mask(150), padding(4, 150, {30, 150, 0, 1}).reshape({4, 1, 150})}) {
      std::vector<Tensor> one, two;
      {
        ThreadCount t(1);
        one = flash_run(kFloat32, 150, D, mask);
      }
      {
        ThreadCount t(2);
        const std::uint64_t before = backend::parallel_regions();
        two = flash_run(kFloat32, 150, D, mask);
        BOOST_TEST(backend::parallel_regions() >= before + 2);  // forward and backward went parallel
      }
      for (std::size_t i = 0; i < one.size(); ++i) {
        BOOST_TEST((bytes(one[i]) == bytes(two[i])), "D " << D << ", output " << i);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
