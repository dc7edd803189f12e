// The bfloat16 matmul mode (MatmulPrecision::BFloat16, attograd/backend/settings.hpp): the setting and
// its guard, the rounding, oneDNN's bf16 products against the reference kernel's (inputs rounded the
// same way, sums in float32), how far the mode moves a product from float32, and a model training in it.
#include "support/test.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <thread>

#include "backend/differential.hpp"
#include "nn/models_support.hpp"

using namespace attograd;
using namespace attograd::testing;
namespace onednn = attograd::backend::onednn;

namespace {

onednn::MatmulPlan plan_for(const Tensor& a, const Tensor& b) {
  return onednn::plan(a, b, empty({a.size(0), b.size(1)}));
}

bool cpu_has_avx512_bf16() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string word; in >> word;) {
    if (word == "avx512_bf16") return true;
  }
  return false;
}

// The largest |fast - strict| / (|A|·|B|) over the elements of a·b: how far the mode moved the product,
// relative to the size of its terms.
double largest_relative_change(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  const Tensor strict = matmul(a, b).to(kFloat64);
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  const Tensor fast = matmul(a, b).to(kFloat64);
  return max(abs(fast - strict) / matmul(abs(a).to(kFloat64), abs(b).to(kFloat64))).item();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(matmul_bf16)

BOOST_AUTO_TEST_CASE(rounding_is_to_nearest_even) {
  using backend::round_to_bfloat16;
  // bfloat16 keeps 8 significant bits: its step at 1 is 2^-7.
  BOOST_TEST(round_to_bfloat16(1.0f) == 1.0f);
  BOOST_TEST(round_to_bfloat16(-1.5f) == -1.5f);
  BOOST_TEST(round_to_bfloat16(1.0f + 0x1p-10f) == 1.0f);                   // below half a step
  BOOST_TEST(round_to_bfloat16(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f);  // above half a step
  BOOST_TEST(round_to_bfloat16(1.0f + 0x1p-8f) == 1.0f);                    // a tie: to the even 1
  BOOST_TEST(round_to_bfloat16(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);      // a tie: to the even 1 + 2^-6
  BOOST_TEST(round_to_bfloat16(-(1.0f + 3 * 0x1p-8f)) == -(1.0f + 0x1p-6f));
  BOOST_TEST(round_to_bfloat16(3.0e-20f) == 0x1.1cp-65f);  // small values keep 8 bits too
  const float inf = std::numeric_limits<float>::infinity();
  BOOST_TEST(round_to_bfloat16(std::numeric_limits<float>::max()) == inf);  // past bf16's largest
  BOOST_TEST(round_to_bfloat16(-inf) == -inf);
  BOOST_TEST(std::isnan(round_to_bfloat16(std::numeric_limits<float>::quiet_NaN())));
  BOOST_TEST(std::isnan(round_to_bfloat16(std::bit_cast<float>(0x7F800001u))));  // would round to infinity
}

BOOST_AUTO_TEST_CASE(strict_is_the_default_and_the_guard_restores_it) {
  BOOST_TEST((matmul_precision() == MatmulPrecision::Strict));
  Generator gen(1);
  const Tensor a = randn({16, 32}, gen), b = randn({32, 8}, gen);
  const onednn::MatmulPlan strict = plan_for(a, b);
  BOOST_TEST(strict.on_onednn);
  BOOST_TEST(strict.strict_math);
  BOOST_TEST(!strict.bf16);
  {
    MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
    BOOST_TEST((matmul_precision() == MatmulPrecision::BFloat16));
    MatmulPrecision elsewhere = MatmulPrecision::BFloat16;
    std::thread([&] { elsewhere = matmul_precision(); }).join();
    BOOST_TEST((elsewhere == MatmulPrecision::Strict));  // per thread, like the backend choice
    {
      MatmulPrecisionGuard nested(MatmulPrecision::Strict);
      BOOST_TEST(plan_for(a, b).strict_math);
    }
    const onednn::MatmulPlan p = plan_for(a, b);  // the same shapes: a cache entry of its own
    BOOST_TEST_MESSAGE("bf16 implementation: " << p.implementation);
    if (cpu_has_avx512_bf16()) BOOST_TEST(onednn::native_bf16());
    if (onednn::native_bf16()) {
      BOOST_TEST(p.on_onednn);
      BOOST_TEST(p.bf16);
      BOOST_TEST(!p.strict_math);
      BOOST_TEST(p.implementation.find("ref") == std::string::npos, p.implementation);
      if (cpu_has_avx512_bf16()) BOOST_TEST(p.implementation.find("bf16") != std::string::npos, p.implementation);
    } else {
      // No bf16 kernel on this CPU: oneDNN declines, and backend::matmul rounds the operands itself
      // before a float32 product (inputs_are_rounded_to_bfloat16 below checks the values).
      BOOST_TEST(!p.on_onednn);
      const std::uint64_t before = onednn::cache_stats().products;
      (void)matmul(a, b);
      BOOST_TEST(onednn::cache_stats().products == before + 1);  // still on oneDNN, in float32
    }
  }
  BOOST_TEST((matmul_precision() == MatmulPrecision::Strict));
  BOOST_TEST(plan_for(a, b).strict_math);
}

BOOST_AUTO_TEST_CASE(an_unknown_precision_is_a_value_error) {
  BOOST_CHECK_EXCEPTION(set_matmul_precision(static_cast<MatmulPrecision>(7)), ValueError,
                        has_message("set_matmul_precision: unknown precision 7 (Strict is 0, BFloat16 is 1)"));
  BOOST_TEST((matmul_precision() == MatmulPrecision::Strict));  // unchanged
}

BOOST_AUTO_TEST_CASE(inputs_are_rounded_to_bfloat16) {
  // 1 + 2^-10 has no bfloat16: it becomes 1, and 64 such terms sum to 64, not 64.0625.
  NoGradGuard no_grad;
  const Tensor a = full({4, 64}, 1.0 + 0x1p-10), b = ones({64, 3});
  check_values(matmul(a, b), std::vector<double>(12, 64.0625), 0);
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  check_values(matmul(a, b), std::vector<double>(12, 64.0), 0);
  {
    MatmulBackendGuard reference(MatmulBackend::Reference);
    check_values(matmul(a, b), std::vector<double>(12, 64.0), 0);
  }
  // float64 is never rounded.
  check_values(matmul(a.to(kFloat64), b.to(kFloat64)), std::vector<double>(12, 64.0625), 0);
}

BOOST_AUTO_TEST_CASE(the_change_from_float32_is_the_bfloat16_amount) {
  // Each input moves by at most 2^-9 of itself, each product term by at most about 2^-8: with random
  // data the largest change is a sizeable fraction of that bound, far above float32's rounding.
  Generator gen(2);
  const std::vector<std::array<std::int64_t, 3>> sizes{{8, 16, 8}, {64, 128, 32}, {128, 512, 16}};
  for (const auto& [m, k, n] : sizes) {
    const double change = largest_relative_change(randn({m, k}, gen), randn({k, n}, gen));
    BOOST_TEST_MESSAGE(fmt::format("[{}, {}]·[{}, {}]: largest change {:.3g} of |A|·|B|", m, k, k, n, change));
    BOOST_TEST(change > 1e-4);
    BOOST_TEST(change < 0x1p-8 + 1e-6);
  }
}

BOOST_AUTO_TEST_CASE(onednn_matches_the_rounding_reference) {
  // Both round the same inputs and sum exact products in float32: only the order of the sums differs,
  // so the float32 tolerance of differential.hpp applies (the bf16 change itself is ~1e3 times larger).
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  Generator gen(3);
  auto r = [&](const Shape& s) { return randn(s, gen); };
  check_matmul_matches_reference(r({5, 7}), r({7, 3}), "2-D");
  check_matmul_matches_reference(r({64, 96}), r({96, 48}), "2-D 64x96x48");
  check_matmul_matches_reference(r({7, 5}).mT(), r({7, 3}), "lhs transposed");
  check_matmul_matches_reference(r({5, 7}), r({3, 7}).mT(), "rhs transposed");
  check_matmul_matches_reference(r({5, 12}).narrow(1, 2, 7), r({7, 3}), "lhs a column slice");
  check_matmul_matches_reference(r({5, 7}), r({7, 8}).slice(1, 0, 8, 2), "rhs every other column");
  check_matmul_matches_reference(r({4, 6, 16}), r({16, 8}), "[B, T, C]·[C, N], folded");
  check_matmul_matches_reference(r({2, 3, 6, 8}), r({2, 3, 8, 6}), "batched, attention-like");
  check_matmul_matches_reference(r({2, 3, 6, 8}), r({2, 3, 6, 8}).mT(), "batched, rhs transposed (Q·Kᵀ)");
  check_matmul_matches_reference(r({3, 6, 8}).permute({1, 0, 2}), r({6, 8, 4}), "batch dims permuted");
  check_matmul_matches_reference(r({1, 6, 8}), r({4, 8, 5}), "lhs broadcast along the batch");
  check_matmul_bias_matches_reference(r({6, 16}), r({8, 16}).mT(), r({8}), "Linear: x·Wᵀ + b");
}

BOOST_AUTO_TEST_CASE(gradients_are_bfloat16_products_too) {
  // Backward runs on this thread, so the guard covers the two gradient products as well: had they
  // run in float32, they would differ from the rounding reference by the bf16 amount.
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  Generator gen(4);
  const Product mm = [](const Tensor& x, const Tensor& y) { return matmul(x, y); };
  check_backward_matches_reference({6, 16}, {16, 5}, 16, mm, gen, "2-D");
  check_backward_matches_reference({2, 6, 16}, {16, 5}, 16, mm, gen, "[B, T, C]·[C, N]");
  check_backward_matches_reference({2, 3, 6, 8}, {2, 3, 8, 6}, 8, mm, gen, "batched");
}

BOOST_AUTO_TEST_CASE(empty_products_fall_to_the_reference) {
  MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  check_values(matmul(ones({2, 0}), ones({0, 3})), std::vector<double>(6, 0.0), 0);
  BOOST_TEST(matmul(ones({0, 4}), ones({4, 3})).shape() == Shape({0, 3}));
}

BOOST_AUTO_TEST_CASE(a_small_model_trains_under_the_mode) {
  // The cycle language model of the model tests, from the same seed in both modes: the mode trains it
  // as well as float32 does, on a different path (the losses differ).
  const auto train = [](MatmulPrecision precision) {
    MatmulPrecisionGuard guard(precision);
    Generator gen(9);
    auto lm = make_cycle_model(gen);
    const std::uint64_t before = onednn_products();
    const double loss = train_on_cycle(*lm, 150);
    BOOST_TEST(onednn_products() > before + 150);  // its products ran on oneDNN
    for (const Tensor& p : lm->parameters()) BOOST_TEST((p.dtype() == kFloat32));  // master weights
    return loss;
  };
  const double strict = train(MatmulPrecision::Strict);
  const double bf16 = train(MatmulPrecision::BFloat16);
  BOOST_TEST_MESSAGE(fmt::format("loss after 150 steps: float32 {:.6g}, bf16 {:.6g}", strict, bf16));
  BOOST_TEST(strict < 0.05);
  BOOST_TEST(bf16 < 0.05);
  BOOST_TEST(bf16 != strict);
}

BOOST_AUTO_TEST_SUITE_END()
