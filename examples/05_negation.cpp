// 05_negation: "not X" sentiment. A bag of words cannot flip a word's meaning; self-attention can.
//
// Generated sentences such as "the film was not terrible", "honestly i did not think this show was
// very good", "it was not an awful game to me": the label is the adjective's sentiment, flipped when
// "not" is in the sentence. Two models, trained side by side on the same batches:
//   baseline:  embedding -> mean over time -> linear             (nn::Classifier with depth 0)
//   attention: embedding -> transformer block -> mean -> linear  (the same, depth 1)
// Neither has position embeddings, so the only difference is the block: self-attention, then a
// feed-forward layer on each position, with residual connections and layer norms. The attention lets
// the vector of "terrible" take in "not" before the pool (MLVU lecture 10, slides 11-12).
//
// Why the baseline cannot do it. Its logit difference is the mean over the words of one number per
// word, f(w_1) + .. + f(w_T) over T, plus a bias b, so it says "positive" when f(w_1) + .. + f(w_T) + b T
// > 0. Take a frame (everything but the adjective and "not") and one positive and one negative
// adjective p and n: four sentences. With R the frame's part (its words' f and b T) and c = f(not) + b,
// what "not" adds (one more word; an "a" or "an" before the adjective counts as part of it):
//   "..p.." : R + f(p) > 0       "..not n.." : R + f(n) + c > 0
//   "..n.." : R + f(n) < 0       "..not p.." : R + f(p) + c < 0
// The two that must be positive add up to the same number as the two that must be negative, so not
// all four can hold: at most 3 of the 4 are right. The test set is made of whole frames, every
// adjective with and without "not", six positive and six negative adjectives, so it splits into such
// quadruples: the baseline's accuracy is at most 0.75 whatever it learns (a max pool escapes this,
// which is why the lecture's classifier slide and this example use the mean; try --pool max).
//
// Held-out sentences: a frame belongs to the test set when a hash of its words says so (one in five),
// so no test sentence, nor any sentence that differs from one only in the adjective or in "not", is
// ever trained on.
//
// Writes curve.csv / curve.svg (both models' training loss) and attention_head<h>.svg: the attention
// model's weights on --sentence, one picture per head.
//
//   $ 05_negation
//   ...
//   result: baseline_accuracy=... attention_accuracy=... baseline_negated_accuracy=...
//           attention_negated_accuracy=... test_sentences=4800 steps=1000 seconds=... out=...
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/ranges.h>

#include "common.hpp"

using namespace attograd;

