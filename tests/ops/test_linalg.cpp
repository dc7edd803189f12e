// matmul: NumPy's rules for 1-D operands, batched and broadcast batch dims, strided operands, empty
// dims; values by hand and against a loop that follows the definition; finite-difference gradients in
// float64 for every case; errors with both shapes in the message.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

using Inputs = std::vector<Tensor>;

Shape batch_of(const Shape& s) {
  Shape out;
  for (int d = 0; d + 2 < s.rank(); ++d) out.push_back(s[d]);
  return out;
}

// C[.., m, n] = sum_k A[.., m, k] B[.., k, n], straight from the definition, batch dims broadcast
// (both operands of rank >= 2). The oracle for shapes too large to work out by hand.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  const std::vector<double> av = a.to_vector(), bv = b.to_vector();
  const std::int64_t M = a.shape()[-2], K = a.shape()[-1], N = b.shape()[-1];
  const Shape ba = batch_of(a.shape()), bb = batch_of(b.shape());
  const Shape batch = broadcast_shapes("naive_matmul", ba, bb);
  Shape out = batch;
  out.push_back(M);
  out.push_back(N);
  std::vector<double> c(static_cast<std::size_t>(out.numel()), 0.0);
  for (std::int64_t i = 0; i < batch.numel(); ++i) {
    // The row-major index of batch element i in a's and in b's batch (size-1 dims repeat).
    std::int64_t ia = 0, ib = 0, rest = i, step_a = 1, step_b = 1;
    for (int d = batch.rank() - 1; d >= 0; --d) {
      const std::int64_t idx = rest % batch[d];
      rest /= batch[d];
      const int da = d - (batch.rank() - ba.rank()), db = d - (batch.rank() - bb.rank());
      if (da >= 0) {
        ia += (ba[da] == 1 ? 0 : idx) * step_a;
        step_a *= ba[da];
      }
      if (db >= 0) {
        ib += (bb[db] == 1 ? 0 : idx) * step_b;
        step_b *= bb[db];
      }
    }
    for (std::int64_t m = 0; m < M; ++m) {
      for (std::int64_t n = 0; n < N; ++n) {
        double s = 0.0;
        for (std::int64_t k = 0; k < K; ++k) s += av[ia * M * K + m * K + k] * bv[ib * K * N + k * N + n];
        c[i * M * N + m * N + n] = s;
      }
    }
  }
  return tensor(c, out, {.dtype = kFloat64});
}

Tensor f64(std::vector<double> values, const Shape& shape) { return tensor(values, shape, {.dtype = kFloat64}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(linalg)

BOOST_AUTO_TEST_CASE(matmul_2d_by_hand) {
  Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  Tensor b = tensor({{7.0, 8.0}, {9.0, 10.0}, {11.0, 12.0}});
  Tensor c = matmul(a, b);
  BOOST_TEST((c.shape() == (Shape{2, 2})));
  BOOST_TEST((c.dtype() == kFloat32));
  // [1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12; 4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12]
  check_values(c, {58, 64, 139, 154});
  check_values(a.matmul(b), {58, 64, 139, 154});
  Tensor c64 = matmul(a.to(kFloat64), b.to(kFloat64));
  BOOST_TEST((c64.dtype() == kFloat64));
  check_values(c64, {58, 64, 139, 154});
  // [1, K] x [K, 1] and the identity.
  check_values(matmul(f64({1, -1}, {1, 2}), f64({3, 5}, {2, 1})), {-2});
  check_values(matmul(eye(3), b), b.to_vector());
}

BOOST_AUTO_TEST_CASE(matmul_with_vectors_by_hand) {
  Tensor v = tensor({1.0, 2.0, 3.0});
  // 1-D x 1-D: the dot product, rank 0.
  Tensor dot = matmul(v, tensor({4.0, 5.0, 6.0}));
  BOOST_TEST(dot.dim() == 0);
  BOOST_TEST(dot.item() == 32.0);
  // 1-D x 2-D: a row vector times a matrix, the row dim dropped.
  Tensor row = matmul(tensor({1.0, 2.0}), tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}));
  BOOST_TEST((row.shape() == (Shape{3})));
  check_values(row, {9, 12, 15});
  // 2-D x 1-D: a matrix times a column vector, the column dim dropped.
  Tensor col = matmul(tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}), tensor({1.0, 0.0, -1.0}));
  BOOST_TEST((col.shape() == (Shape{2})));
  check_values(col, {-2, -2});
  // 1-D x 3-D and 3-D x 1-D: the vector is broadcast over the batch.
  Tensor m = f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
  Tensor left = matmul(f64({1, -1}, {2}), m);
  BOOST_TEST((left.shape() == (Shape{2, 2})));
  check_values(left, {-2, -2, -2, -2});  // [1,2]-[3,4], [5,6]-[7,8]
  Tensor right = matmul(m, f64({1, -1}, {2}));
  BOOST_TEST((right.shape() == (Shape{2, 2})));
  check_values(right, {-1, -1, -1, -1});
}

