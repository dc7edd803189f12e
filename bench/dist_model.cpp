// dist_model: the cost model of docs/distributed.md, computed from the bench's "dist" section.
//
//   build/bench/bench/dist_model build/bench/results.json docs/images/dist_scaling.svg > model.md
//
// Inputs, all from results.json: the gpt step of 1 rank x 1 thread (compute per step, at the per-rank
// batch of 16 rows: its CPU time, which on a quiet machine is its wall time and on a busy one is not
// inflated by the others), the bytes DataParallel all-reduces per gpt step, and the MPI_Allreduce
// times on 2 ranks of this machine (the fastest repetition of each size: the one other programs
// delayed least). Assumptions, stated in the output: the networks' nominal link
// rates (10, 25, 100 Gbit/s), a per-message latency on them, and for a model with 10x gpt's parameters
// two cases: "10x dense" computes 10x as much per step (a step's FLOPs are about 6 x parameters x
// tokens: gpt's measured 5.84 GFLOP per step against 6 x 0.445M x 2048 tokens = 5.47), "10x sparse"
// computes as much as gpt (the extra parameters cost bytes but no FLOPs, as embedding rows do): the
// worst case.
//
// The model: a ring all-reduce of B bytes over N ranks sends 2(N-1) messages in sequence, each B/N
// bytes, so it takes
//   T_ar(N) = 2(N-1) alpha + 2(N-1)/N x B / bandwidth
// and a step at a fixed per-rank batch takes T_c + T_ar(N) (no overlap: the conservative case), so
//   efficiency(N) = T_c / (T_c + T_ar(N)).
// The check: on 2 ranks the model is t = 2 alpha + B / bandwidth, a line in B; alpha and the bandwidth
// of this machine's shared memory are fitted to all measured sizes by least squares on the relative
// error (weights 1 / t^2, so that 4 kB counts as much as 18 MB), and the model's time at each size
// is printed beside the measured one.
#include <cmath>
#include <cstdio>
#include <string>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <attograd/io/atomic_file.hpp>
#include <attograd/viz/svg.hpp>

using nlohmann::json;

namespace {

// Ring all-reduce time in seconds.
double ring_seconds(int ranks, double bytes, double alpha_s, double bytes_per_s) {
  const double n = ranks;
  return 2 * (n - 1) * alpha_s + 2 * (n - 1) / n * bytes / bytes_per_s;
}

constexpr double kNetworkLatencyS = 20e-6;  // assumed per message on an Ethernet network, TCP

// The section's rows as a Markdown table, as docs/distributed.md shows them.
void print_measured(const json& rows) {
  fmt::print("## Measured: steps per second at the same global batch (median of the runs)\n\n"
             "| workload | ranks x threads | overlap | buckets (size limit, MB) | steps/s | efficiency | wait | CPU ms/step | "
             "load at each run |\n|---|---|---|---|---:|---:|---:|---:|---|\n");
  for (const json& r : rows) {
    std::vector<std::string> loads;
    for (const json& l : r["load"]) loads.push_back(fmt::format("{:.1f}", l.get<double>()));
    const int ranks = r["ranks"];
    fmt::print("| {} | {} x {}{} | {} | {} ({}) | {:.2f} | {:.2f} | {:.1f}% | {:.1f} | {} |\n",
               r["workload"].get<std::string>(), ranks, r["threads_per_rank"].get<int>(),
               r["threads"] == "default" ? " (default)" : "", ranks == 1 ? "-" : r["overlap"].get<bool>() ? "yes" : "no",
               r["buckets"].get<int>(), r["bucket_mb"].get<double>(), r["steps_per_s"].get<double>(),
               r["efficiency"].get<double>(), 100 * r["allreduce_wait_share"].get<double>(), r["cpu_ms"].get<double>(),
               fmt::join(loads, ", "));
  }
  fmt::print("\n");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc != 3) throw std::invalid_argument("usage: dist_model RESULTS.json OUT.svg");
    const json results = json::parse(std::ifstream(argv[1]));
    double step_s = 0, bytes = 0;
    for (const json& r : results.at("dist")) {
      if (r["workload"] == "gpt" && r["ranks"] == 1 && r["threads_per_rank"] == 1) {
        step_s = r["cpu_ms"].get<double>() * 1e-3;
        bytes = r["allreduce_bytes"];
      }
    }
    print_measured(results.at("dist"));
    const json& measured = results.at("allreduce");
    if (step_s == 0 || measured.size() < 3) throw std::runtime_error("no gpt 1 x 1 row or too few allreduce rows: run ./dev bench dist");

