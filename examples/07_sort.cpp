// 07_sort: sorting digits with a small causal transformer, as minGPT's demo does.
//
// A sequence of --length digits from {0 .. --digits - 1} is followed by the same digits sorted:
//   input   2 0 1 2 1 0      sorted   0 0 1 1 2 2
// The model is a LanguageModel (attograd/nn/models.hpp) reading the 2L - 1 tokens
//   2 0 1 2 1 0 0 0 1 1 2
// and trained to predict each next token; the loss counts only the L predictions of the sorted half
// (the targets of the input half are ignore_index), since the input itself is random. To sort a new
// sequence, the model is given the input alone and generates the sorted half greedily, one token at a
// time, each prediction fed back as the next input (nn::sample with greedy). A sequence counts as right
// only if all L generated tokens are.
//
// There are only 3^6 = 729 inputs of length 6 from 3 digits, so train and test sets are split by a hash
// of the sequence: about a quarter of all inputs are held out and never trained on, the same ones for
// every seed. (When there are more than the split's limit, it is a random sample of its inputs.)
//
// Writes curve.csv / curve.svg (loss, train and test accuracy) and attention_layer<l>_head<h>.svg: what
// each head of each layer attended to while sorting one held-out sequence, the tokens as labels (the
// sorted half marked with "→").
//
//   $ 07_sort
//   ...
//   result: test_accuracy=1.000 train_accuracy=1.000 steps=... seconds=... out=runs/07_sort
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "common.hpp"

using namespace attograd;

namespace {

using Digits = std::vector<std::int64_t>;

// The split of a sequence: a fixed hash (SplitMix64's finaliser over the digits), so that the held-out
// inputs do not depend on --seed and train and test are disjoint by construction.
bool held_out(const Digits& s) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (const std::int64_t d : s) {
    h ^= static_cast<std::uint64_t>(d) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h % 4 == 0;
}

// The inputs of one split, at most `limit` of them. Up to 2^20 inputs in all are listed in counting
// order (all 729 for the defaults), then cut to `limit` at random if there are more; beyond that, each
// split holds at least 2^18 inputs (a quarter of 2^20), so `limit` distinct ones are drawn at random.
std::vector<Digits> inputs_of(bool test, std::int64_t length, std::int64_t digits, std::size_t limit,
                              Generator& gen) {
  const double all = std::pow(static_cast<double>(digits), static_cast<double>(length));
  std::vector<Digits> chosen;
  if (all <= static_cast<double>(1 << 20)) {
    Digits s(static_cast<std::size_t>(length), 0);
    for (std::int64_t n = 0; n < static_cast<std::int64_t>(all); ++n) {
      for (std::int64_t i = length - 1, rest = n; i >= 0; --i, rest /= digits) s[i] = rest % digits;
      if (held_out(s) == test) chosen.push_back(s);
    }
    if (chosen.size() > limit) {  // keep the first `limit` of a shuffle
      for (std::size_t i = 0; i < limit; ++i) std::swap(chosen[i], chosen[i + gen.below(chosen.size() - i)]);
      chosen.resize(limit);
    }
    return chosen;
  }
  std::set<Digits> seen;
  while (chosen.size() < limit) {
    Digits s(static_cast<std::size_t>(length));
    for (auto& d : s) d = static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(digits)));
    if (held_out(s) == test && seen.insert(s).second) chosen.push_back(s);
  }
  return chosen;
}

