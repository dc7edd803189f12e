#include "attograd/train/progress.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <unistd.h>

#include "attograd/core/errors.hpp"

namespace attograd::train {

namespace {

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<std::int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

}  // namespace

std::string loss_text(double loss) {
  if (loss == 0.0 || !std::isfinite(loss)) return fmt::format("{}", loss);
  const double magnitude = std::floor(std::log10(std::abs(loss)));
  // Four decimals while they show three significant digits (0.2627, 0.0463), more below (0.00460),
  // and scientific notation for the very small (1.2e-07): never "0.0000" for a loss that is not zero.
  if (magnitude < -5) return fmt::format("{:.2e}", loss);
  return fmt::format("{:.{}f}", loss, std::max(4, static_cast<int>(2 - magnitude)));
}

Progress::Progress(std::int64_t total, ProgressOptions options)
    : total_(total), options_(std::move(options)), start_(std::chrono::steady_clock::now()), last_draw_(start_) {
  if (total < 1) throw ValueError(fmt::format("Progress: total must be >= 1, got {}", total));
  if (options_.out == nullptr) throw ValueError("Progress: out must be a stream");
  bar_ = !options_.force_plain && isatty(fileno(options_.out)) == 1;
  next_plain_ = std::max<std::int64_t>(1, total_ / std::max(1, options_.plain_lines));
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::status(std::int64_t step, double loss, const std::string& extra) const {
  const double seconds = elapsed();
  const double rate = seconds > 0 ? static_cast<double>(step) / seconds : 0.0;
  const double left = rate > 0 ? static_cast<double>(total_ - step) / rate : NAN;
  return fmt::format("{}/{} loss {}{}{} | {:.1f} {}/s | {} left", step, total_, loss_text(loss), extra.empty() ? "" : " ", extra,
                     rate, options_.unit, duration(left));
}

void Progress::update(std::int64_t step, double loss, const std::string& extra) {
  if (options_.rank != 0) return;  // the other ranks of a data-parallel run stay quiet
  step = std::clamp<std::int64_t>(step, 0, total_);
  const auto now = std::chrono::steady_clock::now();
  if (bar_) {
    // Redraw at most 20 times a second, and always at the end.
    if (step != total_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
    last_draw_ = now;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * step / total_);
    fmt::print(options_.out, "\r\033[K{}{}[{}{}] {}", options_.label, options_.label.empty() ? "" : " ",
               std::string(static_cast<std::size_t>(filled), '#'), std::string(static_cast<std::size_t>(kWidth - filled), '.'),
               status(step, loss, extra));
    open_line_ = true;
  } else if (step >= next_plain_ || step == total_) {
    while (next_plain_ <= step) next_plain_ += std::max<std::int64_t>(1, total_ / std::max(1, options_.plain_lines));
    fmt::print(options_.out, "{}{}step {}\n", options_.label, options_.label.empty() ? "" : ": ", status(step, loss, extra));
  }
  std::fflush(options_.out);
}

void Progress::finish() {
  if (options_.rank != 0) return;
  if (open_line_) fmt::print(options_.out, "\n");
  open_line_ = false;
  std::fflush(options_.out);
}

}  // namespace attograd::train
