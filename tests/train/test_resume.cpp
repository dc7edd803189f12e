// save_training_state / load_training_state: a run stopped half way and resumed in fresh objects takes
// exactly the losses, bit for bit, of a run that never stopped; a checkpoint that does not fit the run
// is refused with a message naming what differs.
#include "support/test.hpp"

#include <attograd/train/resume.hpp>

#include "io/temp_dir.hpp"
#include "train/run_support.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr std::int64_t kSteps = 12;

// kSteps steps without stopping.
std::vector<std::uint64_t> straight(OptimizerKind kind, std::vector<std::uint64_t>* params = nullptr) {
  SmallRun run(kind);
  for (std::int64_t step = 1; step <= kSteps; ++step) run.step(step);
  if (params != nullptr) *params = run.parameter_bits();
  return loss_bits(run.curve);
}

// `stop` steps, a checkpoint, then fresh objects (as a new process would make) that load it and go on
// to kSteps. Without the generator, the checkpoint leaves it out.
std::vector<std::uint64_t> resumed(OptimizerKind kind, std::int64_t stop, std::vector<std::uint64_t>* params = nullptr,
                                   bool with_generator = true) {
  TempDir dir;
  const auto path = dir / "ckpt.safetensors";
  {
    SmallRun first(kind);
    for (std::int64_t step = 1; step <= stop; ++step) first.step(step);
    train::TrainingState state = first.state();
    if (!with_generator) state.generator = nullptr;
    train::save_training_state(path, state, stop);
    first.step(stop + 1);  // a step after the save that the second run must not see
  }
  SmallRun second(kind);
  train::TrainingState state = second.state();
  if (!with_generator) state.generator = nullptr;
  const std::int64_t done = train::load_training_state(path, state);
  BOOST_TEST(done == stop);
  BOOST_TEST(second.curve.rows().size() == static_cast<std::size_t>(stop));
  for (std::int64_t step = done + 1; step <= kSteps; ++step) second.step(step);
  if (params != nullptr) *params = second.parameter_bits();
  return loss_bits(second.curve);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resume)

