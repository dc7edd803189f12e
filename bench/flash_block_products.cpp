// fused_attention's block products (issue 20: "on oneDNN or a kernel of our own, whichever measures
// faster"): the whole fused forward and backward, once with attograd's own product loops and once with
// every block product on a oneDNN matmul primitive, everything else the same code. The last column says
// which of the two the library picks for that head (oneDNN's from 64 dims).
//
//   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DATTOGRAD_BUILD_BENCH=ON
//   cmake --build build/bench --target flash_block_products
//   build/bench/bench/flash_block_products [--reps 7] [--threads 1,2] [--dims 16,32,64]
//                                          [--lengths 64,128,256,512,1024] [--mask causal|none]
//
// The kernel (lib/backend/flash_attention.cpp) takes its float32 products through one function
// (backend::FlashProductF32): C = (accumulate ? C : 0) + op(A)·B for the block shapes it works on,
// Q_blk·K_blkᵀ and P·V forward, Pᵀ·dO, dO·V_blkᵀ, dS·K and dSᵀ·Q backward. The library has both:
// backend::flash_product_ours (flash_products.hpp) and backend::flash_product_onednn
// (flash_onednn.hpp: a strict-float32, one-thread matmul primitive per shape and layout, kept per
// thread with its memory objects and stream, so that a call only points them at the block), and picks
// one by the head's size (flash_product_for); here each is passed in turn, to check that rule.
//
// q, k, v and dy are [N, T, D] with N·T = 8192 tokens (ctrans' 32 x 4 heads at T = 64, gpt's 16 x 4
// at T = 128). For each configuration the two versions run by turns, A B A B, --reps times each, in
// this one process; each rep is one forward plus one backward. The table gives the median time of each
// and the ratio oneDNN / ours of each pair: median, and min .. max over the pairs (the spread a loaded
// machine puts on it). The outputs of the two are compared too (largest difference relative to the
// largest value), so that a fast-but-wrong product would show.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <attograd/attograd.hpp>

#include "common/step_program.hpp"
#include "common/sweep.hpp"

#include "backend/flash_attention.hpp"
#include "backend/flash_onednn.hpp"
#include "backend/flash_products.hpp"

using namespace attograd;
using Clock = std::chrono::steady_clock;

namespace {

struct Inputs {
  Tensor q, k, v, dy, mask;
};

// One forward and one backward; returns their outputs (Y, dQ, dK, dV) for the comparison.
std::vector<Tensor> fused_step(const Inputs& in, backend::FlashProductF32 product) {
  const std::int64_t N = in.q.size(0), T = in.q.size(1), D = in.q.size(2);
  Tensor y = empty({N, T, D}), l = empty({N, T});
  const double c = 1.0 / std::sqrt(static_cast<double>(D));
  backend::flash_attention_forward(in.q, in.k, in.v, in.mask, c, y, l, product);
  Tensor dq = empty({N, T, D}), dk = empty({N, T, D}), dv = empty({N, T, D});
  backend::flash_attention_backward(in.q, in.k, in.v, in.mask, c, y, l, in.dy, dq, dk, dv, product);
  return {y, dq, dk, dv};
}

double seconds_of(const Inputs& in, backend::FlashProductF32 product) {
  const auto t0 = Clock::now();
  fused_step(in, product);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// max |a - b| / max |a| over all four outputs
double difference(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::vector<float> x = a[i].to_vector<float>(), y = b[i].to_vector<float>();
    for (std::size_t j = 0; j < x.size(); ++j) {
      diff = std::max(diff, static_cast<double>(std::abs(x[j] - y[j])));
      scale = std::max(scale, static_cast<double>(std::abs(x[j])));
    }
  }
  return diff / scale;
}

// oneDNN's names for the kernels of a head of D dims' full-block products (Q·Kᵀ and dO·Vᵀ; P·V and
// dS·K, adding into C; Pᵀ·dO and dSᵀ·Q, reading A transposed), into `names`.
void note_kernels(std::int64_t D, std::set<std::string>& names) {
  constexpr std::int64_t B = backend::kFlashBlockK;
  names.insert(backend::flash_onednn_plan(false, false, B, B, D, D, B, B).implementation);
  names.insert(backend::flash_onednn_plan(false, true, B, D, B, B, D, D).implementation);
  names.insert(backend::flash_onednn_plan(true, true, B, D, B, B, D, D).implementation);
}

}  // namespace

int main(int argc, char** argv) {
  bench::SweepFlags flags{.threads = {1, 2}, .dims = {16, 32, 64}, .lengths = {64, 128, 256, 512, 1024}, .tokens = {}};
  if (!bench::parse_sweep_flags(argc, argv, flags, false)) return 2;
  const auto& [reps, threads, dims, lengths, tokens, causal] = flags;
  fmt::print("fused attention forward + backward, float32, N x T = 8192 tokens, {} mask, {} pairs A B per row; "
             "load average {} at the start\n",
             causal ? "causal" : "no", reps, bench::load_average());
  // rule: the products the library picks for this head (backend::flash_product_for)
  fmt::print("{:>3} {:>3} {:>5} {:>5} {:>10} {:>10} {:>8} {:>16} {:>9} {:>6}\n", "thr", "D", "T", "N", "ours ms",
             "oneDNN ms", "dnnl/our", "min .. max", "rel diff", "rule");
  std::set<std::string> kernels;
  for (const std::int64_t thr : threads) {
    set_num_threads(static_cast<int>(thr));
    for (const std::int64_t D : dims) {
      for (const std::int64_t T : lengths) {
        const std::int64_t N = std::max<std::int64_t>(1, 8192 / T);
        Generator gen(7);
        const Inputs in{randn({N, T, D}, gen), randn({N, T, D}, gen), randn({N, T, D}, gen), randn({N, T, D}, gen),
                        causal ? causal_mask(T) : Tensor()};
        const double diff = difference(fused_step(in, backend::flash_product_ours),
                                       fused_step(in, backend::flash_product_onednn));  // and warm-up
        note_kernels(D, kernels);
        const bool rule_onednn = backend::flash_product_for(D, D) == backend::flash_product_onednn;
        std::vector<double> ours, dnnl, ratio;
        for (int r = 0; r < reps; ++r) {
          ours.push_back(seconds_of(in, backend::flash_product_ours));
          dnnl.push_back(seconds_of(in, backend::flash_product_onednn));
          ratio.push_back(dnnl.back() / ours.back());
        }
        fmt::print("{:>3} {:>3} {:>5} {:>5} {:>10.2f} {:>10.2f} {:>8.3f} {:>7.3f} .. {:<6.3f} {:>9.1e} {:>6}\n", thr, D,
                   T, N, 1e3 * bench::median(ours), 1e3 * bench::median(dnnl), bench::median(ratio),
                   *std::min_element(ratio.begin(), ratio.end()), *std::max_element(ratio.begin(), ratio.end()), diff,
                   rule_onednn ? "oneDNN" : "ours");
        std::fflush(stdout);
      }
    }
  }
  fmt::print("load average {} at the end; oneDNN's kernels: {}\n", bench::load_average(), fmt::join(kernels, ", "));
  return 0;
}
