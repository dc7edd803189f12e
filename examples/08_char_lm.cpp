// 08_char_lm: a character-level language model, a causal transformer predicting the next character,
// judged in bits per character on held-out text against an order-5 Markov model.
//
// The text is generated from one of three small languages (--language), one sentence per line:
//   bits      two random 5-bit words, then their XOR, AND and OR:   01101 10011 11110 00001 11111
//   brackets  balanced brackets, each line one group that closes only at its end:   (()(()))
//   grammar   sentences of a toy grammar:   the small cat sees a dog and a man walks near the bird.
// or it is any file given with --text (its bytes are the tokens; the last 10% is held out).
//
// The model (nn::LanguageModel) reads --context characters and predicts each next one; its loss is the
// cross entropy, and its validation loss in bits (divided by ln 2) is the bits per character. Every
// held-out character is predicted from at least --context / 2 characters before it.
//
// The baseline is an order-5 Markov model with Laplace smoothing 0.01, counted on the same training
// text: P(c | the 5 characters before) = (n(context, c) + 0.01) / (n(context) + 0.01 V), that is a 6-gram
// model with add-k smoothing (examples/ngram.hpp, shared with 11_words). It cannot see further back than
// 5 characters, so it cannot know the bits a XOR refers to, nor how many brackets are open; the
// transformer can, and must beat it. A generated language also knows its entropy floor:
// the information its random choices carry per character, below which no model can go.
//
// After training, --samples samples of --sample-chars characters at --temperature are printed, each
// line of a generated language marked ok or wrong (sample_valid: the share of finished lines that are
// sentences of the language).
//
//   $ 08_char_lm --language bits
//   ...
//   result: bits_per_char=... markov5_bits_per_char=... entropy_floor=0.333 sample_valid=... steps=... ...
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <numbers>
#include <optional>
#include <tuple>
#include <vector>

#include "common.hpp"
#include "languages.hpp"
#include "ngram.hpp"

using namespace attograd;