// The training pairs for inputs s: ids [N, 2L-1] = s, sorted(s) without its last digit, and targets
// [N, 2L-1] = the next token at each position, -1 (ignored by the loss) where the next token is still
// part of the random input.
std::pair<Tensor, Tensor> training_pairs(const std::vector<Digits>& inputs, std::int64_t length) {
  const std::int64_t N = static_cast<std::int64_t>(inputs.size()), T = 2 * length - 1;
  std::vector<std::int64_t> ids, targets;
  for (const Digits& s : inputs) {
    Digits full = s, sorted = s;
    std::sort(sorted.begin(), sorted.end());
    full.insert(full.end(), sorted.begin(), sorted.end());  // 2L tokens
    for (std::int64_t t = 0; t < T; ++t) {
      ids.push_back(full[t]);
      targets.push_back(t + 1 < length ? -1 : full[t + 1]);
    }
  }
  return {tensor_of<std::int64_t>(ids, {N, T}), tensor_of<std::int64_t>(targets, {N, T})};
}

// Sorts every input greedily and returns the model's outputs [N, L]: the input as prompt, then L
// tokens, each the argmax of the model's prediction given everything before it.
Tensor sort_with(nn::LanguageModel& model, const std::vector<Digits>& inputs, std::int64_t length, Generator& gen) {
  std::vector<std::int64_t> flat;
  for (const Digits& s : inputs) flat.insert(flat.end(), s.begin(), s.end());
  const Tensor prompt = tensor_of<std::int64_t>(flat, {static_cast<std::int64_t>(inputs.size()), length});
  return nn::sample(model, prompt, length, gen, {.greedy = true}).narrow(1, length, length);
}

// The share of inputs whose whole sorted output is right.
double accuracy_of(const Tensor& outputs, const std::vector<Digits>& inputs) {
  const auto out = outputs.to_vector<std::int64_t>();
  const std::size_t L = static_cast<std::size_t>(outputs.size(1));
  std::size_t right = 0;
  for (std::size_t n = 0; n < inputs.size(); ++n) {
    Digits sorted = inputs[n];
    std::sort(sorted.begin(), sorted.end());
    right += std::equal(sorted.begin(), sorted.end(), out.begin() + static_cast<std::ptrdiff_t>(n * L)) ? 1 : 0;
  }
  return static_cast<double>(right) / static_cast<double>(inputs.size());
}

