// examples/common.hpp: what every example program shares and a user's own program would not need from
// a library: the common flags, the output folder, checkpoints, and the shape of main().
//
//   int main(int argc, char** argv) {
//     CLI::App app{"XOR with a small MLP"};
//     examples::Flags flags{.steps = 1000, .lr = 0.05, .out = "runs/02_xor"};  // this example's defaults
//     examples::add_common_flags(app, flags);                                  // --seed --steps --lr ...
//     examples::add_checkpoint_flags(app, flags);  // --checkpoint-every --resume, when it wires a TrainingState
//     CLI11_PARSE(app, argc, argv);
//     auto report = examples::start_report(app, "02_xor");                     // out/report.html
//     return examples::run("02_xor", [&] { ...; examples::print_result({...}, seconds, out, &report); });
//   }
//
// The training pieces themselves (Batches, Progress, Curve, TrainingState, result_line, accuracy) are in
// the library, include/attograd/train/: a program of your own uses them the same way.
#pragma once

#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <attograd/attograd.hpp>
#ifdef ATTOGRAD_EXAMPLES_DIST
#include <attograd/dist/dist.hpp>
#endif

namespace examples {

struct Flags {
  std::uint64_t seed = 0;
  std::int64_t steps = 1000;
  double lr = 1e-3;
  // 0: attograd's default (OMP_NUM_THREADS, else one per core). Examples with small tensors default to 1:
  // their ops take microseconds, less than it costs to wake a second thread.
  int threads = 0;
  std::string out;  // the output folder, runs/<example> by default
  // Checkpoints (see checkpoint_path): every this many steps (0: never); --resume continues from the
  // last one; --stop-after ends the run after that step without saving, as a kill would.
  std::int64_t checkpoint_every = 0;
  bool resume = false;
  std::int64_t stop_after = 0;
};

// Flag checks with short messages ("--lr: must be > 0, got -1"); CLI11's own PositiveNumber prints the
// largest double in full.
inline CLI::Validator above(double low) {
  return CLI::Validator(
      [low](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !(v > low)) return fmt::format("must be > {}, got {}", low, text);
        return {};
      },
      fmt::format("> {}", low));
}
inline CLI::Validator at_least(double low) {
  return CLI::Validator(
      [low](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !(v >= low)) return fmt::format("must be >= {}, got {}", low, text);
        return {};
      },
      fmt::format(">= {}", low));
}

// Adds --seed, --steps, --lr, --threads and --out to app; the values already in flags are the defaults
// that --help shows.
inline void add_common_flags(CLI::App& app, Flags& flags) {
  app.add_option("--seed", flags.seed, "seed of every random choice: the same seed gives the same numbers")
      ->capture_default_str();
  app.add_option("--steps", flags.steps, "number of training steps")->capture_default_str()->check(above(0));
  app.add_option("--lr", flags.lr, "learning rate")->capture_default_str()->check(above(0));
  app.add_option("--threads", flags.threads, "most threads of the numeric kernels (0: the library default, the cores other programs leave free)")
      ->capture_default_str()
      ->check(at_least(0));
  app.add_option("--out", flags.out, "folder for the curve (curve.csv, curve.svg) and the pictures")
      ->capture_default_str();
}

// --checkpoint-every, --resume and --stop-after, for the examples that wire a train::TrainingState
// through resume() and after_step() below.
inline void add_checkpoint_flags(CLI::App& app, Flags& flags) {
  app.add_option("--checkpoint-every", flags.checkpoint_every,
                 "save the whole training state to <out>/checkpoint.safetensors every N steps (0: never)")
      ->capture_default_str()
      ->check(at_least(0));
  app.add_flag("--resume", flags.resume,
               "continue from <out>/checkpoint.safetensors: the same curve, bit for bit, as a run that never "
               "stopped (give the same flags)");
  app.add_option("--stop-after", flags.stop_after, "end the run after this step without saving, as if killed "
                                                   "(to try --resume; 0: run every step)")
      ->capture_default_str()
      ->check(at_least(0));
}

// The settings a run's numbers depend on, for the checkpoint's config: resuming with other ones is
// refused, since the run would not continue the same way. `more` is the example's own, and "steps=N"
// when a schedule depends on --steps (otherwise a resumed run may go on for more steps).
inline std::string config(const Flags& flags, const std::string& more) {
  return fmt::format("seed={} lr={} threads={} {}", flags.seed, flags.lr, flags.threads, more);
}

inline std::filesystem::path checkpoint_path(const std::filesystem::path& out) {
  return out / "checkpoint.safetensors";
}

// With --resume, loads the checkpoint into state and returns the steps it holds; otherwise 0.
inline std::int64_t resume(const Flags& flags, const std::filesystem::path& out,
                           const attograd::train::TrainingState& state) {
  if (!flags.resume) return 0;
  const auto path = checkpoint_path(out);
  if (!std::filesystem::exists(path)) {
    throw attograd::IoError(fmt::format("--resume: there is no checkpoint '{}' (save one with --checkpoint-every N)",
                                        path.string()));
  }
  const std::int64_t done = attograd::train::load_training_state(path, state);
  fmt::print("resumed from '{}' after step {}\n", path.string(), done);
  return done;
}

// Call after each step: saves a checkpoint every --checkpoint-every steps (rank 0 alone: every rank
// holds the same state), and returns true when the run should end here (--stop-after).
inline bool after_step(const Flags& flags, const std::filesystem::path& out,
                       const attograd::train::TrainingState& state, std::int64_t step, bool root = true) {
  if (root && flags.checkpoint_every > 0 && step % flags.checkpoint_every == 0) {
    attograd::train::save_training_state(checkpoint_path(out), state, step);
  }
  if (step == flags.stop_after) {
    fmt::print("stopped after step {} (--stop-after); continue with --resume\n", step);
    return true;
  }
  return false;
}