namespace {

constexpr std::array<std::string_view, 5> kPrefixes = {"", "honestly", "overall", "i think", "to be fair"};
constexpr std::array<std::string_view, 3> kDeterminers = {"the", "this", "that"};
constexpr std::array<std::string_view, 8> kNouns = {"film",  "movie",   "book", "show",
                                                   "meal", "hotel", "service", "game"};
constexpr std::array<std::string_view, 4> kVerbs = {"was", "is", "seemed", "felt"};
constexpr std::array<std::string_view, 5> kAdverbs = {"", "very", "really", "quite", "so"};
constexpr std::array<std::string_view, 5> kSuffixes = {"", "to me", "in the end", "if you ask me", "at times"};
// The first kPositive are positive. As many negative ones, so that the test set splits into quadruples.
constexpr std::size_t kPositive = 6;
constexpr std::array<std::string_view, 2 * kPositive> kAdjectives = {
    "good", "great", "excellent", "wonderful", "fun", "brilliant",  //
    "bad",  "terrible", "awful", "boring",  "dull", "poor"};
constexpr std::uint64_t kTestShare = 5;  // one frame in five is held out

// Everything in a sentence but its adjective and "not". Form 0: "[prefix] the film was [not] [very]
// ADJ [suffix]"; 1: "[prefix] i did [not] think the film was [very] ADJ [suffix]", "not" four words
// before its adjective; 2: "[prefix] it was [not] a [very] ADJ film [suffix]", the adjective before
// the noun.
struct Frame {
  std::size_t form, prefix, determiner, noun, verb, adverb, suffix;
};

Frame random_frame(Generator& gen) {
  return {gen.below(3),           gen.below(kPrefixes.size()), gen.below(kDeterminers.size()),
          gen.below(kNouns.size()), gen.below(kVerbs.size()),  gen.below(kAdverbs.size()),
          gen.below(kSuffixes.size())};
}

std::vector<std::string> sentence(const Frame& f, std::size_t adjective, bool negated) {
  std::vector<std::string> words;
  auto put = [&](std::string_view phrase) {  // the words of a phrase, none for ""
    while (!phrase.empty()) {
      const auto space = phrase.find(' ');
      words.emplace_back(phrase.substr(0, space));
      phrase = space == std::string_view::npos ? std::string_view{} : phrase.substr(space + 1);
    }
  };
  const std::string_view adj = kAdjectives[adjective], adverb = kAdverbs[f.adverb];
  put(kPrefixes[f.prefix]);
  if (f.form == 0) {
    put(kDeterminers[f.determiner]), put(kNouns[f.noun]), put(kVerbs[f.verb]);
    if (negated) put("not");
    put(adverb), put(adj);
  } else if (f.form == 1) {
    put("i did");
    if (negated) put("not");
    put("think"), put(kDeterminers[f.determiner]), put(kNouns[f.noun]), put("was"), put(adverb), put(adj);
  } else {
    put("it was");
    if (negated) put("not");
    const std::string_view next = adverb.empty() ? adj : adverb;
    put(std::string_view("aeiou").find(next.front()) != std::string_view::npos ? "an" : "a");
    put(adverb), put(adj), put(kNouns[f.noun]);
  }
  put(kSuffixes[f.suffix]);
  return words;
}

bool is_adjective(const std::string& word) {
  return std::find(kAdjectives.begin(), kAdjectives.end(), word) != kAdjectives.end();
}

// Held out or not, decided by the frame alone: the words with "not" left out, the adjective as "*"
// and "an" as "a", hashed (FNV-1a: the same on every machine, unlike std::hash).
bool held_out(const std::vector<std::string>& words) {
  std::uint64_t h = 14695981039346656037ull;
  for (const std::string& w : words) {
    if (w == "not") continue;
    const std::string_view key = is_adjective(w) ? "*" : w == "an" ? "a" : std::string_view(w);
    for (const char ch : key) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    h = (h ^ ' ') * 1099511628211ull;
  }
  return h % kTestShare == 0;
}

int label_of(std::size_t adjective, bool negated) { return (adjective < kPositive) != negated ? 1 : 0; }

class Vocabulary {
 public:
  Vocabulary() {
    for (auto list : {std::vector<std::string_view>(kPrefixes.begin(), kPrefixes.end()),
                      std::vector<std::string_view>(kDeterminers.begin(), kDeterminers.end()),
                      std::vector<std::string_view>(kNouns.begin(), kNouns.end()),
                      std::vector<std::string_view>(kVerbs.begin(), kVerbs.end()),
                      std::vector<std::string_view>(kAdverbs.begin(), kAdverbs.end()),
                      std::vector<std::string_view>(kSuffixes.begin(), kSuffixes.end()),
                      std::vector<std::string_view>(kAdjectives.begin(), kAdjectives.end()),
                      std::vector<std::string_view>{"not i did think was it a an"}}) {
      for (std::string_view phrase : list) {
        for (const std::string& w : sentence_words(phrase)) ids_.emplace(w, static_cast<std::int64_t>(ids_.size()));
      }
    }
  }
  std::int64_t size() const { return static_cast<std::int64_t>(ids_.size()); }
  std::vector<std::int64_t> encode(const std::vector<std::string>& words) const {
    std::vector<std::int64_t> ids;
    for (const std::string& w : words) {
      const auto it = ids_.find(w);
      if (it == ids_.end()) throw ValueError(fmt::format("--sentence: unknown word '{}'", w));
      ids.push_back(it->second);
    }
    return ids;
  }
  static std::vector<std::string> sentence_words(std::string_view phrase) {
    std::vector<std::string> words;
    std::size_t start = 0;
    while (start < phrase.size()) {
      const auto space = std::min(phrase.find(' ', start), phrase.size());
      if (space > start) words.emplace_back(phrase.substr(start, space - start));
      start = space + 1;
    }
    return words;
  }

