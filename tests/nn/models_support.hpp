// Helpers for the model and sampling tests: a repeating token sequence that takes two tokens of context
// to continue, and a small LanguageModel trained on it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <attograd/attograd.hpp>

namespace attograd::testing {

// 0 1 2 0 2 1 0 1 2 0 2 1 ...: the token after a 0 is 1 or 2 depending on the token before that 0,
// so a bigram table cannot continue it; attention to the previous position can.
inline constexpr std::int64_t kCycle[] = {0, 1, 2, 0, 2, 1};
inline constexpr std::int64_t kPeriod = 6;

inline std::int64_t cycle_at(std::int64_t i) { return kCycle[i % kPeriod]; }

// The sequence from position start, n tokens: int64 [n].
inline Tensor cycle_tokens(std::int64_t start, std::int64_t n) {
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < n; ++i) ids.push_back(cycle_at(start + i));
  return tensor_of<std::int64_t>(ids, {n});
}

// Windows of T + 1 tokens starting at each of the kPeriod phases: inputs [kPeriod, T], next-token
// targets [kPeriod, T] (the inputs shifted by one).
struct CycleBatch {
  Tensor inputs, targets;
};
inline CycleBatch cycle_batch(std::int64_t T) {
  std::vector<Tensor> in, out;
  for (std::int64_t s = 0; s < kPeriod; ++s) {
    in.push_back(cycle_tokens(s, T));
    out.push_back(cycle_tokens(s + 1, T));
  }
  return {stack(in, 0), stack(out, 0)};
}

// Trains lm with Adam on every window of the cycle, for the predictions at positions 1..T-1 (at
// position 0 a 0 has no token before it: what follows is a coin toss). Returns the last loss.
inline double train_on_cycle(nn::LanguageModel& lm, int steps) {
  const std::int64_t T = lm.max_len();
  const CycleBatch batch = cycle_batch(T);
  const Tensor targets = batch.targets.narrow(1, 1, T - 1);
  optim::Adam opt(lm.parameters(), {.lr = 1e-2});
  double loss_value = 0.0;
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    const Tensor logits = lm(batch.inputs).narrow(1, 1, T - 1);  // [6, T-1, 3]
    const Tensor loss = cross_entropy(logits, targets);
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  return loss_value;
}

// A LanguageModel for the cycle: vocab 3, emb 16, 2 heads, 1 block, max_len 8.
inline std::unique_ptr<nn::LanguageModel> make_cycle_model(Generator& gen, nn::NormOrder order = nn::NormOrder::PreNorm) {
  return std::make_unique<nn::LanguageModel>(3, 16, 2, 1, 8, nn::LanguageModelOptions{.order = order, .generator = &gen});
}

}  // namespace attograd::testing
