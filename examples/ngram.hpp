// examples/ngram.hpp: count-based n-gram language models, the baselines of examples 08 and 11.
//
//   examples::NGramCounts counts(/*n*/ 5, /*vocab*/ 27);  // contexts of up to n - 1 = 4 tokens
//   for (const auto& word : train) counts.add(word);      // each a sequence of token ids
//   examples::AddK bigram{counts, /*n*/ 2, /*k*/ 0.1};    // any n up to the counts' own
//   examples::KneserNey five{counts, 5, /*discount*/ 0.8};
//   double nats = examples::mean_nats(five, validation);  // -ln P per predicted token
//
// A model predicts token i of a sequence from the n - 1 tokens before it, or from all of them when there
// are fewer (at the start of a sequence: a word [., c, a, t, .] predicts its 'c' from '.' alone). The
// first token of a sequence is given, never predicted. Two ways to turn counts into probabilities:
//
// - add-k ("Laplace" for k = 1): P(c | h) = (n(h c) + k) / (n(h) + k V), with n(h) the times the context
//   h was followed by anything. An unseen context gives the uniform 1/V.
// - interpolated Kneser-Ney (Chen and Goodman, "An empirical study of smoothing techniques for language
//   modeling", 1998, section 2.7): take a discount D off every count and give what it frees to the next
//   shorter context h' (h without its first token):
//       P(c | h) = max(a(h c) - D, 0) / a(h) + D t(h) / a(h) · P(c | h')
//   where t(h) is the number of tokens seen after h and P(c | no context at all) is uniform. For the
//   longest context a is the count n; for a shorter one it is the number of distinct tokens seen before
//   h c, since a shorter context is consulted mostly when the longer one is rare: "Francisco" is frequent,
//   but nearly always after "San", so it should get little share after a context never seen. An n-gram
//   at the start of a sequence has no token before it and counts each time (KenLM's rule for <s>). A
//   context never seen passes everything to h'. Both formulas sum to 1 over the V tokens (for 0 < D <= 1).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <attograd/attograd.hpp>

namespace examples {

class NGramCounts {
 public:
  // Token ids must be in [0, vocab), vocab <= 256 (a key packs them 8 bits each); n in [1, 7].
  NGramCounts(int n, std::int64_t vocab) : n_(n), V_(vocab) {
    if (n < 1 || n > 7) throw attograd::ValueError(fmt::format("NGramCounts: n must be in [1, 7], got {}", n));
    if (vocab < 1 || vocab > 256) {
      throw attograd::ValueError(fmt::format("NGramCounts: vocab must be in [1, 256], got {}", vocab));
    }
  }

  // Counts every token of the sequence after the first, with each of its contexts: the 0, 1, ... up to
  // n - 1 tokens before it.
  void add(std::span<const std::int64_t> tokens) {
    for (const std::int64_t t : tokens) {
      if (t < 0 || t >= V_) throw attograd::ValueError(fmt::format("NGramCounts::add: token {} is not in [0, {})", t, V_));
    }
    for (std::size_t i = 1; i < tokens.size(); ++i) {
      const int longest = longest_context(i);
      for (int m = 0; m <= longest; ++m) {
        Gram& gram = grams_[gram_key(tokens, i, m, tokens[i])];
        Context& context = contexts_[context_key(tokens, i, m)];
        if (gram.count == 0) ++context.types;
        ++gram.count;
        ++context.count;
        // The adjusted count: a new distinct token before (h c), or an occurrence with none before it.
        const bool at_start = static_cast<std::size_t>(m) == i;
        bool new_left = false;
        if (!at_start && m < n_ - 1) {  // (t h c) is counted next, at m + 1: is it new?
          const auto longer = grams_.find(gram_key(tokens, i, m + 1, tokens[i]));
          new_left = longer == grams_.end() || longer->second.count == 0;
        }
        if (at_start || new_left) {
          ++gram.adjusted;
          ++context.adjusted;
        }
      }
    }
  }

  int n() const { return n_; }
  std::int64_t vocab() const { return V_; }

  struct Gram {
    std::uint32_t count = 0, adjusted = 0;  // n(h c); distinct tokens before h c (+ each at the start)
  };
  struct Context {
    std::uint32_t count = 0, adjusted = 0, types = 0;  // sums of the above over c; tokens c seen after h
  };
  // The counts of (h c) and of h, h being the m tokens before tokens[i]; zeros when never seen.
  Gram gram(std::span<const std::int64_t> tokens, std::size_t i, int m) const {
    const auto it = grams_.find(gram_key(tokens, i, m, tokens[i]));
    return it == grams_.end() ? Gram{} : it->second;
  }
  Context context(std::span<const std::int64_t> tokens, std::size_t i, int m) const {
    const auto it = contexts_.find(context_key(tokens, i, m));
    return it == contexts_.end() ? Context{} : it->second;
  }
  // The longest context of tokens[i]: n - 1 tokens, or all before it near the start.
  int longest_context(std::size_t i, int n) const { return static_cast<int>(std::min<std::size_t>(i, n - 1)); }
  int longest_context(std::size_t i) const { return longest_context(i, n_); }

