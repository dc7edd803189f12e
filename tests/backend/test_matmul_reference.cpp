// backend::matmul_reference, attograd's own loops, called directly: contiguous and strided operands
// (transposes, slices at an offset, stride-0 expands), batch dims broadcast by the caller's output
// shape, empty dims, float32 and float64, each against a loop that follows the definition.
#include "support/test.hpp"

#include "backend/matmul.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

Shape batch_of(const Shape& s) {
  Shape out;
  for (int d = 0; d + 2 < s.rank(); ++d) out.push_back(s[d]);
  return out;
}

// The output shape: broadcast batch dims, then [M, N].
Shape product_shape(const Tensor& a, const Tensor& b) {
  Shape out = broadcast_shapes("test", batch_of(a.shape()), batch_of(b.shape()));
  out.push_back(a.shape()[-2]);
  out.push_back(b.shape()[-1]);
  return out;
}

// C[.., m, n] = sum_k A[.., m, k] B[.., k, n] in double, by index, with at() on the operands as they
// are (strided or not). Batch dims of rank <= 2 are enough for these tests.
double entry(const Tensor& t, const Shape& batch_index, std::int64_t i, std::int64_t j) {
  // t's own batch index: align trailing dims, 0 where t has size 1.
  const int shift = batch_index.rank() - (t.dim() - 2);
  std::int64_t idx[4] = {0, 0, 0, 0};
  for (int d = 0; d + 2 < t.dim(); ++d) idx[d] = t.shape()[d] == 1 ? 0 : batch_index[d + shift];
  switch (t.dim()) {
    case 2: return t.at({i, j});
    case 3: return t.at({idx[0], i, j});
    case 4: return t.at({idx[0], idx[1], i, j});
    default: throw std::logic_error("entry: rank 2 to 4 only");
  }
}

Tensor naive(const Tensor& a, const Tensor& b) {
  const Shape out = product_shape(a, b);
  const Shape batch = batch_of(out);
  const std::int64_t M = out[-2], N = out[-1], K = a.shape()[-1];
  std::vector<double> c;
  Shape bi = batch;
  for (std::int64_t flat = 0; flat < batch.numel(); ++flat) {
    std::int64_t rest = flat;
    for (int d = batch.rank() - 1; d >= 0; --d) {
      bi[d] = rest % batch[d];
      rest /= batch[d];
    }
    for (std::int64_t m = 0; m < M; ++m) {
      for (std::int64_t n = 0; n < N; ++n) {
        double s = 0.0;
        for (std::int64_t k = 0; k < K; ++k) s += entry(a, bi, m, k) * entry(b, bi, k, n);
        c.push_back(s);
      }
    }
  }
  return tensor(c, out, {.dtype = kFloat64});
}

// Runs the kernel into a fresh output filled with NaN, so that an element it forgets to write shows.
Tensor run(const Tensor& a, const Tensor& b) {
  Tensor c = full(product_shape(a, b), NAN, {.dtype = a.dtype()});
  backend::matmul_reference(a, b, c);
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(matmul_reference)

BOOST_AUTO_TEST_CASE(contiguous_2d_by_hand) {
  Tensor a = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, {.dtype = kFloat64});
  Tensor b = tensor({{1.0, 0.0, -1.0, 2.0}, {0.5, 1.0, 1.0, 0.0}}, {.dtype = kFloat64});
  // Row m of C is a[m, 0] * b[0] + a[m, 1] * b[1].
  check_values(run(a, b), {2, 2, 1, 2, 5, 4, 1, 6, 8, 6, 1, 10});
  check_values(run(a.to(kFloat32), b.to(kFloat32)), {2, 2, 1, 2, 5, 4, 1, 6, 8, 6, 1, 10});
}

BOOST_AUTO_TEST_CASE(contiguous_against_the_definition) {
  Generator gen(20);
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
    for (auto [M, K, N] : {std::array<std::int64_t, 3>{1, 1, 1}, {1, 7, 1}, {5, 1, 3}, {4, 9, 6}, {17, 13, 11}}) {
      Tensor a = randn({M, K}, gen, {.dtype = dtype});
      Tensor b = randn({K, N}, gen, {.dtype = dtype});
      check_close(run(a, b), naive(a, b), tol);
    }
  }
}