BOOST_AUTO_TEST_CASE(matmul_batched_by_hand) {
  // Batch 0: [[1, 2], [3, 4]] x [[5, 6], [7, 8]]; batch 1: 2I x ones.
  Tensor a = f64({1, 2, 3, 4, 2, 0, 0, 2}, {2, 2, 2});
  Tensor b = f64({5, 6, 7, 8, 1, 1, 1, 1}, {2, 2, 2});
  Tensor c = matmul(a, b);
  BOOST_TEST((c.shape() == (Shape{2, 2, 2})));
  check_values(c, {19, 22, 43, 50, 2, 2, 2, 2});
  // A 2-D rhs is shared by every batch element.
  check_values(matmul(a, f64({1, 0, 0, -1}, {2, 2})), {1, -2, 3, -4, 2, 0, 0, -2});
}

BOOST_AUTO_TEST_CASE(matmul_batched_against_the_definition) {
  Generator gen(10);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 2, 4}, {3, 4, 5}},          // 3-D
      {{2, 3, 2, 4}, {2, 3, 4, 5}},    // 4-D
      {{2, 1, 3, 4}, {5, 4, 2}},       // batch dims broadcast: [2, 1] with [5]
      {{4, 3}, {2, 2, 3, 2}},          // a 2-D lhs against a 4-D rhs
      {{1, 3, 2, 4}, {2, 1, 4, 3}},    // size-1 batch dims on both sides
  };
  for (const auto& [sa, sb] : cases) {
    Tensor a = randn(sa, gen, {.dtype = kFloat64});
    Tensor b = randn(sb, gen, {.dtype = kFloat64});
    Tensor expected = naive_matmul(a, b);
    check_close(matmul(a, b), expected, 1e-12);
    // float32 gives the same within float32 rounding.
    check_close(matmul(a.to(kFloat32), b.to(kFloat32)), expected, 1e-5);
  }
  BOOST_TEST((matmul(zeros({2, 1, 3, 4}), zeros({5, 4, 2})).shape() == (Shape{2, 5, 3, 2})));
}

BOOST_AUTO_TEST_CASE(matmul_reads_strided_operands_without_copying) {
  Generator gen(11);
  Tensor x = randn({4, 3}, gen, {.dtype = kFloat64});
  Tensor y = randn({6, 5}, gen, {.dtype = kFloat64});
  // x.mT() is [3, 4] with strides [1, 3]; y.narrow(0, 1, 4) is rows 1..4 of y, at offset 5.
  Tensor a = x.mT();
  Tensor b = y.narrow(0, 1, 4);
  check_close(matmul(a, b), naive_matmul(a.contiguous(), b.contiguous()), 1e-12);
  Tensor cols = y.slice(1, 0, 5, 2);  // [6, 3], strides [5, 2]
  check_close(matmul(cols.mT(), y), naive_matmul(cols.mT().contiguous(), y), 1e-12);
  // An expanded operand (stride 0) and a batch of transposes.
  Tensor e = randn({4, 1}, gen, {.dtype = kFloat64}).expand({4, 3});
  check_close(matmul(a, e), naive_matmul(a, e.contiguous()), 1e-12);
  Tensor batch = randn({2, 4, 3}, gen, {.dtype = kFloat64});
  check_close(matmul(batch.mT(), batch), naive_matmul(batch.mT().contiguous(), batch), 1e-12);

  // No copy is recorded: the operands reach matmul as the transpose and slice views themselves.
  Tensor w = randn({4, 3}, gen, {.dtype = kFloat64, .requires_grad = true});
  Tensor c = matmul(w.mT(), w.slice(1, 0, 3, 2));
  BOOST_TEST(c.grad_fn_name() == "matmul");
  BOOST_TEST(c.grad_fn()->inputs()[0]->op() == "transpose");
  BOOST_TEST(c.grad_fn()->inputs()[1]->op() == "slice");
}

