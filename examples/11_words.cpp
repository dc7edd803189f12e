// 11_words: a character-level language model of English words, in the spirit of Karpathy's makemore,
// judged in nats per character on words it never saw, against tuned n-gram models.
//
// The words: Debian's wamerican word list, /usr/share/dict/american-english (104,334 lines), keeping the
// words of lowercase a-z only (63,875: no proper nouns, no "'s"). They are split 80/10/10 into training,
// validation and test words with their own seed (--split-seed), so that --seed changes the model and
// never the test set; the three lists are written to the output folder for other tools.
//
// A word is a sequence of tokens: "." (token 0) marks its start and its end, a..z are tokens 1..26:
//   cat  ->  . c a t .     the model predicts c, a, t and the end ".": 4 predictions for 3 letters.
// The loss is the mean of -ln P over those predictions, the end included: nats per character.
//
// The baselines are n-gram models (examples/ngram.hpp), bigram to 5-gram, each with add-k smoothing and
// with interpolated Kneser-Ney, their k and discount picked on the validation words. The model is a
// small causal transformer (nn::LanguageModel) that reads a word from its ".", trained on batches of
// words of similar length, and set against the best n-gram on the test words (the goal is to beat it;
// at the defaults it does, 1.648 nats against 1.662: examples/README.md has the measurements). Last,
// it invents words: at each --temperatures, 1,000 samples, 20 of them printed, counted as words it
// trained on, real words it never saw (validation and test), or new.
//
//   $ 11_words
//   ...
//   result: test_nats=... best_ngram_test_nats=... samples_new=... steps=... seconds=... out=runs/11_words
#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <fmt/ranges.h>

#include "common.hpp"
#include "ngram.hpp"

using namespace attograd;

