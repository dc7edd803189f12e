/// \file
/// Showing a training run's progress.
///
/// \code
/// Progress progress(steps, {.label = "07_sort"});
/// for (int step = 1; step <= steps; ++step) {
///   ...
///   progress.update(step, loss.item());
/// }
/// progress.finish();
/// \endcode
///
/// On a terminal it draws a bar on one line with step, loss, throughput and time left; otherwise (a
/// log, a pipe, CI) it prints a plain line every so often, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace attograd::train {

/// A loss as the progress line prints it: four decimals (0.2627), more for a small loss so that three
/// significant digits show (0.00460), scientific below 1e-5 (1.23e-07); "0" only for zero.
std::string loss_text(double loss);

/// Options of Progress.
struct ProgressOptions {
  std::string label;  ///< shown before the bar: the run's name
  std::FILE* out = stdout;  ///< where it prints
  int plain_lines = 10;         ///< how many lines a plain (non-terminal) run prints in all
  bool force_plain = false;     ///< plain lines even on a terminal
  std::string unit = "steps";   ///< what one update counts
  /// In data-parallel training (docs/distributed.md), this process's rank: only rank 0 prints. A plain
  /// number, so that train/ needs nothing from dist/.
  int rank = 0;
};

/// A progress bar on a terminal, plain lines elsewhere (see this file's description).
class Progress {
 public:
  /// `total` steps (or units) make 100%
  explicit Progress(std::int64_t total, ProgressOptions options = {});
  /// Reports that `step` of `total` is done with this loss. `extra` is appended (e.g. "acc 0.93").
  void update(std::int64_t step, double loss, const std::string& extra = {});
  /// Ends the bar's line (on a terminal) and prints nothing else.
  void finish();
  /// Seconds since construction.
  double elapsed() const;
  /// Whether it draws a bar (true) or prints plain lines (false).
  bool is_bar() const { return bar_; }

 private:
  std::string status(std::int64_t step, double loss, const std::string& extra) const;

  std::int64_t total_;
  ProgressOptions options_;
  bool bar_;
  bool open_line_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::int64_t next_plain_ = 0;
};

}  // namespace attograd::train
