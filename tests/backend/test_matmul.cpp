// backend::matmul's dispatch (lib/backend/matmul.cpp): float32 on oneDNN, float64 and the forced
// reference path on attograd's loops; oneDNN's results and gradients against the reference kernel's
// (tolerance: tests/backend/differential.hpp).
#include "support/test.hpp"

#include <thread>

#include "backend/differential.hpp"
#include "backend/matmul.hpp"

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(backend_matmul)

BOOST_AUTO_TEST_CASE(hand_computed_products_on_both_paths) {
  // [[1, 2, 3], [4, 5, 6]]·[[1, 0], [0, 1], [2, -1]] = [[7, -1], [16, -1]]
  for (DType dtype : {kFloat32, kFloat64}) {
    for (MatmulBackend choice : {MatmulBackend::Auto, MatmulBackend::Reference}) {
      MatmulBackendGuard guard(choice);
      const Tensor a = tensor({{1, 2, 3}, {4, 5, 6}}).to(dtype);
      const Tensor b = tensor({{1, 0}, {0, 1}, {2, -1}}).to(dtype);
      const Tensor c = matmul(a, b);
      BOOST_TEST((c.dtype() == dtype));
      check_values(c, {7, -1, 16, -1}, 0.0);
      // The same through views: aᵀ stored transposed, b's columns swapped by a transpose of a transpose.
      check_values(matmul(tensor({{1, 4}, {2, 5}, {3, 6}}).to(dtype).mT(), b.mT().contiguous().mT()), {7, -1, 16, -1},
                   0.0);
      // Batched, with the rhs broadcast: batch 1 is 2·a.
      const Tensor batch = tensor({1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12}, {2, 2, 3}).to(dtype);
      check_values(matmul(batch, b), {7, -1, 16, -1, 14, -2, 32, -2}, 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(float32_runs_on_onednn_unless_the_reference_is_forced) {
  Generator gen(1);
  const Tensor a = randn({4, 6}, gen);
  const Tensor b = randn({6, 5}, gen);
  Tensor c = empty({4, 5});
  std::uint64_t before = onednn_products();
  backend::matmul(a, b, c);
  BOOST_TEST(onednn_products() == before + 1);
  {
    MatmulBackendGuard reference(MatmulBackend::Reference);
    before = onednn_products();
    Tensor r = empty({4, 5});
    backend::matmul(a, b, r);
    BOOST_TEST(onednn_products() == before);
    // Forced, backend::matmul is exactly the reference kernel.
    Tensor direct = empty({4, 5});
    backend::matmul_reference(a, b, direct);
    BOOST_TEST(r.to_vector<float>() == direct.to_vector<float>(), boost::test_tools::per_element());
  }
  BOOST_TEST((matmul_backend() == MatmulBackend::Auto));
}

BOOST_AUTO_TEST_CASE(float64_always_runs_on_the_reference_kernel) {
  Generator gen(2);
  const Tensor a = randn({3, 4, 6}, gen, {.dtype = kFloat64});
  const Tensor b = randn({6, 5}, gen, {.dtype = kFloat64}).mT().contiguous().mT();
  const std::uint64_t before = onednn_products();
  Tensor c = empty({3, 4, 5}, kFloat64);
  backend::matmul(a, b, c);
  BOOST_TEST(onednn_products() == before);
  Tensor direct = empty({3, 4, 5}, kFloat64);
  backend::matmul_reference(a, b, direct);
  BOOST_TEST(c.to_vector<double>() == direct.to_vector<double>(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(forward_matches_the_reference_kernel) {
  Generator gen(3);
  auto r = [&](const Shape& s) { return randn(s, gen); };
  check_matmul_matches_reference(r({1, 1}), r({1, 1}), "1x1");
  check_matmul_matches_reference(r({17, 33}), r({33, 9}), "odd sizes");
  check_matmul_matches_reference(r({128, 256}), r({256, 64}), "K = 256");
  check_matmul_matches_reference(r({64, 1000}), r({1000, 3}), "K = 1000");
  check_matmul_matches_reference(r({33}), r({33, 9}), "vector·matrix");
  check_matmul_matches_reference(r({17, 33}), r({33}), "matrix·vector");
  check_matmul_matches_reference(r({33}), r({33}), "dot");
  check_matmul_matches_reference(r({40, 17}).mT(), r({9, 40}).mT(), "both transposed");
  check_matmul_matches_reference(r({2, 3, 16, 8}), r({2, 3, 16, 8}).mT(), "attention scores");
  check_matmul_matches_reference(r({2, 16, 3, 8}).transpose(1, 2), r({2, 3, 8, 5}), "heads from [B, T, H, D]");
  check_matmul_matches_reference(r({4, 10, 24}), r({24, 12}), "linear on a sequence (folded)");
  check_matmul_matches_reference(r({5, 1, 6, 7}), r({3, 7, 2}), "broadcast [5, 1] with [3]");
  check_matmul_matches_reference(r({6, 7}), r({2, 3, 7, 2}), "2-D lhs broadcast to [2, 3]");
  check_matmul_matches_reference(r({4, 10, 48}).slice(2, 0, 48, 2), r({24, 12}), "lhs copied first");
}

BOOST_AUTO_TEST_CASE(gradients_match_the_reference_kernel) {
  // The backward computes dC·Bᵀ and Aᵀ·dC through transposed views, summed over broadcast batch dims:
  // the layouts oneDNN must read as strides.
  Generator gen(4);
  const Product mm = [](const Tensor& x, const Tensor& y) { return matmul(x, y); };
  check_backward_matches_reference({7, 9}, {9, 5}, 9, mm, gen, "2-D");
  check_backward_matches_reference({64, 128}, {128, 32}, 128, mm, gen, "2-D, K = 128");
  check_backward_matches_reference({4, 7, 9}, {4, 9, 5}, 9, mm, gen, "3-D");
  check_backward_matches_reference({2, 3, 7, 9}, {2, 3, 9, 5}, 9, mm, gen, "4-D");
  check_backward_matches_reference({4, 7, 9}, {9, 5}, 9, mm, gen, "rhs broadcast over the batch");
  check_backward_matches_reference({7, 9}, {4, 9, 5}, 9, mm, gen, "lhs broadcast over the batch");
  check_backward_matches_reference({2, 1, 7, 9}, {3, 9, 5}, 9, mm, gen, "batch [2, 1] with [3]");
  check_backward_matches_reference(
      {9, 7}, {5, 9}, 9, [](const Tensor& x, const Tensor& y) { return matmul(x.mT(), y.mT()); }, gen,
      "transposed operands");
  check_backward_matches_reference(
      {2, 6, 3, 4}, {2, 6, 3, 4}, 4,
      [](const Tensor& q, const Tensor& k) { return matmul(q.transpose(1, 2), k.transpose(1, 2).mT()); }, gen,
      "attention scores from [B, T, H, D]");
}

BOOST_AUTO_TEST_CASE(matmul_bias_adds_the_bias_to_every_row) {
  // [[1, 2, 3], [4, 5, 6]]·[[1, 0], [0, 1], [2, -1]] + [10, 20] = [[17, 19], [26, 19]]
  for (DType dtype : {kFloat32, kFloat64}) {
    for (MatmulBackend choice : {MatmulBackend::Auto, MatmulBackend::Reference}) {
      MatmulBackendGuard guard(choice);
      const Tensor a = tensor({{1, 2, 3}, {4, 5, 6}}).to(dtype);
      const Tensor b = tensor({{1, 0}, {0, 1}, {2, -1}}).to(dtype);
      Tensor c = empty({2, 2}, dtype);
      backend::matmul_bias(a, b, tensor({10, 20}).to(dtype), c);
      check_values(c, {17, 19, 26, 19}, 0.0);
      // K = 0: the product is zero, the bias remains.
      Tensor e = empty({2, 2}, dtype);
      backend::matmul_bias(ones({2, 0}, {.dtype = dtype}), ones({0, 2}, {.dtype = dtype}), tensor({10, 20}).to(dtype),
                           e);
      check_values(e, {10, 20, 10, 20}, 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(matmul_bias_matches_the_reference_kernel) {
  // A Linear layer stores its weight [out, in]: y = x·Wᵀ + b, a transposed rhs.
  Generator gen(5);
  auto r = [&](const Shape& s) { return randn(s, gen); };
  check_matmul_bias_matches_reference(r({6, 9}), r({9, 5}), r({5}), "2-D");
  check_matmul_bias_matches_reference(r({6, 9}), r({5, 9}).mT(), r({5}), "x·Wᵀ");
  check_matmul_bias_matches_reference(r({4, 6, 9}), r({5, 9}).mT(), r({5}), "x·Wᵀ on a sequence (folded)");
  check_matmul_bias_matches_reference(r({2, 3, 6, 9}), r({2, 3, 9, 5}), r({5}), "4-D batched");
  check_matmul_bias_matches_reference(r({64, 256}), r({128, 256}).mT(), r({128}), "K = 256");
  check_matmul_bias_matches_reference(r({6, 9}), r({9, 5}), r({10}).slice(0, 0, 10, 2), "strided bias (copied)");
  check_matmul_bias_matches_reference(r({9}).unsqueeze(0), r({9, 1}), r({1}), "one output");
}

BOOST_AUTO_TEST_CASE(the_backend_choice_is_per_thread_and_guards_nest) {
  BOOST_TEST((matmul_backend() == MatmulBackend::Auto));
  {
    MatmulBackendGuard outer(MatmulBackend::Reference);
    BOOST_TEST((matmul_backend() == MatmulBackend::Reference));
    {
      MatmulBackendGuard inner(MatmulBackend::Auto);
      BOOST_TEST((matmul_backend() == MatmulBackend::Auto));
    }
    BOOST_TEST((matmul_backend() == MatmulBackend::Reference));
    MatmulBackend seen_by_another_thread = MatmulBackend::Reference;
    std::thread([&] { seen_by_another_thread = matmul_backend(); }).join();
    BOOST_TEST((seen_by_another_thread == MatmulBackend::Auto));
  }
  BOOST_TEST((matmul_backend() == MatmulBackend::Auto));
  set_matmul_backend(MatmulBackend::Reference);
  BOOST_TEST((matmul_backend() == MatmulBackend::Reference));
  set_matmul_backend(MatmulBackend::Auto);
}

BOOST_AUTO_TEST_SUITE_END()