namespace {

constexpr std::int64_t V = 27;  // "." and a..z
using Tokens = std::vector<std::int64_t>;

// --- the words ------------------------------------------------------------------------------------

// The words of lowercase a-z only, deduplicated, in byte order (so that neither the file's order nor
// the locale changes the split).
std::vector<std::string> read_words(const std::string& path, std::int64_t& lines) {
  std::ifstream in(path);
  if (!in) {
    throw IoError(fmt::format("--words: the word list '{}' is missing or unreadable; install Debian's wamerican "
                              "package (apt-get install wamerican; ./dev test and ./dev demo do it), or give "
                              "another list, one word per line, with --words FILE",
                              path));
  }
  std::set<std::string> kept;
  lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    if (!line.empty() && std::all_of(line.begin(), line.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
      kept.insert(line);
    }
  }
  if (in.bad()) throw IoError(fmt::format("--words: error while reading '{}'", path));
  return {kept.begin(), kept.end()};
}

// The split: a Fisher-Yates shuffle of the sorted words by Generator(split_seed) (for i = N-1 down to 1,
// swap words i and gen.below(i + 1)), then the first 80% (rounded down) train, the next 10% validation,
// the rest test.
struct Split {
  std::vector<std::string> train, val, test;
};
Split split_words(std::vector<std::string> words, std::uint64_t split_seed) {
  Generator gen(split_seed);
  for (std::size_t i = words.size() - 1; i > 0; --i) std::swap(words[i], words[gen.below(i + 1)]);
  const std::size_t n_train = words.size() * 8 / 10, n_val = words.size() / 10;
  Split split;
  split.train.assign(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(n_train));
  split.val.assign(words.begin() + static_cast<std::ptrdiff_t>(n_train),
                   words.begin() + static_cast<std::ptrdiff_t>(n_train + n_val));
  split.test.assign(words.begin() + static_cast<std::ptrdiff_t>(n_train + n_val), words.end());
  return split;
}

void write_list(const std::vector<std::string>& words, const std::filesystem::path& path) {
  const auto partial = std::filesystem::path(path.string() + ".partial");  // a killed run leaves no half file
  {
    std::ofstream out(partial);
    for (const auto& w : words) out << w << '\n';
    if (!out.flush()) throw IoError(fmt::format("cannot write '{}'", partial.string()));
  }
  std::filesystem::rename(partial, path);
}

// "cat" -> [0, 3, 1, 20, 0]
Tokens tokens_of(const std::string& word) {
  Tokens tokens{0};
  for (const char c : word) tokens.push_back(c - 'a' + 1);
  tokens.push_back(0);
  return tokens;
}
std::vector<Tokens> tokens_of(const std::vector<std::string>& words) {
  std::vector<Tokens> all;
  for (const auto& w : words) all.push_back(tokens_of(w));
  return all;
}

// --- the transformer's batches and evaluation ------------------------------------------------------

// Words [B] as ids [B, T] and targets [B, T], T = the longest word + 1: ". c a t" -> "c a t .", the
// rest of a shorter word's row padded with "." in ids (a causal model never looks ahead at it) and with
// -1 in targets (ignored by the loss).
std::pair<Tensor, Tensor> batch_of(const std::vector<const Tokens*>& words) {
  std::size_t T = 0;
  for (const Tokens* w : words) T = std::max(T, w->size() - 1);
  std::vector<std::int64_t> ids, targets;
  for (const Tokens* w : words) {
    for (std::size_t t = 0; t < T; ++t) {
      ids.push_back(t < w->size() - 1 ? (*w)[t] : 0);
      targets.push_back(t < w->size() - 1 ? (*w)[t + 1] : -1);
    }
  }
  const auto B = static_cast<std::int64_t>(words.size());
  return {tensor_of<std::int64_t>(ids, {B, static_cast<std::int64_t>(T)}),
          tensor_of<std::int64_t>(targets, {B, static_cast<std::int64_t>(T)})};
}

// The training stream, in batches of words of similar length ("bucketing"): a batch is padded to its
// longest word, and random batches of 64 words hold about 17 tokens a row for 10 predictions (the mean
// word). Each epoch shuffles the training words, cuts them into chunks of `chunk` batches, sorts each
// chunk by length (stable), cuts it into batches of `batch` words and shuffles the batches; chunk 1 gives
// plain random batches. The epoch's shuffles come from Generator(stream + epoch), so where the stream is
// follows from the step alone: a resumed run needs nothing saved to serve the same batches.
class Buckets {
 public:
  Buckets(const std::vector<Tokens>& words, std::int64_t batch, std::int64_t chunk, std::uint64_t stream)
      : words_(words), batch_(static_cast<std::size_t>(batch)), chunk_(static_cast<std::size_t>(batch * chunk)),
        stream_(stream) {
    for (std::size_t begin = 0; begin < words.size(); begin += chunk_) {
      const std::size_t size = std::min(chunk_, words.size() - begin);
      per_epoch_ += static_cast<std::int64_t>((size + batch_ - 1) / batch_);
    }
  }
  // The words of training step `step` (1, 2, ...).
  const std::vector<const Tokens*>& at(std::int64_t step) {
    const std::int64_t epoch = (step - 1) / per_epoch_;
    if (epoch != epoch_) make_epoch(epoch);
    return batches_[static_cast<std::size_t>((step - 1) % per_epoch_)];
  }

 private:
  void make_epoch(std::int64_t epoch) {
    Generator gen(stream_ + static_cast<std::uint64_t>(epoch));
    std::vector<const Tokens*> order;
    for (const auto& w : words_) order.push_back(&w);
    for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[gen.below(i + 1)]);
    batches_.clear();
    for (std::size_t begin = 0; begin < order.size(); begin += chunk_) {
      const auto first = order.begin() + static_cast<std::ptrdiff_t>(begin),
                 last = order.begin() + static_cast<std::ptrdiff_t>(std::min(begin + chunk_, order.size()));
      std::stable_sort(first, last, [](const Tokens* a, const Tokens* b) { return a->size() < b->size(); });
      for (auto b = first; b < last; b += std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(batch_), last - b)) {
        batches_.emplace_back(b, b + std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(batch_), last - b));
      }
    }
    for (std::size_t i = batches_.size() - 1; i > 0; --i) std::swap(batches_[i], batches_[gen.below(i + 1)]);
    epoch_ = epoch;
  }

  const std::vector<Tokens>& words_;
  std::size_t batch_, chunk_;
  std::uint64_t stream_;
  std::int64_t per_epoch_ = 0, epoch_ = -1;
  std::vector<std::vector<const Tokens*>> batches_;
};

