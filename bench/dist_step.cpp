// bench_dist: data-parallel training steps of a bench workload on the ranks mpirun started, and the
// time of a plain MPI_Allreduce of given sizes; rank 0 prints one line of JSON. The driver's "dist"
// section (bench/dist.hpp) runs it.
//
//   mpirun -n 2 bench_dist gpt --threads 1 --warmup 2 --steps 10 --bucket-mb 0.25 [--no-overlap]
//   -> {"workload": "gpt", "ranks": 2, "threads_per_rank": 1, "steps_per_s": ..., ...}
//   mpirun -n 2 bench_dist --allreduce 4096,1780000 --reps 30
//   -> {"ranks": 2, "bytes": 4096, "median_us": ...}   (one line per size)
//
// A step is the one of bench_attograd (zero_grad, forward, loss, backward, SGD step) on this rank's
// rows of the workload's global batch (its B rows split by dist::shard_rows), with the gradients
// averaged by dist::DataParallel. --threads 0 leaves the library's default (under mpirun: the cores
// divided among the ranks on the node), which the line reports as threads_per_rank. cpu_ms is rank 0's
// CPU time per timed step, all its threads: for one rank of one thread, the step's time on a quiet
// machine, which other programs do not inflate (with two ranks it also counts MPI's polling).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <attograd/attograd.hpp>
#include <attograd/dist/dist.hpp>

#include "attograd_side/models.hpp"
#include "common/step_program.hpp"
#include "common/workloads.hpp"

using attograd::Tensor;
namespace dist = attograd::dist;

namespace {

struct Options {
  std::string workload;
  int threads = 1;
  std::int64_t warmup = 2, steps = 10;
  double bucket_mb = 25;
  bool overlap = true;
  std::vector<std::int64_t> allreduce_bytes;  // --allreduce: time these sizes instead of training
  int reps = 30;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&] {
      if (i + 1 >= argc) throw std::invalid_argument("missing value after " + flag);
      return std::string(argv[++i]);
    };
    if (flag == "--no-overlap") {
      o.overlap = false;
    } else if (flag == "--threads") {
      o.threads = std::stoi(value());
    } else if (flag == "--warmup") {
      o.warmup = std::stoll(value());
    } else if (flag == "--steps") {
      o.steps = std::stoll(value());
    } else if (flag == "--bucket-mb") {
      o.bucket_mb = std::stod(value());
    } else if (flag == "--reps") {
      o.reps = std::stoi(value());
    } else if (flag == "--allreduce") {
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');) o.allreduce_bytes.push_back(std::stoll(item));
    } else if (!flag.starts_with("--") && o.workload.empty()) {
      o.workload = flag;
    } else {
      throw std::invalid_argument("unknown option " + flag);
    }
  }
  if (o.workload.empty() == o.allreduce_bytes.empty()) {
    throw std::invalid_argument("usage: bench_dist WORKLOAD [--threads N] [--warmup N] [--steps N] [--bucket-mb X] "
                                "[--no-overlap] | bench_dist --allreduce BYTES,BYTES,... [--reps N]");
  }
  if (o.threads < 0 || o.warmup < 0 || o.steps < 1 || o.bucket_mb <= 0 || o.reps < 1) {
    throw std::invalid_argument("bad --threads/--warmup/--steps/--bucket-mb/--reps");
  }
  return o;
}

// The workload's parameters as one module, so that DataParallel can find them: the same tensors the
// model holds, registered under their paths with '_' for '.' (module names hold no dot).
struct Registered : attograd::nn::Module {
  explicit Registered(const bench::ag::Params& params) : Module("BenchParams") {
    for (const Tensor& p : params.all()) {
      std::string name = p.name();
      std::replace(name.begin(), name.end(), '.', '_');
      register_parameter(name, p);
    }
  }
};

Tensor int64s(const std::vector<std::int64_t>& values, attograd::Shape shape) {
  return attograd::tensor_of<std::int64_t>(values, shape);
}

