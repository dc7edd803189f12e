// Shape fuzzing of matmul (random batch dims, 1-D operands), the shape ops (reshape, permute, slice,
// cat), linear, embedding, layer_norm and cross_entropy, the same way as test_shape_fuzz.cpp: seeded
// random shapes, strided inputs, a reference computed with plain loops or an expected error.
#include "support/test.hpp"

#include <numeric>

#include "reliability/shape_fuzz.hpp"

using namespace attograd;
using namespace attograd::testing;
using namespace attograd::testing::fuzz;

namespace {

constexpr int kCases = 1000;

DType float_dtype(Rng& rng) { return rng.chance(0.5) ? kFloat32 : kFloat64; }

// C[.., m, n] = sum_k A[.., m, k] B[.., k, n] for 2-D-or-more operands whose batch dims broadcast.
std::vector<double> matmul_reference(const std::vector<double>& a, const Index& sa, const std::vector<double>& b,
                                     const Index& sb, const Index& batch) {
  const std::int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  const Index ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  std::vector<double> c;
  for (std::int64_t p = 0; p < numel(batch); ++p) {
    const Index idx = unravel(p, batch);
    const std::int64_t oa = broadcast_source(idx, ba) * M * K, ob = broadcast_source(idx, bb) * K * N;
    for (std::int64_t m = 0; m < M; ++m) {
      for (std::int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (std::int64_t k = 0; k < K; ++k) s += a[oa + m * K + k] * b[ob + k * N + n];
        c.push_back(s);
      }
    }
  }
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_fuzz_ops)

// float32 products with K = 1 and a batched lhs once failed on oneDNN (matmul(randn({2, 2, 1}),
// randn({1, 3})): "oneDNN could not execute", status 2, and later products failed with it); cases 202,
// 349 and 956 here found it.
BOOST_AUTO_TEST_CASE(matmul_with_random_batch_dims) {
  Rng rng(11);
  Tally tally{"matmul"};
  for (int c = 0; c < kCases; ++c) {
    // [batch.., M, K] x [batch'.., K', N], K' = K mostly; sometimes 1-D or rank 0.
    const Shape batch = random_shape(rng, 0, 2);
    const std::int64_t M = random_size(rng), K = random_size(rng), N = random_size(rng);
    Shape sa = batch, sb = partner_shape(rng, batch);
    sa.push_back(M);
    sa.push_back(K);
    sb.push_back(rng.chance(0.9) ? K : random_size(rng));
    sb.push_back(N);
    const double shape_kind = rng.gen.uniform();
    if (shape_kind < 0.1) sa = Shape{K};
    if (shape_kind > 0.9) sb = Shape{K};
    if (rng.chance(0.02)) sa = Shape{};
    const DType ta = float_dtype(rng), tb = rng.chance(0.05) ? float_dtype(rng) : ta;
    Tensor a = random_tensor(rng, sa, ta), b = random_tensor(rng, sb, tb);
    const std::string what = fmt::format("case {}: matmul({} {} strides {}, {} {} strides {})", c, sa, ta,
                                         a.strides(), sb, tb, b.strides());
    if (ta != tb) {
      expect_refused(tally, what, typeid(DTypeError), [&] { matmul(a, b); });
      continue;
    }
    // The reference on 2-D-or-more shapes, as NumPy promotes 1-D operands.
    Index ia = dims_of(sa), ib = dims_of(sb);
    if (ia.size() == 1) ia.insert(ia.begin(), 1);
    if (ib.size() == 1) ib.push_back(1);
    const bool ranks_ok = sa.rank() > 0 && sb.rank() > 0;
    const auto batch_out = ranks_ok ? broadcast(Index(ia.begin(), ia.end() - 2), Index(ib.begin(), ib.end() - 2))
                                    : std::nullopt;
    if (!ranks_ok || ia.back() != ib[ib.size() - 2] || !batch_out) {
      expect_refused(tally, what, typeid(ShapeError), [&] { matmul(a, b); });
      continue;
    }
    Index out = *batch_out;
    if (sa.rank() > 1) out.push_back(ia[ia.size() - 2]);
    if (sb.rank() > 1) out.push_back(ib.back());
    const bool grads = rng.chance(0.3);
    if (grads) {
      a.requires_grad_();
      b.requires_grad_();
    }
    expect_valid(tally, what, [&] {
      const Tensor y = matmul(a, b);
      const std::vector<double> expected =
          matmul_reference(a.to_vector<double>(), ia, b.to_vector<double>(), ib, *batch_out);
      expect_values(tally, what, y, out, expected, ta == kFloat32 ? 1e-5 : 1e-12);
      if (grads) check_backward(what, y, {a, b});
    });
  }
  BOOST_TEST(tally.valid > kCases / 2);
  BOOST_TEST(tally.refused > 10);
}

BOOST_AUTO_TEST_CASE(reshape_permute_slice_and_cat) {
  Rng rng(12);
  Tally tally{"shape ops"};
  for (int c = 0; c < kCases; ++c) {
    const Shape s = random_shape(rng, 1, 4);
    const Index is = dims_of(s);
    const int rank = s.rank();
    Tensor x = random_tensor(rng, s, float_dtype(rng));
    const std::vector<double> v = x.to_vector<double>();
    const int which = static_cast<int>(rng.below(4));
    if (which == 0) {  // reshape: the sizes of a random shape, one of them -1 sometimes
      Shape target = rng.chance(0.6) ? random_shape(rng, 0, 3) : Shape{};
      if (rng.chance(0.5)) {  // a shape with the same count: x's sizes regrouped
        target = Shape{};
        for (std::int64_t d : is) {
          if (target.rank() > 0 && rng.chance(0.4)) target[-1] *= d;
          else target.push_back(d);
        }
      }
      if (target.rank() > 0 && rng.chance(0.3)) target[0] = -1;
      std::int64_t known = 1;  // the product of the sizes given
      for (std::int64_t d : target) known *= d == -1 ? 1 : d;
      const std::string what = fmt::format("case {}: reshape({}, {})", c, s, target);
      const bool has_unknown = target.rank() > 0 && target[0] == -1;
      const std::int64_t n = numel(is);
      const bool ok = has_unknown ? known != 0 && n % known == 0 : known == n;
      if (!ok) {
        expect_refused(tally, what, typeid(ShapeError), [&] { reshape(x, target); });
        continue;
      }
      Index out = dims_of(target);
      if (has_unknown) out[0] = n / known;
      expect_valid(tally, what, [&] { expect_values(tally, what, reshape(x, target), out, v, 0.0); });
    } else if (which == 1) {  // permute: a permutation, or a broken one now and then
      Shape perm;
      std::vector<std::int64_t> order(static_cast<std::size_t>(rank));
      std::iota(order.begin(), order.end(), 0);
      for (int i = rank - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
      for (std::int64_t d : order) perm.push_back(rng.chance(0.5) ? d : d - rank);
      const bool broken = rng.chance(0.1);
      if (broken) perm[0] = rng.chance(0.5) ? rank : perm[-1];
      const std::string what = fmt::format("case {}: permute({}, {})", c, s, perm);
      if (broken && (rank > 1 || perm[0] == rank)) {
        expect_refused(tally, what, typeid(IndexError), [&] { permute(x, perm); });
        continue;
      }
      Index out(rank);
      for (int k = 0; k < rank; ++k) out[k] = is[order[k]];
      std::vector<double> expected(v.size());
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(v.size()); ++i) {
        const Index o = unravel(i, out);
        Index src(rank);
        for (int k = 0; k < rank; ++k) src[order[k]] = o[k];
        expected[i] = v[ravel(src, is)];
      }
      expect_valid(tally, what, [&] { expect_values(tally, what, permute(x, perm), out, expected, 0.0); });
    } else if (which == 2) {  // slice with Python's clamping of start and end
      const int d = static_cast<int>(rng.below(rank));
      const std::int64_t n = s[d], start = rng.between(-n - 2, n + 2), end = rng.between(-n - 2, n + 2);
      const std::int64_t step = rng.chance(0.05) ? 0 : rng.between(1, 3);
      const std::string what = fmt::format("case {}: slice({}, {}, {}, {}, {})", c, s, d, start, end, step);
      if (step == 0) {
        expect_refused(tally, what, typeid(ValueError), [&] { slice(x, d, start, end, step); });
        continue;
      }
      auto clamp_index = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n); };
      std::vector<std::int64_t> picked;
      for (std::int64_t k = clamp_index(start); k < clamp_index(end); k += step) picked.push_back(k);
      Index out = is;
      out[d] = static_cast<std::int64_t>(picked.size());
      std::vector<double> expected;
      for (std::int64_t i = 0; i < numel(out); ++i) {
        Index idx = unravel(i, out);
        idx[d] = picked[idx[d]];
        expected.push_back(v[ravel(idx, is)]);
      }
      expect_valid(tally, what, [&] { expect_values(tally, what, slice(x, d, start, end, step), out, expected, 0.0); });
    } else {  // cat of x with one or two partners that mostly match off the joined dim
      const int d = static_cast<int>(rng.below(rank));
      std::vector<Tensor> parts = {x};
      bool fits = true;
      for (std::int64_t k = rng.between(1, 2); k > 0; --k) {
        Shape p = s;
        p[d] = random_size(rng);
        if (rng.chance(0.1)) p[(d + 1) % rank] += 1, fits = fits && rank == 1;
        parts.push_back(random_tensor(rng, p, x.dtype()));
      }
      const std::string what = fmt::format("case {}: cat of {} along {}", c, s, d);
      if (!fits) {
        expect_refused(tally, what, typeid(ShapeError), [&] { cat(parts, d); });
        continue;
      }
      Index out = is;
      out[d] = 0;
      for (const Tensor& p : parts) out[d] += p.size(d);
      std::vector<double> expected(static_cast<std::size_t>(numel(out)));
      std::int64_t at = 0;
      for (const Tensor& p : parts) {
        const Index ip = dims_of(p.shape());
        const std::vector<double> pv = p.to_vector<double>();
        for (std::int64_t i = 0; i < static_cast<std::int64_t>(pv.size()); ++i) {
          Index idx = unravel(i, ip);
          idx[d] += at;
          expected[ravel(idx, out)] = pv[i];
        }
        at += ip[d];
      }
      expect_valid(tally, what, [&] { expect_values(tally, what, cat(parts, d), out, expected, 0.0); });
    }
  }
  BOOST_TEST(tally.valid > kCases / 2);
  BOOST_TEST(tally.refused > 10);
}