// The model's mean -ln P per prediction over the words, in batches of words of similar length.
double nats_per_char(nn::LanguageModel& model, const std::vector<Tokens>& words) {
  NoGradGuard no_grad;
  model.eval();
  std::vector<const Tokens*> sorted;
  for (const auto& w : words) sorted.push_back(&w);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Tokens* a, const Tokens* b) { return a->size() < b->size(); });
  double nats = 0, predicted = 0;
  for (std::size_t begin = 0; begin < sorted.size(); begin += 512) {
    const std::size_t end = std::min(begin + 512, sorted.size());
    const std::vector<const Tokens*> part(sorted.begin() + static_cast<std::ptrdiff_t>(begin),
                                          sorted.begin() + static_cast<std::ptrdiff_t>(end));
    auto [ids, targets] = batch_of(part);
    nats += cross_entropy(model(ids), targets, {.ignore_index = -1, .reduction = Reduction::Sum}).item();
    for (const Tokens* w : part) predicted += static_cast<double>(w->size() - 1);
  }
  model.train();
  return nats / predicted;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"11_words: a character-level transformer language model of English words, in nats per character "
               "against add-k and Kneser-Ney n-gram models, and the words it invents"};
  examples::Flags flags{.steps = 14000, .lr = 5e-3, .out = "runs/11_words"};
  examples::add_common_flags(app, flags);
  examples::add_checkpoint_flags(app, flags);
  std::string words_path = "/usr/share/dict/american-english";
  std::uint64_t split_seed = 0;
  std::int64_t emb = 128, heads = 4, depth = 2, batch = 64, bucket = 50, samples = 1000, show = 20;
  double dropout = 0, weight_decay = 0.01;
  std::vector<double> temperatures{0.5, 0.8, 1.0};
  app.add_option("--words", words_path, "the word list, one word per line (Debian: wamerican)")->capture_default_str();
  app.add_option("--split-seed", split_seed, "seed of the train/validation/test split (not --seed: the same test "
                                             "words for every model)")
      ->capture_default_str();
  app.add_option("--emb", emb, "embedding size C")->capture_default_str()->check(examples::above(0));
  app.add_option("--heads", heads, "attention heads per layer (must divide --emb)")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--depth", depth, "transformer blocks")->capture_default_str()->check(examples::above(0));
  app.add_option("--batch", batch, "words per training step")->capture_default_str()->check(examples::above(0));
  app.add_option("--bucket", bucket, "batches of words of similar length: sort chunks of this many batches by "
                                     "length (1: random batches)")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--weight-decay", weight_decay, "AdamW's decoupled weight decay, on the matrices only")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--dropout", dropout, "dropout rate on the embeddings and in every block, while training")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--temperatures", temperatures, "of the samples: below 1 sharper, above 1 flatter")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--samples", samples, "words sampled at each temperature and counted")
      ->capture_default_str()
      ->check(examples::at_least(0));
  app.add_option("--show", show, "of which printed")->capture_default_str()->check(examples::at_least(0));
  CLI11_PARSE(app, argc, argv);

  return examples::run("11_words", [&] {
    const auto out = examples::start(flags);

    std::int64_t lines = 0;
    const std::vector<std::string> words = read_words(words_path, lines);
    if (words.size() < 10) {
      throw ValueError(fmt::format("--words: '{}' has {} words of lowercase a-z only; the split needs at least 10",
                                   words_path, words.size()));
    }
    const Split split = split_words(words, split_seed);
    write_list(split.train, out / "train.txt");
    write_list(split.val, out / "val.txt");
    write_list(split.test, out / "test.txt");
    const auto train = tokens_of(split.train), val = tokens_of(split.val), test = tokens_of(split.test);
    std::size_t longest = 0;
    for (const auto& w : words) longest = std::max(longest, w.size());
    fmt::print("{}: {} lines, {} words of lowercase a-z only (the longest has {} letters)\n", words_path, lines,
               words.size(), longest);
    fmt::print("split {}: {} training, {} validation, {} test words (in {})\n", split_seed, train.size(), val.size(),
               test.size(), out.string());

    // The n-gram models, counted once up to 5-grams; each n and smoothing gets its setting on validation.
    examples::NGramCounts counts(5, V);
    for (const auto& w : train) counts.add(w);
    const std::vector<double> ks{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1};
    std::vector<double> discounts;
    for (int d = 1; d <= 20; ++d) discounts.push_back(d * 0.05);
    fmt::print("n-gram models, nats per character (uniform: ln 27 = {:.3f})\n", std::log(double(V)));
    fmt::print("   n   add-k:  k      validation  test    Kneser-Ney:  D      validation  test\n");
    double best_ngram = std::numeric_limits<double>::infinity(), ngram_sum_error = 0, best_ngram_val = 0;
    std::string best_name;
    for (int n = 2; n <= 5; ++n) {
      using examples::AddK, examples::KneserNey;
      const auto add_k = examples::tune(ks, [&](double k) { return AddK{counts, n, k}; }, val, test);
      const auto kn = examples::tune(discounts, [&](double d) { return KneserNey{counts, n, d}; }, val, test);
      fmt::print("   {}   {:12g}  {:10.4f}  {:.4f}  {:17.2f}  {:10.4f}  {:.4f}\n", n, add_k.setting, add_k.val, add_k.test,
                 kn.setting, kn.val, kn.test);
      for (const auto& [tuned, name] : {std::pair{add_k, "add-k"}, std::pair{kn, "Kneser-Ney"}}) {
        if (tuned.test < best_ngram) {
          best_ngram = tuned.test;
          best_ngram_val = tuned.val;
          best_name = fmt::format("{}-gram {}", n, name);
        }
      }
      ngram_sum_error = std::max({ngram_sum_error, examples::sum_error(AddK{counts, n, add_k.setting}, val, V, 200),
                                  examples::sum_error(KneserNey{counts, n, kn.setting}, val, V, 200)});
    }
    fmt::print("best on test: the {}, {:.4f} nats per character; each model's P sums to 1 within {:.1e}\n",
               best_name, best_ngram, ngram_sum_error);

    // The transformer: it reads ". c a t" and predicts "c a t .".
    Generator gen(flags.seed);
    const auto context = static_cast<std::int64_t>(longest) + 1;
    nn::LanguageModel model(V, emb, heads, depth, context,
                            {.order = nn::NormOrder::PreNorm, .dropout = dropout, .generator = &gen});
    fmt::print("{}\n", model);
    // Weight decay on the matrices (embeddings, projections) only: biases and layer norms' gains and
    // shifts are few, and pulling a gain towards 0 is no simpler model.
    std::vector<Tensor> matrices, others;
    for (const Tensor& p : model.parameters()) (p.dim() >= 2 ? matrices : others).push_back(p);
    optim::AdamW opt(std::vector<optim::ParamGroup>{{.params = matrices, .weight_decay = weight_decay},
                                                    {.params = others, .weight_decay = 0.0}},
                     {.lr = flags.lr});
    optim::WarmupCosine schedule(opt, flags.steps / 20, flags.steps);
    Buckets buckets(train, batch, bucket, gen.next_u64());
    // A step's loss is the sum of -ln P over its predictions divided by what a batch holds on average
    // (batch x the mean word's predictions), not by its own count: with batches of similar words, a
    // batch of short words must weigh less than one of long words, or short words would count for more
    // per character than in the test figure.
    double per_batch = 0;
    for (const auto& w : train) per_batch += static_cast<double>(w.size() - 1);
    per_batch *= static_cast<double>(batch) / static_cast<double>(train.size());
    train::Curve curve({"step", "train_nats", "val_nats", "best_ngram_val_nats"});
    const std::string settings =
        fmt::format("steps={} words={} split_seed={} emb={} heads={} depth={} batch={} bucket={} dropout={} "
                    "weight_decay={}",
                    flags.steps, words_path, split_seed, emb, heads, depth, batch, bucket, dropout, weight_decay);
    const train::TrainingState state{.model = model, .optimizer = &opt, .schedule = &schedule, .generator = &gen,
                                     .curve = &curve, .config = examples::config(flags, settings)};
    const std::int64_t done = examples::resume(flags, out, state);  // 0 unless --resume
    train::Progress progress(flags.steps, {.label = "11_words"});
    const std::int64_t eval_every = std::max<std::int64_t>(1, flags.steps / 10);
    double seconds_evaluating = 0, val_nats = NAN;
    for (std::int64_t step = done + 1; step <= flags.steps; ++step) {
      const std::vector<const Tokens*>& chosen = buckets.at(step);
      auto [x, y] = batch_of(chosen);  // [B, T] each
      Tensor L = cross_entropy(model(x), y, {.ignore_index = -1, .reduction = Reduction::Sum}) / per_batch;
      double predicted = 0;
      for (const Tokens* w : chosen) predicted += static_cast<double>(w->size() - 1);
      const double train_nats = L.item() * per_batch / predicted;  // nats per character of these words
      opt.zero_grad();
      L.backward();
      optim::clip_grad_norm(model.parameters(), 1.0);
      opt.step();
      schedule.step();
      train::check_loss(train_nats, step);
      double val_now = NAN;
      if (step % eval_every == 0 || step == flags.steps) {
        const double started = progress.elapsed();
        val_now = val_nats = nats_per_char(model, val);
        seconds_evaluating += progress.elapsed() - started;
      }
      curve.add({static_cast<double>(step), train_nats, val_now, best_ngram_val});
      progress.update(step, train_nats, std::isnan(val_now) ? "" : fmt::format("val {:.4f} nats/char", val_now));
      if (examples::after_step(flags, out, state, step)) return;  // a checkpoint; --stop-after
    }
    progress.finish();
    const double seconds = progress.elapsed() - seconds_evaluating;
    const double test_nats = nats_per_char(model, test);  // judged once, after training
    fmt::print("test nats per character: transformer {:.4f} (validation {:.4f}), best n-gram {:.4f} ({}): {}\n",
               test_nats, val_nats, best_ngram, best_name,
               test_nats < best_ngram ? "the transformer is better" : "the n-gram model is still better");

    // New words: sampled from ".", cut at the first "." after it (or at the longest word's length).
    const std::unordered_set<std::string> in_train(split.train.begin(), split.train.end()),
        in_dictionary(words.begin(), words.end());
    double frac_train = NAN, frac_real = NAN, frac_new = NAN;
    for (const double temperature : samples > 0 ? temperatures : std::vector<double>{}) {
      const Tensor sampled = nn::sample(model, zeros({samples, 1}, {.dtype = DType::Int64}), context - 1, gen,
                                        {.temperature = temperature});  // [samples, context]
      const auto ids = sampled.to_vector<std::int64_t>();
      std::int64_t n_train = 0, n_real = 0;
      std::vector<std::string> shown;
      for (std::int64_t s = 0; s < samples; ++s) {
        std::string word;
        for (std::int64_t t = 1; t < context && ids[s * context + t] != 0; ++t) {
          word += static_cast<char>('a' + ids[s * context + t] - 1);
        }
        const bool trained = in_train.contains(word), real = !trained && in_dictionary.contains(word);
        n_train += trained;
        n_real += real;
        if (s < show) shown.push_back(word + (trained ? "" : real ? "+" : "*"));
      }
      frac_train = double(n_train) / double(samples);
      frac_real = double(n_real) / double(samples);
      frac_new = 1 - frac_train - frac_real;
      fmt::print("temperature {:g}: of {} samples {:.3f} are training words, {:.3f} real words it never saw (+), "
                 "{:.3f} new (*)\n  {}\n",
                 temperature, samples, frac_train, frac_real, frac_new, fmt::join(shown, " "));
    }

    auto report = examples::start_report(app, "11_words: a character-level language model of English words");
    examples::write_curve(curve, out, "11_words: nats per character (train, validation, best n-gram on validation)",
                          false, &report, "nats per character");
    std::vector<std::pair<std::string, std::string>> fields = {
        {"test_nats", fmt::format("{:.4f}", test_nats)}, {"best_ngram_test_nats", fmt::format("{:.4f}", best_ngram)},
        {"val_nats", fmt::format("{:.4f}", val_nats)}, {"ngram_sum_error", fmt::format("{:.1e}", ngram_sum_error)}};
    if (!std::isnan(frac_new)) {  // at the last temperature
      fields.insert(fields.end(), {{"samples_in_train", fmt::format("{:.3f}", frac_train)},
                                   {"samples_real_unseen", fmt::format("{:.3f}", frac_real)},
                                   {"samples_new", fmt::format("{:.3f}", frac_new)}});
    }
    fields.emplace_back("steps", fmt::format("{}", flags.steps));
    examples::print_result(fields, seconds, out, &report);
  });
}
