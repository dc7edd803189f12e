// 06_word_order: "does A come before B?" Without position embeddings a transformer cannot tell.
//
// Sequences of --length tokens: one A, one B, and random filler tokens c, d, e, .. elsewhere. The label
// is 1 when A comes first. Two models, trained side by side on the same batches, differ only in the
// position embeddings (a learned vector per position added to each token's embedding):
//   no positions:  embedding -> transformer block -> mean over time -> linear
//   positions:     embedding + position -> transformer block -> mean over time -> linear
//
// Why the first is at exactly 0.5. Self-attention is permutation equivariant (MLVU lecture 10, slide
// 32): permute the input vectors and the outputs are permuted the same way; the feed-forward layer and
// the layer norms work on each position alone, so the whole block is equivariant too, and the mean over
// time does not care about order at all. So a sequence and its twin with A and B swapped (a permutation
// of the same tokens) get the same logits, hence the same answer, and their labels differ: exactly one
// of the two is right. The test set holds both twins of every pair, so exactly half of it is right,
// whatever the weights. (The logits agree up to rounding, since the sums run in another order; the
// models compute in float64 so that rounding cannot split a tie, and the program prints the largest
// difference it saw.) The position embeddings make the two vectors of A differ by where A is, and the
// same model then learns the task.
//
// Held-out pairs: a pair belongs to the test set when a hash of its frame (the sequence with A and B
// both written "?") says so, one in five; no test sequence, nor its twin, is trained on.
//
// With --sinusoidal a third model trains on the same batches, with the fixed sines and cosines of
// nn::SinusoidalPositionEncoding in place of learned position embeddings (examples/README.md compares).
//
// Writes curve.csv / curve.svg (each model's training loss) and attention_head<h>.svg: the
// position model's attention on a held-out sequence, one picture per head.
//
//   $ 06_word_order
//   ...
//   result: no_positions_accuracy=0.5 positions_accuracy=... pairs_told_apart=0 swap_logit_difference=...
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/ranges.h>

#include "common.hpp"

using namespace attograd;

