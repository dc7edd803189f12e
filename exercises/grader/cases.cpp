// The cases of each exercise: random shapes (with broadcasting where the op has it), the edge cases
// that catch the usual mistakes, and for each the same maths from the library's own ops.
#include <cmath>

#include "exercises.hpp"
#include "grader/grader.hpp"

namespace course::grader {

namespace {

using Ins = const std::vector<Tensor>&;

// Random float64 values, as a leaf that requires grad (or a constant).
Tensor leaf(const Shape& shape, Generator& gen, double scale = 1.0, bool grad = true) {
  Tensor t = randn(shape, gen, {.dtype = kFloat64}) * scale;
  if (grad) t.requires_grad_();
  return t;
}

Tensor values(std::vector<double> v, const Shape& shape) {
  return tensor(v, shape, {.dtype = kFloat64, .requires_grad = true});
}

std::string shape_text(const Shape& s) { return fmt::format("{}", s); }

// A whole number in [lo, hi], from the exercise's generator: the random shapes change with --seed.
std::int64_t draw(Generator& gen, std::int64_t lo, std::int64_t hi) {
  return lo + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(hi - lo + 1)));
}

// A random shape of rank lo..hi, each dim 1..4.
Shape random_shape(Generator& gen, int lo, int hi) {
  const auto rank = draw(gen, lo, hi);
  std::vector<std::int64_t> dims;
  for (std::int64_t d = 0; d < rank; ++d) dims.push_back(draw(gen, 1, 4));
  return Shape(std::span<const std::int64_t>(dims));
}

std::vector<Case> mul_tanh(Generator& gen) {
  std::vector<Case> cases;
  for (const Shape& s : {Shape{}, Shape{5}, Shape{2, 3}, random_shape(gen, 1, 3)}) {
    cases.push_back({"my_mul", "A * B, both " + shape_text(s), {leaf(s, gen), leaf(s, gen)},
                     [](Ins in) { return my_mul(in[0], in[1]); }, [](Ins in) { return in[0] * in[1]; }});
  }
  cases.push_back({"my_mul", "X * X: one value used twice, so its two gradients add up", {leaf({4}, gen)},
                   [](Ins in) { return my_mul(in[0], in[0]); }, [](Ins in) { return in[0] * in[0]; }});
  cases.push_back({"my_mul", "A * B with B a constant: only A wants a gradient", {leaf({3}, gen), leaf({3}, gen, 1, false)},
                   [](Ins in) { return my_mul(in[0], in[1]); }, [](Ins in) { return in[0] * in[1]; }});
  for (const Shape& s : {Shape{}, Shape{6}, Shape{2, 3}, random_shape(gen, 1, 3)}) {
    cases.push_back({"my_tanh", "tanh(X), X " + shape_text(s), {leaf(s, gen)}, [](Ins in) { return my_tanh(in[0]); },
                     [](Ins in) { return tanh(in[0]); }});
  }
  cases.push_back({"my_tanh", "tanh at 0 and saturated at ±20 (gradient about 0 there)",
                   {values({-20.0, 0.0, 20.0, 0.5}, {4})}, [](Ins in) { return my_tanh(in[0]); },
                   [](Ins in) { return tanh(in[0]); }});
  cases.push_back({"my_tanh", "tanh(tanh(X) * X): both ops in one graph", {leaf({3}, gen)},
                   [](Ins in) { return my_tanh(my_mul(my_tanh(in[0]), in[0])); },
                   [](Ins in) { return tanh(tanh(in[0]) * in[0]); }});
  return cases;
}

