// 09_data_parallel: one training run on several processes, and the numbers that show it is the same
// training as one process.
//
//   $ mpirun -n 2 build/release/examples/09_data_parallel    # two ranks (add --oversubscribe on a
//   $ build/release/examples/09_data_parallel                #   machine with fewer cores); or one
//
// The task: sequences of 8 tokens from {0, 1, 2, 3}; the class says which of the tokens 1 and 2 the
// sequence holds more of (0: more 1s, 1: more 2s, 2: as many). A small transformer classifier
// (nn::Classifier) learns it.
//
// Data parallelism (docs/distributed.md): every rank builds the same data and the same model from the
// same seed, and draws the same global batch of --batch sequences each step. Each rank computes the loss
// and the gradients of its own slice of that batch (DataParallel::shard2); during backward the
// gradients are averaged across ranks, weighted by each slice's rows, so every rank ends up with the
// gradient of the whole batch and takes the same optimiser step.
//
// The proof: rank 0 also trains a replica the way one process would, on the whole global batch, and
// prints both losses side by side. In float64 they agree to about 1e-15 relative (the sums are only
// grouped differently); after every step a hash of the parameters is compared across ranks, which must
// be bit for bit equal.
//
//   result: ranks=2 test_accuracy=... loss=... max_loss_rel_diff=... max_param_diff=... same_bits=1
//           same_training=yes seconds=... out=runs/09_data_parallel
#include <algorithm>
#include <cmath>
#include <optional>

#include <attograd/dist/dist.hpp>

#include "common.hpp"

using namespace attograd;

namespace {

constexpr std::int64_t kLength = 8, kVocab = 4;

// n sequences and their classes.
std::pair<Tensor, Tensor> make_data(std::int64_t n, Generator& gen) {
  std::vector<std::int64_t> ids, classes;
  for (std::int64_t i = 0; i < n; ++i) {
    int ones = 0, twos = 0;
    for (std::int64_t t = 0; t < kLength; ++t) {
      const auto token = static_cast<std::int64_t>(gen.below(kVocab));
      ones += token == 1;
      twos += token == 2;
      ids.push_back(token);
    }
    classes.push_back(ones > twos ? 0 : twos > ones ? 1 : 2);
  }
  return {tensor_of<std::int64_t>(ids, {n, kLength}), tensor_of<std::int64_t>(classes, {n})};
}

// Everything one training run needs, built from the seed alone: so the replica on rank 0 and every
// rank's run start from the same numbers.
struct Setup {
  Setup(std::uint64_t seed, DType dtype, double lr, std::int64_t batch)
      : gen(seed), model(kVocab, 16, 2, 1, kLength, 3, {.generator = &gen}) {
    std::tie(x, y) = make_data(2000, gen);
    std::tie(test_x, test_y) = make_data(500, gen);
    model.to(dtype);
    opt.emplace(model.parameters(), optim::AdamOptions{.lr = lr});
    batches.emplace(std::vector<Tensor>{x, y}, batch, gen);
  }

  // One step on the rows given; returns this process's loss of them.
  double step(const Tensor& xb, const Tensor& yb) {
    Tensor loss = cross_entropy(model(xb), yb);
    opt->zero_grad();
    loss.backward();  // with a DataParallel: returns with the gradients averaged over the ranks
    optim::clip_grad_norm(model.parameters(), 1.0);
    opt->step();
    return loss.item();
  }