void train(const dist::Communicator& comm, const Options& o) {
  using Clock = std::chrono::steady_clock;
  const bench::Workload& w = bench::workload(o.workload);
  if (w.kind != bench::Kind::Ctrans && w.kind != bench::Kind::Gpt) {
    throw std::invalid_argument("bench_dist trains ctrans or gpt");
  }
  const bench::ag::Params params(w);
  const bench::ag::Transformer model(params, w);
  Registered module(params);
  std::vector<Tensor> inputs, targets;
  for (const bench::Batch& b : bench::make_batches(w)) {
    inputs.push_back(int64s(b.ids, {w.B, w.T}));
    targets.push_back(w.kind == bench::Kind::Gpt ? int64s(b.labels, {w.B, w.T}) : int64s(b.labels, {w.B}));
  }
  // Every rank starts from the workload's initial values already; the broadcast checks the models agree.
  dist::broadcast(comm, module);
  dist::DataParallel ddp(comm, module,
                         {.bucket_bytes = static_cast<std::size_t>(o.bucket_mb * 1024 * 1024), .overlap = o.overlap});
  attograd::optim::SGD opt(params.all(), {.lr = w.lr});
  std::vector<double> step_ms;
  double timed_ms = 0, cpu_start_ms = 0;
  Tensor loss;
  for (std::int64_t i = 0; i < o.warmup + o.steps; ++i) {
    if (i == o.warmup) {
      comm.barrier();
      ddp.reset_stats();
      cpu_start_ms = bench::process_cpu_ms();
    }
    const auto t0 = Clock::now();
    const std::size_t b = static_cast<std::size_t>(i % bench::kBatches);
    auto [x, y] = ddp.shard2(inputs[b], targets[b]);
    opt.zero_grad();
    loss = model.loss(x, y);
    loss.backward();
    opt.step();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (i >= o.warmup) {
      step_ms.push_back(ms);
      timed_ms += ms;
    }
  }
  const double cpu_ms = (bench::process_cpu_ms() - cpu_start_ms) / static_cast<double>(o.steps);
  const dist::DataParallelStats s = ddp.stats();
  // The share of a step spent waiting on the all-reduce, averaged over the ranks.
  const double wait_share = comm.sum(s.wait_seconds * 1e3 / timed_ms) / comm.size();
  const double global_loss = ddp.average(loss.item<double>());
  const double median_ms = bench::median(step_ms);
  if (!comm.is_root()) return;
  fmt::print("{{\"workload\": \"{}\", \"ranks\": {}, \"threads_per_rank\": {}, \"overlap\": {}, \"bucket_mb\": {}, "
             "\"buckets\": {}, \"allreduce_bytes\": {}, \"global_batch\": {}, \"warmup\": {}, \"steps\": {}, "
             "\"median_ms\": {}, \"mean_ms\": {}, \"cpu_ms\": {}, \"steps_per_s\": {}, \"allreduce_wait_share\": {}, "
             "\"last_loss\": {}}}\n",
             w.name, comm.size(), attograd::num_threads(), o.overlap, o.bucket_mb, s.buckets, s.bytes, w.B, o.warmup,
             o.steps, bench::json_number(median_ms), bench::json_number(timed_ms / static_cast<double>(o.steps)),
             bench::json_number(cpu_ms),
             bench::json_number(1e3 / median_ms), bench::json_number(wait_share), bench::json_number(global_loss));
}

// A blocking MPI_Allreduce (float sum, in place, as DataParallel's buckets) of each size: after a
// barrier, timed on every rank; a repetition's time is the slowest rank's, the figure the median.
void time_allreduce(const dist::Communicator& comm, const Options& o) {
  for (const std::int64_t bytes : o.allreduce_bytes) {
    std::vector<float> buffer(static_cast<std::size_t>(std::max<std::int64_t>(1, bytes / 4)), 1.0f);
    const int count = static_cast<int>(buffer.size());
    std::vector<double> us;
    for (int r = -3; r < o.reps; ++r) {  // three untimed
      comm.barrier();
      const double t0 = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, buffer.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      double t = (MPI_Wtime() - t0) * 1e6;
      MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      if (r >= 0) us.push_back(t);
    }
    if (comm.is_root()) {
      fmt::print("{{\"ranks\": {}, \"bytes\": {}, \"reps\": {}, \"median_us\": {}, \"min_us\": {}}}\n", comm.size(),
                 4 * count, o.reps, bench::json_number(bench::median(us)),
                 bench::json_number(*std::min_element(us.begin(), us.end())));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return dist::run_or_abort([&] {
    const Options o = parse(argc, argv);
    if (o.threads > 0) attograd::set_num_threads(o.threads);
    dist::Communicator comm;
    if (o.allreduce_bytes.empty()) train(comm, o);
    else time_allreduce(comm, o);
    return 0;
  });
}
