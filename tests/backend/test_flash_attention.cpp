// The blocked attention kernels (lib/backend/flash_attention.cpp): the same bits on one thread and
// on two, with the parallel path proven to have run, for the forward (split over batch rows and query
// blocks) and the backward (split over batch rows), float32 and float64, with a causal mask and with
// T not a multiple of the block. Their values against the composite: tests/ops/test_attention_fused.cpp.
#include "support/test.hpp"

#include <atomic>
#include <vector>

#include "backend/flash_attention.hpp"
#include "backend/flash_run.hpp"
#include "backend/threads.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Y, L, dQ, dK, dV of [4, T, 16] inputs (flash_run.hpp).
std::vector<Tensor> run(DType dtype, std::int64_t T, const Tensor& mask, backend::FlashProductF32 product = nullptr) {
  return flash_run(dtype, T, 16, mask, product);
}

// The block product written plainly (terms in the order p = 0, 1, .., each product rounded before it
// is added, as the kernel's own loops do), counting its calls.
std::atomic<int> plain_calls{0};
void plain_product(bool ta, bool accumulate, std::int64_t m, std::int64_t n, std::int64_t kk, const float* a,
                   std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
  ++plain_calls;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      float sum = accumulate ? c[i * ldc + j] : 0.0f;
      for (std::int64_t p = 0; p < kk; ++p) {
        volatile float product = (ta ? a[p * lda + i] : a[i * lda + p]) * b[p * ldb + j];
        sum = sum + product;
      }
      c[i * ldc + j] = sum;
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flash_attention_kernels)

BOOST_AUTO_TEST_CASE(same_bits_on_one_thread_and_on_two) {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Tensor& mask : {Tensor(), causal_mask(150)}) {
      std::vector<Tensor> one, two;
      {
        ThreadCount t(1);
        one = run(dtype, 150, mask);
      }
      {
        ThreadCount t(2);
        const std::uint64_t before = backend::parallel_regions();
        two = run(dtype, 150, mask);
        BOOST_TEST(backend::parallel_regions() >= before + 2);  // forward and backward went parallel
      }
      for (std::size_t i = 0; i < one.size(); ++i) BOOST_TEST((bytes(one[i]) == bytes(two[i])), "output " << i);
    }
  }
}

// bench/flash_block_products passes oneDNN's products through the same hook: a product that computes
// what the kernel's own loops compute, in the same order, gives the same bits, so the hook is handed
// the right operands, layouts and "add into C" for every one of the six products.
BOOST_AUTO_TEST_CASE(a_product_given_to_the_kernel_is_used_for_float32) {
  for (const Tensor& mask : {Tensor(), causal_mask(150)}) {
    const std::vector<Tensor> own = run(kFloat32, 150, mask);
    const int before = plain_calls.load();
    const std::vector<Tensor> plain = run(kFloat32, 150, mask, plain_product);
    BOOST_TEST(plain_calls.load() > before);
    for (std::size_t i = 0; i < own.size(); ++i) BOOST_TEST((bytes(own[i]) == bytes(plain[i])), "output " << i);
  }
}

BOOST_AUTO_TEST_CASE(empty_sequences_give_empty_or_zero_outputs) {
  // No keys: every row is "fully masked", so Y = 0 and L = -inf, as the composite's empty softmax gives.
  const Tensor q = ones({2, 3, 4}), k = ones({2, 0, 4}), v = ones({2, 0, 5});
  Tensor y = empty({2, 3, 5}), l = empty({2, 3});
  backend::flash_attention_forward(q, k, v, Tensor(), 1.0, y, l);
  for (float x : y.to_vector<float>()) BOOST_TEST(x == 0.0f);
  for (float x : l.to_vector<float>()) BOOST_TEST(std::isinf(x));
}

BOOST_AUTO_TEST_SUITE_END()
