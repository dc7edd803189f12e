// The oneDNN backend (lib/backend/onednn.cpp): every layout attograd's ops produce gets a fast oneDNN
// implementation (never oneDNN's reference one, hundreds of times slower) and the reference kernel's
// values; folding, the documented copies, the primitive cache, threads, and what it leaves to the
// reference kernel.
#include "support/test.hpp"

#include <cstring>
#include <fstream>
#include <thread>

#include <omp.h>

#include "backend/differential.hpp"

using namespace attograd;
using namespace attograd::testing;
namespace onednn = attograd::backend::onednn;

namespace {

Shape product_shape(const Tensor& a, const Tensor& b) {
  Shape shape = broadcast_shapes("test", Shape(a.shape().span().first(a.dim() - 2)),
                                 Shape(b.shape().span().first(b.dim() - 2)));
  shape.push_back(a.size(-2));
  shape.push_back(b.size(-1));
  return shape;
}

onednn::MatmulPlan plan_for(const Tensor& a, const Tensor& b) {
  return onednn::plan(a, b, empty(product_shape(a, b), a.dtype()));
}

struct Layout {
  std::string name;
  Tensor a, b;  // as attograd::matmul hands them to the backend (rank >= 2)
  int rank;     // of the product oneDNN computes, after dropping size-1 and folding batch dims
  bool copies_lhs = false;
  bool copies_rhs = false;
};

void check_layout(const Layout& l) {
  const onednn::MatmulPlan p = plan_for(l.a, l.b);
  BOOST_TEST_MESSAGE(fmt::format("{}: {}, rank {}, M {}", l.name, p.implementation, p.rank, p.rows));
  BOOST_TEST_CONTEXT(l.name) {
    BOOST_TEST_REQUIRE(p.on_onednn);
    BOOST_TEST(p.implementation.find("ref") == std::string::npos, fmt::format("oneDNN chose {}", p.implementation));
    BOOST_TEST(p.strict_math);
    BOOST_TEST(p.rank == l.rank);
    BOOST_TEST(p.copies_lhs == l.copies_lhs);
    BOOST_TEST(p.copies_rhs == l.copies_rhs);
    check_matmul_matches_reference(l.a, l.b, l.name);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(onednn_backend)

BOOST_AUTO_TEST_CASE(matrices_and_their_views_get_a_fast_implementation) {
  Generator gen(1);
  auto r = [&](const Shape& s) { return randn(s, gen); };
  const std::vector<Layout> layouts{
      {"2-D", r({5, 7}), r({7, 3}), 2},
      {"2-D 64x64", r({64, 64}), r({64, 64}), 2},
      {"lhs transposed (the backward's Aᵀ)", r({7, 5}).mT(), r({7, 3}), 2},
      {"rhs transposed (the backward's Bᵀ)", r({5, 7}), r({3, 7}).mT(), 2},
      {"both transposed", r({7, 5}).mT(), r({3, 7}).mT(), 2},
      {"lhs a column slice (row stride > K)", r({5, 12}).narrow(1, 2, 7), r({7, 3}), 2},
      {"rhs a transposed row slice", r({5, 7}), r({9, 7}).narrow(0, 1, 3).mT(), 2},
      {"row vector lhs (vector·matrix)", r({7}).unsqueeze(0), r({7, 3}), 2},
      {"column vector rhs (matrix·vector)", r({5, 7}), r({7}).unsqueeze(1), 2},
      {"dot product", r({7}).unsqueeze(0), r({7}).unsqueeze(1), 2},
      {"outer product (K = 1)", r({5, 1}), r({1, 3}), 2},
      {"rhs one column of a matrix", r({5, 7}), r({7, 4}).narrow(1, 2, 1), 2},
      {"lhs one row of a transpose", r({7, 4}).mT().narrow(0, 1, 1), r({7, 3}), 2},
      // Size-1 dims whose stride oneDNN would refuse as it stands (stride 0, or no unit stride left):
      // their stride means nothing and is replaced, no copy needed.
      {"row vector lhs made by expand (stride 0)", r({7}).expand({1, 7}), r({7, 3}), 2},
      {"rhs one column taken with a step", r({5, 7}), r({7, 8}).slice(1, 2, 3, 4), 2},
      {"rhs one row of every third column (K = 1)", r({5, 1}), r({4, 9}).slice(1, 0, 9, 3).narrow(0, 2, 1), 2},
  };
  for (const Layout& l : layouts) check_layout(l);
}

BOOST_AUTO_TEST_CASE(batched_products_get_a_fast_implementation) {
  Generator gen(2);
  auto r = [&](const Shape& s) { return randn(s, gen); };
  const std::vector<Layout> layouts{
      {"3-D", r({4, 5, 7}), r({4, 7, 3}), 3},
      {"3-D lhs transposed per batch", r({4, 7, 5}).mT(), r({4, 7, 3}), 3},
      {"3-D rhs transposed per batch", r({4, 5, 7}), r({4, 3, 7}).mT(), 3},
      {"2-D lhs, 3-D rhs (lhs broadcast)", r({5, 7}), r({4, 7, 3}), 3},
      {"3-D lhs with permuted batch dim, 2-D rhs", r({5, 4, 7}).transpose(0, 1), r({7, 3}), 3},
      {"lhs expanded (stride 0 batch)", r({5, 7}).expand({4, 5, 7}), r({4, 7, 3}), 3},
      {"4-D q·kᵀ", r({2, 3, 6, 4}), r({2, 3, 6, 4}).mT(), 4},
      {"4-D weights·v", r({2, 3, 6, 6}), r({2, 3, 6, 4}), 4},
      {"4-D heads split from [B, T, H, D]", r({2, 6, 3, 4}).transpose(1, 2), r({2, 6, 3, 4}).transpose(1, 2).mT(), 4},
      {"4-D with 3-D rhs broadcast", r({2, 3, 5, 7}), r({3, 7, 3}), 4},
      {"4-D [2, 1] with [1, 3] batch", r({2, 1, 5, 7}), r({1, 3, 7, 3}), 4},
      {"backward dA = dC·Bᵀ, batched", r({4, 5, 3}), r({4, 7, 3}).mT(), 3},
      {"backward dB = Aᵀ·dC, batched", r({4, 5, 7}).mT(), r({4, 5, 3}), 3},
      {"backward dB = Aᵀ·dC, 4-D", r({2, 4, 5, 7}).mT(), r({2, 4, 5, 3}), 4},
      {"5-D", r({2, 2, 2, 5, 7}), r({2, 2, 2, 7, 3}), 5},
      {"8-D, attograd's largest rank", r({2, 2, 2, 2, 2, 2, 3, 4}), r({2, 2, 2, 2, 2, 2, 4, 3}), 8},
      {"8-D with size-1 batch dims (dropped)", r({2, 1, 2, 1, 2, 2, 3, 4}), r({1, 2, 2, 1, 2, 2, 4, 3}), 7},
  };
  for (const Layout& l : layouts) check_layout(l);
}

BOOST_AUTO_TEST_CASE(batch_dims_the_rhs_broadcasts_along_fold_into_rows) {
  Generator gen(3);
  // A linear layer on a sequence: [B, T, C]·[C, N] is one [B·T, C]·[C, N] product.
  const std::vector<Layout> folded{
      {"[4, 5, 7]·[7, 3]", randn({4, 5, 7}, gen), randn({7, 3}, gen), 2},
      {"[4, 5, 7]·[1, 7, 3]", randn({4, 5, 7}, gen), randn({1, 7, 3}, gen), 2},
      {"[4, 5, 7]·[7, 3] expanded", randn({4, 5, 7}, gen), randn({7, 3}, gen).expand({4, 7, 3}), 2},
      {"[2, 3, 5, 7]·[7, 3]", randn({2, 3, 5, 7}, gen), randn({7, 3}, gen), 2},
      {"one row per batch [4, 1, 7]·[7, 3]", randn({4, 1, 7}, gen), randn({7, 3}, gen), 2},
      // Only the inner batch dim folds: the rhs is batched along the outer one.
      {"[2, 3, 5, 7]·[2, 1, 7, 3]", randn({2, 3, 5, 7}, gen), randn({2, 1, 7, 3}, gen), 3},
      // Rows of consecutive batches are not evenly spaced: no folding.
      {"[4, 5 of 6, 7]·[7, 3]", randn({4, 6, 7}, gen).narrow(1, 0, 5), randn({7, 3}, gen), 3},
  };
  for (const Layout& l : folded) check_layout(l);
  BOOST_TEST(plan_for(folded[0].a, folded[0].b).rows == 20);
  BOOST_TEST(plan_for(folded[3].a, folded[3].b).rows == 30);
  BOOST_TEST(plan_for(folded[4].a, folded[4].b).rows == 4);
  BOOST_TEST(plan_for(folded[5].a, folded[5].b).rows == 15);
  BOOST_TEST(plan_for(folded[6].a, folded[6].b).rows == 5);
}

BOOST_AUTO_TEST_CASE(a_matrix_without_a_unit_stride_is_copied_first) {
  // Every other column: neither matrix dim has stride 1, which oneDNN would run on its reference
  // implementation. The operand is copied to a contiguous tensor instead; the other one is not.
  Generator gen(4);
  check_layout({"lhs every other column", randn({5, 14}, gen).slice(1, 0, 14, 2), randn({7, 3}, gen), 2, true, false});
  check_layout({"rhs every other row and column", randn({5, 7}, gen), randn({14, 6}, gen).slice(0, 0, 14, 2).slice(1, 0, 6, 2),
                2, false, true});
  check_layout({"batched lhs every other column", randn({3, 5, 14}, gen).slice(2, 0, 14, 2), randn({3, 7, 3}, gen), 3,
                true, false});
}

BOOST_AUTO_TEST_CASE(a_fused_bias_keeps_a_fast_implementation) {
  // Linear layers: x·Wᵀ + b, on matrices, on sequences (folded), batched; a primitive of its own.
  Generator gen(9);
  const Tensor w = randn({5, 9}, gen);
  const Tensor bias = randn({5}, gen);
  const std::vector<Layout> layouts{
      {"x·Wᵀ + b", randn({6, 9}, gen), w.mT(), 2},
      {"x·Wᵀ + b on a sequence", randn({4, 6, 9}, gen), w.mT(), 2},
      {"4-D + b", randn({2, 3, 6, 9}, gen), randn({2, 3, 9, 5}, gen), 4},
  };
  for (const Layout& l : layouts) {
    const onednn::MatmulPlan p = onednn::plan(l.a, l.b, empty(product_shape(l.a, l.b)), bias);
    BOOST_TEST_MESSAGE(fmt::format("{}: {}, rank {}", l.name, p.implementation, p.rank));
    BOOST_TEST_CONTEXT(l.name) {
      BOOST_TEST_REQUIRE(p.on_onednn);
      BOOST_TEST(p.implementation.find("ref") == std::string::npos, fmt::format("oneDNN chose {}", p.implementation));
      BOOST_TEST(p.rank == l.rank);
      BOOST_TEST(p.strict_math);
    }
    check_matmul_bias_matches_reference(l.a, l.b, bias, l.name);
  }
  // With and without a bias are two primitives.
  const std::uint64_t misses = onednn::cache_stats().misses;
  const Tensor x = randn({7, 9}, gen);
  onednn::plan(x, w.mT(), empty({7, 5}), bias);
  onednn::plan(x, w.mT(), empty({7, 5}));
  BOOST_TEST(onednn::cache_stats().misses == misses + 2);
}

BOOST_AUTO_TEST_CASE(float64_and_empty_products_are_left_to_the_reference_kernel) {
  Generator gen(5);
  BOOST_TEST(!plan_for(randn({5, 7}, gen, {.dtype = kFloat64}), randn({7, 3}, gen, {.dtype = kFloat64})).on_onednn);
  BOOST_TEST(!plan_for(randn({0, 7}, gen), randn({7, 3}, gen)).on_onednn);
  BOOST_TEST(!plan_for(randn({5, 7}, gen), randn({7, 0}, gen)).on_onednn);
  BOOST_TEST(!plan_for(randn({5, 0}, gen), randn({0, 3}, gen)).on_onednn);
  BOOST_TEST(!plan_for(randn({0, 5, 7}, gen), randn({7, 3}, gen)).on_onednn);

  const std::uint64_t before = onednn_products();
  // K = 0: a sum of no terms, zeros. M = 0: nothing.
  check_values(matmul(ones({2, 0}), ones({0, 3})), {0, 0, 0, 0, 0, 0});
  BOOST_TEST(matmul(ones({0, 4}), ones({4, 3})).shape() == (Shape{0, 3}));
  BOOST_TEST(matmul(ones({2, 0, 4}), ones({4, 3})).shape() == (Shape{2, 0, 3}));
  BOOST_TEST(onednn_products() == before);
}

BOOST_AUTO_TEST_CASE(a_primitive_is_built_once_per_layout) {
  Generator gen(6);
  const Tensor a = randn({6, 11}, gen);
  const Tensor b = randn({11, 13}, gen);
  const Tensor bt = randn({13, 11}, gen).mT();  // same shape as b, other strides
  const onednn::CacheStats s0 = onednn::cache_stats();
  check_matmul_matches_reference(a, b, "first call");
  const onednn::CacheStats s1 = onednn::cache_stats();
  BOOST_TEST(s1.misses == s0.misses + 1);
  BOOST_TEST(s1.entries == s0.entries + 1);
  for (int i = 0; i < 3; ++i) check_matmul_matches_reference(a, b, "repeated call");
  const onednn::CacheStats s2 = onednn::cache_stats();
  BOOST_TEST(s2.misses == s1.misses);
  BOOST_TEST(s2.hits == s1.hits + 3);
  BOOST_TEST(s2.products == s1.products + 3);
  // Other data of the same layout reuses the primitive (its memory objects now point elsewhere).
  check_matmul_matches_reference(randn({6, 11}, gen), randn({11, 13}, gen), "new data, same layout");
  BOOST_TEST(onednn::cache_stats().misses == s2.misses);
  check_matmul_matches_reference(a, bt, "same shapes, transposed rhs");
  BOOST_TEST(onednn::cache_stats().misses == s2.misses + 1);

  onednn::clear_cache();
  BOOST_TEST(onednn::cache_stats().entries == 0u);
  check_matmul_matches_reference(a, b, "after clear_cache");
  BOOST_TEST(onednn::cache_stats().entries == 1u);
}

bool cpu_has_avx512_bf16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string word; cpuinfo >> word;) {
    if (word == "avx512_bf16") return true;
  }
  return false;
}

// The values of a float32 tensor as raw bits.
std::vector<std::uint32_t> bits(const Tensor& t) {
  const Tensor c = t.contiguous();
  std::vector<std::uint32_t> out(static_cast<std::size_t>(c.numel()));
  std::memcpy(out.data(), c.data<float>(), out.size() * sizeof(float));
  return out;
}

BOOST_AUTO_TEST_CASE(a_product_gives_the_same_bits_at_any_thread_count) {
  // oneDNN's own threading cut [16, 4096]·[4096, 16]-like products along K at two threads and moved
  // 147 of 256 elements; attograd cuts a product by its shapes only, so every count gives the same bits.
  struct Case {
    Shape a, b;
    bool transpose_b;
  };
  const std::vector<Case> cases{{{2048, 128}, {128, 512}, false}, {{64, 65536}, {65536, 64}, false},
                                {{16, 8192}, {8192, 2000}, true}, {{128, 64, 32}, {128, 32, 64}, false},
                                {{8, 16, 64, 32}, {8, 16, 32, 64}, true}, {{1000, 300}, {300, 1000}, true},
                                {{3, 700, 129}, {129, 77}, false}};
  Generator gen(11);
  int cut = 0;  // products cut into pieces (the others run whole on one thread: the same bits trivially)
  for (const Case& k : cases) {
    const Tensor a = randn(k.a, gen);
    Shape stored = k.b;  // b [.., K, N], stored as [.., N, K] when transposed
    if (k.transpose_b) std::swap(stored.data()[stored.rank() - 1], stored.data()[stored.rank() - 2]);
    const Tensor b = k.transpose_b ? randn(stored, gen).transpose(-1, -2) : randn(stored, gen);
    const Tensor bias = randn({b.shape()[-1]}, gen);
    for (const MatmulPrecision precision : {MatmulPrecision::Strict, MatmulPrecision::BFloat16}) {
      MatmulPrecisionGuard mode(precision);
      std::vector<std::uint32_t> one, one_biased;
      for (int threads : {1, 2, 4}) {
        ThreadCount guard(threads);
        // bf16 products run on oneDNN where it has a kernel for this CPU (always with avx512_bf16), else
        // on the reference kernel: the same bits at any thread count either way.
        const onednn::MatmulPlan p = plan_for(a, b);
        const bool on_onednn = p.on_onednn;
        if (precision == MatmulPrecision::Strict || cpu_has_avx512_bf16()) {
          BOOST_TEST_REQUIRE(on_onednn, a.shape() << "·" << b.shape() << " " << p.implementation);
        }
        if (on_onednn) BOOST_TEST(p.threads == std::min(threads, p.pieces));
        const std::vector<std::uint32_t> got = bits(matmul(a, b));
        // linear: the product with its bias fused in (a weight is one matrix)
        const std::vector<std::uint32_t> got_biased =
            b.dim() == 2 ? bits(linear(a, b.transpose(-1, -2), bias)) : std::vector<std::uint32_t>{};
        if (threads == 1) {
          if (on_onednn && precision == MatmulPrecision::Strict && p.pieces > 1) ++cut;
          one = got;
          one_biased = got_biased;
          continue;
        }
        BOOST_TEST((got == one), a.shape() << "·" << b.shape() << " at " << threads << " threads, bf16 "
                                           << (precision == MatmulPrecision::BFloat16));
        BOOST_TEST((got_biased == one_biased), "linear, " << threads << " threads");
      }
    }
    ThreadCount two(2);
    check_matmul_matches_reference(a, b, "cut into pieces");
  }
  BOOST_TEST(cut >= 4);
}

BOOST_AUTO_TEST_CASE(a_cut_product_runs_its_pieces_in_parallel) {
  Generator gen(12);
  const Tensor a = randn({512, 512}, gen), b = randn({512, 512}, gen);
  ThreadCount two(2);
  BOOST_TEST(plan_for(a, b).threads == 2);
  const std::uint64_t before = backend::parallel_regions();
  check_matmul_matches_reference(a, b, "2 threads");
  BOOST_TEST(backend::parallel_regions() > before);
  set_num_threads(1);
  const std::uint64_t misses = onednn::cache_stats().misses;
  BOOST_TEST(plan_for(a, b).threads == 1);
  BOOST_TEST(onednn::cache_stats().misses == misses);  // one cached entry serves every thread count
}

BOOST_AUTO_TEST_CASE(a_small_product_runs_on_one_thread_whatever_the_setting) {
  // [64, 64]·[64, 64] takes microseconds: on two threads it ran 8 times slower (docs/performance.md).
  Generator gen(8);
  ThreadCount two(2);
  const onednn::MatmulPlan small = plan_for(randn({64, 64}, gen), randn({64, 64}, gen));
  BOOST_TEST(small.pieces == 1);
  BOOST_TEST(small.threads == 1);
}

BOOST_AUTO_TEST_CASE(a_cut_product_below_the_thread_size_runs_its_pieces_on_the_calling_thread) {
  // [256, 256]·[256, 128] is 16.8 MFLOP: cut (the cut fixes the bits) but not worth a second thread.
  Generator gen(10);
  const Tensor a = randn({256, 256}, gen), b = randn({256, 128}, gen);
  static_assert(2 * 256 * 256 * 128 >= backend::kMatmulGrainFlops && 2 * 256 * 256 * 128 < backend::kMatmulThreadFlops);
  ThreadCount two(2);
  const onednn::MatmulPlan p = plan_for(a, b);
  BOOST_TEST(p.pieces >= 2);
  BOOST_TEST(p.threads == 1);
  const std::uint64_t before = backend::parallel_regions();
  check_matmul_matches_reference(a, b, "pieces on one thread");
  BOOST_TEST(backend::parallel_regions() == before);
}

BOOST_AUTO_TEST_CASE(a_product_leaves_the_callers_openmp_setting_as_it_was) {
  // oneDNN reads OpenMP's team size; the product sets it for its own call only, so a program's own
  // OpenMP loops keep theirs.
  Generator gen(9);
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  ThreadCount one(1);
  (void)matmul(randn({300, 300}, gen), randn({300, 300}, gen));
  BOOST_TEST(omp_get_max_threads() == 3);
  omp_set_num_threads(before);
}

BOOST_AUTO_TEST_CASE(threads_may_multiply_concurrently) {
  // Several threads share the cache and its memory objects: each product must still see its own data.
  // Boost.Test assertions are not thread-safe, so workers only compute; the checks run afterwards.
  Generator gen(8);
  constexpr int kThreads = 4, kRounds = 25;
  std::vector<Tensor> as, bs, expected;
  for (int t = 0; t < kThreads; ++t) {
    as.push_back(randn({3 + t % 2, 8}, gen));  // two threads share each layout
    bs.push_back(randn({8, 5}, gen));
    MatmulBackendGuard reference(MatmulBackend::Reference);
    expected.push_back(matmul(as.back(), bs.back()));
  }
  std::vector<std::vector<Tensor>> results(kThreads);
  const std::uint64_t before = onednn_products();
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) results[t].push_back(matmul(as[t], bs[t]));
    });
  }
  for (std::thread& w : workers) w.join();
  BOOST_TEST(onednn_products() == before + kThreads * kRounds);
  for (int t = 0; t < kThreads; ++t) {
    for (const Tensor& r : results[t]) check_close(r, expected[t], 1e-5);
  }
}

BOOST_AUTO_TEST_SUITE_END()
