// The four training workloads of the benchmark (issue 7's table), defined once for both sides.
//
//   const Workload& w = workload("ctrans");
//   std::vector<Batch> data = make_batches(w);            // the same numbers in both programs
//   for (const ParamSpec& p : w.params) { std::vector<float> v = initial_values(w, p); ... }
//
// This header depends on nothing but the standard library, so that bench/attograd_side/ and
// bench/libtorch_side/ build their models from the very same numbers: parameters and data come
// from one small generator (SplitMix64) that both programs run identically. With the same initial
// weights and data, the two sides' losses agree closely after the same steps, which makes a
// fast-but-wrong run visible.
//
// Shape letters: B batch, T sequence length, C model width, H heads, D = C / H per head, V vocabulary,
// F feed-forward width, K classes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// SplitMix64 (Steele, Lea, Flood 2014): 64 bits of state, a few lines, the same output everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), exactly representable in float32 (24 random bits).
  float uniform() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n small (the modulo bias is below 2^-40 and irrelevant here).
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(n)); }
  // Standard normal by Box-Muller, in double, then rounded to float.
  float normal() {
    const double u1 = (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(next() >> 11) * 0x1.0p-53;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  std::uint64_t state_;
};

enum class Init { Uniform, Normal, Ones, Zeros };

// A parameter: its path (as a module would name it), its shape, and how it starts. Uniform(a) is
// U(-a, a), PyTorch's default for Linear (a = 1/sqrt(fan_in)); Normal(s) is N(0, s^2).
struct ParamSpec {
  std::string name;
  std::vector<std::int64_t> shape;
  Init init = Init::Zeros;
  float scale = 0;
};

enum class Kind { Tiny, Mlp, Ctrans, Gpt };

struct Workload {
  std::string name;
  Kind kind;
  double lr = 0;
  std::int64_t B = 0;                 // batch
  std::int64_t in = 0, hidden = 0, out = 0;  // tiny and mlp: in -> hidden -> out
  std::int64_t T = 0, C = 0, H = 0, F = 0, V = 0, K = 0, depth = 0;  // transformers
  bool causal = false;
  std::vector<ParamSpec> params;      // in the order both sides create them
};

// One batch. tiny: x [B, in] and y [B, 1] (float). mlp: x [B, in] and labels [B]. ctrans: ids [B, T]
// and labels [B]. gpt: ids [B, T] and next-token targets [B, T].
struct Batch {
  std::vector<float> x, y;
  std::vector<std::int64_t> ids, labels;
};

inline constexpr int kBatches = 4;  // each step trains on batch (step % kBatches)

inline std::vector<ParamSpec> linear_params(const std::string& name, std::int64_t in, std::int64_t out, bool bias) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  std::vector<ParamSpec> p{{name + ".weight", {out, in}, Init::Uniform, bound}};
  if (bias) p.push_back({name + ".bias", {out}, Init::Uniform, bound});
  return p;
}