std::string digits_text(const Digits& s) {
  std::string text;
  for (const std::int64_t d : s) text += fmt::format("{}{}", text.empty() ? "" : " ", d);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"07_sort: sort sequences of digits with a small causal transformer, judged on held-out sequences"};
  examples::Flags flags{.steps = 600, .lr = 3e-3, .out = "runs/07_sort"};
  examples::add_common_flags(app, flags);
  examples::add_checkpoint_flags(app, flags);
  std::int64_t length = 6, digits = 3, emb = 48, heads = 3, depth = 3, batch = 64;
  bool post_norm = false;
  app.add_option("--length", length, "digits in each sequence")->capture_default_str()->check(examples::above(0));
  app.add_option("--digits", digits, "size of the alphabet: digits 0 .. digits-1")
      ->capture_default_str()
      ->check(examples::above(1));
  app.add_option("--emb", emb, "embedding size C")->capture_default_str()->check(examples::above(0));
  app.add_option("--heads", heads, "attention heads per layer (must divide --emb)")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--depth", depth, "transformer blocks")->capture_default_str()->check(examples::above(0));
  app.add_option("--batch", batch, "sequences per training step")->capture_default_str()->check(examples::above(0));
  app.add_flag("--post-norm", post_norm, "layer norm after each residual add (the blog's order) instead of before");
  CLI11_PARSE(app, argc, argv);
  auto report = examples::start_report(app, "07_sort: sorting digits with a small causal transformer");

  return examples::run("07_sort", [&] {
    examples::Ranks ranks;  // `mpirun -n N 07_sort`: data-parallel on N ranks (docs/distributed.md)
    const auto out = examples::start(flags);
    Generator gen(flags.seed);
    const auto train_inputs = inputs_of(false, length, digits, 100000, gen);
    const auto test_inputs = inputs_of(true, length, digits, 2000, gen);
    if (train_inputs.empty() || test_inputs.empty()) {
      throw ValueError(fmt::format("--length {} --digits {}: the {} inputs split into {} for training and {} held "
                                   "out; both need some: use longer sequences or more digits",
                                   length, digits, train_inputs.size() + test_inputs.size(), train_inputs.size(),
                                   test_inputs.size()));
    }
    const auto [ids, targets] = training_pairs(train_inputs, length);
    fmt::print("{} training and {} held-out sequences of {} digits from {{0..{}}}\n", train_inputs.size(),
               test_inputs.size(), length, digits - 1);

    nn::LanguageModel model(digits, emb, heads, depth, 2 * length - 1,
                            {.order = post_norm ? nn::NormOrder::PostNorm : nn::NormOrder::PreNorm, .generator = &gen});
    fmt::print("{}\n", model);
    ranks.data_parallel(model);

    // AdamW with the learning rate warming up over the first steps, then falling along half a cosine;
    // gradients clipped to norm 1, as minGPT trains.
    optim::AdamW opt(model.parameters(), {.lr = flags.lr, .weight_decay = 0.1});
    optim::WarmupCosine schedule(opt, flags.steps / 20, flags.steps);
    train::Batches batches({ids, targets}, batch, gen);
    train::Curve curve({"step", "loss", "train_accuracy", "test_accuracy"});
    // What a checkpoint keeps (--checkpoint-every, --resume): everything the next step reads. The
    // schedule and the evaluation steps depend on --steps, so a resumed run must keep it.
    const std::string settings = fmt::format("steps={} length={} digits={} emb={} heads={} depth={} batch={} post_norm={}",
                                             flags.steps, length, digits, emb, heads, depth, batch, post_norm);
    const train::TrainingState state{.model = model, .optimizer = &opt, .schedule = &schedule, .generator = &gen,
                                     .batches = &batches, .curve = &curve, .config = examples::config(flags, settings),
                                     .rank = ranks.rank(), .ranks = ranks.size()};  // --resume needs as many ranks
    const std::int64_t done = examples::resume(flags, out, state);  // 0 unless --resume
    train::Progress progress(flags.steps, {.label = "07_sort", .rank = ranks.rank()});
    const std::int64_t eval_every = std::max<std::int64_t>(1, flags.steps / 10);
    double seconds_evaluating = 0;
    for (std::int64_t step = done + 1; step <= flags.steps; ++step) {
      auto [x, y] = ranks.shard(batches.next2());                   // [B, 2L-1] each: this rank's rows
      Tensor L = cross_entropy(model(x), y, {.ignore_index = -1});  // the sorted half's predictions only
      opt.zero_grad();
      L.backward();
      optim::clip_grad_norm(model.parameters(), 1.0);
      opt.step();
      schedule.step();
      const double loss = ranks.average(L.item());  // of the whole batch
      train::check_loss(loss, step);
      double train_acc = NAN, test_acc = NAN;
      if (step % eval_every == 0 || step == flags.steps) {
        const double started = progress.elapsed();
        train_acc = accuracy_of(sort_with(model, train_inputs, length, gen), train_inputs);
        test_acc = accuracy_of(sort_with(model, test_inputs, length, gen), test_inputs);
        seconds_evaluating += progress.elapsed() - started;
      }
      curve.add({static_cast<double>(step), loss, train_acc, test_acc});
      progress.update(step, loss, std::isnan(test_acc) ? "" : fmt::format("test acc {:.3f}", test_acc));
      if (examples::after_step(flags, out, state, step, ranks.root())) return;  // a checkpoint; --stop-after
    }
    progress.finish();
    ranks.finish();             // rank 0's backward passes for the report's pictures are its own
    if (!ranks.root()) return;  // rank 0 alone shows and writes the results
    const double seconds = progress.elapsed() - seconds_evaluating;
    const auto& last = curve.rows().back();
    const double train_accuracy = last[2], test_accuracy = last[3];

    // A few held-out sequences, spread over the test set, as the model sorts them.
    const Tensor outputs = sort_with(model, test_inputs, length, gen);
    auto output = [&](std::size_t n) {
      Digits got(static_cast<std::size_t>(length));
      for (std::int64_t i = 0; i < length; ++i) got[i] = outputs.at<std::int64_t>({static_cast<std::int64_t>(n), i});
      return got;
    };
    for (std::size_t k = 0; k < std::min<std::size_t>(5, test_inputs.size()); ++k) {
      const std::size_t n = k * test_inputs.size() / 5;
      Digits want = test_inputs[n];
      std::sort(want.begin(), want.end());
      fmt::print("  {}  ->  {}  {}\n", digits_text(test_inputs[n]), digits_text(output(n)),
                 output(n) == want ? "right" : "WRONG");
    }
    // The attention while sorting the held-out input with the most pairs out of order: the one that
    // most needs sorting.
    {
      auto inversions = [](const Digits& s) {
        std::int64_t count = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
          for (std::size_t j = i + 1; j < s.size(); ++j) count += s[i] > s[j] ? 1 : 0;
        }
        return count;
      };
      std::size_t pick = 0;
      for (std::size_t n = 1; n < test_inputs.size(); ++n) {
        if (inversions(test_inputs[n]) > inversions(test_inputs[pick])) pick = n;
      }
      NoGradGuard no_grad;
      model.eval();
      Digits shown = test_inputs[pick];
      std::vector<std::string> labels;
      for (const std::int64_t d : shown) labels.push_back(fmt::format("{}", d));
      const Digits sorted_by_model = output(pick);
      for (std::int64_t i = 0; i + 1 < length; ++i) {  // the last output token is predicted, never read
        shown.push_back(sorted_by_model[static_cast<std::size_t>(i)]);
        labels.push_back(fmt::format("→{}", shown.back()));
      }
      for (std::size_t l = 0; l < static_cast<std::size_t>(depth); ++l) model.block(l).attn.record(true);
      {
        // With a graph this time, for the gradients in the report: the loss of the sorted half, each
        // position predicting the model's own next output.
        EnableGradGuard grad;
        const auto T = static_cast<std::int64_t>(shown.size());
        std::vector<std::int64_t> next(static_cast<std::size_t>(T), -1);
        for (std::int64_t t = length - 1; t + 1 < T; ++t) next[static_cast<std::size_t>(t)] = shown[static_cast<std::size_t>(t + 1)];
        cross_entropy(model(tensor_of<std::int64_t>(shown, {1, T})), tensor_of<std::int64_t>(next, {1, T}),
                      {.ignore_index = -1})
            .backward();
      }
      for (std::size_t l = 0; l < static_cast<std::size_t>(depth); ++l) {
        report.attention(model.block(l).attn.recorded(), labels,
                         fmt::format("layer {}, sorting {} (gradients of the sorted half's loss)", l,
                                     digits_text(test_inputs[pick])));
        for (std::int64_t h = 0; h < heads; ++h) {
          viz::write_attention_heatmap(
              out / fmt::format("attention_layer{}_head{}.svg", l, h), model.block(l).attn.recorded(),
              viz::AttentionPart::weights, labels,
              {.head = h,
               .title = fmt::format("layer {} head {}, sorting {}", l, h, digits_text(test_inputs[pick])),
               .min = 0.0, .max = 1.0});
        }
        model.block(l).attn.record(false);
      }
    }

    examples::write_curve(curve, out, "07_sort: loss and accuracy of whole sorted sequences", false, &report);
    examples::print_result({{"test_accuracy", fmt::format("{:.3f}", test_accuracy)},
                            {"train_accuracy", fmt::format("{:.3f}", train_accuracy)},
                            {"steps", fmt::format("{}", flags.steps)}, {"ranks", fmt::format("{}", ranks.size())}},
                           seconds, out, &report);
  });
}