namespace {

constexpr std::int64_t kA = 0, kB = 1;  // token ids; fillers are 2, 3, ..
constexpr std::uint64_t kTestShare = 5;  // one pair in five is held out

std::string token_name(std::int64_t id) {
  return id == kA ? "A" : id == kB ? "B" : std::string(1, static_cast<char>('c' + id - 2));
}

std::vector<std::string> names(const std::vector<std::int64_t>& ids) {
  std::vector<std::string> words;
  for (const std::int64_t id : ids) words.push_back(token_name(id));
  return words;
}

// A pair's frame: the fillers and the two places of A and B, first < second.
struct Frame {
  std::vector<std::int64_t> tokens;  // fillers, and kA at first, kB at second (A comes first)
  std::int64_t first = 0, second = 0;
};

Frame random_frame(std::int64_t length, std::int64_t fillers, Generator& gen) {
  Frame f;
  for (std::int64_t t = 0; t < length; ++t) f.tokens.push_back(2 + static_cast<std::int64_t>(gen.below(fillers)));
  const auto L = static_cast<std::uint64_t>(length);
  f.first = static_cast<std::int64_t>(gen.below(L));
  do {
    f.second = static_cast<std::int64_t>(gen.below(L));
  } while (f.second == f.first);
  if (f.second < f.first) std::swap(f.first, f.second);
  f.tokens[static_cast<std::size_t>(f.first)] = kA;
  f.tokens[static_cast<std::size_t>(f.second)] = kB;
  return f;
}

// The frame's twin: B first, then A.
std::vector<std::int64_t> swapped(const Frame& f) {
  std::vector<std::int64_t> s = f.tokens;
  std::swap(s[static_cast<std::size_t>(f.first)], s[static_cast<std::size_t>(f.second)]);
  return s;
}

// FNV-1a of the frame with A and B alike: both twins are on the same side.
bool held_out(const Frame& f) {
  std::uint64_t h = 14695981039346656037ull;
  for (const std::int64_t id : f.tokens) {
    h = (h ^ static_cast<std::uint64_t>(std::max(id, kB))) * 1099511628211ull;  // A and B both count as B
  }
  return h % kTestShare == 0;
}

// The largest logit's class of each row. logits [N, 2] -> [N].
std::vector<std::int64_t> predictions(const nn::Classifier& model, const Tensor& ids) {
  NoGradGuard no_grad;
  return argmax(model(ids), -1).to_vector<std::int64_t>();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"06_word_order: does A come before B? The same transformer classifier without and with "
               "position embeddings, on held-out pairs of twins"};
  examples::Flags flags{.steps = 500, .lr = 3e-3, .out = "runs/06_word_order"};
  examples::add_common_flags(app, flags);
  std::int64_t length = 8, fillers = 8, emb = 32, heads = 2, depth = 1, batch = 32, test_pairs = 500;
  app.add_option("--length", length, "tokens per sequence (A, B and length - 2 fillers)")
      ->capture_default_str()
      ->check(examples::above(1));
  app.add_option("--fillers", fillers, "filler tokens to choose from (c, d, ..; at most 24)")
      ->capture_default_str()
      ->check(CLI::Range(1, 24));
  app.add_option("--emb", emb, "embedding width C")->capture_default_str()->check(examples::above(0));
  app.add_option("--heads", heads, "attention heads (must divide --emb)")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--depth", depth, "transformer blocks")->capture_default_str()->check(examples::above(0));
  app.add_option("--batch", batch, "sequences per training step")->capture_default_str()->check(examples::above(0));
  app.add_option("--test-pairs", test_pairs, "held-out pairs of twins in the test set")
      ->capture_default_str()
      ->check(examples::above(0));
  bool sinusoidal = false;
  app.add_flag("--sinusoidal", sinusoidal,
               "also train a third model, with the fixed sines and cosines of \"Attention is all you need\" in place "
               "of learned position embeddings, on the same batches, and compare");
  CLI11_PARSE(app, argc, argv);
  auto report = examples::start_report(app, "06_word_order: does A come before B? Without and with positions");