std::vector<Case> add_broadcast(Generator& gen) {
  std::vector<Case> cases;
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{3}, {2, 3}}, {{2, 1}, {1, 3}}, {{}, {2, 3}}, {{4, 1, 3}, {2, 1}}, {{2, 3}, {2, 1}}};
  // A random pair: B is A's last dims, some of them 1.
  const Shape a = random_shape(gen, 1, 3);
  std::vector<std::int64_t> b;
  for (int d = static_cast<int>(draw(gen, 0, a.rank() - 1)); d < a.rank(); ++d) b.push_back(draw(gen, 0, 1) ? a[d] : 1);
  shapes.emplace_back(a, Shape(std::span<const std::int64_t>(b)));
  for (const auto& [a, b] : shapes) {
    cases.push_back({"my_add", "A " + shape_text(a) + " + B " + shape_text(b), {leaf(a, gen), leaf(b, gen)},
                     [](Ins in) { return my_add(in[0], in[1]); }, [](Ins in) { return in[0] + in[1]; }});
  }
  cases.push_back({"my_add", "X + X: one value used twice", {leaf({2, 2}, gen)}, [](Ins in) { return my_add(in[0], in[0]); },
                   [](Ins in) { return in[0] + in[0]; }});
  return cases;
}

std::vector<Case> matmul_cases(Generator& gen) {
  std::vector<Case> cases;
  std::vector<std::pair<Shape, Shape>> shapes = {{{2, 3}, {3, 4}}, {{1, 1}, {1, 1}}, {{3, 1}, {1, 4}},
                                                       {{1, 5}, {5, 1}}, {{4, 2}, {2, 3}}, {{3, 3}, {3, 3}}};
  const std::int64_t m = draw(gen, 1, 5), k = draw(gen, 1, 5), n = draw(gen, 1, 5);
  shapes.push_back({{m, k}, {k, n}});
  for (const auto& [a, b] : shapes) {
    cases.push_back({"my_matmul", "A " + shape_text(a) + " · B " + shape_text(b), {leaf(a, gen), leaf(b, gen)},
                     [](Ins in) { return my_matmul(in[0], in[1]); }, [](Ins in) { return matmul(in[0], in[1]); }});
  }
  cases.push_back({"my_matmul", "A · A: a square matrix used twice", {leaf({3, 3}, gen)},
                   [](Ins in) { return my_matmul(in[0], in[0]); }, [](Ins in) { return matmul(in[0], in[0]); }});
  cases.push_back({"my_matmul", "A · B with A a constant [2, 3]", {leaf({2, 3}, gen, 1, false), leaf({3, 2}, gen)},
                   [](Ins in) { return my_matmul(in[0], in[1]); }, [](Ins in) { return matmul(in[0], in[1]); }});
  return cases;
}

std::vector<Case> sum_mean(Generator& gen) {
  std::vector<Case> cases;
  struct Reduce {
    Shape x, dims;
    bool keepdim;
  };
  std::vector<Reduce> reductions = {{{2, 3}, {1}, false}, {{2, 3}, {0}, true},   {{2, 3}, {0, 1}, false},
                                    {{2, 3, 4}, {0, 2}, false}, {{2, 3, 4}, {-1}, true}, {{5}, {0}, false},
                                    {{3, 1}, {1}, false}};
  // A random shape, over a random non-empty set of its dims.
  const Shape x = random_shape(gen, 1, 3);
  std::vector<std::int64_t> dims;
  for (int d = 0; d < x.rank(); ++d) {
    if (draw(gen, 0, 1)) dims.push_back(d);
  }
  if (dims.empty()) dims.push_back(x.rank() - 1);
  reductions.push_back({x, Shape(std::span<const std::int64_t>(dims)), draw(gen, 0, 1) == 1});
  for (const Reduce& r : reductions) {
    const std::string what = fmt::format("X {} over dims {}{}", r.x, r.dims, r.keepdim ? ", keepdim" : "");
    cases.push_back({"my_sum", "sum of " + what, {leaf(r.x, gen)}, [r](Ins in) { return my_sum(in[0], r.dims, r.keepdim); },
                     [r](Ins in) { return in[0].sum(r.dims, r.keepdim); }});
    cases.push_back({"my_mean", "mean of " + what, {leaf(r.x, gen)},
                     [r](Ins in) { return my_mean(in[0], r.dims, r.keepdim); },
                     [r](Ins in) { return in[0].mean(r.dims, r.keepdim); }});
  }
  return cases;
}

