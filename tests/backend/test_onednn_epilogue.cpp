// What a oneDNN product does besides multiplying (lib/backend/onednn.cpp, matmul.hpp's Epilogue): an
// output laid out otherwise than contiguously, written where it lies, and the post-ops (an added
// tensor, ReLU). Each is checked bit for bit against the same product written contiguously and the
// same steps done one pass at a time, at one and two threads, and on the reference kernel.
#include "support/test.hpp"

#include <cstring>

#include "backend/basic.hpp"
#include "backend/differential.hpp"

using namespace attograd;
using namespace attograd::testing;
namespace onednn = attograd::backend::onednn;

namespace {

std::vector<std::uint32_t> bits(const Tensor& t) {
  const Tensor c = t.contiguous();
  std::vector<std::uint32_t> out(static_cast<std::size_t>(c.numel()));
  std::memcpy(out.data(), c.data<float>(), out.size() * sizeof(float));
  return out;
}

void require_fast(const onednn::MatmulPlan& p, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST_REQUIRE(p.on_onednn);
    BOOST_TEST(p.implementation.find("ref") == std::string::npos, fmt::format("oneDNN chose {}", p.implementation));
    BOOST_TEST(!p.copies_lhs);
    BOOST_TEST(!p.copies_rhs);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(onednn_epilogue)

BOOST_AUTO_TEST_CASE(a_strided_output_gets_the_contiguous_products_bits) {
  // Attention's head split: c [B, H, T, D] is a view of a [B, T, H, D] tensor, its rows H·D apart.
  // Large enough to be cut into pieces along B.
  Generator gen(21);
  const std::int64_t B = 4, H = 4, T = 128, D = 32;
  const Tensor s = randn({B, H, T, T}, gen);
  const Tensor k = randn({B, T, H, D}, gen).transpose(1, 2);
  // A sequence's product written into a [T, B, N] tensor seen as [B, T, N]: no fold of B into rows.
  const Tensor x = randn({3, 70, 40}, gen), w = randn({50, 40}, gen);
  struct Case {
    std::string name;
    Tensor a, b, c;
  };
  for (int threads : {1, 2}) {
    ThreadCount guard(threads);
    const std::vector<Case> cases{{"[B, H, T, D] in [B, T, H, D]", s, k, empty({B, T, H, D}).transpose(1, 2)},
                                  {"[B, T, N] in [T, B, N]", x, w.mT(), empty({70, 3, 50}).transpose(0, 1)}};
    for (Case c : cases) {
      const std::string what = fmt::format("{}, {} threads", c.name, threads);
      const onednn::MatmulPlan p = onednn::plan(c.a, c.b, c.c);
      require_fast(p, what);
      if (c.a.dim() == 4) BOOST_TEST(p.pieces > 1, what);
      Tensor contiguous = empty(c.c.shape());
      backend::matmul(c.a, c.b, contiguous);
      backend::matmul(c.a, c.b, c.c);
      BOOST_TEST((bits(c.c) == bits(contiguous)), what);
      // The reference kernel writes a contiguous block and copies it over.
      MatmulBackendGuard reference(MatmulBackend::Reference);
      backend::matmul(c.a, c.b, contiguous);
      backend::matmul(c.a, c.b, c.c);
      BOOST_TEST((bits(c.c) == bits(contiguous)), what << ", reference kernel");
    }
  }
  // Rows without a unit stride are not given to oneDNN (it would run its reference kernel).
  BOOST_TEST(!onednn::plan(x, w.mT(), empty({3, 50, 70}).mT()).on_onednn);
  // float64 on the reference kernel, into a strided output.
  const Tensor a64 = s.to(kFloat64), b64 = k.to(kFloat64);
  Tensor c64 = empty({B, T, H, D}, kFloat64).transpose(1, 2), expected = empty({B, H, T, D}, kFloat64);
  backend::matmul(a64, b64, c64);
  backend::matmul(a64, b64, expected);
  BOOST_TEST(c64.to_vector() == expected.to_vector());
}

BOOST_AUTO_TEST_CASE(an_added_tensor_is_a_post_op_with_the_separate_adds_bits) {
  // c = a·b + bias + add: on oneDNN the add is a post-op of the product's kernel; its bits are those of
  // the product with its bias, then add_into. Contiguous, strided (add laid out as c), cut into pieces.
  Generator gen(22);
  const Tensor x = randn({2048, 128}, gen), w = randn({128, 128}, gen), bias = randn({128}, gen);
  const Tensor s = randn({4, 4, 128, 128}, gen), k = randn({4, 128, 4, 32}, gen).transpose(1, 2);
  struct Case {
    std::string name;
    Tensor a, b, bias, c, add;
  };
  for (int threads : {1, 2}) {
    ThreadCount guard(threads);
    const std::vector<Case> cases{
        {"x·Wᵀ + b + r", x, w.mT(), bias, empty({2048, 128}), randn({2048, 128}, gen)},
        {"x·Wᵀ + r, no bias", x, w.mT(), Tensor(), empty({2048, 128}), randn({2048, 128}, gen)},
        {"strided c and add", s, k, Tensor(), empty({4, 128, 4, 32}).transpose(1, 2),
         randn({4, 128, 4, 32}, gen).transpose(1, 2)}};
    for (Case c : cases) {
      const std::string what = fmt::format("{}, {} threads", c.name, threads);
      const backend::Epilogue epilogue{c.bias, c.add};
      const onednn::MatmulPlan p = onednn::plan(c.a, c.b, c.c, epilogue);
      require_fast(p, what);
      BOOST_TEST(p.pieces > 1, what);
      const std::uint64_t before = onednn_products();
      backend::matmul(c.a, c.b, c.c, epilogue);
      BOOST_TEST(onednn_products() == before + 1, what);  // one product, nothing else on oneDNN
      Tensor expected = empty(c.c.shape());
      backend::matmul(c.a, c.b, expected, backend::Epilogue::with_bias(c.bias));
      backend::add_into(expected, c.add);
      BOOST_TEST((bits(c.c) == bits(expected)), what);
      // The reference kernel: the same steps one pass at a time.
      MatmulBackendGuard reference(MatmulBackend::Reference);
      Tensor slow = empty(c.c.shape());
      backend::matmul(c.a, c.b, slow, epilogue);
      check_close(slow, expected, 1e-4);
    }
  }
  // An added tensor laid out unlike c: the product (with its bias) on oneDNN, then a separate add.
  const Tensor rt = randn({128, 2048}, gen);
  Tensor c = empty({2048, 128}), expected = empty({2048, 128});
  BOOST_TEST(!onednn::plan(x, w.mT(), c, {bias, rt.mT()}).on_onednn);
  backend::matmul(x, w.mT(), c, {bias, rt.mT()});
  backend::matmul(x, w.mT(), expected, backend::Epilogue::with_bias(bias));
  backend::add_into(expected, rt.mT());
  BOOST_TEST((bits(c) == bits(expected)));
}

BOOST_AUTO_TEST_CASE(an_accumulating_product_has_the_separate_adds_bits) {
  // c += a·b (a gradient added into the one already there): on oneDNN the kernel's sum post-op, for K
  // from kAccumulateMinK to kAccumulateMaxK; its bits are those of the product, then add_into(c, product).
  // (Below 16, gemm:jit's sum gave other bits in 14 of K = 1..15 here.) Cut into pieces.
  Generator gen(23);
  for (int threads : {1, 2}) {
    ThreadCount guard(threads);
    for (std::int64_t K : {1, 2, 7, 15, 16, 17, 64, 100, 127, 128, 129, 512}) {
      const std::string what = fmt::format("K = {}, {} threads", K, threads);
      const Tensor a = randn({2048, K}, gen), b = randn({K, 128}, gen), old = randn({2048, 128}, gen);
      const backend::Epilogue accumulate = backend::Epilogue::accumulating();
      Tensor c = old.clone();
      const onednn::MatmulPlan p = onednn::plan(a, b, c, accumulate);
      if (K >= backend::kAccumulateMinK && K <= backend::kAccumulateMaxK) {
        require_fast(p, what);
        BOOST_TEST(p.pieces > 1, what);
      } else {
        BOOST_TEST(!p.on_onednn, what);  // the product on oneDNN, then a separate add
      }
      backend::matmul(a, b, c, accumulate);
      Tensor product = empty({2048, 128}), expected = old.clone();
      backend::matmul(a, b, product);
      backend::add_into(expected, product);
      BOOST_TEST((bits(c) == bits(expected)), what);
      // The old values as an added tensor (a binary post-op, applied to the whole sum) into a new c: the
      // same bits at every K (linear's dX outside the sum post-op's range).
      Tensor added = empty({2048, 128});
      BOOST_TEST(onednn::plan(a, b, added, {Tensor(), old}).on_onednn, what);
      backend::matmul(a, b, added, {Tensor(), old});
      BOOST_TEST((bits(added) == bits(expected)), what);
      // The reference kernel: the product, then the add.
      MatmulBackendGuard reference(MatmulBackend::Reference);
      Tensor slow = old.clone();
      backend::matmul(a, b, slow, accumulate);
      check_close(slow, expected, 1e-3);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