namespace {

// --- the transformer's data and evaluation ----------------------------------------------------------

// B windows at random places: ids [B, T] and targets [B, T], the same characters one later.
std::pair<Tensor, Tensor> random_windows(const std::vector<std::int64_t>& tokens, std::int64_t B, std::int64_t T,
                                         Generator& gen) {
  std::vector<std::int64_t> ids, targets;
  for (std::int64_t b = 0; b < B; ++b) {
    const auto start = static_cast<std::ptrdiff_t>(gen.below(tokens.size() - static_cast<std::size_t>(T)));
    ids.insert(ids.end(), tokens.begin() + start, tokens.begin() + start + T);
    targets.insert(targets.end(), tokens.begin() + start + 1, tokens.begin() + start + T + 1);
  }
  return {tensor_of<std::int64_t>(ids, {B, T}), tensor_of<std::int64_t>(targets, {B, T})};
}

// The mean of -log2 P(tokens[i] | what came before) over i = 1 .. N-1, by the model. Windows of T
// tokens, each starting T/2 after the last, score only the tokens the previous window did not, so every
// token after the first window is predicted from at least T/2 before it.
double bits_per_token(nn::LanguageModel& model, const std::vector<std::int64_t>& tokens, std::int64_t T) {
  NoGradGuard no_grad;
  model.eval();
  const std::int64_t N = static_cast<std::int64_t>(tokens.size()), stride = std::max<std::int64_t>(1, T / 2);
  double nats = 0;
  std::vector<std::int64_t> ids, targets;
  auto flush = [&](std::int64_t length) {
    if (ids.empty()) return;
    const std::int64_t B = static_cast<std::int64_t>(ids.size()) / length;
    nats += cross_entropy(model(tensor_of<std::int64_t>(ids, {B, length})), tensor_of<std::int64_t>(targets, {B, length}),
                          {.ignore_index = -1, .reduction = Reduction::Sum})
                .item();
    ids.clear();
    targets.clear();
  };
  std::int64_t covered = 0;  // the tokens up to here are scored
  for (std::int64_t start = 0; covered < N - 1; start += stride) {
    const std::int64_t length = std::min(T, N - 1 - start);
    if (length < T) flush(T);  // the last, shorter window goes in a batch of its own
    for (std::int64_t t = 0; t < length; ++t) {
      ids.push_back(tokens[start + t]);
      targets.push_back(start + t + 1 > covered ? tokens[start + t + 1] : -1);
    }
    covered = start + length;
    if (static_cast<std::int64_t>(ids.size()) >= 64 * length || covered == N - 1) flush(length);
  }
  model.train();
  return nats / static_cast<double>(N - 1) / std::numbers::ln2;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("--text: cannot open '{}' for reading", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError(fmt::format("--text: error while reading '{}'", path));
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"08_char_lm: a character-level transformer language model on a generated language or a text file, "
               "in bits per character against an order-5 Markov model"};
  examples::Flags flags{.steps = 2000, .lr = 4e-3, .out = "runs/08_char_lm"};
  examples::add_common_flags(app, flags);
  examples::add_checkpoint_flags(app, flags);
  std::string language_name = "bits", text_path, prompt;
  std::int64_t train_chars = 100000, val_chars = 20000, context = 64, emb = 64, heads = 4, depth = 2, batch = 32,
               samples = 4, sample_chars = 300;
  double temperature = 0.8;
  auto* language_flag = app.add_option("--language", language_name, "the generated language: bits, brackets or grammar")
                            ->capture_default_str()
                            ->check(CLI::IsMember({"bits", "brackets", "grammar"}));
  app.add_option("--text", text_path, "train on this file instead: its bytes are the tokens, its last tenth (at most "
                                      "--val-chars) is held out")
      ->excludes(language_flag);
  app.add_option("--train-chars", train_chars, "characters of generated training text")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--val-chars", val_chars, "characters of held-out text")->capture_default_str()->check(examples::above(1));
  app.add_option("--context", context, "characters the model reads, T")->capture_default_str()->check(examples::above(0));
  app.add_option("--emb", emb, "embedding size C")->capture_default_str()->check(examples::above(0));
  app.add_option("--heads", heads, "attention heads per layer (must divide --emb)")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--depth", depth, "transformer blocks")->capture_default_str()->check(examples::above(0));
  app.add_option("--batch", batch, "windows per training step")->capture_default_str()->check(examples::above(0));
  app.add_option("--temperature", temperature, "of the samples: below 1 sharper, above 1 flatter, 0 the argmax")
      ->capture_default_str()
      ->check(examples::at_least(0));
  app.add_option("--samples", samples, "samples to print")->capture_default_str()->check(examples::at_least(0));
  app.add_option("--sample-chars", sample_chars, "characters in each sample")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--prompt", prompt, "the samples' start (default: a newline, or a text's first 16 held-out bytes)");
  CLI11_PARSE(app, argc, argv);
  auto report = examples::start_report(app, "08_char_lm: a character-level language model");