BOOST_AUTO_TEST_CASE(matmul_with_empty_dims) {
  // K = 0: every output is an empty sum, 0.
  Tensor k0 = matmul(ones({2, 0}), ones({0, 3}));
  BOOST_TEST((k0.shape() == (Shape{2, 3})));
  check_values(k0, {0, 0, 0, 0, 0, 0});
  Tensor dot0 = matmul(zeros({0}, {.dtype = kFloat64}), zeros({0}, {.dtype = kFloat64}));
  BOOST_TEST(dot0.dim() == 0);
  BOOST_TEST(dot0.item() == 0.0);
  check_values(matmul(ones({3, 2, 0}), ones({3, 0, 2})), std::vector<double>(12, 0.0));
  // M, N or a batch dim of 0: an empty result of the right shape.
  BOOST_TEST((matmul(ones({0, 3}), ones({3, 2})).shape() == (Shape{0, 2})));
  BOOST_TEST((matmul(ones({2, 3}), ones({3, 0})).shape() == (Shape{2, 0})));
  BOOST_TEST((matmul(ones({0, 2, 3}), ones({3, 4})).shape() == (Shape{0, 2, 4})));
  BOOST_TEST((matmul(ones({3}), ones({0, 3, 2})).shape() == (Shape{0, 2})));

  // Gradients of empty operands are empty, of the operands' shapes; with K = 0 the other operand's
  // gradient is 0.
  Tensor a = zeros({2, 0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = zeros({0, 3}, {.dtype = kFloat64, .requires_grad = true});
  matmul(a, b).sum().backward();
  BOOST_TEST((a.grad().shape() == (Shape{2, 0})));
  BOOST_TEST((b.grad().shape() == (Shape{0, 3})));
  Tensor p = ones({0, 3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor q = ones({3, 2}, {.dtype = kFloat64, .requires_grad = true});
  matmul(p, q).sum().backward();
  BOOST_TEST((p.grad().shape() == (Shape{0, 3})));
  check_values(q.grad(), std::vector<double>(6, 0.0));
}

BOOST_AUTO_TEST_CASE(matmul_gradient_by_hand) {
  // L = sum(A·B): dA = ones·Bᵀ (each row holds B's row sums), dB = Aᵀ·ones (each column holds A's
  // column sums).
  Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {.requires_grad = true});
  Tensor b = tensor({{1.0, -1.0}, {2.0, 0.5}, {0.0, 3.0}}, {.requires_grad = true});
  matmul(a, b).sum().backward();
  check_values(a.grad(), {0, 2.5, 3, 0, 2.5, 3});
  check_values(b.grad(), {5, 5, 7, 7, 9, 9});
  // Batch broadcast: B [2, 2] used by both batch elements gets the sum of both contributions.
  Tensor x = ones({2, 1, 2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor w = zeros({2, 2}, {.dtype = kFloat64, .requires_grad = true});
  matmul(x, w).sum().backward();
  check_values(w.grad(), {2, 2, 2, 2});
}

BOOST_AUTO_TEST_CASE(gradcheck_matmul_all_cases) {
  Generator gen(12);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3}, {3, 4}},              // 2-D
      {{3}, {3}},                    // dot
      {{3}, {3, 2}},                 // 1-D x 2-D
      {{2, 3}, {3}},                 // 2-D x 1-D
      {{4}, {2, 4, 3}},              // 1-D x 3-D
      {{2, 3, 4}, {4}},              // 3-D x 1-D
      {{2, 2, 3}, {2, 3, 2}},        // 3-D
      {{2, 2, 2, 3}, {2, 2, 3, 2}},  // 4-D
      {{2, 1, 3, 4}, {5, 4, 2}},     // broadcast batch dims
      {{3, 4}, {2, 4, 2}},           // 2-D lhs shared by a batch
      {{1, 1}, {1, 1}},              // size-1 everything
  };
  for (const auto& [sa, sb] : cases) {
    check_gradients([](const Inputs& in) { return matmul(in[0], in[1]); }, {rand64(sa, gen), rand64(sb, gen)});
  }
  // Only one side needing a gradient.
  check_gradients([](const Inputs& in) { return matmul(in[0], in[1]); },
                  {rand64({2, 3}, gen), randn({3, 2}, gen, {.dtype = kFloat64})});
  check_gradients([](const Inputs& in) { return matmul(in[0], in[1]); },
                  {randn({2, 3}, gen, {.dtype = kFloat64}), rand64({3, 2}, gen)});
  // The same tensor on both sides.
  check_gradients([](const Inputs& in) { return matmul(in[0], in[0]); }, {rand64({3, 3}, gen)});
}

BOOST_AUTO_TEST_CASE(gradcheck_matmul_of_strided_views) {
  Generator gen(13);
  check_gradients([](const Inputs& in) { return matmul(in[0].mT(), in[1]); }, {rand64({4, 3}, gen), rand64({4, 2}, gen)});
  check_gradients([](const Inputs& in) { return matmul(in[0], in[1].mT()); }, {rand64({2, 3, 4}, gen), rand64({2, 5, 4}, gen)});
  check_gradients([](const Inputs& in) { return matmul(in[0].slice(1, 0, 6, 2), in[1].narrow(0, 1, 3)); },
                  {rand64({2, 6}, gen), rand64({5, 2}, gen)});
  check_gradients([](const Inputs& in) { return matmul(in[0].expand({2, 3, 4}), in[1]); },
                  {rand64({3, 1}, gen), rand64({4, 2}, gen)});
  check_gradients([](const Inputs& in) { return matmul(in[0].select(0, 1), in[1].permute({1, 0, 2})); },
                  {rand64({2, 2, 3}, gen), rand64({3, 2, 2}, gen)});
}

BOOST_AUTO_TEST_CASE(matmul_gradients_keep_a_head_splits_layout) {
  // q, v [B, H, T, D] are views of [B, T, H, D] projections: the products send their gradients in that
  // layout (so the split's backward needs no copy), with the values of the contiguous operands'
  // gradients. kᵀ's rows are not of unit stride in its layout, but k's are: dKᵀ is computed as the
  // transpose of dK = dSᵀ·Q, written in k's layout.
  Generator gen(14);
  const auto heads = [](const Tensor& t) { return t.view({2, 5, 3, 4}).transpose(1, 2); };  // [2, 3, 5, 4]
  const auto attend = [&](const Inputs& in) { return matmul(matmul(heads(in[0]), heads(in[1]).mT()), heads(in[2])); };
  check_gradients(attend, {rand64({2, 5, 12}, gen), rand64({2, 5, 12}, gen), rand64({2, 5, 12}, gen)});
  for (const DType dtype : {kFloat32, kFloat64}) {
    BOOST_TEST_CONTEXT(dtype) {
      std::vector<Tensor> sent;  // what the two matmul nodes send: dWeights, dV, then dQ, dKᵀ
      const autograd::StepHookGuard hook(
          [&](const autograd::BackwardStep& s) {
            if (s.node.op() == "matmul") sent.insert(sent.end(), s.grad_inputs.begin(), s.grad_inputs.end());
          },
          {.reads_grad_output = false});
      const Inputs in{randn({2, 5, 12}, gen, {.dtype = dtype}).requires_grad_(),
                      randn({2, 5, 12}, gen, {.dtype = dtype}).requires_grad_(),
                      randn({2, 5, 12}, gen, {.dtype = dtype}).requires_grad_()};
      const Tensor up = randn({2, 3, 5, 4}, gen, {.dtype = dtype});
      (attend(in) * up).sum().backward();
      BOOST_TEST_REQUIRE(sent.size() == 4u);
      BOOST_TEST(sent[1].strides() == heads(in[2]).strides());
      BOOST_TEST(sent[2].strides() == heads(in[0]).strides());
      BOOST_TEST(sent[3].strides() == heads(in[1]).mT().strides());
      const Inputs copies{in[0].detach().requires_grad_(), in[1].detach().requires_grad_(),
                          in[2].detach().requires_grad_()};
      const auto attend_contiguous = [&](const Inputs& x) {
        return matmul(matmul(heads(x[0]).contiguous(), heads(x[1]).mT()), heads(x[2]).contiguous());
      };
      (attend_contiguous(copies) * up).sum().backward();
      for (int i = 0; i < 3; ++i) BOOST_TEST(in[i].grad().to_vector() == copies[i].grad().to_vector());
      // A contiguous kᵀ gets dKᵀ = Qᵀ·dS instead: the same sums in another kernel, equal to rounding.
      const Tensor k = in[1].detach().requires_grad_();
      (matmul(matmul(heads(in[0]).detach(), heads(k).mT().contiguous()), heads(in[2]).detach()) * up).sum().backward();
      check_close(in[1].grad(), k.grad(), dtype == kFloat32 ? 1e-5 : 1e-12);
    }
  }
}

BOOST_AUTO_TEST_CASE(matmul_inner_dimension_error_is_exact) {
  auto exactly = [](std::string text) {
    return [text](const std::exception& e) {
      BOOST_TEST(std::string(e.what()) == text);
      return std::string(e.what()) == text;
    };
  };
  BOOST_CHECK_EXCEPTION(matmul(ones({2, 3}), ones({4, 5})), ShapeError,
                        exactly("matmul: inner dimensions differ: lhs [2, 3] vs rhs [4, 5]"));
  // The shapes as given, before 1-D operands are promoted.
  BOOST_CHECK_EXCEPTION(matmul(ones({3}), ones({4})), ShapeError,
                        exactly("matmul: inner dimensions differ: lhs [3] vs rhs [4]"));
  BOOST_CHECK_EXCEPTION(matmul(ones({3}), ones({2, 4, 5})), ShapeError,
                        exactly("matmul: inner dimensions differ: lhs [3] vs rhs [2, 4, 5]"));
  BOOST_CHECK_EXCEPTION(matmul(ones({2, 7, 3}), ones({2})), ShapeError,
                        exactly("matmul: inner dimensions differ: lhs [2, 7, 3] vs rhs [2]"));
}

BOOST_AUTO_TEST_CASE(matmul_other_errors_name_both_operands) {
  BOOST_CHECK_EXCEPTION(matmul(ones({2, 3}), ones({3, 2}, {.dtype = kFloat64})), DTypeError,
                        has_message("matmul: expected floating-point tensors of one dtype, got lhs float32 and rhs "
                                    "float64"));
  Tensor ids = tensor_of<std::int64_t>({1, 2, 3, 4}, {2, 2});
  BOOST_CHECK_EXCEPTION(matmul(ids, ids), DTypeError, has_message("got lhs int64 and rhs int64"));
  BOOST_CHECK_EXCEPTION(matmul(ones({2, 2}), ids), DTypeError, has_message("got lhs float32 and rhs int64"));
  BOOST_CHECK_EXCEPTION(matmul(scalar_tensor(2.0), ones({2})), ShapeError,
                        has_message("matmul: both operands need at least 1 dim, got lhs [] and rhs [2]"));
  BOOST_CHECK_EXCEPTION(matmul(ones({2, 2}), scalar_tensor(2.0)), ShapeError,
                        has_message("got lhs [2, 2] and rhs []"));
  BOOST_CHECK_EXCEPTION(matmul(ones({2, 3, 4}), ones({3, 4, 5})), ShapeError,
                        has_message("matmul: batch dims [2] and [3] cannot be broadcast: lhs [2, 3, 4] vs rhs "
                                    "[3, 4, 5]"));
  BOOST_CHECK_EXCEPTION(matmul(ones({2, 1, 3, 4}), ones({3, 2, 4, 5})), ShapeError,
                        has_message("batch dims [2, 1] and [3, 2] cannot be broadcast: lhs [2, 1, 3, 4] vs rhs "
                                    "[3, 2, 4, 5]"));
  BOOST_CHECK_EXCEPTION(matmul(Tensor(), ones({2})), ValueError, has_message("undefined"));
}

BOOST_AUTO_TEST_SUITE_END()
