// Shape fuzzing of the pointwise ops, the reductions and softmax: seeded random ranks (0 to 4) and sizes
// (0 to 5), strided and expanded inputs, mixed dtypes, and dims that are sometimes out of range. Each
// call either matches a reference computed with plain loops over to_vector() values, or throws the
// attograd error the reference predicts (reliability/shape_fuzz.hpp). Seeded: a failure repeats.
#include "support/test.hpp"

#include <functional>
#include <set>

#include "reliability/shape_fuzz.hpp"

using namespace attograd;
using namespace attograd::testing;
using namespace attograd::testing::fuzz;

namespace {

constexpr int kCases = 1500;

struct Binary {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> ref;
};

struct Unary {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
};

DType random_dtype(Rng& rng, bool with_int) {
  const double r = rng.gen.uniform();
  return r < 0.45 ? kFloat32 : r < 0.8 || !with_int ? kFloat64 : kInt64;
}

// A dim for a tensor of this rank: in range (negative or not) mostly, now and then just outside it.
std::int64_t random_dim(Rng& rng, int rank) {
  const std::int64_t span = std::max(rank, 1);
  return rng.chance(0.1) ? rng.between(-span - 2, span + 1) : rng.between(-span, span - 1);
}

// The dims a reduction's argument names, normalised as attograd does (rank 0 accepts 0 and -1); nullopt
// when one is out of range or named twice (an IndexError).
std::optional<std::vector<bool>> reduced_dims(const Shape& dims, int rank) {
  std::vector<bool> reduced(static_cast<std::size_t>(std::max(rank, 1)), false);
  const int span = std::max(rank, 1);
  for (std::int64_t d : dims) {
    if (d < -span || d >= span) return std::nullopt;
    const auto k = static_cast<std::size_t>(d < 0 ? d + span : d);
    if (reduced[k]) return std::nullopt;
    reduced[k] = true;
  }
  if (dims.empty()) std::fill(reduced.begin(), reduced.end(), true);
  return reduced;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_fuzz)

BOOST_AUTO_TEST_CASE(binary_ops_broadcast_like_numpy) {
  const std::vector<Binary> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double x, double y) { return x + y; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double x, double y) { return x - y; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double x, double y) { return x * y; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double x, double y) { return x / y; }},
      {"where(a>b)", [](const Tensor& a, const Tensor& b) { return where(a > b, a, b); },
       [](double x, double y) { return x > y ? x : y; }},
  };
  Rng rng(20240801);
  Tally tally{"binary"};
  for (int c = 0; c < kCases; ++c) {
    const Binary& op = rng.pick(ops);
    Shape sa = random_shape(rng), sb = partner_shape(rng, sa);
    if (rng.chance(0.5)) std::swap(sa, sb);
    const DType ta = random_dtype(rng, true), tb = random_dtype(rng, true);
    Tensor a = random_tensor(rng, sa, ta), b = random_tensor(rng, sb, tb);
    const std::string what = fmt::format("case {}: {}({} {}, {} {})", c, op.name, sa, ta, sb, tb);
    const auto shape = broadcast(dims_of(sa), dims_of(sb));
    if (!shape) {
      expect_refused(tally, what, typeid(ShapeError), [&] { op.op(a, b); });
      continue;
    }
    DType want = promote(ta, tb);
    if (std::string(op.name) == "div" && want == kInt64) want = kFloat32;
    const bool grads = is_floating(ta) && is_floating(tb) && rng.chance(0.3);
    if (grads) {
      a.requires_grad_();
      b.requires_grad_();
    }
    expect_valid(tally, what, [&] {
      const Tensor y = op.op(a, b);
      BOOST_TEST((y.dtype() == want), fmt::format("{}: dtype {} vs {}", what, y.dtype(), want));
      const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
      std::vector<double> expected(static_cast<std::size_t>(numel(*shape)));
      for (std::int64_t i = 0; i < numel(*shape); ++i) {
        const Index out = unravel(i, *shape);
        const double x = va[broadcast_source(out, dims_of(sa))], z = vb[broadcast_source(out, dims_of(sb))];
        expected[i] = op.ref(x, z);
        if (want == kFloat32) expected[i] = static_cast<float>(op.ref(static_cast<float>(x), static_cast<float>(z)));
      }
      expect_values(tally, what, y, *shape, expected, tolerance_for(want) + (want == kInt64 ? 0 : 1e-6));
      if (grads) check_backward(what, y, {a, b});
    });
  }
  BOOST_TEST(tally.valid > kCases / 2);
  BOOST_TEST(tally.refused > 10);
}