 private:
  // A context's key: its length m, then its tokens, 8 bits each (at most 3 + 8 * 6 bits); a gram's key
  // appends the token that followed.
  static std::uint64_t context_key(std::span<const std::int64_t> tokens, std::size_t i, int m) {
    std::uint64_t key = static_cast<std::uint64_t>(m);
    for (std::size_t j = i - static_cast<std::size_t>(m); j < i; ++j) {
      key = (key << 8) | static_cast<std::uint64_t>(tokens[j]);
    }
    return key;
  }
  static std::uint64_t gram_key(std::span<const std::int64_t> tokens, std::size_t i, int m, std::int64_t next) {
    return (context_key(tokens, i, m) << 8) | static_cast<std::uint64_t>(next);
  }

  int n_;
  std::int64_t V_;
  std::unordered_map<std::uint64_t, Gram> grams_;
  std::unordered_map<std::uint64_t, Context> contexts_;
};

// Add-k smoothing on the longest context: P(c | h) = (n(h c) + k) / (n(h) + k V).
struct AddK {
  const NGramCounts& counts;
  int n;     // this model's n (<= counts.n()): its context is n - 1 tokens
  double k;  // > 0

  // P(tokens[i] | the tokens before it).
  double probability(std::span<const std::int64_t> tokens, std::size_t i) const {
    const int m = counts.longest_context(i, n);
    const double V = static_cast<double>(counts.vocab());
    return (counts.gram(tokens, i, m).count + k) / (counts.context(tokens, i, m).count + k * V);
  }
};

// Interpolated Kneser-Ney, one discount for every context length (the formula at the top of this file).
struct KneserNey {
  const NGramCounts& counts;
  int n;
  double discount;  // D in (0, 1]

  double probability(std::span<const std::int64_t> tokens, std::size_t i) const {
    const int longest = counts.longest_context(i, n);
    double p = 1.0 / static_cast<double>(counts.vocab());  // no context at all: uniform
    for (int m = 0; m <= longest; ++m) {                   // from the shortest context to the longest
      const NGramCounts::Context h = counts.context(tokens, i, m);
      if (h.count == 0) continue;  // never seen: P(c | h) = P(c | h')
      const NGramCounts::Gram hc = counts.gram(tokens, i, m);
      const double a = m == longest ? hc.count : hc.adjusted, total = m == longest ? h.count : h.adjusted;
      p = std::max(a - discount, 0.0) / total + discount * h.types / total * p;
    }
    return p;
  }
};

// The mean of -ln P(token | the tokens before it) over every token after the first of each sequence.
template <class Model>
double mean_nats(const Model& model, const std::vector<std::vector<std::int64_t>>& sequences) {
  double nats = 0;
  std::size_t predicted = 0;
  for (const auto& tokens : sequences) {
    for (std::size_t i = 1; i < tokens.size(); ++i) nats -= std::log(model.probability(tokens, i));
    predicted += tokens.size() > 0 ? tokens.size() - 1 : 0;
  }
  return nats / static_cast<double>(predicted);
}

// What examples/11_words.cpp tunes with: the setting of `grid` with the lowest nats on `val` (make(setting)
// builds the model), that figure, and the model's nats on `test`.
struct Tuned {
  double setting = 0, val = std::numeric_limits<double>::infinity(), test = 0;
};
template <class MakeModel>
Tuned tune(const std::vector<double>& grid, MakeModel make, const std::vector<std::vector<std::int64_t>>& val,
           const std::vector<std::vector<std::int64_t>>& test) {
  Tuned best;
  for (const double s : grid) {
    const double nats = mean_nats(make(s), val);
    if (nats < best.val) best = {s, nats, 0};
  }
  best.test = mean_nats(make(best.setting), test);
  return best;
}

// How far from 1 the model's P(c | context) summed over the `vocab` tokens gets, at every prediction of
// the first `count` sequences.
template <class Model>
double sum_error(const Model& model, const std::vector<std::vector<std::int64_t>>& sequences, std::int64_t vocab,
                 std::size_t count) {
  double worst = 0;
  for (std::size_t w = 0; w < std::min(count, sequences.size()); ++w) {
    std::vector<std::int64_t> tokens = sequences[w];
    for (std::size_t i = 1; i < tokens.size(); ++i) {
      const std::int64_t real = tokens[i];
      double sum = 0;
      for (std::int64_t c = 0; c < vocab; ++c) {
        tokens[i] = c;
        sum += model.probability(tokens, i);
      }
      tokens[i] = real;
      worst = std::max(worst, std::abs(sum - 1));
    }
  }
  return worst;
}

}  // namespace examples