inline void append(std::vector<ParamSpec>& to, const std::vector<ParamSpec>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// Embedding, learned positions, `depth` post-norm blocks (attention: q, k, v Linear without bias, out
// Linear with bias; feed-forward C -> F -> ReLU -> C), then the head Linear C -> K.
inline std::vector<ParamSpec> transformer_params(const Workload& w) {
  std::vector<ParamSpec> p{{"tok_emb", {w.V, w.C}, Init::Normal, 1.0f}, {"pos_emb", {w.T, w.C}, Init::Normal, 1.0f}};
  for (std::int64_t i = 0; i < w.depth; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    append(p, linear_params(b + "attn.query", w.C, w.C, false));
    append(p, linear_params(b + "attn.key", w.C, w.C, false));
    append(p, linear_params(b + "attn.value", w.C, w.C, false));
    append(p, linear_params(b + "attn.out", w.C, w.C, true));
    p.push_back({b + "norm1.weight", {w.C}, Init::Ones, 0});
    p.push_back({b + "norm1.bias", {w.C}, Init::Zeros, 0});
    append(p, linear_params(b + "ff.0", w.C, w.F, true));
    append(p, linear_params(b + "ff.2", w.F, w.C, true));
    p.push_back({b + "norm2.weight", {w.C}, Init::Ones, 0});
    p.push_back({b + "norm2.bias", {w.C}, Init::Zeros, 0});
  }
  append(p, linear_params("head", w.C, w.K, true));
  return p;
}

inline std::vector<Workload> make_workloads() {
  std::vector<Workload> all;
  {  // batch 16, 2 -> 16 -> tanh -> 16 -> tanh -> 1, MSE, SGD lr 0.1
    Workload w{.name = "tiny", .kind = Kind::Tiny, .lr = 0.1, .B = 16, .in = 2, .hidden = 16, .out = 1, .params = {}};
    append(w.params, linear_params("l1", 2, 16, true));
    append(w.params, linear_params("l2", 16, 16, true));
    append(w.params, linear_params("l3", 16, 1, true));
    all.push_back(w);
  }
  {  // batch 64, 784 -> 256 -> ReLU -> 10, cross-entropy, SGD lr 0.1
    Workload w{.name = "mlp", .kind = Kind::Mlp, .lr = 0.1, .B = 64, .in = 784, .hidden = 256, .out = 10, .params = {}};
    append(w.params, linear_params("l1", 784, 256, true));
    append(w.params, linear_params("l2", 256, 10, true));
    all.push_back(w);
  }
  {  // classifier: vocab 256, width 128, 4 heads, 2 blocks, seq 64, batch 32, mean pool, -> 2, SGD lr 0.01
    Workload w{.name = "ctrans", .kind = Kind::Ctrans, .lr = 0.01, .B = 32,
               .T = 64, .C = 128, .H = 4, .F = 512, .V = 256, .K = 2, .depth = 2, .causal = false, .params = {}};
    w.params = transformer_params(w);
    all.push_back(w);
  }
  {  // the same blocks, causal, vocab 128, seq 128, batch 16, next-token loss at every position
    Workload w{.name = "gpt", .kind = Kind::Gpt, .lr = 0.01, .B = 16,
               .T = 128, .C = 128, .H = 4, .F = 512, .V = 128, .K = 128, .depth = 2, .causal = true, .params = {}};
    w.params = transformer_params(w);
    all.push_back(w);
  }
  return all;
}

inline const Workload& workload(std::string_view name) {
  static const std::vector<Workload> all = make_workloads();
  for (const Workload& w : all) {
    if (w.name == name) return w;
  }
  throw std::invalid_argument("unknown workload '" + std::string(name) + "' (tiny, mlp, ctrans, gpt)");
}

// A transformer workload at another sequence length T, batch B and number of heads H (0 keeps the
// workload's): the positions' table grows with T, every other parameter stays the same (the heads
// split the same width C). For the "long" sweep, and a larger head by hand (--heads 2: D = 64).
inline Workload resized(Workload w, std::int64_t T, std::int64_t B, std::int64_t H = 0) {
  if (T == 0 && B == 0 && H == 0) return w;
  if (w.kind != Kind::Ctrans && w.kind != Kind::Gpt) {
    throw std::invalid_argument("--T, --batch and --heads apply to the transformers (ctrans, gpt) only");
  }
  if (H > 0 && w.C % H != 0) throw std::invalid_argument("--heads must divide the width " + std::to_string(w.C));
  if (T > 0) w.T = T;
  if (B > 0) w.B = B;
  if (H > 0) w.H = H;
  w.params = transformer_params(w);
  return w;
}

inline std::int64_t numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

// A seed per workload and per parameter (or batch), so that adding a parameter does not shift the
// numbers of the others.
inline std::uint64_t seed_of(std::string_view text, std::uint64_t salt) {
  std::uint64_t h = 1469598103934665603ull ^ salt;  // FNV-1a
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

inline std::vector<float> initial_values(const Workload& w, const ParamSpec& p) {
  SplitMix64 gen(seed_of(w.name + "/" + p.name, 7));
  std::vector<float> v(static_cast<std::size_t>(numel(p.shape)));
  for (float& x : v) {
    switch (p.init) {
      case Init::Uniform: x = gen.uniform(-p.scale, p.scale); break;
      case Init::Normal: x = p.scale * gen.normal(); break;
      case Init::Ones: x = 1.0f; break;
      case Init::Zeros: x = 0.0f; break;
    }
  }
  return v;
}

// The data: learnable on purpose, so that a falling loss shows both sides train.
//   tiny    x uniform in [-1, 1]^2, y = x0 * x1
//   mlp     x uniform in [-1, 1)^784, label = which of 10 runs of 78 inputs has the largest sum
//   ctrans  ids uniform in [0, V), label 1 when more than half the tokens are below V / 2
//   gpt     each sequence steps forward by 1, 2 or 3 (mod V); targets are the inputs shifted by one
inline std::vector<Batch> make_batches(const Workload& w) {
  std::vector<Batch> batches(kBatches);
  for (int i = 0; i < kBatches; ++i) {
    SplitMix64 gen(seed_of(w.name + "/data", static_cast<std::uint64_t>(i)));
    Batch& b = batches[static_cast<std::size_t>(i)];
    switch (w.kind) {
      case Kind::Tiny:
        for (std::int64_t r = 0; r < w.B; ++r) {
          const float x0 = gen.uniform(-1, 1), x1 = gen.uniform(-1, 1);
          b.x.insert(b.x.end(), {x0, x1});
          b.y.push_back(x0 * x1);
        }
        break;
      case Kind::Mlp:
        for (std::int64_t r = 0; r < w.B; ++r) {
          std::vector<float> sums(static_cast<std::size_t>(w.out), 0.0f);
          for (std::int64_t j = 0; j < w.in; ++j) {
            b.x.push_back(gen.uniform(-1, 1));
            if (j / (w.in / w.out) < w.out) sums[static_cast<std::size_t>(j / (w.in / w.out))] += b.x.back();
          }
          b.labels.push_back(std::max_element(sums.begin(), sums.end()) - sums.begin());
        }
        break;
      case Kind::Ctrans:
        for (std::int64_t r = 0; r < w.B; ++r) {
          std::int64_t low = 0;
          for (std::int64_t t = 0; t < w.T; ++t) {
            b.ids.push_back(gen.below(w.V));
            low += b.ids.back() < w.V / 2;
          }
          b.labels.push_back(2 * low > w.T ? 1 : 0);
        }
        break;
      case Kind::Gpt:
        for (std::int64_t r = 0; r < w.B; ++r) {
          std::int64_t token = gen.below(w.V);
          for (std::int64_t t = 0; t < w.T; ++t) {
            b.ids.push_back(token);
            token = (token + 1 + gen.below(3)) % w.V;
            b.labels.push_back(token);
          }
        }
        break;
    }
  }
  return batches;
}

}  // namespace bench
