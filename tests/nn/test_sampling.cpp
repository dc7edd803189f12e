// Sampling: next_token against an inverse-CDF oracle and by frequencies, temperature and top-k, greedy
// decoding against the argmax chain by hand, reproducibility, context cropping, modes, errors, and a
// trained model continuing its sequence.
#include "support/test.hpp"

#include <cmath>

#include "nn/models_support.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

// The oracle for one draw: p_i ∝ exp(l_i / temperature) over the kept logits, u from the generator,
// the first i with u·sum(p) < p_0 + .. + p_i.
std::int64_t draw_by_hand(const std::vector<double>& logits, double temperature, std::int64_t top_k, Generator& gen) {
  std::vector<double> sorted = logits;
  std::sort(sorted.rbegin(), sorted.rend());
  const double threshold = top_k > 0 && top_k < static_cast<std::int64_t>(logits.size())
                               ? sorted[static_cast<std::size_t>(top_k - 1)]
                               : -INFINITY;
  std::vector<double> p;
  double total = 0;
  for (double l : logits) {
    p.push_back(l >= threshold ? std::exp((l - sorted[0]) / temperature) : 0.0);
    total += p.back();
  }
  const double u = gen.uniform() * total;
  double cumulative = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    cumulative += p[i];
    if (p[i] > 0 && u < cumulative) return static_cast<std::int64_t>(i);
  }
  return -1;
}

std::vector<std::int64_t> ids(const Tensor& t) { return t.to_vector<std::int64_t>(); }

// The greedy chain written out: run the model on the last max_len tokens, take the argmax of the last
// position's logits, append, repeat.
std::vector<std::int64_t> greedy_by_hand(const LanguageModel& lm, std::vector<std::int64_t> tokens, int n) {
  NoGradGuard no_grad;
  for (int step = 0; step < n; ++step) {
    const std::int64_t T = static_cast<std::int64_t>(tokens.size()), ctx = std::min(T, lm.max_len());
    const std::vector<std::int64_t> context(tokens.end() - ctx, tokens.end());
    const std::vector<double> last = lm(tensor_of<std::int64_t>(context, {1, ctx})).select(1, -1).to_vector<double>();
    tokens.push_back(std::max_element(last.begin(), last.end()) - last.begin());
  }
  return tokens;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sampling)

