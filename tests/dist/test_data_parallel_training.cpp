// The same training on 1, 2 and 3 ranks (tests/dist/CMakeLists.txt runs this program on each): a small
// transformer classifier trained with Adam and gradient clipping, with DataParallel, gives the loss
// curve one process gives on the same global batches; every rank holds the same bits after every step;
// and a run checkpointed and resumed continues its curve bit for bit, with dropout too (each rank's
// own dropout stream is in the checkpoint).
#include <bit>
#include <cmath>
#include <filesystem>
#include <optional>

#include <attograd/dist/dist.hpp>

#include "support/test.hpp"

using namespace attograd;

namespace {

constexpr int kSteps = 50;

// 44 sequences of 6 tokens from a vocabulary of 8, each with one of 3 (random) classes: the model
// learns them by heart, so the loss keeps moving for 50 steps. With dropout, the model draws its
// initial values (replaced by the broadcast) and its masks from a generator of each rank's own.
struct Run {
  Run(DType dtype, std::int64_t batch, double dropout = 0.0, int rank = 0)
      : gen(11),
        own(12 + static_cast<std::uint64_t>(rank)),
        ids(randint(0, 8, {44, 6}, gen)),
        labels(randint(0, 3, {44}, gen)),
        model(8, 8, 2, 1, 6, 3, {.dropout = dropout, .generator = dropout > 0 ? &own : &gen}) {
    model.to(dtype);
    opt.emplace(model.parameters(), optim::AdamOptions{.lr = 0.02});
    batches.emplace(std::vector<Tensor>{ids, labels}, batch, gen);
  }

  // One step; with ddp on this rank's rows. Returns the loss of the global batch.
  double step(std::int64_t step, dist::DataParallel* ddp) {
    auto [x, y] = batches->next2();
    if (ddp != nullptr) std::tie(x, y) = ddp->shard2(x, y);
    Tensor loss = cross_entropy(model(x), y);
    opt->zero_grad();
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 0.5);
    opt->step();
    const double global = ddp != nullptr ? ddp->average(loss.item()) : loss.item();
    curve.add({static_cast<double>(step), global});
    return global;
  }

  // Resuming with another number of ranks is refused.
  train::TrainingState state(int rank, int ranks) {
    return {.model = model, .optimizer = &*opt, .generator = &gen, .batches = &*batches, .curve = &curve,
            .config = "seed=11", .rank = rank, .ranks = ranks, .rank_generator = &own};
  }

  // Every rank gathers the ranks' own generators; rank 0 alone writes; all wait until the file is whole.
  void save(const dist::Communicator& comm, const std::filesystem::path& path, std::int64_t step) {
    const std::vector<Generator::State> all = dist::gather_generator_states(comm, own);
    if (comm.is_root()) train::save_training_state(path, state(comm.rank(), comm.size()), step, all);
    comm.barrier();
  }

  Generator gen;
  Generator own;  // this rank's: the dropout masks
  Tensor ids, labels;
  nn::Classifier model;
  std::optional<optim::Adam> opt;
  std::optional<train::Batches> batches;
  train::Curve curve{{"step", "loss"}};
};