  return examples::run("08_char_lm", [&] {
    examples::Ranks ranks;  // `mpirun -n N 08_char_lm`: data-parallel on N ranks (docs/distributed.md)
    const auto out = examples::start(flags);
    Generator gen(flags.seed);

    // The texts and the vocabulary: token i is the character vocab[i].
    std::string train_text, val_text, vocab;
    std::optional<examples::Language> lang;
    double floor = NAN;  // bits per character; known for a generated language only
    if (text_path.empty()) {
      lang = examples::language(language_name);
      vocab = lang->alphabet;
      double bits = 0;
      std::tie(train_text, bits) = examples::generate(*lang, train_chars, gen);
      std::tie(val_text, bits) = examples::generate(*lang, val_chars, gen);
      floor = bits / static_cast<double>(val_text.size() - 1);  // the first "\n" is given, not predicted
      if (prompt.empty()) prompt = "\n";
    } else {
      const std::string all = read_file(text_path);
      const auto size = static_cast<std::int64_t>(all.size()), held = std::min(val_chars, size / 10);
      if (held < 2 || size - held < context + 1) {
        throw ValueError(fmt::format("--text: '{}' has {} bytes, too few: its last tenth (at least 2 bytes) is held out "
                                     "and training needs --context + 1 = {} bytes before it",
                                     text_path, size, context + 1));
      }
      train_text = all.substr(0, static_cast<std::size_t>(size - held));
      val_text = all.substr(static_cast<std::size_t>(size - held));
      for (int c = 0; c < 256; ++c) vocab += static_cast<char>(c);
      if (prompt.empty()) prompt = val_text.substr(0, 16);
    }
    if (static_cast<std::int64_t>(train_text.size()) < context + 1) {
      throw ValueError(fmt::format("--train-chars {}: training needs at least --context + 1 = {} characters",
                                   train_chars, context + 1));
    }
    std::array<std::int64_t, 256> id{};
    id.fill(-1);
    for (std::size_t i = 0; i < vocab.size(); ++i) id[static_cast<unsigned char>(vocab[i])] = static_cast<std::int64_t>(i);
    auto tokens_of = [&](const std::string& text, const char* what) {
      std::vector<std::int64_t> tokens;
      for (const unsigned char c : text) {
        if (id[c] < 0) throw ValueError(fmt::format("{}: the character {:?} is not in the language", what, char(c)));
        tokens.push_back(id[c]);
      }
      return tokens;
    };
    const auto train = tokens_of(train_text, "training text"), val = tokens_of(val_text, "held-out text");
    const auto prompt_ids = tokens_of(prompt, "--prompt");  // checked before training, used after it
    const auto V = static_cast<std::int64_t>(vocab.size());
    fmt::print("{} training and {} held-out characters, {} distinct tokens (uniform: {:.3f} bits per character)\n",
               train.size(), val.size(), V, std::log2(static_cast<double>(V)));

    // The baseline: an order-5 Markov model counted on the same training text.
    examples::NGramCounts counts(6, V);  // 5 characters of context: a 6-gram model
    counts.add(train);
    const double markov_bits = examples::mean_nats(examples::AddK{counts, 6, 0.01}, {val}) / std::numbers::ln2;
    fmt::print("order-5 Markov model: {:.3f} bits per character on the held-out text{}\n", markov_bits,
               std::isnan(floor) ? "" : fmt::format(" (entropy floor {:.3f})", floor));

    nn::LanguageModel model(V, emb, heads, depth, context, {.order = nn::NormOrder::PreNorm, .generator = &gen});
    fmt::print("{}\n", model);
    ranks.data_parallel(model);
    optim::AdamW opt(model.parameters(), {.lr = flags.lr, .weight_decay = 0.1});
    optim::WarmupCosine schedule(opt, flags.steps / 20, flags.steps);
    train::Curve curve({"step", "train_bits", "val_bits", "markov5_bits", "entropy_floor"});
    // What a checkpoint keeps (--checkpoint-every, --resume): everything the next step reads. The
    // schedule and the evaluation steps depend on --steps, so a resumed run must keep it.
    const std::string settings =
        fmt::format("steps={} language={} text={} train_chars={} val_chars={} context={} emb={} heads={} depth={} batch={}",
                    flags.steps, language_name, text_path, train_chars, val_chars, context, emb, heads, depth, batch);
    const train::TrainingState state{.model = model, .optimizer = &opt, .schedule = &schedule, .generator = &gen,
                                     .curve = &curve, .config = examples::config(flags, settings),
                                     .rank = ranks.rank(), .ranks = ranks.size()};  // --resume needs as many ranks
    const std::int64_t done = examples::resume(flags, out, state);  // 0 unless --resume
    train::Progress progress(flags.steps, {.label = "08_char_lm", .rank = ranks.rank()});
    const std::int64_t eval_every = std::max<std::int64_t>(1, flags.steps / 10);
    double seconds_evaluating = 0, val_bits = NAN;
    for (std::int64_t step = done + 1; step <= flags.steps; ++step) {
      auto [x, y] = ranks.shard(random_windows(train, batch, context, gen));  // [B, T] each: this rank's rows
      Tensor L = cross_entropy(model(x), y);                      // nats per character
      opt.zero_grad();
      L.backward();
      optim::clip_grad_norm(model.parameters(), 1.0);
      opt.step();
      schedule.step();
      const double loss = ranks.average(L.item());  // of the whole batch
      train::check_loss(loss, step);
      double val_now = NAN;
      if (step % eval_every == 0 || step == flags.steps) {
        const double started = progress.elapsed();
        val_now = val_bits = bits_per_token(model, val, context);
        seconds_evaluating += progress.elapsed() - started;
      }
      const double bits = loss / std::numbers::ln2;
      curve.add({static_cast<double>(step), bits, val_now, markov_bits, floor});
      progress.update(step, bits, std::isnan(val_now) ? "" : fmt::format("val {:.3f} bits/char", val_now));
      if (examples::after_step(flags, out, state, step, ranks.root())) return;  // a checkpoint; --stop-after
    }
    progress.finish();
    ranks.finish();             // rank 0's backward passes for the report's pictures are its own
    if (!ranks.root()) return;  // rank 0 alone shows and writes the results
    const double seconds = progress.elapsed() - seconds_evaluating;
    fmt::print("validation bits per character: transformer {:.3f}, order-5 Markov {:.3f}{}\n", val_bits, markov_bits,
               std::isnan(floor) ? "" : fmt::format(", entropy floor {:.3f}", floor));

    // Samples. For a generated language, each finished line (between two newlines) is checked.
    std::int64_t lines = 0, valid_lines = 0;
    if (samples > 0) {
      std::vector<std::int64_t> prompts;
      for (std::int64_t s = 0; s < samples; ++s) prompts.insert(prompts.end(), prompt_ids.begin(), prompt_ids.end());
      const Tensor sampled =
          nn::sample(model, tensor_of<std::int64_t>(prompts, {samples, static_cast<std::int64_t>(prompt_ids.size())}),
                     sample_chars, gen, {.temperature = temperature});
      const auto all = sampled.to_vector<std::int64_t>();
      const auto width = static_cast<std::size_t>(sampled.size(1));
      for (std::int64_t s = 0; s < samples; ++s) {
        std::string text;
        for (std::size_t i = 0; i < width; ++i) text += vocab[static_cast<std::size_t>(all[s * width + i])];
        fmt::print("--- sample {} at temperature {:g} ---\n", s + 1, temperature);
        if (!lang) {
          for (char& c : text) c = (std::iscntrl(static_cast<unsigned char>(c)) && c != '\n' && c != '\t') ? '?' : c;
          fmt::print("{}\n", text);
          continue;
        }
        // Segments between newlines; the first and last are not whole sentences unless a newline bounds them.
        for (std::size_t begin = 0, end = 0; begin <= text.size(); begin = end + 1) {
          end = std::min(text.find('\n', begin), text.size());
          const std::string line = text.substr(begin, end - begin);
          const bool whole = begin > 0 && end < text.size();
          if (!whole && line.empty()) continue;
          const bool ok = whole && lang->valid(line);
          lines += whole ? 1 : 0;
          valid_lines += ok ? 1 : 0;
          fmt::print("  {:<8} {}\n", whole ? (ok ? "ok" : "WRONG") : "(part)", line);
        }
      }
    }

    // For the report: block 0's attention on the first 24 held-out characters, with the gradients of
    // their next-character loss. (Whole contexts make maps too large to read.)
    {
      const auto T = std::min<std::int64_t>({24, context, static_cast<std::int64_t>(val.size()) - 1});
      const std::vector<std::int64_t> window(val.begin(), val.begin() + T), next(val.begin() + 1, val.begin() + T + 1);
      std::vector<std::string> chars;
      for (const std::int64_t t : window) {
        const char c = vocab[static_cast<std::size_t>(t)];
        chars.push_back(c == '\n' ? "\\n" : c == ' ' ? "␣" : std::iscntrl(static_cast<unsigned char>(c)) ? "?" : std::string(1, c));
      }
      model.eval();
      auto& attn = model.block(0).attn;
      attn.record(true);
      cross_entropy(model(tensor_of<std::int64_t>(window, {1, T})), tensor_of<std::int64_t>(next, {1, T})).backward();
      attn.record(false);
      report.attention(attn.recorded(), chars, "block 0 on held-out text (gradients of the next-character loss)");
    }
    examples::write_curve(curve, out, "08_char_lm: bits per character (train, held out, order-5 Markov, floor)", false,
                          &report, "bits per character");
    std::vector<std::pair<std::string, std::string>> fields = {
        {"bits_per_char", fmt::format("{:.3f}", val_bits)}, {"markov5_bits_per_char", fmt::format("{:.3f}", markov_bits)}};
    if (lang) fields.emplace_back("entropy_floor", fmt::format("{:.3f}", floor));
    if (lang && lines > 0) {
      fields.emplace_back("sample_valid", fmt::format("{:.3f}", static_cast<double>(valid_lines) / static_cast<double>(lines)));
    }
    fields.emplace_back("steps", fmt::format("{}", flags.steps));
    fields.emplace_back("ranks", fmt::format("{}", ranks.size()));
    examples::print_result(fields, seconds, out, &report);
  });
}