    // t = c0 + c1 B (c0 = 2 alpha, c1 = 1 / bandwidth), weighted least squares: the 2x2 normal equations.
    double s00 = 0, s01 = 0, s11 = 0, r0 = 0, r1 = 0;
    for (const json& m : measured) {
      const double b = m["bytes"], t = m["min_us"].get<double>() * 1e-6, w = 1 / (t * t);
      s00 += w, s01 += w * b, s11 += w * b * b, r0 += w * t, r1 += w * b * t;
    }
    const double det = s00 * s11 - s01 * s01;
    const double alpha = (r0 * s11 - r1 * s01) / det / 2, bw = det / (s00 * r1 - s01 * r0);
    fmt::print("## The all-reduce term against MPI_Allreduce on this machine (2 ranks, shared memory)\n\n"
               "Fitted to all sizes (least squares on the relative error): alpha = {:.2f} us per message, bandwidth = "
               "{:.2f} GB/s.\n\n"
               "| bytes | measured, fastest of the repetitions (us) | model (us) | model / measured |\n|---:|---:|---:|---:|\n",
               alpha * 1e6, bw * 1e-9);
    for (const json& m : measured) {
      const double b = m["bytes"], t = m["min_us"].get<double>();
      const double model = ring_seconds(2, b, alpha, bw) * 1e6;
      fmt::print("| {:.0f} | {:.1f} | {:.1f} | {:.2f} |\n", b, t, model, model / t);
    }

    struct Model {
      std::string name;
      double compute_s, bytes;
    };
    const std::vector<Model> models{
        {"gpt", step_s, bytes}, {"10x dense", 10 * step_s, 10 * bytes}, {"10x sparse", step_s, 10 * bytes}};
    const std::vector<double> gbits{10, 25, 100};
    const std::vector<int> ranks{2, 4, 8, 16, 32, 64};
    fmt::print("\n## Projected scaling efficiency at a fixed per-rank batch (16 rows of 128 tokens)\n\n"
               "Compute per step: gpt {:.1f} ms (1 rank x 1 thread, CPU time measured), 10x dense {:.1f} ms (assumed 10x), 10x\n"
               "sparse {:.1f} ms (assumed gpt's); all-reduced per step: gpt {:.2f} MB, both 10x models {:.2f} MB;\n"
               "latency {:.0f} us per message (assumed); the networks' nominal link rates; one bucket per step; no\n"
               "overlap.\n\n| N |",
               step_s * 1e3, 10 * step_s * 1e3, step_s * 1e3, bytes * 1e-6, 10 * bytes * 1e-6, kNetworkLatencyS * 1e6);
    for (const Model& m : models) {
      for (double g : gbits) fmt::print(" {} {:.0f} Gbit/s |", m.name, g);
    }
    fmt::print("\n|---:|");
    for (std::size_t i = 0; i < models.size() * gbits.size(); ++i) fmt::print("---:|");
    fmt::print("\n");
    for (int n : ranks) {
      fmt::print("| {} |", n);
      for (const Model& m : models) {
        for (double g : gbits) {
          const double ar = ring_seconds(n, m.bytes, kNetworkLatencyS, g * 1e9 / 8);
          fmt::print(" {:.3f} |", m.compute_s / (m.compute_s + ar));
        }
      }
      fmt::print("\n");
    }
    // Where it stops paying: the shortest compute per step that keeps 0.85 at 64 ranks (T_ar <= 0.15/0.85 T_c).
    fmt::print("\nThe shortest compute per step that keeps an efficiency of 0.85 at 64 ranks:\n\n"
               "| network | gpt ({:.2f} MB) | 10x ({:.2f} MB) |\n|---|---:|---:|\n",
               bytes * 1e-6, 10 * bytes * 1e-6);
    for (double g : gbits) {
      fmt::print("| {:.0f} Gbit/s |", g);
      for (const Model& m : {models[0], models[1]}) {
        fmt::print(" {:.1f} ms |", ring_seconds(64, m.bytes, kNetworkLatencyS, g * 1e9 / 8) * 0.85 / 0.15 * 1e3);
      }
      fmt::print("\n");
    }

    std::vector<attograd::viz::Series> series;
    for (const Model& m : {models[0], models[2]}) {  // 10x dense lies on gpt's curves (the table)
      for (double g : gbits) {
        attograd::viz::Series s{fmt::format("{} {:.0f} Gbit/s", m.name, g), {}, {}};
        for (int n = 2; n <= 64; ++n) {
          s.x.push_back(n);
          s.y.push_back(m.compute_s / (m.compute_s + ring_seconds(n, m.bytes, kNetworkLatencyS, g * 1e9 / 8)));
        }
        series.push_back(std::move(s));
      }
    }
    attograd::io::write_file_atomically(
        argv[2], attograd::viz::line_chart(series, {.title = "projected efficiency at a fixed per-rank batch (ring all-reduce, no overlap)",
                                                    .x_label = "ranks N", .y_label = "efficiency", .width = 760}));
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dist_model: {}\n", e.what());
    return 1;
  }
}
