// The bench's "long" section (issue 20): the gpt workload at sequence lengths T = 128, 256, 512, 1024,
//   (a) at constant tokens per step, batch = 2048 / T      (b) at batch 2
// each trained by attograd with its fused attention (--attention fused: no [B, H, T, T] tensor stored,
// at every T; by default T = 128 would take the composite, the faster there), by attograd with the
// composite that stores the weights (--attention unfused), and by LibTorch (whose
// gpt composes the same matmul, masked_fill, softmax, matmul). Every configuration runs in a process
// of its own, so that its peak RSS (VmHWM) is its own; one process per configuration and side, a few
// steps each, so that the whole sweep stays near a minute on two cores.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

struct LongConfig {
  std::filesystem::path bin;  // build/bench/bench
  std::string blas_dir;       // LibTorch's OpenBLAS (as the driver's other runs)
  int threads = 1;
  bool quick = false;         // fewer steps
};

// Rows {sweep: "a" | "b", T, batch, attograd_ms, attograd_rss_mb, attograd_unfused_ms,
// attograd_unfused_rss_mb, libtorch_ms, libtorch_rss_mb, threads}; ms = median step.
nlohmann::json run_long(const LongConfig& c);

// The table, the ratios at T = 1024 in (a) against the targets (RSS <= 0.2 x LibTorch's, time
// <= 0.7 x) and how each side's RSS grows across T.
void print_long(const nlohmann::json& rows);

}  // namespace bench
