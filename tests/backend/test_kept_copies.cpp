// The bf16 mode's kept copies (backend/kept_copies.hpp): a parameter's converted operand is used again
// while its storage's version holds, and never once the parameter has changed, been freed, or is
// viewed elsewhere. The oracle is the same product of a plain copy of the parameter, which is never
// kept: the same primitive on the same values gives the same bits.
#include "support/test.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "backend/kept_copies.hpp"
#include "backend/matmul.hpp"
#include "backend/onednn.hpp"

using namespace attograd;
using namespace attograd::testing;
namespace onednn = attograd::backend::onednn;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor x = a.contiguous(), y = b.contiguous();
  return x.shape() == y.shape() && std::memcmp(x.data<float>(), y.data<float>(), x.nbytes()) == 0;
}

// The conversions the bf16 mode has run so far, on whichever path this CPU takes.
std::uint64_t conversions() {
  return onednn::native_bf16() ? onednn::cache_stats().executions - onednn::cache_stats().products
                               : backend::bf16_roundings().operands;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kept_copies)

BOOST_AUTO_TEST_CASE(a_block_is_any_order_of_dense_elements) {
  using backend::covers_a_block;
  const Tensor w = zeros({4, 6, 5});
  BOOST_TEST(covers_a_block(w));
  BOOST_TEST(covers_a_block(w.mT()));
  BOOST_TEST(covers_a_block(w.permute({2, 0, 1})));
  BOOST_TEST(covers_a_block(w.narrow(0, 1, 2)));   // whole rows of the outermost dim: a block further on
  BOOST_TEST(!covers_a_block(w.narrow(2, 0, 3)));   // part of every row: gaps
  BOOST_TEST(!covers_a_block(w.narrow(1, 0, 3)));
  BOOST_TEST(!covers_a_block(zeros({5}).expand({3, 5})));  // the same elements three times
  BOOST_TEST(covers_a_block(zeros({1, 5}).expand({1, 5})));
}

BOOST_AUTO_TEST_CASE(a_parameter_is_converted_once_per_version) {
  Generator gen(3);
  Tensor w = randn({48, 32}, gen).requires_grad_();
  const Tensor x = randn({16, 48}, gen);
  const NoGradGuard no_grad;
  const MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  for (int version = 0; version < 3; ++version) {
    const Tensor plain = w.detach().clone();  // the same values, in a storage no leaf requires grad of
    const Tensor expected = matmul(x, plain);
    const Tensor first = matmul(x, w);
    const std::uint64_t before = conversions();
    const Tensor again = matmul(x, w);
    BOOST_TEST(same_bits(first, expected));
    BOOST_TEST(same_bits(again, expected));
    BOOST_TEST(conversions() - before == 1);  // x only: w's copy is kept
    const Tensor dy = randn({16, 32}, gen);
    const std::uint64_t backward = conversions();
    BOOST_TEST(same_bits(matmul(dy, w.mT()), matmul(dy, plain.mT())));  // dX = dY·Wᵀ, as in backward
    BOOST_TEST(conversions() - backward == 3);  // dy twice, the plain copy once: w's copy serves Wᵀ too
    w.mul_(-1.5);                              // an in-place write: the next round must see it
  }
}

BOOST_AUTO_TEST_CASE(an_activation_is_converted_every_time) {
  Generator gen(4);
  const Tensor w = randn({48, 32}, gen);
  const Tensor x = randn({16, 48}, gen);
  const NoGradGuard no_grad;
  const MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  (void)matmul(x, w);
  const std::uint64_t before = conversions();
  (void)matmul(x, w);
  BOOST_TEST(conversions() - before == 2);
}

BOOST_AUTO_TEST_CASE(views_of_one_parameter_are_kept_apart) {
  Generator gen(5);
  Tensor w = randn({48, 32}, gen).requires_grad_();
  const Tensor x = randn({16, 24}, gen);
  const NoGradGuard no_grad;
  const MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  const Tensor plain = w.detach().clone();
  for (int round = 0; round < 2; ++round) {
    BOOST_TEST(same_bits(matmul(x, w.narrow(0, 0, 24)), matmul(x, plain.narrow(0, 0, 24))));
    BOOST_TEST(same_bits(matmul(x, w.narrow(0, 24, 24)), matmul(x, plain.narrow(0, 24, 24))));
    BOOST_TEST(same_bits(matmul(w.narrow(0, 0, 24).mT(), w.narrow(0, 24, 24)),  // both operands of one
                         matmul(plain.narrow(0, 0, 24).mT(), plain.narrow(0, 24, 24))));
  }
}

BOOST_AUTO_TEST_CASE(a_freed_parameter_leaves_nothing_to_reuse) {
  // Each parameter dies at the end of its round. Its kept copy's weak pointer keeps the Storage's
  // block (made by make_shared) allocated, so the next parameter cannot get that address; were it to,
  // the weak pointer would tell. Either way each new parameter's product must read its own values.
  const Tensor x = ones({8, 40});
  const NoGradGuard no_grad;
  const MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
  std::array<const Storage*, 6> seen{};  // no allocation in the loop but the tensors'
  int reused = 0;
  for (int round = 0; round < 6; ++round) {
    Generator gen(static_cast<std::uint64_t>(100 + round));
    const Tensor w = randn({40, 24}, gen).requires_grad_();
    seen[static_cast<std::size_t>(round)] = w.impl()->storage.get();
    reused += std::count(seen.begin(), seen.begin() + round, seen[static_cast<std::size_t>(round)]) > 0 ? 1 : 0;
    const Tensor y = matmul(x, w);
    const Tensor expected = matmul(x, w.detach().clone());
    BOOST_TEST(same_bits(y, expected), "round " << round);
  }
  BOOST_TEST_MESSAGE("storage addresses used again: " << reused << " of 5");  // 0 here, as above
}

BOOST_AUTO_TEST_CASE(training_in_the_mode_matches_fresh_conversions) {
  // Each update bumps the weight's version, so each step must read the new weight: the oracle is the
  // reference kernel, which rounds afresh in every product (sums in another order: float32 tolerance).
  Generator gen(6);
  Tensor w = (randn({8, 16}, gen) * 0.3).detach().requires_grad_();
  const Tensor x = randn({32, 16}, gen);
  const Tensor target = randn({32, 8}, gen);
  auto train = [&](MatmulBackend backend) {
    Tensor v = w.detach().clone().requires_grad_();
    const MatmulBackendGuard use(backend);
    const MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
    for (int step = 0; step < 5; ++step) {
      Tensor loss = mean((matmul(x, v.mT()) - target) * (matmul(x, v.mT()) - target));
      loss.backward();
      const NoGradGuard no_grad;
      v.add_(v.grad(), -0.1);
      v.grad().zero_();
    }
    return v.detach();
  };
  check_close(train(MatmulBackend::Auto), train(MatmulBackend::Reference), 1e-5);
}

BOOST_AUTO_TEST_SUITE_END()
