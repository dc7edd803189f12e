// The generator (xoshiro256** seeded by SplitMix64, polar-method normals) and the random factories:
// golden values, reproducibility, saved state, and statistical sanity.
#include "support/test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

using namespace attograd;
using namespace attograd::testing;

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(generator)

// The first numbers of Generator(42), computed independently from the published algorithms
// (SplitMix64, xoshiro256**, Marsaglia's polar method). Any change to the generator shows up here,
// and with it every seeded result (initial weights, dropout masks, examples' expected figures).
BOOST_AUTO_TEST_CASE(golden_values_for_seed_42) {
  Generator g(42);
  BOOST_TEST(g.next_u64() == 0x15780b2e0c2ec716ULL);
  BOOST_TEST(g.next_u64() == 0x6104d9866d113a7eULL);
  BOOST_TEST(g.next_u64() == 0xae17533239e499a1ULL);

  Generator u(42);  // uniform() is the top 53 bits of next_u64() times 2^-53
  BOOST_TEST(u.uniform() == 0.083862971059882163);
  BOOST_TEST(u.uniform() == 0.37898025066266861);
  BOOST_TEST(u.uniform() == 0.68004341102813937);

  Generator n(42);  // normals come in pairs: the second of each pair is the saved spare
  BOOST_TEST(n.normal() == -0.72621913824478568);
  BOOST_TEST(n.normal() == -0.21119691823195985);
  BOOST_TEST(n.normal() == 0.22162270150359331);
  BOOST_TEST(n.normal() == 0.52277168775601457);

  Generator b(42);
  std::vector<std::uint64_t> below;
  for (int i = 0; i < 4; ++i) below.push_back(b.below(10));
  BOOST_TEST((below == std::vector<std::uint64_t>{2, 2, 9, 3}));

  Generator zero(0);  // seed 0 is a valid seed (SplitMix64 spreads it into a non-zero state)
  BOOST_TEST(zero.next_u64() == 0x99ec5f36cb75f2b4ULL);
}

BOOST_AUTO_TEST_CASE(golden_values_of_the_factories) {
  Generator g(42);
  check_values(rand({3}, g, {.dtype = kFloat64}), {0.083862971059882163, 0.37898025066266861, 0.68004341102813937}, 0.0);
  Generator p(42);
  BOOST_TEST((randperm(6, p).to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 5, 4, 1, 2, 0}));
  Generator r(42);
  BOOST_TEST((randint(-3, 4, {6}, r).to_vector<std::int64_t>() == std::vector<std::int64_t>{-1, -2, 2, 1, 1, -2}));
  // float32 results are the float64 values rounded.
  Generator f(42);
  BOOST_TEST(randn({2}, f).to_vector<float>()[1] == static_cast<float>(-0.21119691823195985));
}

BOOST_AUTO_TEST_CASE(same_seed_same_numbers) {
  Generator a(7), b(7), c(8);
  BOOST_TEST(randn({50}, a).to_vector() == randn({50}, b).to_vector(), boost::test_tools::per_element());
  BOOST_TEST(rand({5, 5}, a).to_vector() == rand({5, 5}, b).to_vector(), boost::test_tools::per_element());
  BOOST_TEST(uniform({9}, -2.0, 3.0, a).to_vector() == uniform({9}, -2.0, 3.0, b).to_vector(),
             boost::test_tools::per_element());
  BOOST_TEST(normal({9}, 1.0, 0.5, a, {.dtype = kFloat64}).to_vector() ==
                 normal({9}, 1.0, 0.5, b, {.dtype = kFloat64}).to_vector(),
             boost::test_tools::per_element());
  BOOST_TEST(randint(0, 100, {20}, a).to_vector() == randint(0, 100, {20}, b).to_vector(),
             boost::test_tools::per_element());
  BOOST_TEST(randperm(30, a).to_vector() == randperm(30, b).to_vector(), boost::test_tools::per_element());
  BOOST_TEST((a.state() == b.state()));
  // Another seed gives other numbers.
  Generator a2(7);
  BOOST_TEST((randn({4}, a2).to_vector() != randn({4}, c).to_vector()));
}