  return examples::run("06_word_order", [&] {
    const auto out = examples::start(flags);
    Generator gen(flags.seed);

    // The test set: both twins of every held-out pair, A first in rows 2i, B first in rows 2i + 1.
    // A short --length with few --fillers has few frames: give up, rather than loop, when there are
    // not enough.
    std::vector<Frame> pairs;
    for (std::int64_t tries = 0; static_cast<std::int64_t>(pairs.size()) < test_pairs; ++tries) {
      if (tries > 100 * test_pairs + 100000) {
        throw ValueError(fmt::format("--test-pairs {}: found only {} distinct held-out pairs of length {} with {} "
                                     "fillers in {} tries",
                                     test_pairs, pairs.size(), length, fillers, tries));
      }
      Frame f = random_frame(length, fillers, gen);
      if (!held_out(f)) continue;
      if (std::any_of(pairs.begin(), pairs.end(), [&](const Frame& g) { return g.tokens == f.tokens; })) continue;
      pairs.push_back(std::move(f));
    }
    std::vector<std::int64_t> test_ids, test_labels;
    for (const Frame& f : pairs) {
      const auto twin = swapped(f);
      test_ids.insert(test_ids.end(), f.tokens.begin(), f.tokens.end());
      test_ids.insert(test_ids.end(), twin.begin(), twin.end());
      test_labels.insert(test_labels.end(), {1, 0});
    }
    const std::int64_t n = 2 * test_pairs;
    const Tensor test_x = tensor_of<std::int64_t>(test_ids, {n, length});
    const std::vector<std::string> shown = names(pairs[0].tokens);  // the first held-out sequence, for the pictures
    fmt::print("test set: {} held-out pairs of twins, e.g. {} (A first) and {} (B first)\n", test_pairs,
               fmt::join(shown, " "), fmt::join(names(swapped(pairs[0])), " "));

    // The two models, in float64 (see the top of the file); only position_embeddings differs.
    nn::Classifier no_positions(2 + fillers, emb, heads, depth, length, 2,
                                {.pool = nn::Pool::Mean, .position_embeddings = false, .generator = &gen});
    nn::Classifier positions(2 + fillers, emb, heads, depth, length, 2,
                             {.pool = nn::Pool::Mean, .position_embeddings = true, .generator = &gen});
    no_positions.to(kFloat64);
    positions.to(kFloat64);
    fmt::print("{}\n", positions);
    // With --sinusoidal, a third model whose positions are a fixed table: nothing to learn there.
    std::optional<nn::Classifier> fixed;
    if (sinusoidal) {
      fixed.emplace(2 + fillers, emb, heads, depth, length, 2,
                    nn::ClassifierOptions{.pool = nn::Pool::Mean, .sinusoidal_positions = true, .generator = &gen});
      fixed->to(kFloat64);
    }

    // Training batches: random pairs from the training side, each in a random order.
    Generator data_gen(flags.seed + 1);
    auto training_batch = [&] {
      std::vector<std::int64_t> ids, labels;
      for (std::int64_t tries = 0; static_cast<std::int64_t>(labels.size()) < batch; ++tries) {
        if (tries > 1000 * batch) {
          throw ValueError(fmt::format("no training pairs: every frame of length {} with {} fillers is held out",
                                       length, fillers));
        }
        const Frame f = random_frame(length, fillers, data_gen);
        if (held_out(f)) continue;
        const bool a_first = data_gen.below(2) == 1;
        const auto seq = a_first ? f.tokens : swapped(f);
        ids.insert(ids.end(), seq.begin(), seq.end());
        labels.push_back(a_first ? 1 : 0);
      }
      return std::pair{tensor_of<std::int64_t>(ids, {batch, length}), tensor_of<std::int64_t>(labels, {batch})};
    };

    optim::Adam no_positions_opt(no_positions.parameters(), {.lr = flags.lr});
    optim::Adam positions_opt(positions.parameters(), {.lr = flags.lr});
    std::vector<std::pair<nn::Classifier*, optim::Adam*>> trained = {{&no_positions, &no_positions_opt},
                                                                     {&positions, &positions_opt}};
    std::optional<optim::Adam> fixed_opt;
    if (fixed) trained.emplace_back(&*fixed, &fixed_opt.emplace(fixed->parameters(), optim::AdamOptions{.lr = flags.lr}));
    std::vector<std::string> columns = {"step", "no_positions_loss", "positions_loss"};
    if (fixed) columns.push_back("sinusoidal_loss");
    train::Curve curve(columns);
    train::Progress progress(flags.steps, {.label = "06_word_order"});
    for (std::int64_t step = 1; step <= flags.steps; ++step) {
      const auto [ids, labels] = training_batch();  // the same batch for every model
      std::vector<double> row = {static_cast<double>(step)};
      for (auto [model, opt] : trained) {
        Tensor L = cross_entropy((*model)(ids), labels);
        opt->zero_grad();
        L.backward();
        opt->step();
        row.push_back(L.item());
        train::check_loss(row.back(), step);
      }
      curve.add(row);
      progress.update(step, row[2], fmt::format("no positions {:.3f}", row[1]));
    }
    progress.finish();
    const double seconds = progress.elapsed();

    // Accuracy by counting, so that 0.5 is exact; and how each model treats the twins of a pair.
    no_positions.eval();
    positions.eval();
    auto count_right = [&](const std::vector<std::int64_t>& predicted) {
      std::int64_t right = 0;
      for (std::size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == test_labels[i] ? 1 : 0;
      return right;
    };
    const auto predicted_without = predictions(no_positions, test_x);
    const auto predicted_with = predictions(positions, test_x);
    const std::int64_t right_without = count_right(predicted_without), right_with = count_right(predicted_with);
    std::int64_t told_apart = 0;  // pairs whose twins the no-position model answers differently
    for (std::size_t i = 0; i < predicted_without.size(); i += 2) {
      told_apart += predicted_without[i] != predicted_without[i + 1] ? 1 : 0;
    }
    double swap_difference = 0;  // largest |logits(x) - logits(twin of x)| of the no-position model
    {
      NoGradGuard no_grad;
      const Tensor logits = no_positions(test_x).reshape({test_pairs, 2, 2});  // [pair, twin, class]
      swap_difference = abs(logits.select(1, 0) - logits.select(1, 1)).max().item();
    }
    const double accuracy_without = static_cast<double>(right_without) / static_cast<double>(n);
    const double accuracy_with = static_cast<double>(right_with) / static_cast<double>(n);
    fmt::print("\nWithout positions, the block is permutation-equivariant and the mean over time ignores order:\n"
               "a sequence and its twin (A and B swapped) get the same logits, so the same answer, and exactly\n"
               "one of the two is right.\n");
    fmt::print("no positions: {} of {} right ({}); it told {} of {} pairs apart; the twins' logits differ by at "
               "most {:.2g} (rounding)\n",
               right_without, n, accuracy_without, told_apart, test_pairs, swap_difference);
    fmt::print("positions:    {} of {} right ({:.3f})\n", right_with, n, accuracy_with);
    double accuracy_fixed = NAN;
    if (fixed) {
      fixed->eval();
      const std::int64_t right_fixed = count_right(predictions(*fixed, test_x));
      accuracy_fixed = static_cast<double>(right_fixed) / static_cast<double>(n);
      fmt::print("sinusoidal:   {} of {} right ({:.3f}), with {} parameters to the learned model's {}\n", right_fixed,
                 n, accuracy_fixed, fixed->parameter_count(), positions.parameter_count());
    }
    fmt::print("\n");

    {
      NoGradGuard no_grad;
      const Tensor both = test_x.slice(0, 0, 2);  // the first pair
      const Tensor p_without = softmax(no_positions(both), -1), p_with = softmax(positions(both), -1);
      fmt::print("  {:<24} {:>13} {:>10}   p(A first)\n", "", "no positions", "positions");
      const std::vector<std::int64_t> twins[2] = {pairs[0].tokens, swapped(pairs[0])};
      for (std::int64_t i = 0; i < 2; ++i) {
        fmt::print("  {:<24} {:13.6f} {:10.6f}\n", fmt::format("{}", fmt::join(names(twins[i]), " ")),
                   p_without.at({i, 1}), p_with.at({i, 1}));
      }
    }

    // The first block's attention on the first held-out sequence.
    auto& attn = positions.block(0).attn;
    attn.record(true);
    {
      NoGradGuard no_grad;
      positions(test_x.slice(0, 0, 1));
    }
    attn.record(false);
    for (std::int64_t h = 0; h < heads; ++h) {
      viz::write_attention_heatmap(out / fmt::format("attention_head{}.svg", h), attn.recorded(),
                                   viz::AttentionPart::weights, shown,
                                   {.head = h,
                                    .title = fmt::format("06_word_order, positions, head {}: row attends to column", h),
                                    .min = 0.0, .max = 1.0});
    }

    // For the report: the same attention again, with the gradients of the sequence's cross entropy.
    attn.record(true);
    cross_entropy(positions(test_x.slice(0, 0, 1)), tensor_of<std::int64_t>({test_labels[0]}, {1})).backward();
    attn.record(false);
    report.attention(attn.recorded(), shown, "positions model, block 0 (gradients of the cross entropy)");
    examples::write_curve(curve, out, "06_word_order: training loss without and with position embeddings", true,
                          &report);
    std::vector<std::pair<std::string, std::string>> result = {
        {"no_positions_accuracy", fmt::format("{}", accuracy_without)},  // exact: 0.5 or not
        {"positions_accuracy", fmt::format("{:.3f}", accuracy_with)},
        {"pairs_told_apart", fmt::format("{}", told_apart)},
        {"swap_logit_difference", fmt::format("{:.2g}", swap_difference)}};
    if (fixed) result.emplace_back("sinusoidal_accuracy", fmt::format("{:.3f}", accuracy_fixed));
    result.emplace_back("steps", fmt::format("{}", flags.steps));
    examples::print_result(result, seconds, out, &report);
  });
}