// Data parallelism for the examples that offer it (07, 08; docs/distributed.md). Started with
// `mpirun -n N`, every rank draws the same batches (the same seed), trains on its own rows of each, and
// the gradients are averaged across ranks during backward. Started alone, or built without MPI, it is a
// world of one, and the run is the one it always was, bit for bit.
//
//   examples::Ranks ranks;            // first: only rank 0 keeps stdout
//   ranks.data_parallel(model);       // after building the model
//   auto [x, y] = ranks.shard(batches.next2());
//   double loss = ranks.average(L.item());
//   ranks.finish();                   // after training: later backward passes exchange nothing
class Ranks {
 public:
#ifdef ATTOGRAD_EXAMPLES_DIST
  Ranks() {
    // Every print of an example is then rank 0's; errors still reach stderr from any rank.
    if (!comm_.is_root() && std::freopen("/dev/null", "w", stdout) == nullptr) {
      throw std::runtime_error("cannot silence stdout on rank " + std::to_string(comm_.rank()));
    }
  }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  // Rank 0's parameters everywhere, and from now on each backward() averages the gradients.
  void data_parallel(attograd::nn::Module& model) {
    attograd::dist::broadcast(comm_, model);
    ddp_ = std::make_unique<attograd::dist::DataParallel>(comm_, model);
  }
  // This rank's rows of a global batch.
  std::pair<attograd::Tensor, attograd::Tensor> shard(const std::pair<attograd::Tensor, attograd::Tensor>& batch) {
    return ddp_->shard2(batch.first, batch.second);
  }
  // The global batch's loss, from each rank's.
  double average(double local_loss) const { return ddp_->average(local_loss); }
  // The end of the data-parallel training: from here on each rank's backward passes are its own (rank
  // 0's for the report's gradient pictures), where one on rank 0 alone would wait for the others forever.
  void finish() { ddp_.reset(); }

 private:
  attograd::dist::Communicator comm_;
  std::unique_ptr<attograd::dist::DataParallel> ddp_;
#else
  int rank() const { return 0; }
  int size() const { return 1; }
  void data_parallel(attograd::nn::Module&) {}
  std::pair<attograd::Tensor, attograd::Tensor> shard(std::pair<attograd::Tensor, attograd::Tensor> batch) { return batch; }
  double average(double local_loss) const { return local_loss; }
  void finish() {}
#endif

 public:
  bool root() const { return rank() == 0; }
};

// Applies --threads and creates the output folder; returns the folder.
inline std::filesystem::path start(const Flags& flags) {
  if (flags.threads > 0) attograd::set_num_threads(flags.threads);
  const std::filesystem::path out = flags.out;
  std::filesystem::create_directories(out);
  return out;
}

// A run's report (attograd/train/run_report.hpp), begun with the value of every flag, defaults
// included, as its settings. print_result writes it to out/report.html at the end.
inline attograd::train::RunReport start_report(const CLI::App& app, const std::string& title) {
  attograd::train::RunReport report(title);
  // CLI11 writes the flags as a config file: one `name=value` a line, strings in quotes.
  std::istringstream lines(app.config_to_str(true, false));
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos || line.starts_with('#') || line.starts_with('[')) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    report.setting("--" + line.substr(0, eq), value);
  }
  return report;
}

// Writes the training curve as out/curve.csv and out/curve.svg (one line per column after the first),
// and puts the chart in the report when one is given. The y axis is named y_label, or "value".
inline void write_curve(const attograd::train::Curve& curve, const std::filesystem::path& out, const std::string& title,
                        bool log_y = true, attograd::train::RunReport* report = nullptr, const std::string& y_label = "") {
  const attograd::viz::ChartOptions chart{.title = title, .y_label = y_label, .log_y = log_y};
  curve.write_csv(out / "curve.csv");
  curve.write_svg(out / "curve.svg", chart);
  if (report != nullptr) report->curve(curve, chart);
}

// Prints the last line of every example: the example's own fields, then seconds (the training time)
// and out (the output folder). Scripts and the golden-run tests read it. With a report, also writes
// out/report.html, with this line and the training time in it.
inline void print_result(std::vector<std::pair<std::string, std::string>> fields, double seconds,
                         const std::filesystem::path& out, attograd::train::RunReport* report = nullptr) {
  fields.emplace_back("seconds", fmt::format("{:.{}f}", seconds, seconds < 10 ? 3 : 1));
  fields.emplace_back("out", out.string());
  const std::string line = attograd::train::result_line(fields);
  if (report != nullptr) report->result(line).timing("training", seconds).write(out / "report.html");
  fmt::print("{}\n", line);
}

// Runs an example's body; an exception (a NaN loss, a bad flag value found late, a file that cannot be
// written) becomes one line on stderr and exit status 1 instead of a crash. With several ranks, one
// rank's exception ends them all (dist::run_or_abort), with that rank's message.
template <class Body>
int run(const char* example, Body&& body) {
#ifdef ATTOGRAD_EXAMPLES_DIST
  return attograd::dist::run_or_abort([&]() -> int {
    try {
      body();
      return 0;
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}: error: {}", example, e.what()));
    }
  });
#else
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", example, e.what());
    return 1;
  }
#endif
}

}  // namespace examples
