// Where fused_attention starts to pay: its forward + backward against the composite's (matmul, scaled
// masked softmax, matmul, which stores the [N, T, T] weights), per sequence length T, head size D and
// batch x heads N. scaled_dot_product_attention runs the composite below the length this measures
// (kFusedAttentionMinKeys, lib/ops/attention_checks.hpp; docs/performance.md, "Long sequences").
//
//   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DATTOGRAD_BUILD_BENCH=ON
//   cmake --build build/bench --target attention_crossover
//   build/bench/bench/attention_crossover [--reps 7] [--threads 1] [--dims 16,32,64]
//                                         [--lengths 32,64,96,128,192,256] [--tokens 2048,8192]
//                                         [--mask causal|none]
//
// q, k, v are what the attention modules hand over: [B, T, H, D] projections viewed as [B, H, T, D]
// (H = 4, N = B·H = tokens / T), not contiguous. One rep: the op, then backward from a fixed dY
// (sum(Y ∘ dY)), both under the graph as in training. The two paths run by turns, A B A B, --reps
// times each, in this one process; the table gives each one's median and the ratio fused / composite
// of each pair (median, and min .. max: the spread a loaded machine puts on it).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <attograd/attograd.hpp>

#include "common/step_program.hpp"
#include "common/sweep.hpp"

using namespace attograd;
using Clock = std::chrono::steady_clock;

namespace {

struct Inputs {
  Tensor q, k, v, dy, mask;
};

// [B, T, H, D] seen as [B, H, T, D], as MultiHeadSelfAttention splits its heads.
Tensor heads_view(std::int64_t B, std::int64_t T, std::int64_t H, std::int64_t D, Generator& gen) {
  return randn({B, T, H, D}, gen).transpose(1, 2).requires_grad_();
}

double seconds_of(const Inputs& in, bool fused) {
  for (Tensor t : {in.q, in.k, in.v}) t.zero_grad();  // a handle: drops the shared gradient
  const auto t0 = Clock::now();
  const Tensor y = fused ? fused_attention(in.q, in.k, in.v, in.mask)
                         : scaled_dot_product_attention_with_weights(in.q, in.k, in.v, in.mask).output;
  sum(y * in.dy).backward();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  bench::SweepFlags flags{.threads = {1}, .dims = {16, 32, 64}, .lengths = {32, 64, 96, 128, 192, 256}, .tokens = {2048, 8192}};
  if (!bench::parse_sweep_flags(argc, argv, flags, true)) return 2;
  const auto& [reps, threads, dims, lengths, tokens, causal] = flags;
  constexpr std::int64_t H = 4;
  fmt::print("attention forward + backward, float32, H = 4, {} mask, {} pairs A B per row; load average {} at the "
             "start\n{:>3} {:>3} {:>5} {:>5} {:>10} {:>12} {:>9} {:>16}\n",
             causal ? "causal" : "no", reps, bench::load_average(), "thr", "D", "T", "N", "fused ms", "composite ms",
             "fus/comp", "min .. max");
  for (const std::int64_t thr : threads) {
    set_num_threads(static_cast<int>(thr));
    for (const std::int64_t n_tokens : tokens) {
      for (const std::int64_t D : dims) {
        for (const std::int64_t T : lengths) {
          const std::int64_t B = std::max<std::int64_t>(1, n_tokens / (T * H));
          Generator gen(3);
          Inputs in{heads_view(B, T, H, D, gen), heads_view(B, T, H, D, gen), heads_view(B, T, H, D, gen),
                    randn({B, H, T, D}, gen), causal ? causal_mask(T) : Tensor()};
          seconds_of(in, true), seconds_of(in, false);  // warm-up: the storage cache, oneDNN's primitives
          std::vector<double> fused, composite, ratio;
          for (int r = 0; r < reps; ++r) {
            fused.push_back(seconds_of(in, true));
            composite.push_back(seconds_of(in, false));
            ratio.push_back(fused.back() / composite.back());
          }
          fmt::print("{:>3} {:>3} {:>5} {:>5} {:>10.3f} {:>12.3f} {:>9.3f} {:>7.3f} .. {:<6.3f}\n", thr, D, T, B * H,
                     1e3 * bench::median(fused), 1e3 * bench::median(composite), bench::median(ratio),
                     *std::min_element(ratio.begin(), ratio.end()), *std::max_element(ratio.begin(), ratio.end()));
          std::fflush(stdout);
        }
      }
    }
  }
  fmt::print("load average {} at the end\n", bench::load_average());
  return 0;
}
