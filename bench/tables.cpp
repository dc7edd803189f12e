// The driver's tables of the "runs", "bf16" and "matmul" sections, as docs/performance.md shows them.
#include "tables.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/step_program.hpp"

namespace bench {

using nlohmann::json;

double number(const json& j, const char* key) { return j.at(key).is_number() ? j.at(key).get<double>() : NAN; }

double relative_difference(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

bool is_transformer(const std::string& workload) { return workload == "ctrans" || workload == "gpt"; }

namespace {

// The targets for attograd time / LibTorch time.
double time_target(const std::string& workload, int threads) {
  if (workload == "tiny") return 0.2;
  if (workload == "mlp") return 0.6;
  return threads == 1 ? 0.6 : 0.5;
}

std::string verdict(bool ok) { return ok ? "ok" : "MISS"; }

// (max - min) / median of the per-process medians: how much the repetitions disagree.
double spread(const json& values) {
  std::vector<double> v = values.get<std::vector<double>>();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return (*hi - *lo) / median(v);
}

}  // namespace

void print_runs(const json& runs) {
  fmt::print("\nms per training step: median over the processes of each one's median step; spread = (max - min) /\n"
             "median of those; cpu = the processes' CPU time per step (all threads), which other programs on the\n"
             "machine do not inflate\n");
  fmt::print("{:<7}{:>3} {:>10} {:>10} {:>7} {:>7} {:>6} {:>5}   {:>9} {:>9} {:>7}\n", "work", "thr", "attograd",
             "libtorch", "spread", "ratio", "target", "", "ag cpu", "lt cpu", "ratio");
  for (const json& r : runs) {
    const std::string w = r["workload"];
    const int threads = r["threads"];
    const double ratio = r["ratio"], target = time_target(w, threads);
    fmt::print("{:<7}{:>3} {:>10.4f} {:>10.4f} {:>6.0f}% {:>7.3f} {:>6.2f} {:>5}   {:>9.4f} {:>9.4f} {:>7.3f}\n", w,
               threads, number(r, "attograd_ms"), number(r, "libtorch_ms"),
               100 * std::max(spread(r["attograd_ms_runs"]), spread(r["libtorch_ms_runs"])), ratio, target,
               verdict(ratio <= target), number(r, "attograd_cpu_ms"), number(r, "libtorch_cpu_ms"),
               number(r, "cpu_ratio"));
  }
  fmt::print("\npeak RSS (target: attograd <= 0.25 of LibTorch), attograd's step inside oneDNN's matmul kernels (target\n"
             ">= 75% for the transformers) and their rate there, loss after the same N steps from the same weights\n");
  fmt::print("{:<7}{:>3} {:>8} {:>8} {:>7} {:>5}   {:>8} {:>5} {:>8}   {}\n", "work", "thr", "ag MB", "lt MB", "ratio",
             "", "matmul%", "", "GFLOP/s", "loss: attograd / libtorch");
  for (const json& r : runs) {
    const std::string w = r["workload"];
    const double rss_ratio = number(r, "attograd_rss_mb") / number(r, "libtorch_rss_mb");
    const double share = r["attograd_matmul_share"];
    const bool transformer = is_transformer(w);
    fmt::print("{:<7}{:>3} {:>8.1f} {:>8.1f} {:>7.3f} {:>5}   {:>7.1f}% {:>5} {:>8.1f}   N={}: {:.7g} / {:.7g}\n", w,
               r["threads"].get<int>(), number(r, "attograd_rss_mb"), number(r, "libtorch_rss_mb"), rss_ratio,
               verdict(rss_ratio <= 0.25), 100 * share, transformer ? verdict(share >= 0.75) : "",
               number(r, "attograd_matmul_gflops_in_step"), r["steps"].get<int>(), number(r, "attograd_last_loss"),
               number(r, "libtorch_last_loss"));
  }
}

void print_bf16(const json& rows) {
  if (rows.empty()) return;
  fmt::print("\nattograd's bf16 mode (MatmulPrecision::BFloat16: bf16 matmul inputs, float32 sums and weights)\n"
             "against its float32 and LibTorch's: ms per step as above (wall, then CPU), the time inside oneDNN\n"
             "(the products, and in bf16 their conversions), the loss after the same N steps from the same weights\n");
  fmt::print("{:<7}{:>3} {:>9} {:>9} {:>6} {:>7}   {:>9} {:>9} {:>7} {:>9}   {:>7} {:>7}\n", "work", "thr", "f32",
             "bf16", "spread", "speedup", "f32 cpu", "bf16 cpu", "speedup", "bf16/lt", "f32 mm", "bf16 mm");
  for (const json& r : rows) {
    fmt::print("{:<7}{:>3} {:>9.4f} {:>9.4f} {:>5.0f}% {:>7.3f}   {:>9.4f} {:>9.4f} {:>7.3f} {:>9.3f}   "
               "{:>7.2f} {:>7.2f}\n",
               r["workload"].get<std::string>(), r["threads"].get<int>(), number(r, "f32_ms"), number(r, "bf16_ms"),
               100 * std::max(spread(r["f32_ms_runs"]), spread(r["bf16_ms_runs"])), number(r, "speedup"),
               number(r, "f32_cpu_ms"), number(r, "bf16_cpu_ms"), number(r, "cpu_speedup"),
               number(r, "bf16_vs_libtorch_cpu"), number(r, "f32_matmul_ms"), number(r, "bf16_matmul_ms"));
  }
  fmt::print("{:<7}{:>3} {:>5} {:>12} {:>12} {:>9}\n", "work", "thr", "N", "f32 loss", "bf16 loss", "rel diff");
  for (const json& r : rows) {
    const double f32_loss = number(r, "f32_loss"), bf16_loss = number(r, "bf16_loss");
    fmt::print("{:<7}{:>3} {:>5} {:>12.7g} {:>12.7g} {:>9.1e}\n", r["workload"].get<std::string>(),
               r["threads"].get<int>(), r["steps"].get<int>(), f32_loss, bf16_loss,
               relative_difference(bf16_loss, f32_loss));
  }
}

void print_matmul(const json& rows) {
  fmt::print("\nfloat32 [n, n]·[n, n] GFLOP/s, median batch (and fastest batch)\n{:>5} {:>4} {:>10} {:>10} {:>7} {:>5} "
             "{:>10} {:>10} {:>7}\n",
             "n", "thr", "attograd", "oneDNN", "ratio", "", "best ag", "best dnnl", "ratio");
  for (const json& r : rows) {
    fmt::print("{:>5} {:>4} {:>10.1f} {:>10.1f} {:>7.3f} {:>5} {:>10.1f} {:>10.1f} {:>7.3f}\n", r["n"].get<int>(),
               r["threads"].get<int>(), number(r, "attograd_gflops"), number(r, "onednn_gflops"), number(r, "ratio"),
               verdict(number(r, "ratio") >= 0.9), number(r, "attograd_best_gflops"), number(r, "onednn_best_gflops"),
               number(r, "best_ratio"));
  }
}

}  // namespace bench