BOOST_AUTO_TEST_CASE(greedy_takes_the_first_largest_logit_and_draws_nothing) {
  Generator gen(1);
  const Generator::State before = gen.state();
  const Tensor logits = tensor({{0.1, 2.0, 2.0, -1.0}, {5.0, 1.0, 0.0, 5.0}});
  BOOST_TEST(ids(next_token(logits, gen, {.greedy = true})) == (std::vector<std::int64_t>{1, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(ids(next_token(logits, gen, {.temperature = 0.0})) == (std::vector<std::int64_t>{1, 0}),
             boost::test_tools::per_element());
  BOOST_TEST((gen.state() == before));
  const Tensor one = next_token(tensor({0.3, -2.0, 0.7}), gen, {.temperature = 0.0});
  BOOST_TEST((one.shape() == Shape{}));
  BOOST_TEST((one.dtype() == kInt64));
  BOOST_TEST(one.item<std::int64_t>() == 2);
}

BOOST_AUTO_TEST_CASE(draws_match_the_inverse_cdf_by_hand) {
  // One uniform per row, p ∝ exp(logits / temperature), cut to the top k when asked.
  Generator data(2);
  const Tensor logits = randn({40, 5}, data, {.dtype = kFloat64}) * 2.0;
  const std::vector<double> all = logits.to_vector<double>();
  for (double temperature : {1.0, 0.5, 3.0}) {
    for (std::int64_t top_k : {0, 1, 2, 5, 9}) {
      Generator gen(3), oracle(3);
      const std::vector<std::int64_t> got = ids(next_token(logits, gen, {.temperature = temperature, .top_k = top_k}));
      for (std::size_t b = 0; b < 40; ++b) {
        const std::vector<double> row(all.begin() + 5 * b, all.begin() + 5 * (b + 1));
        BOOST_TEST(got[b] == draw_by_hand(row, temperature, top_k, oracle),
                   "temperature " << temperature << ", top_k " << top_k << ", row " << b);
      }
      BOOST_TEST((gen.state() == oracle.state()));  // exactly one draw per row
    }
  }
}

BOOST_AUTO_TEST_CASE(frequencies_follow_the_tempered_softmax) {
  // Logits log(0.2, 0.3, 0.5): at temperature 1 the draws follow (0.2, 0.3, 0.5); at temperature 2
  // they follow the square roots, renormalised; top_k 2 never picks the smallest.
  const std::int64_t N = 20000;
  const std::vector<double> p = {0.2, 0.3, 0.5};
  std::vector<double> row;
  for (std::int64_t i = 0; i < N; ++i) {
    for (double pi : p) row.push_back(std::log(pi));
  }
  const Tensor logits = tensor(row, {N, 3}, {.dtype = kFloat64});
  auto frequencies = [&](const SampleOptions& options) {
    Generator gen(4);
    std::vector<double> f(3, 0.0);
    for (std::int64_t t : ids(next_token(logits, gen, options))) f[static_cast<std::size_t>(t)] += 1.0 / N;
    return f;
  };
  const double s = std::sqrt(0.2) + std::sqrt(0.3) + std::sqrt(0.5);
  const std::vector<std::pair<SampleOptions, std::vector<double>>> cases = {
      {{.temperature = 1.0}, {0.2, 0.3, 0.5}},
      {{.temperature = 2.0}, {std::sqrt(0.2) / s, std::sqrt(0.3) / s, std::sqrt(0.5) / s}},
      {{.temperature = 1.0, .top_k = 2}, {0.0, 0.375, 0.625}},
  };
  for (const auto& [options, expected] : cases) {
    const std::vector<double> f = frequencies(options);
    // Standard error of a frequency near 0.5 over 20000 draws: about 0.0035.
    for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(std::abs(f[i] - expected[i]) < 0.015, f[i] << " vs " << expected[i]);
  }
  // A logit of -inf is never drawn.
  Generator gen(5);
  const Tensor masked = tensor({-INFINITY, 0.0, -INFINITY}, {.dtype = kFloat64}).expand({1000, 3});
  for (std::int64_t t : ids(next_token(masked, gen))) BOOST_TEST(t == 1);
}

BOOST_AUTO_TEST_CASE(greedy_sampling_is_the_argmax_chain_by_hand) {
  // 9 new tokens after a prompt of 3 run past max_len 6: the model then sees the last 6 tokens.
  Generator gen(6);
  LanguageModel lm(7, 8, 2, 2, 6, {.generator = &gen});
  const std::vector<std::int64_t> prompt = {3, 1, 4};
  const Tensor out = sample(lm, tensor_of<std::int64_t>(prompt, {3}), 9, gen, {.greedy = true});
  BOOST_TEST((out.shape() == Shape{12}));
  BOOST_TEST(ids(out) == greedy_by_hand(lm, prompt, 9), boost::test_tools::per_element());
  // Deterministic: again, and with temperature 0, the same tokens.
  BOOST_TEST(ids(sample(lm, tensor_of<std::int64_t>(prompt, {3}), 9, 0.0, gen)) == ids(out),
             boost::test_tools::per_element());
  // A batch of prompts: each row as if sampled alone.
  const Tensor batch = sample(lm, tensor_of<std::int64_t>({3, 1, 4, 0, 6, 2}, {2, 3}), 9, gen, {.greedy = true});
  BOOST_TEST((batch.shape() == Shape{2, 12}));
  BOOST_TEST(ids(batch.select(0, 0)) == ids(out), boost::test_tools::per_element());
  BOOST_TEST(ids(batch.select(0, 1)) == greedy_by_hand(lm, {0, 6, 2}, 9), boost::test_tools::per_element());
  // No new tokens: the prompt itself.
  BOOST_TEST(ids(sample(lm, tensor_of<std::int64_t>(prompt, {3}), 0, gen)) == prompt, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sampling_is_the_next_token_chain_with_the_same_generator) {
  // sample = next_token on the last position's logits of the cropped context, one step at a time.
  Generator init(7);
  LanguageModel lm(7, 8, 2, 1, 4, {.generator = &init});
  const SampleOptions options{.temperature = 0.8, .top_k = 3};
  Generator gen(8), oracle(8);
  const Tensor out = sample(lm, tensor_of<std::int64_t>({5, 2}, {2}), 8, gen, options);
  std::vector<std::int64_t> tokens = {5, 2};
  {
    NoGradGuard no_grad;
    for (int step = 0; step < 8; ++step) {
      const std::int64_t T = static_cast<std::int64_t>(tokens.size()), ctx = std::min<std::int64_t>(T, 4);
      const std::vector<std::int64_t> context(tokens.end() - ctx, tokens.end());
      const Tensor logits = lm(tensor_of<std::int64_t>(context, {1, ctx})).select(1, -1);  // [1, V]
      tokens.push_back(next_token(logits, oracle, options).item<std::int64_t>());
    }
  }
  BOOST_TEST(ids(out) == tokens, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_fixed_seed_reproduces_and_a_low_temperature_is_greedy) {
  Generator init(9);
  LanguageModel lm(7, 8, 2, 2, 6, {.generator = &init});
  const Tensor prompt = tensor_of<std::int64_t>({1, 2}, {2});
  Generator a(10), b(10), c(11), g(0);
  const Tensor first = sample(lm, prompt, 20, 1.0, a);
  BOOST_TEST(ids(sample(lm, prompt, 20, 1.0, b)) == ids(first), boost::test_tools::per_element());
  BOOST_TEST((ids(sample(lm, prompt, 20, 1.0, c)) != ids(first)));  // another seed, another text
  // An untrained model's logits differ by far more than 1e-6·log(1e300): the tempered distribution is
  // one-hot on the argmax.
  const Tensor greedy = sample(lm, prompt, 20, g, {.greedy = true});
  BOOST_TEST(ids(sample(lm, prompt, 20, 1e-6, a)) == ids(greedy), boost::test_tools::per_element());
  BOOST_TEST((ids(first) != ids(greedy)));  // while at temperature 1 it is not greedy
}

BOOST_AUTO_TEST_CASE(runs_without_a_graph_in_evaluation_mode_and_restores_the_mode) {
  // With dropout 0.5, training-mode forwards are random; sampling must not see that.
  Generator init(12), gen(13);
  LanguageModel lm(7, 8, 2, 2, 6, {.dropout = 0.5, .generator = &init});
  const Tensor prompt = tensor_of<std::int64_t>({4, 4, 1}, {3});
  BOOST_TEST(lm.is_training());
  const Tensor out = sample(lm, prompt, 8, gen, {.greedy = true});
  BOOST_TEST(lm.is_training());
  BOOST_TEST(lm.block(1).dropout.is_training());
  BOOST_TEST(!out.requires_grad());
  for (const Tensor& p : lm.parameters()) BOOST_TEST(!p.grad().defined());
  BOOST_TEST(GradMode::is_enabled());
  lm.eval();
  BOOST_TEST(ids(out) == greedy_by_hand(lm, {4, 4, 1}, 8), boost::test_tools::per_element());
  sample(lm, prompt, 2, gen);
  BOOST_TEST(!lm.is_training());
}

BOOST_AUTO_TEST_CASE(a_trained_model_continues_its_sequence) {
  // Trained on windows of 8 of 0 1 2 0 2 1 ..., greedy decoding from 3 tokens of it writes the next 20,
  // well past max_len 8.
  Generator gen(14);
  auto lm = make_cycle_model(gen);
  train_on_cycle(*lm, 150);
  const Tensor out = sample(*lm, cycle_tokens(2, 3), 20, gen, {.greedy = true});
  BOOST_TEST(ids(out) == ids(cycle_tokens(2, 23)), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_clear_errors) {
  Generator gen(15);
  LanguageModel lm(7, 8, 2, 1, 6);
  const Tensor prompt = tensor_of<std::int64_t>({1, 2}, {2});
  BOOST_CHECK_EXCEPTION(sample(lm, prompt, 3, -1.0, gen), ValueError,
                        has_message("sample: temperature must be finite and >= 0 (0 takes the argmax), got -1"));
  BOOST_CHECK_EXCEPTION(sample(lm, prompt, 3, NAN, gen), ValueError, has_message("got nan"));
  BOOST_CHECK_EXCEPTION(sample(lm, prompt, 0, gen, {.top_k = -2}), ValueError,
                        has_message("sample: top_k must be >= 0 (0 keeps every token), got -2"));
  BOOST_CHECK_EXCEPTION(sample(lm, prompt, -1, gen), ValueError, has_message("sample: new_tokens must be >= 0, got -1"));
  BOOST_CHECK_EXCEPTION(sample(lm, zeros({0}, {.dtype = kInt64}), 3, gen), ValueError,
                        has_message("sample: the prompt is empty (shape [0])"));
  BOOST_CHECK_EXCEPTION(sample(lm, zeros({2, 0}, {.dtype = kInt64}), 3, gen), ValueError,
                        has_message("the prompt is empty (shape [2, 0])"));
  BOOST_CHECK_EXCEPTION(sample(lm, tensor_of<std::int64_t>({1, 2, 7}, {3}), 3, gen), IndexError,
                        has_message("sample: prompt token 7 (element 2 of the prompt) is outside the vocabulary [0, 7)"));
  BOOST_CHECK_EXCEPTION(sample(lm, tensor_of<std::int64_t>({-1}, {1}), 3, gen), IndexError,
                        has_message("prompt token -1 (element 0"));
  BOOST_CHECK_EXCEPTION(sample(lm, tensor({1.0, 2.0}), 3, gen), DTypeError,
                        has_message("sample: the prompt must be int64 token ids, got float32"));
  BOOST_CHECK_EXCEPTION(sample(lm, zeros({1, 1, 2}, {.dtype = kInt64}), 3, gen), ShapeError,
                        has_message("sample: expected a prompt [T] or [B, T], got shape [1, 1, 2]"));
  BOOST_TEST(lm.is_training());  // untouched by the failed calls

  BOOST_CHECK_EXCEPTION(next_token(tensor({1.0, NAN}), gen), ValueError,
                        has_message("next_token: logit 1 of row 0 is nan: cannot make a distribution of it"));
  BOOST_CHECK_EXCEPTION(next_token(tensor({{1.0, 0.0}, {INFINITY, 0.0}}), gen), ValueError,
                        has_message("logit 0 of row 1 is inf"));
  BOOST_CHECK_EXCEPTION(next_token(zeros({2, 0}), gen), ShapeError,
                        has_message("next_token: expected logits [V] or [B, V] with V >= 1, got shape [2, 0]"));
  BOOST_CHECK_EXCEPTION(next_token(zeros({1, 2, 3}), gen), ShapeError, has_message("got shape [1, 2, 3]"));
  BOOST_CHECK_EXCEPTION(next_token(zeros({3}, {.dtype = kInt64}), gen), DTypeError,
                        has_message("next_token: expected floating-point logits, got int64"));
  BOOST_CHECK_EXCEPTION(next_token(zeros({3}), gen, {.temperature = -0.5}), ValueError,
                        has_message("next_token: temperature must be finite and >= 0"));
}

BOOST_AUTO_TEST_SUITE_END()