BOOST_AUTO_TEST_CASE(unary_ops_keep_the_shape) {
  const std::vector<Unary> ops = {
      {"exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); }},
      {"log|x|", [](const Tensor& x) { return log(abs(x) + 0.5); },
       [](double v) { return std::log(std::abs(v) + 0.5); }},
      {"sqrt|x|", [](const Tensor& x) { return sqrt(abs(x)); }, [](double v) { return std::sqrt(std::abs(v)); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0.0; }},
      {"neg", [](const Tensor& x) { return -x; }, [](double v) { return -v; }},
      {"pow3", [](const Tensor& x) { return pow(x, 3.0); }, [](double v) { return v * v * v; }},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.5); }, [](double v) { return std::clamp(v, -0.5, 0.5); }},
      {"gelu", [](const Tensor& x) { return gelu(x); },
       [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }},
  };
  Rng rng(7);
  Tally tally{"unary"};
  for (int c = 0; c < kCases; ++c) {
    const Unary& op = rng.pick(ops);
    const Shape s = random_shape(rng);
    const DType t = random_dtype(rng, true);
    Tensor x = random_tensor(rng, s, t);
    const std::string what = fmt::format("case {}: {}({} {})", c, op.name, s, t);
    const bool int_ok = std::string(op.name) == "neg";  // neg keeps int64; the functions need floats
    if (t == kInt64 && !int_ok) {
      expect_refused(tally, what, typeid(DTypeError), [&] { op.op(x); });
      continue;
    }
    const bool grads = t != kInt64 && rng.chance(0.3);
    if (grads) x.requires_grad_();
    expect_valid(tally, what, [&] {
      const Tensor y = op.op(x);
      std::vector<double> expected = x.to_vector<double>();
      for (double& v : expected) v = op.ref(v);
      expect_values(tally, what, y, dims_of(s), expected, t == kFloat32 ? 1e-5 : 1e-12);
      if (grads) check_backward(what, y, {x});
    });
  }
  BOOST_TEST(tally.valid > kCases / 2);
}

BOOST_AUTO_TEST_CASE(reductions_over_random_dims) {
  const std::vector<std::string> ops = {"sum", "mean", "max", "min"};
  Rng rng(99);
  Tally tally{"reduction"};
  for (int c = 0; c < kCases; ++c) {
    const std::string op = rng.pick(ops);
    const Shape s = random_shape(rng);
    const int rank = s.rank();
    Shape dims;
    const int count = static_cast<int>(rng.between(0, std::max(rank, 1)));
    for (int i = 0; i < count; ++i) dims.push_back(random_dim(rng, rank));
    const bool keepdim = rng.chance(0.5);
    const DType t = rng.chance(0.5) ? kFloat32 : kFloat64;
    Tensor x = random_tensor(rng, s, t);
    const std::string what = fmt::format("case {}: {}({} {}, dims {}, keepdim {})", c, op, s, t, dims, keepdim);
    auto call = [&] {
      if (op == "sum") return sum(x, dims, keepdim);
      if (op == "mean") return mean(x, dims, keepdim);
      if (op == "max") return max(x, dims, keepdim);
      return min(x, dims, keepdim);
    };
    const auto reduced = reduced_dims(dims, rank);
    if (!reduced) {
      expect_refused(tally, what, typeid(IndexError), call);
      continue;
    }
    Index out_shape, kept_shape;
    bool empty_reduced = false;
    for (int d = 0; d < rank; ++d) {
      const bool r = (*reduced)[static_cast<std::size_t>(d)];
      if (r && s[d] == 0) empty_reduced = true;
      if (!r) out_shape.push_back(s[d]);
      kept_shape.push_back(r ? 1 : s[d]);
    }
    if (empty_reduced && (op == "max" || op == "min")) {
      expect_refused(tally, what, typeid(ShapeError), call);
      continue;
    }
    const bool grads = rng.chance(0.3);
    if (grads) x.requires_grad_();
    expect_valid(tally, what, [&] {
      const Tensor y = call();
      const std::vector<double> v = x.to_vector<double>();
      const std::int64_t n_out = numel(kept_shape);
      std::vector<double> acc(static_cast<std::size_t>(n_out), op == "max" ? -INFINITY : op == "min" ? INFINITY : 0.0);
      std::vector<double> count_of(static_cast<std::size_t>(n_out), 0.0);
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(v.size()); ++i) {
        Index idx = unravel(i, dims_of(s));
        for (int d = 0; d < rank; ++d) {
          if ((*reduced)[static_cast<std::size_t>(d)]) idx[d] = 0;
        }
        double& a = acc[ravel(idx, kept_shape)];
        a = op == "max" ? std::max(a, v[i]) : op == "min" ? std::min(a, v[i]) : a + v[i];
        count_of[ravel(idx, kept_shape)] += 1;
      }
      if (op == "mean") {
        for (std::size_t i = 0; i < acc.size(); ++i) acc[i] /= count_of[i];  // 0 / 0 = NaN for an empty set
      }
      expect_values(tally, what, y, keepdim ? kept_shape : out_shape, acc, t == kFloat32 ? 1e-5 : 1e-12);
      if (grads) check_backward(what, y, {x});
    });
  }
  BOOST_TEST(tally.valid > kCases / 2);
  BOOST_TEST(tally.refused > 10);
}