  Generator gen;
  nn::Classifier model;
  Tensor x, y, test_x, test_y;
  std::optional<optim::Adam> opt;
  std::optional<train::Batches> batches;
};

// FNV-1a over the bytes of every parameter: two ranks print the same number only with the same bits.
std::string parameter_hash(const nn::Module& model) {
  std::uint64_t h = 14695981039346656037ull;
  for (const Tensor& p : model.parameters()) {
    const auto* bytes = static_cast<const unsigned char*>(p.impl()->storage->data()) +
                        static_cast<std::size_t>(p.offset()) * element_size(p.dtype());
    for (std::size_t i = 0; i < p.nbytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

double max_difference(const nn::Module& a, const nn::Module& b) {
  double worst = 0;
  const auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    const auto va = pa[i].to_vector<double>(), vb = pb[i].to_vector<double>();
    for (std::size_t k = 0; k < va.size(); ++k) worst = std::max(worst, std::abs(va[k] - vb[k]));
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"09_data_parallel: data-parallel training on MPI (run it with mpirun -n N), checked against one process"};
  examples::Flags flags{.steps = 300, .lr = 3e-3, .out = "runs/09_data_parallel"};
  examples::add_common_flags(app, flags);
  std::int64_t batch = 30;
  std::string dtype_name = "float64";
  bool check = true;
  app.add_option("--batch", batch, "sequences per global batch, split over the ranks")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--dtype", dtype_name, "float64 or float32")->capture_default_str()->check(CLI::IsMember({"float64", "float32"}));
  app.add_flag("--check,!--no-check", check, "rank 0 also trains a one-process replica and compares")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // run_or_abort: if any rank throws, every rank ends, with that rank's message (docs/distributed.md).
  return dist::run_or_abort([&] {
    dist::Communicator comm;
    // Rank 0 alone prints and writes files; the others only train.
    const bool root = comm.is_root();
    const auto out = root ? examples::start(flags) : std::filesystem::path(flags.out);
    if (!root && flags.threads > 0) set_num_threads(flags.threads);
    const DType dtype = dtype_name == "float64" ? kFloat64 : kFloat32;
    if (root) {
      const auto first = dist::shard_rows(batch, 0, comm.size()), last = dist::shard_rows(batch, comm.size() - 1, comm.size());
      // The threads: --threads, or the library's default, which under mpirun divides the node's cores
      // among its ranks.
      fmt::print("{} rank{}, global batch {} ({} to {} rows a rank), {}, {} thread{} a rank\n", comm.size(),
                 comm.size() == 1 ? "" : "s", batch, first.end - first.begin, last.end - last.begin, dtype,
                 num_threads(), num_threads() == 1 ? "" : "s");
    }

    Setup run(flags.seed, dtype, flags.lr, batch);
    dist::broadcast(comm, run.model);  // the same starting point on every rank: rank 0's
    std::optional<Setup> one;          // rank 0's replica, trained as one process would
    if (root && check) one.emplace(flags.seed, dtype, flags.lr, batch);
    // From here on, each backward() of run.model averages its gradients across the ranks. The
    // replica's backward reaches none of run.model's parameters, so it stays a one-process training.
    dist::DataParallel ddp(comm, run.model);

    train::Curve curve({"step", "loss", "one_process_loss"});
    double max_rel_diff = 0;
    bool same_bits = true;
    std::optional<train::Progress> progress;
    if (root) progress.emplace(flags.steps, train::ProgressOptions{.label = "09_data_parallel"});
    for (std::int64_t step = 1; step <= flags.steps; ++step) {
      auto [xb, yb] = run.batches->next2();   // the global batch: the same on every rank
      auto [xr, yr] = ddp.shard2(xb, yb);      // this rank's rows of it
      const double loss = ddp.average(run.step(xr, yr));  // the loss of the whole global batch
      train::check_loss(loss, step);
      // Bit-for-bit equal parameters on every rank, checked after every step.
      const auto hashes = comm.all_gather(parameter_hash(run.model));
      same_bits = same_bits && std::all_of(hashes.begin(), hashes.end(), [&](auto& h) { return h == hashes[0]; });
      double reference = NAN;
      if (one) {
        auto [x1, y1] = one->batches->next2();
        reference = one->step(x1, y1);
        max_rel_diff = std::max(max_rel_diff, std::abs(loss - reference) / std::abs(reference));
      }
      if (root) {
        curve.add({static_cast<double>(step), loss, reference});
        progress->update(step, loss);
      }
    }
    if (!root) return 0;
    progress->finish();
    const double seconds = progress->elapsed();

    NoGradGuard no_grad;
    run.model.eval();
    const double test_accuracy = train::accuracy(run.model(run.test_x), run.test_y);
    const double param_diff = one ? max_difference(run.model, one->model) : NAN;
    for (const auto& row : {curve.rows()[0], curve.rows()[curve.rows().size() / 2], curve.rows().back()}) {
      fmt::print("step {:>4}  loss on {} rank{} {:.15f}   one process {:.15f}\n", row[0], comm.size(),
                 comm.size() == 1 ? " " : "s", row[1], row[2]);
    }
    fmt::print("largest relative difference of the losses: {:.2e}; of the final parameters (absolute): {:.2e}\n",
               max_rel_diff, param_diff);
    const double tolerance = dtype == kFloat64 ? 1e-12 : 1e-4;
    auto report = examples::start_report(app, "09_data_parallel: one training on several processes");
    report.note(fmt::format("{} rank{}; largest relative difference of the losses from one process: {:.2e}; of the "
                            "final parameters (absolute): {:.2e}",
                            comm.size(), comm.size() == 1 ? "" : "s", max_rel_diff, param_diff));
    examples::write_curve(curve, out, "09_data_parallel: the loss on N ranks and in one process", true, &report,
                          "cross entropy");
    examples::print_result({{"ranks", fmt::format("{}", comm.size())},
                            {"test_accuracy", fmt::format("{:.3f}", test_accuracy)},
                            {"loss", fmt::format("{:.4f}", curve.rows().back()[1])},
                            {"max_loss_rel_diff", fmt::format("{:.1e}", max_rel_diff)},
                            {"max_param_diff", fmt::format("{:.1e}", param_diff)},
                            {"same_bits", same_bits ? "1" : "0"},
                            {"same_training", check ? (max_rel_diff <= tolerance && same_bits ? "yes" : "no") : "unchecked"}},
                           seconds, out, &report);
    return 0;
  });
}