// FNV-1a over every parameter's bytes: equal on two ranks only if their parameters are equal bit for bit.
std::string parameter_hash(const nn::Module& model) {
  std::uint64_t h = 14695981039346656037ull;
  for (const Tensor& p : model.parameters()) {
    const auto* bytes = static_cast<const unsigned char*>(p.impl()->storage->data()) +
                        static_cast<std::size_t>(p.offset()) * element_size(p.dtype());
    for (std::size_t i = 0; i < p.nbytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  return std::to_string(h);
}

std::vector<std::uint64_t> loss_bits(const train::Curve& curve) {
  std::vector<std::uint64_t> bits;
  for (const auto& row : curve.rows()) bits.push_back(std::bit_cast<std::uint64_t>(row.at(1)));
  return bits;
}

void same_training(DType dtype, std::int64_t batch, double tolerance) {
  dist::Communicator comm;
  BOOST_TEST_MESSAGE(fmt::format("{} ranks, {}, global batch {}", comm.size(), dtype, batch));
  Run one(dtype, batch);  // one process, no DataParallel: the reference
  for (int s = 1; s <= kSteps; ++s) one.step(s, nullptr);

  Run run(dtype, batch);
  dist::broadcast(comm, run.model);
  dist::DataParallel ddp(comm, run.model, {.bucket_bytes = 2048});  // a few buckets
  int unequal_steps = 0;
  for (int s = 1; s <= kSteps; ++s) {
    const double loss = run.step(s, &ddp);
    const double expected = one.curve.rows()[static_cast<std::size_t>(s - 1)].at(1);
    BOOST_TEST(std::abs(loss - expected) <= tolerance * std::abs(expected),
               "step " << s << ": loss " << loss << " on " << comm.size() << " ranks, one process " << expected);
    const std::vector<std::string> hashes = comm.all_gather(parameter_hash(run.model));
    if (std::count(hashes.begin(), hashes.end(), hashes[0]) != comm.size()) ++unequal_steps;
  }
  BOOST_TEST(unequal_steps == 0);  // the same parameters, bit for bit, on every rank after every step
  // It trained: the loss fell.
  BOOST_TEST(run.curve.rows().back().at(1) < 0.8 * run.curve.rows().front().at(1));
}

// 12 steps straight, and 6 steps, a checkpoint and 6 more in fresh objects: the same curve and
// parameters, bit for bit.
void resumed_run_continues(double dropout) {
  dist::Communicator comm;
  BOOST_TEST_MESSAGE(fmt::format("{} ranks, dropout {}", comm.size(), dropout));
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    fmt::format("attograd_dist_resume_{}ranks_{}", comm.size(), dropout > 0);
  const std::filesystem::path path = dir / "ckpt.safetensors";
  if (comm.is_root()) std::filesystem::create_directories(dir);
  comm.barrier();

  Run whole(kFloat64, 11, dropout, comm.rank());
  dist::broadcast(comm, whole.model);
  {
    dist::DataParallel ddp(comm, whole.model);
    for (int s = 1; s <= 12; ++s) {
      whole.step(s, &ddp);
      if (s == 6) whole.save(comm, path, s);
    }
  }

  Run other(kFloat64, 11, dropout, comm.rank());
  const std::string refusal = fmt::format("was saved by a run of {} rank(s) and this run has {}", comm.size(),
                                          comm.size() + 1);
  BOOST_CHECK_EXCEPTION(train::load_training_state(path, other.state(comm.rank(), comm.size() + 1)), Error,
                        attograd::testing::has_message(refusal));

  Run resumed(kFloat64, 11, dropout, comm.rank());
  dist::DataParallel ddp(comm, resumed.model);
  const std::int64_t done = train::load_training_state(path, resumed.state(comm.rank(), comm.size()));  // every rank
  BOOST_TEST(done == 6);
  for (std::int64_t s = done + 1; s <= 12; ++s) resumed.step(s, &ddp);
  BOOST_TEST(loss_bits(resumed.curve) == loss_bits(whole.curve));
  BOOST_TEST(parameter_hash(resumed.model) == parameter_hash(whole.model));

  if (dropout > 0) {
    // The test can fail: the same resume with each rank's dropout stream started afresh leaves the curve.
    Run fresh(kFloat64, 11, dropout, comm.rank());
    dist::DataParallel ddp_fresh(comm, fresh.model);
    train::load_training_state(path, fresh.state(comm.rank(), comm.size()));
    fresh.own = Generator(12 + static_cast<std::uint64_t>(comm.rank()));
    for (std::int64_t s = done + 1; s <= 12; ++s) fresh.step(s, &ddp_fresh);
    BOOST_TEST(loss_bits(fresh.curve) != loss_bits(whole.curve));
  }
  comm.barrier();
  if (comm.is_root()) std::filesystem::remove_all(dir);
}

}  // namespace

// 12 rows a batch divide evenly over 1, 2 and 3 ranks (the epoch's last batch of 8 does not over 3).
BOOST_AUTO_TEST_CASE(float64_gives_the_curve_of_one_process) { same_training(kFloat64, 12, 1e-12); }
// 11 rows over 2 ranks: 5 and 6; over 3: 3, 4 and 4.
BOOST_AUTO_TEST_CASE(float64_with_uneven_slices_too) { same_training(kFloat64, 11, 1e-12); }
BOOST_AUTO_TEST_CASE(float32_to_1e_5) { same_training(kFloat32, 12, 1e-5); }
BOOST_AUTO_TEST_CASE(float32_with_uneven_slices_too) { same_training(kFloat32, 11, 1e-5); }

BOOST_AUTO_TEST_CASE(a_resumed_run_continues_the_same_curve_bit_for_bit) { resumed_run_continues(0.0); }
// Each rank draws its own dropout masks; the checkpoint keeps every rank's stream.
BOOST_AUTO_TEST_CASE(with_dropout_too) { resumed_run_continues(0.2); }