BOOST_AUTO_TEST_CASE(sgd_with_momentum_resumes_bit_for_bit) {
  std::vector<std::uint64_t> straight_params, resumed_params;
  const auto expected = straight(OptimizerKind::SgdMomentum, &straight_params);
  // Step 6 is one batch into the second epoch; step 5 ends the first; step 3 is inside it.
  for (const std::int64_t stop : {6, 5, 3}) {
    BOOST_TEST_CONTEXT("stopped after step " << stop) {
      BOOST_TEST(resumed(OptimizerKind::SgdMomentum, stop, &resumed_params) == expected,
                 boost::test_tools::per_element());
      BOOST_TEST(resumed_params == straight_params, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(adam_resumes_bit_for_bit) {
  std::vector<std::uint64_t> straight_params, resumed_params;
  const auto expected = straight(OptimizerKind::Adam, &straight_params);
  for (const std::int64_t stop : {6, 1, 11}) {
    BOOST_TEST_CONTEXT("stopped after step " << stop) {
      BOOST_TEST(resumed(OptimizerKind::Adam, stop, &resumed_params) == expected, boost::test_tools::per_element());
      BOOST_TEST(resumed_params == straight_params, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(without_the_generator_the_resumed_run_differs) {
  // The check above can fail: leave the generator out and the dropout masks and the next epoch's order
  // after the resume are other ones, and so are the losses.
  const auto expected = straight(OptimizerKind::Adam);
  const auto got = resumed(OptimizerKind::Adam, 3, nullptr, /*with_generator=*/false);
  BOOST_TEST_REQUIRE(got.size() == expected.size());
  BOOST_TEST(std::vector(got.begin(), got.begin() + 3) == std::vector(expected.begin(), expected.begin() + 3),
             boost::test_tools::per_element());
  BOOST_TEST(got[3] != expected[3]);
}

BOOST_AUTO_TEST_CASE(the_generator_keeps_its_spare_normal) {
  // Marsaglia's method makes normals in pairs: after an odd number the second waits in the state.
  TempDir dir;
  nn::Linear model(1, 1);
  Generator gen(3);
  gen.normal();
  train::save_training_state(dir / "g", {.model = model, .generator = &gen}, 0);
  const Generator::State saved = gen.state();
  BOOST_TEST(saved.has_spare_normal);
  const double expected = gen.normal();
  Generator other(99);
  BOOST_TEST(train::load_training_state(dir / "g", {.model = model, .generator = &other}) == 0);
  BOOST_TEST((other.state() == saved));
  BOOST_TEST(std::bit_cast<std::uint64_t>(other.normal()) == std::bit_cast<std::uint64_t>(expected));
  BOOST_TEST(other.next_u64() == gen.next_u64());
}

BOOST_AUTO_TEST_CASE(the_curve_keeps_nan_and_its_rows) {
  TempDir dir;
  nn::Linear model(1, 1);
  train::Curve curve({"step", "loss", "test"});
  curve.add({1, 0.5, NAN});
  curve.add({2, 0.25, 0.125});
  train::save_training_state(dir / "c", {.model = model, .curve = &curve}, 2);
  train::Curve loaded({"step", "loss", "test"});
  loaded.add({9, 9, 9});  // replaced, not appended to
  BOOST_TEST(train::load_training_state(dir / "c", {.model = model, .curve = &loaded}) == 2);
  BOOST_TEST(loaded.csv() == "step,loss,test\n1,0.5,\n2,0.25,0.125\n");
}

BOOST_AUTO_TEST_CASE(another_config_is_refused) {
  TempDir dir;
  SmallRun run(OptimizerKind::Adam);
  train::TrainingState state = run.state();
  train::save_training_state(dir / "ckpt", state, 0);
  state.config = "seed=8";
  BOOST_CHECK_EXCEPTION(train::load_training_state(dir / "ckpt", state), IoError,
                        has_message("was saved by a run with other settings, so it would not continue the same "
                                    "way:\n  saved: seed=7\n  now:   seed=8"));
}

BOOST_AUTO_TEST_CASE(a_missing_or_unexpected_part_is_refused) {
  TempDir dir;
  SmallRun run(OptimizerKind::SgdMomentum);
  train::TrainingState without_batches = run.state();
  without_batches.batches = nullptr;
  train::save_training_state(dir / "no-batches", without_batches, 4);
  BOOST_CHECK_EXCEPTION(train::load_training_state(dir / "no-batches", run.state()), IoError,
                        has_message("has no 'batches.order'; was it saved with the same parts"));

  train::save_training_state(dir / "all", run.state(), 4);
  train::TrainingState without_optimizer = run.state();
  without_optimizer.optimizer = nullptr;
  BOOST_CHECK_EXCEPTION(train::load_training_state(dir / "all", without_optimizer), IoError,
                        has_message("holds 1 tensor(s) that the training state does not ask for (a part saved but "
                                    "left out now?): optim.0.lr"));
}

BOOST_AUTO_TEST_CASE(other_curve_columns_are_refused) {
  TempDir dir;
  nn::Linear model(1, 1);
  train::Curve curve({"step", "loss"});
  train::save_training_state(dir / "c", {.model = model, .curve = &curve}, 0);
  train::Curve other({"step", "loss", "accuracy"});
  BOOST_CHECK_EXCEPTION(train::load_training_state(dir / "c", {.model = model, .curve = &other}), IoError,
                        has_message("the curve was saved with columns 'step,loss' (2 values a row), the curve here "
                                    "has 'step,loss,accuracy'"));
}

BOOST_AUTO_TEST_CASE(another_model_is_refused_by_load_checkpoint) {
  TempDir dir;
  nn::Linear small(1, 1), wide(1, 2);
  train::save_training_state(dir / "m", {.model = small}, 0);
  BOOST_CHECK_EXCEPTION(train::load_training_state(dir / "m", {.model = wide}), IoError,
                        has_message("mismatch: 'model.weight' is [2, 1] float32 in the model but [1, 1] float32"));
}

BOOST_AUTO_TEST_CASE(a_tampered_file_is_refused) {
  // Each part's values are checked too: a file edited by hand (or by anything else) cannot put the
  // objects into a state they could not reach.
  TempDir dir;
  SmallRun run(OptimizerKind::SgdMomentum);
  train::save_training_state(dir / "ckpt", run.state(), 3);
  io::SafetensorsFile file = io::load_tensors(dir / "ckpt");
  auto tampered = [&](const std::string& name, const Tensor& value) {
    io::NamedTensors tensors = file.tensors;
    for (auto& [n, t] : tensors) {
      if (n == name) t = value;
    }
    io::save_tensors(dir / "bad", tensors, file.metadata);
    return dir / "bad";
  };
  std::vector<std::int64_t> order(40, 0);
  BOOST_CHECK_EXCEPTION(train::load_training_state(tampered("batches.order", tensor_of(order, {40})), run.state()),
                        ValueError, has_message("the order is not a permutation of 0..39: row 0 is there twice"));
  BOOST_CHECK_EXCEPTION(
      train::load_training_state(tampered("generator.state", tensor_of<std::int64_t>({1, 2, 3}, {3})), run.state()),
      IoError, has_message("the generator state is 3 words and 0 spare normals, not 4 and 0 or 1"));
  BOOST_CHECK_EXCEPTION(train::load_training_state(tampered("train.step", tensor({1.0}, {.dtype = kFloat64})),
                                                   run.state()),
                        IoError, has_message("'train.step' is [1] float64 but should be int64 of rank 0"));
  BOOST_CHECK_EXCEPTION(
      train::load_training_state(tampered("train.step", tensor_of<std::int64_t>({-2}, Shape{})), run.state()),
      IoError, has_message("step -2 is negative"));
}

BOOST_AUTO_TEST_CASE(a_negative_step_is_refused) {
  TempDir dir;
  nn::Linear model(1, 1);
  BOOST_CHECK_EXCEPTION(train::save_training_state(dir / "m", {.model = model}, -1), ValueError,
                        has_message("save_training_state: step must be >= 0, got -1"));
  BOOST_TEST(!std::filesystem::exists(dir / "m"));
}

// A data-parallel run's checkpoint (docs/distributed.md), with rank and ranks as plain numbers: one
// process plays both ranks of a 2-rank run.
namespace {

// A file saved by "rank 0 of 2" with both ranks' generators: rank 1's holds a spare normal.
std::filesystem::path two_rank_file(const TempDir& dir, Generator::State& g0, Generator::State& g1) {
  nn::Linear model(1, 1);
  Generator own0(10), own1(11);
  own0.uniform();
  own1.normal();  // leaves a spare normal
  g0 = own0.state();
  g1 = own1.state();
  train::save_training_state(dir / "two", {.model = model, .rank = 0, .ranks = 2, .rank_generator = &own0}, 5,
                             {g0, g1});
  return dir / "two";
}

// The file without the tensors named, as a file from before they existed would be.
std::filesystem::path without(const TempDir& dir, const std::filesystem::path& path, std::vector<std::string> names) {
  io::SafetensorsFile file = io::load_tensors(path);
  std::erase_if(file.tensors, [&](const auto& entry) { return std::ranges::count(names, entry.first) > 0; });
  io::save_tensors(dir / "older", file.tensors, file.metadata);
  return dir / "older";
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_rank_gets_its_own_generator_back) {
  TempDir dir;
  Generator::State g0, g1;
  const auto path = two_rank_file(dir, g0, g1);
  nn::Linear model(1, 1);
  for (const int rank : {0, 1}) {
    Generator fresh(99);
    const train::TrainingState state{.model = model, .rank = rank, .ranks = 2, .rank_generator = &fresh};
    BOOST_TEST(train::load_training_state(path, state) == 5);
    BOOST_TEST((fresh.state() == (rank == 0 ? g0 : g1)));
  }
  BOOST_TEST(g1.has_spare_normal);
}

BOOST_AUTO_TEST_CASE(rank_generators_that_do_not_fit_are_refused) {
  TempDir dir;
  Generator::State g0, g1;
  const auto path = two_rank_file(dir, g0, g1);
  nn::Linear model(1, 1);
  Generator own(10);
  const train::TrainingState rank1{.model = model, .rank = 1, .ranks = 2, .rank_generator = &own};
  BOOST_CHECK_EXCEPTION(train::save_training_state(dir / "x", rank1, 1), ValueError,
                        has_message("a run of 2 ranks saves every rank's generator, but 0 states were given"));
  BOOST_CHECK_EXCEPTION(train::save_training_state(dir / "x", rank1, 1, {g0, g1}), ValueError,
                        has_message("state 1 of the rank generators is not rank 1's generator as it is now"));
  BOOST_CHECK_EXCEPTION(train::save_training_state(dir / "x", {.model = model, .rank = 2, .ranks = 2}, 1), ValueError,
                        has_message("save_training_state: rank 2 of 2 does not exist"));
  BOOST_TEST(!std::filesystem::exists(dir / "x"));
  const train::TrainingState three{.model = model, .rank = 1, .ranks = 3, .rank_generator = &own};
  BOOST_CHECK_EXCEPTION(train::load_training_state(path, three), IoError,
                        has_message("was saved by a run of 2 rank(s) and this run has 3: the gradients would be "
                                    "summed in other groups"));
  BOOST_CHECK_EXCEPTION(train::load_training_state(path, {.model = model, .rank = 0, .ranks = 2}), IoError,
                        has_message("holds 3 tensor(s) that the training state does not ask for (a part saved but "
                                    "left out now?): rank_generators.has_spare_normal"));
  // A file without rank generators cannot give two ranks their streams.
  train::save_training_state(dir / "none", {.model = model, .rank = 0, .ranks = 2}, 1);
  BOOST_CHECK_EXCEPTION(train::load_training_state(dir / "none", rank1), IoError,
                        has_message("holds no rank generators (saved before checkpoints kept them, or without "
                                    "TrainingState::rank_generator), so the 2 ranks' own streams"));
  // Hand-edited values.
  io::SafetensorsFile file = io::load_tensors(path);
  for (auto& [name, t] : file.tensors) {
    if (name == "rank_generators.has_spare_normal") t = tensor_of<std::int64_t>({0, 2}, {2});
  }
  io::save_tensors(dir / "bad", file.tensors, file.metadata);
  BOOST_CHECK_EXCEPTION(train::load_training_state(dir / "bad", rank1), IoError,
                        has_message("rank 1's generator has spare-normal flag 2"));
  for (auto& [name, t] : file.tensors) {
    if (name == "rank_generators.has_spare_normal") t = tensor_of<std::int64_t>({0, 1}, {2});
    if (name == "rank_generators.state") t = zeros({2, 4}, {.dtype = kInt64});
  }
  io::save_tensors(dir / "bad", file.tensors, file.metadata);
  BOOST_CHECK_EXCEPTION(train::load_training_state(dir / "bad", rank1), IoError,
                        has_message("rank 1's generator state is all zeros"));
}

BOOST_AUTO_TEST_CASE(a_file_from_before_the_ranks_were_kept_still_loads_on_one_rank) {
  TempDir dir;
  SmallRun run(OptimizerKind::Adam);
  train::save_training_state(dir / "new", run.state(), 3);
  const auto older = without(dir, dir / "new", {"train.ranks"});
  SmallRun again(OptimizerKind::Adam);
  Generator own(5);
  const Generator::State built = own.state();
  train::TrainingState one_rank = again.state();
  one_rank.rank_generator = &own;
  BOOST_TEST(train::load_training_state(older, one_rank) == 3);
  BOOST_TEST((own.state() == built));  // nothing saved for it: it keeps the state it was built with
  train::TrainingState two_ranks = again.state();
  two_ranks.ranks = 2;
  BOOST_TEST(train::load_training_state(older, two_ranks) == 3);  // no rank generator: as before
  two_ranks.rank_generator = &own;
  BOOST_CHECK_EXCEPTION(train::load_training_state(older, two_ranks), IoError, has_message("holds no rank generators"));
}

BOOST_AUTO_TEST_SUITE_END()
