// Determinism: the same seed gives the same loss curve, bit for bit, every time and at any thread count.
// (examples.resume_03_sine checks it for a whole program too: two runs, byte-equal curve.csv files.)
#include "support/test.hpp"

#include <attograd/backend/settings.hpp>

#include "train/run_support.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

std::vector<std::uint64_t> losses(OptimizerKind kind, SmallRunOptions options) {
  SmallRun run(kind, options);
  for (std::int64_t step = 1; step <= options.total_steps; ++step) run.step(step);
  return loss_bits(run.curve);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(determinism)

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_curve_on_one_thread) {
  ThreadCount one(1);
  for (const auto kind : {OptimizerKind::SgdMomentum, OptimizerKind::Adam}) {
    const auto first = losses(kind, {});
    BOOST_TEST(losses(kind, {}) == first, boost::test_tools::per_element());
    // ...and the comparison can fail: another seed, other losses.
    const auto other = losses(kind, {.seed = 8});
    BOOST_TEST_REQUIRE(other.size() == first.size());
    BOOST_TEST(other[0] != first[0]);
  }
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_curve_on_two_threads) {
  // Wide enough layers and batches that the matmuls and reductions split their work between threads.
  ThreadCount two(2);
  const SmallRunOptions wide{.rows = 512, .width = 256, .batch = 128, .total_steps = 8};
  const auto first = losses(OptimizerKind::Adam, wide);
  for (int again = 0; again < 2; ++again) {
    BOOST_TEST(losses(OptimizerKind::Adam, wide) == first, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_curve_at_any_thread_count) {
  // The default changes its thread count with the machine's load, so a run's numbers must not depend
  // on it: products are cut into pieces by their shapes, never by the count (backend/onednn_problem.hpp).
  const SmallRunOptions wide{.rows = 512, .width = 256, .batch = 128, .total_steps = 8};
  std::vector<std::uint64_t> one;
  {
    ThreadCount guard(1);
    one = losses(OptimizerKind::Adam, wide);
  }
  for (int threads : {2, 3, 4}) {
    ThreadCount guard(threads);
    BOOST_TEST(losses(OptimizerKind::Adam, wide) == one, boost::test_tools::per_element());
  }
  ThreadCount guard(1);
  reset_num_threads();  // the default, whatever it picks on this machine now
  BOOST_TEST(losses(OptimizerKind::Adam, wide) == one, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