 private:
  std::map<std::string, std::int64_t> ids_;
};

// Sentences of one length, as a batch: ids [N, T] and labels [N].
struct Group {
  std::vector<std::int64_t> ids, labels;
  void add(const std::vector<std::int64_t>& sentence_ids, int label) {
    ids.insert(ids.end(), sentence_ids.begin(), sentence_ids.end());
    labels.push_back(label);
  }
  std::int64_t rows() const { return static_cast<std::int64_t>(labels.size()); }
  std::pair<Tensor, Tensor> tensors() const {
    return {tensor_of<std::int64_t>(ids, {rows(), static_cast<std::int64_t>(ids.size()) / rows()}),
            tensor_of<std::int64_t>(labels, {rows()})};
  }
};

// A training batch: a random training sentence fixes the length T, then more random training sentences
// of that length (rejection sampling) fill the batch. Every training sentence is equally likely to be
// drawn, and the batch needs no padding.
std::pair<Tensor, Tensor> training_batch(std::int64_t batch, const Vocabulary& vocab, Generator& gen) {
  Group group;
  std::size_t length = 0;
  while (group.rows() < batch) {
    const Frame f = random_frame(gen);
    const std::size_t adjective = gen.below(kAdjectives.size());
    const bool negated = gen.below(2) == 1;
    const auto words = sentence(f, adjective, negated);
    if (held_out(words) || (length != 0 && words.size() != length)) continue;
    length = words.size();
    group.add(vocab.encode(words), label_of(adjective, negated));
  }
  return group.tensors();
}

// The accuracy over all groups, and the number of sentences.
std::pair<double, std::int64_t> evaluate(const nn::Classifier& model, const std::map<std::size_t, Group>& test) {
  NoGradGuard no_grad;
  double right = 0;
  std::int64_t n = 0;
  for (const auto& [length, group] : test) {
    const auto [ids, labels] = group.tensors();
    right += train::accuracy(model(ids), labels) * static_cast<double>(group.rows());
    n += group.rows();
  }
  return {right / static_cast<double>(n), n};
}

double p_positive(const nn::Classifier& model, const std::vector<std::int64_t>& ids) {
  NoGradGuard no_grad;
  const auto T = static_cast<std::int64_t>(ids.size());
  return softmax(model(tensor_of<std::int64_t>(ids, {1, T})), -1).at({0, 1});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"05_negation: \"not X\" sentiment on generated sentences: a bag of words (embedding, mean, "
               "linear) against the same model with a transformer block before the mean; accuracy on "
               "held-out sentences"};
  examples::Flags flags{.steps = 1000, .lr = 3e-3, .out = "runs/05_negation"};
  examples::add_common_flags(app, flags);
  std::int64_t emb = 32, heads = 2, depth = 1, batch = 32, test_frames = 200;
  std::string shown = "i did not think the film was terrible";
  std::string pool = "mean";
  app.add_option("--emb", emb, "embedding width C")->capture_default_str()->check(examples::above(0));
  app.add_option("--heads", heads, "attention heads (must divide --emb)")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--depth", depth, "transformer blocks of the attention model")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--batch", batch, "sentences per training step")->capture_default_str()->check(examples::above(0));
  app.add_option("--test-frames", test_frames,
                 "held-out frames in the test set, each with all 12 adjectives, with and without \"not\"")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--pool", pool, "pool over time of both models: mean (the bound of 0.75 holds) or max")
      ->capture_default_str()
      ->check(CLI::IsMember({"mean", "max"}));
  app.add_option("--sentence", shown, "the sentence whose attention is drawn (words of the generator's vocabulary)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto report = examples::start_report(app, "05_negation: \"not X\" sentiment, bag of words against attention");

  return examples::run("05_negation", [&] {
    const auto out = examples::start(flags);
    const Vocabulary vocab;
    const auto shown_words = Vocabulary::sentence_words(shown);
    vocab.encode(shown_words);  // an unknown word in --sentence stops the program now, not after training
    Generator gen(flags.seed);

    // The test set: whole held-out frames; test[0] the sentences without "not", test[1] those with it,
    // each grouped by length so that each group is one batch.
    std::map<std::size_t, Group> test[2];
    {
      std::vector<std::vector<std::string>> chosen;
      // About 3,200 of the 16,000 frames are held out: give up, rather than loop, when asked for more.
      for (std::int64_t tries = 0; static_cast<std::int64_t>(chosen.size()) < test_frames; ++tries) {
        if (tries > 100 * test_frames + 100000) {
          throw ValueError(fmt::format("--test-frames {}: found only {} distinct held-out frames in {} tries",
                                       test_frames, chosen.size(), tries));
        }
        const Frame f = random_frame(gen);
        auto plain = sentence(f, 0, false);
        if (!held_out(plain) || std::find(chosen.begin(), chosen.end(), plain) != chosen.end()) continue;
        chosen.push_back(plain);
        for (std::size_t a = 0; a < kAdjectives.size(); ++a) {
          for (const bool negated : {false, true}) {
            const auto words = sentence(f, a, negated);
            test[negated ? 1 : 0][words.size()].add(vocab.encode(words), label_of(a, negated));
          }
        }
      }
    }
    fmt::print("{} words; test set: {} held-out frames x {} adjectives x with and without \"not\"\n", vocab.size(),
               test_frames, kAdjectives.size());
    Generator data_gen(flags.seed + 1);
    for (int i = 0; i < 3; ++i) {
      const Frame f = random_frame(data_gen);
      const std::size_t a = data_gen.below(kAdjectives.size());
      const bool negated = data_gen.below(2) == 1;
      fmt::print("  e.g. \"{}\" -> {}\n", fmt::join(sentence(f, a, negated), " "),
                 label_of(a, negated) == 1 ? "positive" : "negative");
    }

    // The two models: no position embeddings, the same pool; depth 0 is the bag of embeddings.
    const nn::ClassifierOptions options{.pool = pool == "max" ? nn::Pool::Max : nn::Pool::Mean,
                                        .position_embeddings = false,
                                        .generator = &gen};
    nn::Classifier baseline(vocab.size(), emb, heads, 0, 64, 2, options);
    nn::Classifier attention(vocab.size(), emb, heads, depth, 64, 2, options);
    fmt::print("baseline: {}\nattention: {}\n", baseline, attention);

    optim::Adam baseline_opt(baseline.parameters(), {.lr = flags.lr});
    optim::Adam attention_opt(attention.parameters(), {.lr = flags.lr});
    train::Curve curve({"step", "baseline_loss", "attention_loss"});
    train::Progress progress(flags.steps, {.label = "05_negation"});
    for (std::int64_t step = 1; step <= flags.steps; ++step) {
      const auto [ids, labels] = training_batch(batch, vocab, data_gen);  // the same batch for both
      double losses[2] = {0, 0};
      int i = 0;
      for (auto [model, opt] : {std::pair{&baseline, &baseline_opt}, std::pair{&attention, &attention_opt}}) {
        Tensor L = cross_entropy((*model)(ids), labels);
        opt->zero_grad();
        L.backward();
        opt->step();
        losses[i] = L.item();
        train::check_loss(losses[i++], step);
      }
      curve.add({static_cast<double>(step), losses[0], losses[1]});
      progress.update(step, losses[1], fmt::format("baseline loss {:.3f}", losses[0]));
    }
    progress.finish();
    const double seconds = progress.elapsed();

    baseline.eval();
    attention.eval();
    // Accuracy without and with "not" (as many sentences of each), and on the whole test set.
    const auto [baseline_plain, n_plain] = evaluate(baseline, test[0]);
    const auto [baseline_negated, n_negated] = evaluate(baseline, test[1]);
    const double attention_plain = evaluate(attention, test[0]).first;
    const double attention_negated = evaluate(attention, test[1]).first;
    const std::int64_t n = n_plain + n_negated;
    const double baseline_accuracy = (baseline_plain + baseline_negated) / 2;
    const double attention_accuracy = (attention_plain + attention_negated) / 2;
    fmt::print("\naccuracy on {} held-out sentences: baseline {:.3f}{}, attention {:.3f}\n", n, baseline_accuracy,
               pool == "mean" ? " (a bag of words: at most 0.75)" : "", attention_accuracy);
    fmt::print("  without \"not\" ({}): baseline {:.3f}, attention {:.3f}\n", n_plain, baseline_plain,
               attention_plain);
    fmt::print("  with \"not\"    ({}): baseline {:.3f}, attention {:.3f}\n\n", n_negated, baseline_negated,
               attention_negated);

    fmt::print("  {:<40} {:>9} {:>9}   p(positive)\n", "", "baseline", "attention");
    for (const char* s : {"the film was good", "the film was not good", "the film was terrible",
                          "the film was not terrible"}) {
      const auto ids = vocab.encode(Vocabulary::sentence_words(s));
      fmt::print("  {:<40} {:9.3f} {:9.3f}\n", s, p_positive(baseline, ids), p_positive(attention, ids));
    }

    // What the first block attends to in --sentence.
    const auto& words = shown_words;
    const auto ids = vocab.encode(words);
    auto& attn = attention.block(0).attn;
    attn.record(true);
    const double p = p_positive(attention, ids);
    attn.record(false);
    fmt::print("\n\"{}\" ({}): p(positive) = {:.3f}\n", shown,
               held_out(words) ? "a held-out frame" : "a training frame", p);
    for (std::int64_t h = 0; h < heads; ++h) {
      const auto path = out / fmt::format("attention_head{}.svg", h);
      viz::write_attention_heatmap(path, attn.recorded(), viz::AttentionPart::weights, words,
                                   {.head = h,
                                    .title = fmt::format("05_negation, head {}: row attends to column", h),
                                    .min = 0.0, .max = 1.0});
      // The row of the adjective: how much of "not" it takes in.
      const Tensor map = viz::attention_map(attn.recorded().weights, {0, h});
      for (std::size_t i = 0; i < words.size(); ++i) {
        if (!is_adjective(words[i])) continue;
        for (std::size_t j = 0; j < words.size(); ++j) {
          if (words[j] != "not") continue;
          fmt::print("  head {}: '{}' attends to 'not' with weight {:.3f} (uniform: {:.3f})\n", h, words[i],
                     map.at({static_cast<std::int64_t>(i), static_cast<std::int64_t>(j)}),
                     1.0 / static_cast<double>(words.size()));
        }
      }
    }

    // For the report: the same attention again, with the gradients of -log p(positive) for the sentence.
    {
      attn.record(true);
      const Tensor x = tensor_of<std::int64_t>(ids, {1, static_cast<std::int64_t>(ids.size())});
      (-log_softmax(attention(x), -1).select(1, 1).sum()).backward();
      attn.record(false);
      report.attention(attn.recorded(), words,
                       fmt::format("block 0 on \"{}\" (gradients of -log p(positive))", shown));
    }
    examples::write_curve(curve, out, "05_negation: training loss, bag of words vs attention", true, &report);
    examples::print_result({{"baseline_accuracy", fmt::format("{:.3f}", baseline_accuracy)},
                            {"attention_accuracy", fmt::format("{:.3f}", attention_accuracy)},
                            {"baseline_negated_accuracy", fmt::format("{:.3f}", baseline_negated)},
                            {"attention_negated_accuracy", fmt::format("{:.3f}", attention_negated)},
                            {"test_sentences", fmt::format("{}", n)},
                            {"steps", fmt::format("{}", flags.steps)}},
                           seconds, out, &report);
  });
}