BOOST_AUTO_TEST_CASE(linear_embedding_layer_norm_and_cross_entropy) {
  Rng rng(13);
  Tally tally{"nn ops"};
  for (int c = 0; c < kCases; ++c) {
    const DType t = float_dtype(rng);
    const double tol = t == kFloat32 ? 1e-4 : 1e-10;
    const Shape lead = random_shape(rng, 0, 2);
    const int which = static_cast<int>(rng.below(4));
    // linear with I = 0 or O = 0 works as in PyTorch: the bias (or zeros), or an empty result.
    if (which == 0) {  // linear: x [.., I]  w [O, I']  b [O'] or none
      const std::int64_t I = random_size(rng), O = random_size(rng);
      const std::int64_t I2 = rng.chance(0.9) ? I : random_size(rng), O2 = rng.chance(0.9) ? O : random_size(rng);
      Shape sx = lead;
      sx.push_back(I);
      Tensor x = random_tensor(rng, sx, t), w = random_tensor(rng, {O, I2}, t);
      Tensor b = rng.chance(0.5) ? random_tensor(rng, {O2}, t) : Tensor();
      const std::string what = fmt::format("case {}: linear({}, [{}, {}], {})", c, sx, O, I2,
                                           b.defined() ? fmt::format("[{}]", O2) : "none");
      if (I != I2 || (b.defined() && O != O2)) {
        expect_refused(tally, what, typeid(ShapeError), [&] { linear(x, w, b); });
        continue;
      }
      Index out = dims_of(sx);
      out.back() = O;
      const std::vector<double> vx = x.to_vector<double>(), vw = w.to_vector<double>();
      const std::vector<double> vb = b.defined() ? b.to_vector<double>() : std::vector<double>(O, 0.0);
      std::vector<double> expected;
      for (std::int64_t r = 0; r < numel(dims_of(lead)); ++r) {
        for (std::int64_t o = 0; o < O; ++o) {
          double s = vb[o];
          for (std::int64_t i = 0; i < I; ++i) s += vx[r * I + i] * vw[o * I + i];
          expected.push_back(s);
        }
      }
      expect_valid(tally, what, [&] { expect_values(tally, what, linear(x, w, b), out, expected, tol); });
    } else if (which == 1) {  // embedding with ids that are sometimes out of range
      const std::int64_t V = random_size(rng), D = random_size(rng);
      const Tensor weight = random_tensor(rng, {V, D}, t);
      const bool out_of_range = rng.chance(0.2);
      std::vector<std::int64_t> id_values(static_cast<std::size_t>(numel(dims_of(lead))));
      for (auto& id : id_values) id = V > 0 ? rng.below(V) : 0;
      const bool bad = out_of_range || (V == 0 && !id_values.empty());
      if (out_of_range && !id_values.empty()) {
        id_values[rng.below(static_cast<std::int64_t>(id_values.size()))] = rng.chance(0.5) ? -1 : V;
      }
      const Tensor ids = tensor_of<std::int64_t>(id_values, lead);
      const std::string what = fmt::format("case {}: embedding([{}, {}], ids {})", c, V, D, lead);
      if (bad && !id_values.empty()) {
        expect_refused(tally, what, typeid(IndexError), [&] { embedding(weight, ids); });
        continue;
      }
      Index out = dims_of(lead);
      out.push_back(D);
      const std::vector<double> vw = weight.to_vector<double>();
      std::vector<double> expected;
      for (std::int64_t id : id_values) {
        for (std::int64_t k = 0; k < D; ++k) expected.push_back(vw[id * D + k]);
      }
      expect_valid(tally, what, [&] { expect_values(tally, what, embedding(weight, ids), out, expected, 0.0); });
    } else if (which == 2) {  // layer_norm over the last dim, or a normalized shape that does not fit
      const std::int64_t C = random_size(rng);
      Shape sx = lead;
      sx.push_back(C);
      const Shape norm = rng.chance(0.9) ? Shape{C} : Shape{C + 1};
      Tensor x = random_tensor(rng, sx, t);
      const std::string what = fmt::format("case {}: layer_norm({}, {})", c, sx, norm);
      if (norm[0] != C) {
        expect_refused(tally, what, typeid(ShapeError), [&] { layer_norm(x, norm); });
        continue;
      }
      const std::vector<double> vx = x.to_vector<double>();
      std::vector<double> expected;
      for (std::int64_t r = 0; r < numel(dims_of(lead)); ++r) {
        double mu = 0, var = 0;
        for (std::int64_t k = 0; k < C; ++k) mu += vx[r * C + k] / static_cast<double>(C);
        for (std::int64_t k = 0; k < C; ++k) var += std::pow(vx[r * C + k] - mu, 2) / static_cast<double>(C);
        for (std::int64_t k = 0; k < C; ++k) expected.push_back((vx[r * C + k] - mu) / std::sqrt(var + 1e-5));
      }
      expect_valid(tally, what, [&] { expect_values(tally, what, layer_norm(x, norm), dims_of(sx), expected, tol); });
    } else {  // cross_entropy: logits [.., C], targets [..] with ignored and out-of-range ones
      const std::int64_t C = random_size(rng);
      Shape sx = lead;
      sx.push_back(C);
      Tensor logits = random_tensor(rng, sx, t);
      std::vector<std::int64_t> targets(static_cast<std::size_t>(numel(dims_of(lead))));
      bool bad = false;
      for (auto& y : targets) {
        const double r = rng.gen.uniform();
        y = r < 0.1 ? -100 : r < 0.15 ? (rng.chance(0.5) ? -1 : C) : C > 0 ? rng.below(C) : -100;
        bad = bad || (y != -100 && (y < 0 || y >= C));
      }
      const Tensor target_tensor = tensor_of<std::int64_t>(targets, lead);
      const std::string what = fmt::format("case {}: cross_entropy({}, targets {})", c, sx, lead);
      if (bad) {
        expect_refused(tally, what, typeid(IndexError), [&] { cross_entropy(logits, target_tensor); });
        continue;
      }
      const std::vector<double> vx = logits.to_vector<double>();
      double total = 0, count = 0;
      for (std::size_t r = 0; r < targets.size(); ++r) {
        if (targets[r] == -100) continue;
        double top = -INFINITY, z = 0;
        for (std::int64_t k = 0; k < C; ++k) top = std::max(top, vx[r * C + k]);
        for (std::int64_t k = 0; k < C; ++k) z += std::exp(vx[r * C + k] - top);
        total += top + std::log(z) - vx[r * C + targets[r]];
        count += 1;
      }
      expect_valid(tally, what, [&] {
        expect_values(tally, what, cross_entropy(logits, target_tensor), {}, {total / count}, tol);  // 0/0: NaN
      });
    }
  }
  BOOST_TEST(tally.valid > kCases / 2);
  BOOST_TEST(tally.refused > 10);
}

BOOST_AUTO_TEST_SUITE_END()
