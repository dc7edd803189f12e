// Sampling from a LanguageModel: softmax(logits / temperature), optionally cut to the top k, drawn by
// inverting the cumulative distribution with one uniform number per row.
#include "attograd/nn/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/shape_ops.hpp"

namespace attograd::nn {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_options(const char* op, const SampleOptions& options) {
  if (!(std::isfinite(options.temperature) && options.temperature >= 0.0)) {
    throw ValueError(fmt::format("{}: temperature must be finite and >= 0 (0 takes the argmax), got {}", op,
                                 options.temperature));
  }
  if (options.top_k < 0) {
    throw ValueError(fmt::format("{}: top_k must be >= 0 (0 keeps every token), got {}", op, options.top_k));
  }
}

// The first index of the largest value.
std::int64_t argmax_of(const std::vector<double>& row) {
  return std::max_element(row.begin(), row.end()) - row.begin();
}

// One draw from p_i ∝ exp((l_i - max l) / temperature) over the kept tokens: the first i whose
// cumulative probability exceeds u·total (u uniform in [0, 1)).
std::int64_t draw(const std::vector<double>& row, const SampleOptions& options, Generator& gen) {
  const std::size_t V = row.size();
  // top_k: keep the logits at least as large as the k-th largest.
  double threshold = -kInf;
  if (options.top_k > 0 && static_cast<std::size_t>(options.top_k) < V) {
    std::vector<double> sorted = row;
    std::nth_element(sorted.begin(), sorted.begin() + (options.top_k - 1), sorted.end(), std::greater<>());
    threshold = sorted[static_cast<std::size_t>(options.top_k - 1)];
  }
  const double top = *std::max_element(row.begin(), row.end());
  // Subtracting the largest logit keeps every exponent <= 0: no overflow, however low the temperature.
  std::vector<double> p(V, 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < V; ++i) {
    if (row[i] >= threshold) p[i] = std::exp((row[i] - top) / options.temperature);
    total += p[i];
  }
  const double u = gen.uniform() * total;
  double cumulative = 0.0;
  std::int64_t last = argmax_of(row);  // rounding can leave u just above the final sum
  for (std::size_t i = 0; i < V; ++i) {
    if (p[i] == 0.0) continue;
    cumulative += p[i];
    last = static_cast<std::int64_t>(i);
    if (u < cumulative) return last;
  }
  return last;
}

// Puts a module's training mode back when sampling ends, also by an exception.
class ModeRestorer {
 public:
  explicit ModeRestorer(Module& m) : m_(m), was_training_(m.is_training()) {}
  ~ModeRestorer() { m_.train(was_training_); }
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;

 private:
  Module& m_;
  bool was_training_;
};

}  // namespace

Tensor next_token(const Tensor& logits, Generator& gen, const SampleOptions& options) {
  check_options("next_token", options);
  if ((logits.dim() != 1 && logits.dim() != 2) || logits.size(-1) == 0) {
    throw ShapeError(fmt::format("next_token: expected logits [V] or [B, V] with V >= 1, got shape {}", logits.shape()));
  }
  if (!logits.is_floating_point()) {
    throw DTypeError(fmt::format("next_token: expected floating-point logits, got {}; convert with .to(kFloat32)", logits.dtype()));
  }
  const std::int64_t V = logits.size(-1), B = logits.numel() / V;
  const std::vector<double> all = logits.to_vector<double>();
  std::vector<std::int64_t> picked;
  for (std::int64_t b = 0; b < B; ++b) {
    const std::vector<double> row(all.begin() + b * V, all.begin() + (b + 1) * V);
    for (std::int64_t i = 0; i < V; ++i) {
      if (std::isnan(row[i]) || row[i] == kInf) {
        throw ValueError(fmt::format("next_token: logit {} of row {} is {}: cannot make a distribution of it", i, b,
                                     row[i]));
      }
    }
    // Every logit -inf: every probability is 0/0, and draw() would return token 0 from NaNs.
    if (std::all_of(row.begin(), row.end(), [](double l) { return l == -kInf; })) {
      throw ValueError(fmt::format("next_token: every logit of row {} is -inf: no token has any probability", b));
    }
    const bool greedy = options.greedy || options.temperature == 0.0;
    picked.push_back(greedy ? argmax_of(row) : draw(row, options, gen));
  }
  return tensor_of<std::int64_t>(picked, logits.dim() == 2 ? Shape{B} : Shape{});
}

Tensor sample(LanguageModel& model, const Tensor& prompt, std::int64_t new_tokens, Generator& gen,
              const SampleOptions& options) {
  check_options("sample", options);
  if (new_tokens < 0) throw ValueError(fmt::format("sample: new_tokens must be >= 0, got {}", new_tokens));
  if (prompt.dtype() != kInt64) {
    throw DTypeError(fmt::format("sample: the prompt must be int64 token ids, got {}; convert with .to(kInt64)", prompt.dtype()));
  }
  if (prompt.dim() != 1 && prompt.dim() != 2) {
    throw ShapeError(fmt::format("sample: expected a prompt [T] or [B, T], got shape {}", prompt.shape()));
  }
  if (prompt.numel() == 0) {
    throw ValueError(fmt::format("sample: the prompt is empty (shape {}): there is nothing to continue",
                                 prompt.shape()));
  }
  const std::int64_t V = model.vocab_size();
  const std::vector<std::int64_t> given = prompt.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < given.size(); ++i) {
    if (given[i] < 0 || given[i] >= V) {
      throw IndexError(fmt::format("sample: prompt token {} (element {} of the prompt) is outside the vocabulary "
                                   "[0, {})",
                                   given[i], i, V));
    }
  }

  NoGradGuard no_grad;
  ModeRestorer restore(model);
  model.eval();
  Tensor ids = prompt.dim() == 2 ? prompt : prompt.unsqueeze(0);  // [B, T]
  for (std::int64_t step = 0; step < new_tokens; ++step) {
    // A model with learned positions has none past max_len: it sees the most recent max_len tokens.
    const std::int64_t T = ids.size(1), context = std::min(T, model.max_len());
    const Tensor logits = model(ids.narrow(1, T - context, context)).select(1, -1);  // [B, V], the last position
    const Tensor next = next_token(logits, gen, options);                           // [B]
    ids = cat({ids, next.unsqueeze(1)}, 1);
  }
  return prompt.dim() == 2 ? ids : ids.squeeze(0);
}

Tensor sample(LanguageModel& model, const Tensor& prompt, std::int64_t new_tokens, double temperature,
              Generator& gen) {
  return sample(model, prompt, new_tokens, gen, {.temperature = temperature});
}

}  // namespace attograd::nn
