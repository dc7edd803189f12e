// DataParallel on 2 ranks: the buckets, the shards, and gradients that equal one process's gradient of
// the whole batch, including an uneven split, parameters that received no gradient, and gradients
// accumulated over micro-batches under no_sync.
#include <attograd/dist/dist.hpp>

#include "support/test.hpp"

using namespace attograd;
using attograd::testing::check_close;
using attograd::testing::has_message;

namespace {

// 3 -> 8 -> tanh -> 2, in float64. Modules cannot move (their parameters are registered by address),
// so it is built in place.
struct Mlp : nn::Sequential {
  explicit Mlp(Generator& gen) {
    add<nn::Linear>(3, 8, nn::LinearOptions{.generator = &gen});
    add<nn::Tanh>();
    add<nn::Linear>(8, 2, nn::LinearOptions{.generator = &gen});
    to(kFloat64);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(shard_rows_covers_every_row_once) {
  BOOST_TEST(dist::shard_rows(10, 0, 3).begin == 0);
  BOOST_TEST(dist::shard_rows(10, 0, 3).end == 3);
  BOOST_TEST(dist::shard_rows(10, 1, 3).end == 6);
  BOOST_TEST(dist::shard_rows(10, 2, 3).begin == 6);
  BOOST_TEST(dist::shard_rows(10, 2, 3).end == 10);
  BOOST_CHECK_EXCEPTION(dist::shard_rows(2, 0, 3), ValueError,
                        has_message("shard: a global batch of 2 rows cannot give each of 3 ranks a row"));
}

BOOST_AUTO_TEST_CASE(buckets_hold_the_parameters_last_layer_first) {
  dist::Communicator comm;
  Generator gen(1);
  Mlp net(gen);
  net.parameters()[1].requires_grad_(false);  // 0.bias frozen: left out
  // 2.weight (16 float64 = 128 bytes), 2.bias (16 bytes), 0.weight (192 bytes): at 150 bytes a bucket,
  // the last two cannot share one.
  dist::DataParallel ddp(comm, net, {.bucket_bytes = 150});
  using Names = std::vector<std::vector<std::string>>;
  BOOST_TEST((ddp.buckets() == Names{{"2.bias", "2.weight"}, {"0.weight"}}));
  dist::DataParallel one_bucket(comm, net);
  BOOST_TEST((one_bucket.buckets() == Names{{"2.bias", "2.weight", "0.weight"}}));
}

BOOST_AUTO_TEST_CASE(bad_settings_and_batches_are_refused) {
  dist::Communicator comm;
  Generator gen(1);
  Mlp net(gen);
  BOOST_CHECK_EXCEPTION(dist::DataParallel(comm, net, {.bucket_bytes = 0}), ValueError,
                        has_message("bucket_bytes must be at least 1"));
  dist::DataParallel ddp(comm, net);
  BOOST_CHECK_EXCEPTION(ddp.shard2(zeros({4, 3}), zeros({5})), ShapeError,
                        has_message("tensor 0 is [4, 3], tensor 1 is [5]"));
}

BOOST_AUTO_TEST_CASE(the_averaged_gradient_is_the_gradient_of_the_whole_batch) {
  dist::Communicator comm;
  Generator gen(2);
  Mlp net(gen);
  const Tensor x = randn({5, 3}, gen).to(kFloat64);  // 5 rows: rank 0 takes 2, rank 1 takes 3
  const Tensor y = randint(0, 2, {5}, gen);
  // One process, the whole batch.
  cross_entropy(net(x), y).backward();
  std::vector<Tensor> expected;
  for (const Tensor& p : net.parameters()) expected.push_back(p.grad().clone());
  net.zero_grad();

  dist::DataParallel ddp(comm, net, {.bucket_bytes = 100});  // several buckets
  auto [xr, yr] = ddp.shard2(x, y);
  BOOST_TEST(xr.size(0) == (comm.rank() == 0 ? 2 : 3));
  BOOST_TEST(ddp.weight() == (comm.rank() == 0 ? 0.4 : 0.6));
  Tensor loss = cross_entropy(net(xr), yr);
  loss.backward();
  for (std::size_t i = 0; i < expected.size(); ++i) check_close(net.parameters()[i].grad(), expected[i], 1e-14);
  // The loss of the whole batch, from each rank's mean loss.
  BOOST_TEST(ddp.average(loss.item()) == cross_entropy(net(x), y).item(), boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(the_first_all_reduce_starts_while_backward_runs) {
  dist::Communicator comm;
  Generator gen(3);
  Mlp net(gen);
  dist::DataParallel ddp(comm, net, {.bucket_bytes = 150});  // {2.bias, 2.weight}, {0.weight}, {0.bias}
  const TensorImpl* first_weight = net.parameters()[0].impl();
  std::size_t started_when_first_layer_was_reached = 99;
  autograd::StepHookGuard watch(
      [&](const autograd::BackwardStep& s) {
        if (s.node.kind() == autograd::Node::Kind::Leaf && s.node.tensor().get() == first_weight) {
          started_when_first_layer_was_reached = ddp.buckets_started();
        }
      },
      {.reads_grad_output = false});
  cross_entropy(net(randn({4, 3}, gen).to(kFloat64)), randint(0, 2, {4}, gen)).backward();
  // The last layer's bucket was on its way before backward reached the first layer.
  BOOST_TEST(started_when_first_layer_was_reached >= 1u);
  BOOST_TEST(ddp.buckets_started() == 0u);  // the pass is over: everything finished
}

BOOST_AUTO_TEST_CASE(a_parameter_without_a_gradient_counts_as_zero_and_never_hangs) {
  dist::Communicator comm;
  Generator gen(4);
  nn::Sequential both;  // three layers, each used as the rank decides
  for (int i = 0; i < 3; ++i) both.add<nn::Linear>(3, 2, nn::LinearOptions{.generator = &gen});
  const Tensor x = ones({1, 3});
  const auto& l0 = both.at<nn::Linear>(0);
  const auto& l1 = both.at<nn::Linear>(1);
  dist::DataParallel ddp(comm, both);  // weight 1/2 each
  // Rank 0 uses layer 0 only, rank 1 layer 1 only; nobody uses layer 2.
  (comm.rank() == 0 ? l0(x) : l1(x)).sum().backward();
  check_close(l0.weight.grad(), full({2, 3}, 0.5));  // d sum(xWᵀ+b)/dW = 1, times rank 0's weight 1/2
  check_close(l1.weight.grad(), full({2, 3}, 0.5));
  BOOST_TEST(!both.at<nn::Linear>(2).weight.grad().defined());  // as in one process: no gradient
}

BOOST_AUTO_TEST_CASE(a_backward_that_reaches_no_parameter_exchanges_nothing) {
  dist::Communicator comm;
  Generator gen(5);
  Mlp net(gen);
  dist::DataParallel ddp(comm, net);
  // Rank 0 alone runs a backward of another model: were it collective, rank 0 would wait for rank 1
  // forever (the test's timeout).
  if (comm.rank() == 0) {
    nn::Linear other(3, 1, nn::LinearOptions{.generator = &gen});
    other(ones({2, 3})).sum().backward();
    check_close(other.weight.grad(), full({1, 3}, 2.0));  // its own, not averaged
  }
  comm.barrier();
}

// Gradient accumulation: 3 micro-batches of 5 rows (2 and 3 rows a rank), the first two under no_sync,
// give the gradient of the whole batch of 15 rows, and the same step on both ranks.
BOOST_AUTO_TEST_CASE(no_sync_accumulates_micro_batches_into_the_whole_batch_gradient) {
  dist::Communicator comm;
  Generator gen(6);
  Mlp net(gen);
  const Tensor x = randn({15, 3}, gen).to(kFloat64);
  const Tensor y = randint(0, 2, {15}, gen);
  cross_entropy(net(x), y).backward();  // one process, the whole batch
  std::vector<Tensor> expected;
  for (const Tensor& p : net.parameters()) expected.push_back(p.grad().clone());
  net.zero_grad();

  dist::DataParallel ddp(comm, net, {.bucket_bytes = 100});
  constexpr int kMicro = 3;
  for (int k = 0; k < kMicro; ++k) {
    auto [xr, yr] = ddp.shard2(x.narrow(0, 5 * k, 5), y.narrow(0, 5 * k, 5));
    Tensor loss = cross_entropy(net(xr), yr) / static_cast<double>(kMicro);
    if (k + 1 < kMicro) {
      auto local = ddp.no_sync();
      BOOST_TEST(!ddp.syncing());
      loss.backward();
      // Nothing exchanged: each rank holds the gradient of its own rows so far, which differ.
      const Tensor g = net.parameters()[0].grad();
      const std::vector<std::string> sums = comm.all_gather(fmt::format("{:.17g}", g.sum().item()));
      BOOST_TEST(sums[0] != sums[1]);
    } else {
      BOOST_TEST(ddp.syncing());
      loss.backward();
    }
  }
  for (std::size_t i = 0; i < expected.size(); ++i) check_close(net.parameters()[i].grad(), expected[i], 1e-12);
  optim::SGD opt(net.parameters(), {.lr = 0.1});
  opt.step();
  std::string values;
  for (const Tensor& p : net.parameters()) {
    for (const double v : p.to_vector<double>()) values += fmt::format("{:a} ", v);
  }
  const std::vector<std::string> all = comm.all_gather(values);
  BOOST_TEST((all[0] == all[1]));  // bit for bit the same parameters on both ranks

  // Nested guards restore the outer state.
  {
    auto outer = ddp.no_sync();
    { auto inner = ddp.no_sync(); }
    BOOST_TEST(!ddp.syncing());
  }
  BOOST_TEST(ddp.syncing());
}

BOOST_AUTO_TEST_CASE(without_overlap_every_all_reduce_waits_for_the_end_and_gives_the_same_bits) {
  dist::Communicator comm;
  Generator gen(6);
  Mlp net(gen);
  const Tensor x = randn({6, 3}, gen).to(kFloat64);
  const Tensor y = randint(0, 2, {6}, gen);
  const auto gradients = [&](dist::DataParallelOptions options, std::size_t& most_started_in_backward) {
    dist::DataParallel ddp(comm, net, options);
    autograd::StepHookGuard watch(
        [&](const autograd::BackwardStep&) {
          most_started_in_backward = std::max(most_started_in_backward, ddp.buckets_started());
        },
        {.reads_grad_output = false});
    auto [xr, yr] = ddp.shard2(x, y);
    net.zero_grad();
    cross_entropy(net(xr), yr).backward();
    std::vector<double> values;
    for (const Tensor& p : net.parameters()) {
      for (std::int64_t i = 0; i < p.numel(); ++i) values.push_back(p.grad().data<double>()[i]);
    }
    return values;
  };
  std::size_t with_overlap = 0, without_overlap = 0;
  const std::vector<double> overlapped = gradients({.bucket_bytes = 150}, with_overlap);
  const std::vector<double> deferred = gradients({.bucket_bytes = 150, .overlap = false}, without_overlap);
  BOOST_TEST(with_overlap >= 1u);      // started during backward
  BOOST_TEST(without_overlap == 0u);   // none until backward was over
  BOOST_TEST(overlapped == deferred);  // the same sums of the same buffers: the same bits
}

BOOST_AUTO_TEST_CASE(stats_count_the_passes_the_buckets_the_bytes_and_the_wait) {
  dist::Communicator comm;
  Generator gen(7);
  Mlp net(gen);
  dist::DataParallel ddp(comm, net, {.bucket_bytes = 150});
  BOOST_TEST(ddp.stats().passes == 0u);
  BOOST_TEST(ddp.stats().wait_seconds == 0.0);
  for (int step = 0; step < 2; ++step) cross_entropy(net(randn({4, 3}, gen).to(kFloat64)), randint(0, 2, {4}, gen)).backward();
  const dist::DataParallelStats s = ddp.stats();
  BOOST_TEST(s.passes == 2u);
  BOOST_TEST(s.buckets == ddp.buckets().size());
  BOOST_TEST(s.buckets == 3u);  // {2.bias, 2.weight} (144 bytes), {0.weight} (192), {0.bias}
  // 24 + 8 + 16 + 2 gradient elements and one flag per parameter, float64
  BOOST_TEST(s.bytes == (50u + 4u) * 8u);
  BOOST_TEST(s.wait_seconds > 0.0);
  BOOST_TEST(s.wait_seconds < 60.0);
  nn::Linear other(3, 1, nn::LinearOptions{.generator = &gen});
  other(ones({2, 3})).sum().backward();  // another model's backward: no pass of ours
  BOOST_TEST(ddp.stats().passes == 2u);
  ddp.reset_stats();
  BOOST_TEST(ddp.stats().passes == 0u);
  BOOST_TEST(ddp.stats().wait_seconds == 0.0);
  BOOST_TEST(ddp.stats().bytes == s.bytes);  // the buckets stay
}