std::vector<Case> softmax_cases(Generator& gen) {
  std::vector<Case> cases;
  struct Along {
    Shape x;
    std::int64_t dim;
    double scale;
  };
  std::vector<Along> alongs = {{{5}, 0, 1}, {{2, 3}, -1, 1}, {{2, 3}, 0, 1}, {{3, 1}, -1, 1}, {{2, 4}, -1, 8},
                               {{2, 3, 4}, 1, 1}};
  const Shape x = random_shape(gen, 1, 3);
  alongs.push_back({x, draw(gen, 0, x.rank() - 1), 1});
  for (const Along& a : alongs) {
    const std::string what = fmt::format("X {} along dim {}{}", a.x, a.dim, a.scale > 1 ? ", large logits" : "");
    cases.push_back({"my_softmax", "softmax of " + what, {leaf(a.x, gen, a.scale)},
                     [a](Ins in) { return my_softmax(in[0], a.dim); }, [a](Ins in) { return softmax(in[0], a.dim); }});
    cases.push_back({"my_log_softmax", "log_softmax of " + what, {leaf(a.x, gen, a.scale)},
                     [a](Ins in) { return my_log_softmax(in[0], a.dim); },
                     [a](Ins in) { return log_softmax(in[0], a.dim); }});
  }
  cases.push_back({"my_log_softmax", "log_softmax of [0, -800, 3]: softmax gives e^-803 = 0 there, log(0) = -inf",
                   {values({0.0, -800.0, 3.0}, {3})}, [](Ins in) { return my_log_softmax(in[0], 0); },
                   [](Ins in) { return log_softmax(in[0], 0); }});
  return cases;
}

std::vector<Case> cross_entropy_cases(Generator& gen) {
  std::vector<Case> cases;
  auto targets = [](std::vector<std::int64_t> t) {
    const auto n = static_cast<std::int64_t>(t.size());
    return tensor_of<std::int64_t>(t, {n});
  };
  struct Batch {
    Shape x;
    std::vector<std::int64_t> t;
    double scale;
  };
  std::vector<Batch> batches = {{{4, 3}, {0, 2, 1, 2}, 1}, {{1, 1}, {0}, 1}, {{3, 5}, {4, 4, 0}, 30},
                                {{2, 2}, {1, 1}, 1}, {{6, 4}, {3, 0, 1, 2, 3, 0}, 2}};
  const std::int64_t n = draw(gen, 1, 5), c = draw(gen, 1, 5);
  std::vector<std::int64_t> t;
  for (std::int64_t i = 0; i < n; ++i) t.push_back(draw(gen, 0, c - 1));
  batches.push_back({{n, c}, t, 1});
  for (const Batch& b : batches) {
    cases.push_back({"my_cross_entropy",
                     fmt::format("logits {}, targets {}{}", b.x, fmt::join(b.t, " "), b.scale > 2 ? ", large logits" : ""),
                     {leaf(b.x, gen, b.scale), targets(b.t)}, [](Ins in) { return my_cross_entropy(in[0], in[1]); },
                     [](Ins in) { return cross_entropy(in[0], in[1]); }});
  }
  return cases;
}

std::vector<Case> layer_norm_cases(Generator& gen) {
  std::vector<Case> cases;
  auto ln = [](Ins in) { return my_layer_norm(in[0], in[1], in[2]); };
  for (const Shape& s : {Shape{2, 5}, Shape{3}, Shape{2, 3, 4}, Shape{4, 2}, random_shape(gen, 1, 3)}) {
    const std::int64_t k = s[-1];
    cases.push_back({"my_layer_norm", fmt::format("X {}, W and B [{}]", s, k),
                     {leaf(s, gen, 2.0), leaf({k}, gen), leaf({k}, gen)}, ln, [k](Ins in) {
                       return layer_norm(in[0], {k}, in[1], in[2]);
                     }});
  }
  cases.push_back({"my_layer_norm", "a constant row (var = 0: eps keeps it finite)",
                   {values({1.5, 1.5, 1.5, 1.5, 0.3, -1.0, 2.0, 0.1}, {2, 4}), leaf({4}, gen), leaf({4}, gen)}, ln,
                   [](Ins in) { return layer_norm(in[0], {4}, in[1], in[2]); }});
  return cases;
}