BOOST_AUTO_TEST_CASE(manual_seed_restarts_the_stream) {
  Generator g(3);
  const std::uint64_t first = g.next_u64();
  g.normal();  // leaves a spare normal behind
  g.manual_seed(3);
  BOOST_TEST(g.next_u64() == first);
  BOOST_TEST(!g.state().has_spare_normal);  // the spare of the old stream is dropped
  Generator h(3);
  h.next_u64();
  BOOST_TEST((g.state() == h.state()));
}

BOOST_AUTO_TEST_CASE(saved_state_continues_the_same_stream) {
  Generator g(123);
  randn({5}, g);  // an odd count: a spare normal is part of the state
  BOOST_TEST(g.state().has_spare_normal);
  const Generator::State saved = g.state();
  const std::vector<double> expected = randn({7}, g, {.dtype = kFloat64}).to_vector();
  const std::vector<double> expected_u = rand({3}, g, {.dtype = kFloat64}).to_vector();

  Generator other(999);
  other.set_state(saved);
  BOOST_TEST((other.state() == saved));
  BOOST_TEST(randn({7}, other, {.dtype = kFloat64}).to_vector() == expected, boost::test_tools::per_element());
  BOOST_TEST(rand({3}, other, {.dtype = kFloat64}).to_vector() == expected_u, boost::test_tools::per_element());

  g.set_state(saved);  // rewinding the same generator works too
  BOOST_TEST(randn({7}, g, {.dtype = kFloat64}).to_vector() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(manual_seed_on_the_default_generator) {
  manual_seed(5);
  const std::vector<double> first = rand({4}).to_vector();
  const std::vector<double> first_n = randn({3}).to_vector();
  manual_seed(5);
  BOOST_TEST(rand({4}).to_vector() == first, boost::test_tools::per_element());
  BOOST_TEST(randn({3}).to_vector() == first_n, boost::test_tools::per_element());
  // The default generator is an ordinary Generator seeded the same way.
  manual_seed(5);
  Generator g(5);
  BOOST_TEST((default_generator().state() == g.state()));
  BOOST_TEST(rand({4}, g).to_vector() == first, boost::test_tools::per_element());
  manual_seed(42);
  BOOST_TEST(default_generator().next_u64() == 0x15780b2e0c2ec716ULL);
}

BOOST_AUTO_TEST_CASE(normals_have_mean_zero_and_std_one) {
  Generator g(2024);
  const std::vector<double> v = randn({100000}, g, {.dtype = kFloat64}).to_vector();
  // Standard errors: mean 1/sqrt(n) = 0.0032, std 1/sqrt(2n) = 0.0022; allow about 5 of them.
  BOOST_TEST(std::abs(mean_of(v)) < 0.016);
  BOOST_TEST(std::abs(std_of(v) - 1.0) < 0.011);
  // Tails: P(|z| > 2) = 4.55%.
  const auto beyond = std::count_if(v.begin(), v.end(), [](double x) { return std::abs(x) > 2.0; });
  BOOST_TEST(std::abs(static_cast<double>(beyond) / 1e5 - 0.0455) < 0.004);

  const std::vector<double> w = normal({100000}, 3.0, 0.5, g, {.dtype = kFloat64}).to_vector();
  BOOST_TEST(std::abs(mean_of(w) - 3.0) < 0.008);
  BOOST_TEST(std::abs(std_of(w) - 0.5) < 0.006);
}

BOOST_AUTO_TEST_CASE(uniforms_fill_their_interval) {
  Generator g(11);
  const std::vector<double> u = rand({100000}, g, {.dtype = kFloat64}).to_vector();
  BOOST_TEST(*std::min_element(u.begin(), u.end()) >= 0.0);
  BOOST_TEST(*std::max_element(u.begin(), u.end()) < 1.0);
  BOOST_TEST(std::abs(mean_of(u) - 0.5) < 0.005);             // se 0.0009
  BOOST_TEST(std::abs(std_of(u) - std::sqrt(1.0 / 12)) < 0.004);

  const std::vector<double> w = uniform({100000}, -2.0, 6.0, g).to_vector();
  BOOST_TEST(*std::min_element(w.begin(), w.end()) >= -2.0);
  BOOST_TEST(*std::max_element(w.begin(), w.end()) <= 6.0);
  BOOST_TEST(std::abs(mean_of(w) - 2.0) < 0.04);
  // Each quarter of the interval gets about a quarter of the values.
  for (int q = 0; q < 4; ++q) {
    const double lo = -2.0 + 2.0 * q;
    const auto in = std::count_if(w.begin(), w.end(), [lo](double x) { return x >= lo && x < lo + 2.0; });
    BOOST_TEST(std::abs(static_cast<double>(in) / 1e5 - 0.25) < 0.01);
  }
  check_values(uniform({3}, 1.5, 1.5, g), {1.5, 1.5, 1.5});  // low == high is allowed
}

// A generator state whose next output is 2^64 - 1, so that uniform() gives 1 - 2^-53, the largest
// value it can. xoshiro256**'s output depends on s[1] only: rotl(s[1] * 5, 7) * 9, inverted here.
Generator::State state_giving_the_largest_uniform() {
  Generator::State s;
  s.s = {1, 0x4fc71c71c71c71c7ULL, 2, 3};
  return s;
}

BOOST_AUTO_TEST_CASE(rand_float32_stays_below_one) {
  Generator g;
  g.set_state(state_giving_the_largest_uniform());
  BOOST_TEST(g.next_u64() == ~std::uint64_t{0});
  g.set_state(state_giving_the_largest_uniform());
  BOOST_TEST(g.uniform() == 1.0 - 0x1.0p-53);
  // 1 - 2^-53 rounds to 1.0f: rand() in float32 returned exactly 1, outside [0, 1).
  g.set_state(state_giving_the_largest_uniform());
  const float top = rand({1}, g).item<float>();
  BOOST_TEST(top < 1.0f);
  BOOST_TEST(top == 1.0f - 0x1.0p-24f);  // the largest float below 1
  g.set_state(state_giving_the_largest_uniform());
  BOOST_TEST(rand({1}, g, {.dtype = kFloat64}).item() == 1.0 - 0x1.0p-53);  // float64 is untouched
}

// uniform(low, high) computed low + (high - low) u, which rounds to high, or in float32 past it, for u
// near 1: [-2, 2) gave 2.0f, and [1, 1 + 1e-7) gave 1 + 2^-23, above high, for over a third of its values.
BOOST_AUTO_TEST_CASE(uniform_stays_below_high) {
  Generator g;
  g.set_state(state_giving_the_largest_uniform());
  BOOST_TEST(uniform({1}, -2.0, 2.0, g).item<float>() == 2.0f - 0x1.0p-23f);  // the largest float below 2
  g.set_state(state_giving_the_largest_uniform());
  BOOST_TEST(uniform({1}, 0.0, 3.0, g, {.dtype = kFloat64}).item() < 3.0);
  g.set_state(state_giving_the_largest_uniform());
  BOOST_TEST(uniform({1}, -2.0, 2.0, g, {.dtype = kFloat64}).item() == 2.0 - 0x1.0p-51);  // exact: not capped
  Generator h(3);
  const std::vector<double> tight = uniform({1000}, 1.0, 1.0 + 1e-7, h).to_vector();
  BOOST_TEST(*std::max_element(tight.begin(), tight.end()) == 1.0);  // the one float32 in [1, 1 + 1e-7)
  check_values(uniform({2}, 1.5, 1.5, h), {1.5, 1.5});  // low == high still gives low
}

BOOST_AUTO_TEST_CASE(randint_stays_in_range_and_hits_every_value) {
  Generator g(5);
  const std::vector<std::int64_t> v = randint(-3, 4, {7000}, g).to_vector<std::int64_t>();
  std::vector<int> counts(7, 0);
  for (std::int64_t x : v) {
    BOOST_TEST_REQUIRE((x >= -3 && x < 4), fmt::format("value {} outside [-3, 4)", x));
    ++counts[static_cast<std::size_t>(x + 3)];
  }
  for (int c : counts) BOOST_TEST(std::abs(c - 1000) < 150);  // se 29
  Tensor one = randint(10, 11, {4}, g);
  BOOST_TEST((one.dtype() == kInt64));
  BOOST_TEST((one.to_vector<std::int64_t>() == std::vector<std::int64_t>{10, 10, 10, 10}));
  // The full int64 range does not overflow.
  const auto wide = randint(INT64_MIN, INT64_MAX, {100}, g).to_vector<std::int64_t>();
  BOOST_TEST(*std::min_element(wide.begin(), wide.end()) < 0);
  BOOST_TEST(*std::max_element(wide.begin(), wide.end()) > 0);
  BOOST_CHECK_EXCEPTION(randint(3, 3, {2}, g), ValueError, has_message("randint: needs low < high, got low 3 and high 3"));
}

BOOST_AUTO_TEST_CASE(randperm_is_a_permutation) {
  Generator g(8);
  for (std::int64_t n : {0, 1, 2, 10, 1000}) {
    Tensor p = randperm(n, g);
    BOOST_TEST((p.shape() == Shape{n}));
    BOOST_TEST((p.dtype() == kInt64));
    std::vector<std::int64_t> v = p.to_vector<std::int64_t>();
    std::sort(v.begin(), v.end());
    for (std::int64_t i = 0; i < n; ++i) BOOST_TEST_REQUIRE(v[static_cast<std::size_t>(i)] == i);
  }
  // Shuffled, not the identity: the first element lands at each position about equally often.
  std::vector<int> where_zero(4, 0);
  for (int trial = 0; trial < 4000; ++trial) {
    const auto v = randperm(4, g).to_vector<std::int64_t>();
    ++where_zero[static_cast<std::size_t>(std::find(v.begin(), v.end(), 0) - v.begin())];
  }
  for (int c : where_zero) BOOST_TEST(std::abs(c - 1000) < 120);
  BOOST_CHECK_EXCEPTION(randperm(-1, g), ValueError, has_message("randperm: n must be >= 0, got -1"));
}

BOOST_AUTO_TEST_CASE(below_is_uniform_and_refuses_zero) {
  Generator g(9);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 3000; ++i) ++counts[g.below(3)];
  for (int c : counts) BOOST_TEST(std::abs(c - 1000) < 120);
  BOOST_TEST(g.below(1) == 0u);
  // n = 0 was a division by zero (a crash); there is no integer in [0, 0).
  BOOST_CHECK_EXCEPTION(g.below(0), ValueError, has_message("Generator::below: n must be > 0, got 0"));
}

BOOST_AUTO_TEST_CASE(random_factories_check_their_arguments) {
  Generator g(1);
  BOOST_CHECK_EXCEPTION(rand({2}, g, {.dtype = kInt64}), DTypeError,
                        has_message("rand: random values need a floating-point dtype, got int64"));
  BOOST_CHECK_EXCEPTION(randn({2}, g, {.dtype = kBool}), DTypeError, has_message("randn: random values need"));
  BOOST_CHECK_EXCEPTION(uniform({2}, 0.0, 1.0, g, {.dtype = kInt64}), DTypeError, has_message("uniform: random"));
  BOOST_CHECK_EXCEPTION(normal({2}, 0.0, 1.0, g, {.dtype = kInt64}), DTypeError, has_message("normal: random"));
  BOOST_CHECK_EXCEPTION(uniform({2}, 2.0, 1.0, g), ValueError,
                        has_message("uniform: needs finite low <= high, got low 2 and high 1"));
  BOOST_CHECK_EXCEPTION(uniform({2}, 0.0, INFINITY, g), ValueError, has_message("got low 0 and high inf"));
  BOOST_CHECK_EXCEPTION(normal({2}, 0.0, -1.0, g), ValueError,
                        has_message("normal: needs a finite mean and std >= 0, got mean 0 and std -1"));
  BOOST_CHECK_EXCEPTION(normal({2}, NAN, 1.0, g), ValueError, has_message("got mean nan"));
  // A failed call draws nothing: the stream goes on as if it had not happened.
  BOOST_TEST((g.state() == Generator(1).state()));
  Tensor w = randn({3}, g, {.dtype = kFloat64, .requires_grad = true});
  BOOST_TEST(w.requires_grad());
  check_values(normal({4}, 2.0, 0.0, g), {2, 2, 2, 2});  // std 0 is allowed
}

BOOST_AUTO_TEST_SUITE_END()
