// examples/languages.hpp: the three small languages 08_char_lm generates its text from, each with the
// check of a sentence and the information its random choices carry (its entropy floor).
//
//   attograd::Generator gen(0);
//   const examples::Language lang = examples::language("bits");
//   auto [text, bits] = examples::generate(lang, 100000, gen);   // "\n01101 10011 11110 00001 11111\n..."
//   double floor = bits / (text.size() - 1);                     // bits per predicted character
//   bool ok = lang.valid("01101 10011 11110 00001 11111");      // true
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <attograd/attograd.hpp>

namespace examples {

// Random choices that count their own information: -log2 of the probability of each choice made.
class Choices {
 public:
  explicit Choices(attograd::Generator& gen) : gen_(gen) {}
  bool coin(double p) {  // true with probability p
    const bool yes = gen_.uniform() < p;
    bits += -std::log2(yes ? p : 1 - p);
    return yes;
  }
  const std::string& pick(const std::vector<std::string>& words) {  // one word, uniformly
    bits += std::log2(static_cast<double>(words.size()));
    return words[gen_.below(words.size())];
  }
  double bits = 0;

 private:
  attograd::Generator& gen_;
};

inline std::string bit_words(Choices& c) {
  std::string a, b, x, n, o;
  for (int i = 0; i < 5; ++i) a += c.coin(0.5) ? '1' : '0';
  for (int i = 0; i < 5; ++i) b += c.coin(0.5) ? '1' : '0';
  for (int i = 0; i < 5; ++i) {
    x += (a[i] != b[i]) ? '1' : '0';
    n += (a[i] == '1' && b[i] == '1') ? '1' : '0';
    o += (a[i] == '1' || b[i] == '1') ? '1' : '0';
  }
  return a + " " + b + " " + x + " " + n + " " + o;
}

inline bool valid_bit_words(const std::string& line) {
  if (line.size() != 29) return false;
  for (std::size_t i = 0; i < 29; ++i) {
    if (i % 6 == 5 ? line[i] != ' ' : line[i] != '0' && line[i] != '1') return false;
  }
  for (std::size_t i = 0; i < 5; ++i) {
    const bool a = line[i] == '1', b = line[6 + i] == '1';
    if ((line[12 + i] == '1') != (a != b) || (line[18 + i] == '1') != (a && b) || (line[24 + i] == '1') != (a || b)) {
      return false;
    }
  }
  return true;
}

// Opens one bracket, then opens another with probability 7/16 or closes one, until none is open.
inline std::string brackets(Choices& c) {
  std::string s = "(";
  for (int open = 1; open > 0;) {
    const bool deeper = c.coin(7.0 / 16.0);
    s += deeper ? '(' : ')';
    open += deeper ? 1 : -1;
  }
  return s;
}

inline bool valid_brackets(const std::string& line) {
  int open = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '(' && line[i] != ')') return false;
    open += line[i] == '(' ? 1 : -1;
    if (open < 0 || (open == 0 && i + 1 < line.size())) return false;
  }
  return !line.empty() && open == 0;
}

// sentence = clause (" and " clause)* "."      clause = np transitive np | np intransitive (prep np)?
// np = det (adj)? noun. Every word class is disjoint from the others, so a sentence has one derivation
// and its probability is the product of the choices that made it.
inline const std::vector<std::string> kDet = {"the", "a"}, kAdj = {"small", "quick", "busy", "red"},
                               kNoun = {"cat", "dog", "mouse", "bird", "man", "woman"},
                               kTransitive = {"sees", "likes", "chases"}, kIntransitive = {"walks", "runs", "sleeps"},
                               kPrep = {"on", "with", "near"};

inline std::string noun_phrase(Choices& c) {
  std::string s = c.pick(kDet) + " ";
  if (c.coin(0.4)) s += c.pick(kAdj) + " ";
  return s + c.pick(kNoun);
}
inline std::string clause(Choices& c) {
  std::string s = noun_phrase(c) + " ";
  if (c.coin(0.5)) return s + c.pick(kTransitive) + " " + noun_phrase(c);
  s += c.pick(kIntransitive);
  if (c.coin(0.5)) s += " " + c.pick(kPrep) + " " + noun_phrase(c);
  return s;
}
inline std::string grammar_sentence(Choices& c) {
  std::string s = clause(c);
  while (c.coin(0.25)) s += " and " + clause(c);
  return s + ".";
}

inline bool valid_grammar_sentence(const std::string& sentence) {
  if (sentence.empty() || sentence.back() != '.') return false;
  const std::string line = sentence.substr(0, sentence.size() - 1);
  std::vector<std::string> words;
  for (std::size_t start = 0, end = 0; end != std::string::npos; start = end + 1) {
    end = line.find(' ', start);
    words.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
  }
  std::size_t i = 0;
  auto take = [&](const std::vector<std::string>& set) {
    const bool ok = i < words.size() && std::find(set.begin(), set.end(), words[i]) != set.end();
    i += ok ? 1 : 0;
    return ok;
  };
  auto np = [&] { return take(kDet) && (take(kAdj), take(kNoun)); };
  auto clause_ok = [&] {
    if (!np()) return false;
    if (take(kTransitive)) return np();
    return take(kIntransitive) && (!take(kPrep) || np());
  };
  if (!clause_ok()) return false;
  while (i < words.size()) {
    if (words[i++] != "and" || !clause_ok()) return false;
  }
  return true;
}

struct Language {
  std::string (*sentence)(Choices&);
  bool (*valid)(const std::string&);
  std::string alphabet;  // every character its texts hold, '\n' included
};

inline Language language(const std::string& name) {
  if (name == "bits") return {bit_words, valid_bit_words, "\n 01"};
  if (name == "brackets") return {brackets, valid_brackets, "\n()"};
  std::string alphabet = "\n .";
  for (const auto* words : {&kDet, &kAdj, &kNoun, &kTransitive, &kIntransitive, &kPrep}) {
    for (const auto& w : *words) alphabet += w;
  }
  alphabet += "and";
  std::sort(alphabet.begin(), alphabet.end());
  alphabet.erase(std::unique(alphabet.begin(), alphabet.end()), alphabet.end());
  return {grammar_sentence, valid_grammar_sentence, alphabet};
}

// "\n", then whole sentences, each ending in "\n", until there are at least `chars` characters; and the
// information in bits the choices carried (the newlines are certain and carry none).
inline std::pair<std::string, double> generate(const Language& lang, std::int64_t chars, attograd::Generator& gen) {
  Choices choices(gen);
  std::string text = "\n";
  while (static_cast<std::int64_t>(text.size()) < chars) text += lang.sentence(choices) + "\n";
  return {text, choices.bits};
}

}  // namespace examples