std::vector<Case> self_attention_cases(Generator& gen) {
  std::vector<Case> cases;
  const Shape random = random_shape(gen, 2, 3);
  for (auto [s, scale] :
       std::vector<std::pair<Shape, double>>{{{3, 4}, 1}, {{1, 4}, 1}, {{2, 3, 4}, 1}, {{4, 2}, 2.5}, {random, 1}}) {
    cases.push_back({"my_self_attention",
                     fmt::format("X {}{}", s, scale > 1 ? ", large values: rows of A close to one-hot" : ""),
                     {leaf(s, gen, scale)}, [](Ins in) { return my_self_attention(in[0]); },
                     [](Ins in) { return scaled_dot_product_attention(in[0], in[0], in[0]); }});
  }
  return cases;
}

// The same multi-head attention from the library's ops: the reference for exercise 9.
Tensor reference_mha(Ins in, std::int64_t heads) {
  const Shape& s = in[0].shape();
  const std::int64_t d = s[2] / heads;
  auto split = [&](const Tensor& t) { return t.reshape({s[0], s[1], heads, d}).transpose(1, 2); };
  Tensor o = scaled_dot_product_attention(split(matmul(in[0], in[1])), split(matmul(in[0], in[2])),
                                          split(matmul(in[0], in[3])));
  return matmul(o.transpose(1, 2).reshape(s), in[4]);
}

std::vector<Case> mha_cases(Generator& gen) {
  std::vector<Case> cases;
  struct Sizes {
    std::int64_t b, t, k, h;
  };
  const std::int64_t heads = draw(gen, 1, 3);
  const Sizes random{draw(gen, 1, 2), draw(gen, 1, 3), heads * draw(gen, 1, 2), heads};
  for (const Sizes& z : std::vector<Sizes>{{2, 3, 4, 2}, {1, 3, 4, 1}, {2, 2, 4, 4}, {2, 1, 4, 2}, {1, 4, 6, 3}, random}) {
    const double w = 1.0 / std::sqrt(static_cast<double>(z.k));
    cases.push_back({"my_multi_head_attention",
                     fmt::format("X [{}, {}, {}], {} head{} of width {}", z.b, z.t, z.k, z.h, z.h == 1 ? "" : "s", z.k / z.h),
                     {leaf({z.b, z.t, z.k}, gen), leaf({z.k, z.k}, gen, w), leaf({z.k, z.k}, gen, w),
                      leaf({z.k, z.k}, gen, w), leaf({z.k, z.k}, gen, w)},
                     [h = z.h](Ins in) { return my_multi_head_attention(in[0], in[1], in[2], in[3], in[4], h); },
                     [h = z.h](Ins in) { return reference_mha(in, h); }});
  }
  return cases;
}

}  // namespace

std::vector<Exercise> exercises() {
  return {
      {"01_mul_tanh", "mul and tanh", "docs/derivations/elementwise.md", mul_tanh},
      {"02_add_broadcast", "add with broadcasting", "docs/derivations/elementwise.md", add_broadcast},
      {"03_matmul", "matmul", "docs/derivations/matmul.md", matmul_cases},
      {"04_sum_mean", "sum and mean over dims", "docs/derivations/reduction.md", sum_mean},
      {"05_softmax", "softmax and log_softmax", "docs/derivations/softmax.md", softmax_cases},
      {"06_cross_entropy", "cross_entropy", "docs/derivations/loss.md", cross_entropy_cases},
      {"07_layer_norm", "layer_norm", "docs/derivations/layer_norm.md", layer_norm_cases},
      {"08_self_attention", "self-attention: two paths", "docs/derivations/attention.md", self_attention_cases},
      {"09_multi_head_attention", "multi-head attention", "docs/derivations/attention.md", mha_cases},
  };
}

}  // namespace course::grader