BOOST_AUTO_TEST_CASE(strided_operands) {
  Generator gen(21);
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
    Tensor x = randn({5, 4}, gen, {.dtype = dtype});
    Tensor y = randn({6, 7}, gen, {.dtype = dtype});
    Tensor z = randn({4, 5}, gen, {.dtype = dtype});
    // Transposed lhs (strides [1, 4]), transposed rhs, both.
    check_close(run(x.mT(), x), naive(x.mT(), x), tol);
    check_close(run(x, x.mT()), naive(x, x.mT()), tol);
    check_close(run(x.mT(), z.mT()), naive(x.mT(), z.mT()), tol);
    // A window at an offset: rows 2..5 and columns 1..5 of y, [4, 5] starting at element 15.
    Tensor win = y.narrow(0, 2, 4).narrow(1, 1, 5);
    BOOST_TEST(win.offset() == 15);
    check_close(run(x, win), naive(x, win), tol);
    // Every other column (rhs stride 2 along n), every third row (lhs stride 21 along m).
    Tensor every_other = y.slice(1, 0, 7, 2);  // [6, 4], strides [7, 2]
    Tensor lhs = randn({3, 6}, gen, {.dtype = dtype});
    check_close(run(lhs, every_other), naive(lhs, every_other), tol);
    Tensor rows = y.slice(0, 0, 6, 3).mT();  // [7, 2], strides [1, 21]
    Tensor rhs = randn({2, 3}, gen, {.dtype = dtype});
    check_close(run(rows, rhs), naive(rows, rhs), tol);
    // Stride 0: an expanded column and an expanded row.
    Tensor col = randn({5, 1}, gen, {.dtype = dtype}).expand({5, 4});
    check_close(run(col, z), naive(col, z), tol);
    Tensor row = randn({1, 3}, gen, {.dtype = dtype}).expand({4, 3});
    check_close(run(x, row), naive(x, row), tol);
  }
}

BOOST_AUTO_TEST_CASE(batch_dims_broadcast_to_the_output) {
  Generator gen(22);
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
    auto r = [&](const Shape& s) { return randn(s, gen, {.dtype = dtype}); };
    const std::vector<std::pair<Tensor, Tensor>> cases = {
        {r({3, 2, 4}), r({3, 4, 5})},         // same batch
        {r({3, 2, 4}), r({4, 5})},            // rhs shared by the batch
        {r({2, 4}), r({3, 4, 5})},            // lhs shared by the batch
        {r({2, 1, 3, 4}), r({5, 4, 2})},      // [2, 1] with [5]: output batch [2, 5]
        {r({1, 3, 2, 2}), r({2, 1, 2, 3})},   // size-1 dims on both sides
        {r({1, 1, 2, 3}), r({1, 1, 3, 2})},   // a batch of one, coalesced away
    };
    for (const auto& [a, b] : cases) check_close(run(a, b), naive(a, b), tol);
    // Strided batches: a batch of transposes, a permuted batch, every other batch element, an expanded
    // batch dim (stride 0 across the batch).
    Tensor x = r({4, 3, 2});
    check_close(run(x.mT(), x), naive(x.mT(), x), tol);
    Tensor p = r({3, 4, 2}).permute({1, 0, 2});  // [4, 3, 2], batch stride 2
    Tensor q = r({4, 2, 3});
    check_close(run(p, q), naive(p, q), tol);
    Tensor every_other = r({6, 2, 3}).slice(0, 0, 6, 2);  // [3, 2, 3], batch stride 12
    Tensor s = r({3, 3, 2});
    check_close(run(every_other, s), naive(every_other, s), tol);
    Tensor e = r({1, 2, 3}).expand({4, 2, 3});  // batch stride 0
    Tensor t = r({4, 3, 5});
    check_close(run(e, t), naive(e, t), tol);
  }
}

BOOST_AUTO_TEST_CASE(empty_dims) {
  // K = 0: each output is a sum of nothing, 0, over whatever the output held before.
  check_values(run(ones({2, 0}, {.dtype = kFloat64}), ones({0, 3}, {.dtype = kFloat64})), std::vector<double>(6, 0.0));
  check_values(run(ones({3, 2, 0}), ones({3, 0, 2})), std::vector<double>(12, 0.0));
  check_values(run(ones({3, 2, 0}), ones({0, 2})), std::vector<double>(12, 0.0));
  // M, N or a batch dim of 0: nothing to write, nothing read.
  BOOST_TEST((run(ones({0, 3}), ones({3, 2})).shape() == (Shape{0, 2})));
  BOOST_TEST((run(ones({2, 3}), ones({3, 0})).shape() == (Shape{2, 0})));
  BOOST_TEST((run(ones({0, 2, 3}), ones({3, 4})).shape() == (Shape{0, 2, 4})));
  BOOST_TEST((run(ones({2, 2, 3}, {.dtype = kFloat64}), ones({2, 3, 0}, {.dtype = kFloat64})).shape() ==
              Shape{2, 2, 0}));
}

BOOST_AUTO_TEST_CASE(non_float_dtypes_are_refused) {
  Tensor ids = tensor_of<std::int64_t>({1, 2, 3, 4}, {2, 2});
  Tensor c = empty({2, 2}, kInt64);
  BOOST_CHECK_EXCEPTION(backend::matmul_reference(ids, ids, c), DTypeError,
                        has_message("matmul: expected a floating-point (float32 or float64) tensor, got int64"));
}

BOOST_AUTO_TEST_SUITE_END()