BOOST_AUTO_TEST_CASE(argmax_and_softmax_along_a_random_dim) {
  Rng rng(5);
  Tally tally{"argmax/softmax"};
  for (int c = 0; c < kCases; ++c) {
    const bool is_softmax = rng.chance(0.5);
    const Shape s = random_shape(rng);
    const int rank = s.rank(), span = std::max(rank, 1);
    const std::int64_t dim = random_dim(rng, rank);
    Tensor x = random_tensor(rng, s, rng.chance(0.5) ? kFloat32 : kFloat64);
    const std::string what = fmt::format("case {}: {}({}, dim {})", c, is_softmax ? "softmax" : "argmax", s, dim);
    auto call = [&] { return is_softmax ? softmax(x, dim) : argmax(x, dim); };
    if (dim < -span || dim >= span) {
      expect_refused(tally, what, typeid(IndexError), call);
      continue;
    }
    const int d = static_cast<int>(dim < 0 ? dim + span : dim);
    if (!is_softmax && rank > 0 && s[d] == 0) {
      expect_refused(tally, what, typeid(ShapeError), call);
      continue;
    }
    const bool grads = is_softmax && rng.chance(0.3);
    if (grads) x.requires_grad_();
    expect_valid(tally, what, [&] {
      const Tensor y = call();
      const std::vector<double> v = x.to_vector<double>();
      const Index shape = dims_of(s);
      // Each row along d, found from its first element.
      Index out_shape = shape;
      if (!is_softmax && rank > 0) out_shape.erase(out_shape.begin() + d);
      std::vector<double> expected(is_softmax ? v.size() : static_cast<std::size_t>(numel(out_shape)));
      const std::int64_t n = rank == 0 ? 1 : s[d];
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(v.size()); ++i) {
        Index idx = unravel(i, shape);
        if (rank > 0 && idx[d] != 0) continue;
        std::vector<std::int64_t> row;  // flat positions of the row
        for (std::int64_t k = 0; k < n; ++k) {
          if (rank > 0) idx[d] = k;
          row.push_back(ravel(idx, shape));
        }
        std::int64_t best = 0;
        double top = -INFINITY, total = 0;
        for (std::int64_t k = 0; k < n; ++k) {
          if (v[row[k]] > top) top = v[row[k]], best = k;
        }
        for (std::int64_t k = 0; k < n; ++k) total += std::exp(v[row[k]] - top);
        if (is_softmax) {
          for (std::int64_t k = 0; k < n; ++k) expected[row[k]] = std::exp(v[row[k]] - top) / total;
        } else {
          Index out = unravel(i, shape);
          if (rank > 0) out.erase(out.begin() + d);
          expected[ravel(out, out_shape)] = static_cast<double>(best);
        }
      }
      expect_values(tally, what, y, out_shape, expected, 1e-5);
      if (grads) check_backward(what, y * x, {x});
    });
  }
  BOOST_TEST(tally.valid > kCases / 2);
}

BOOST_AUTO_TEST_SUITE_END()
