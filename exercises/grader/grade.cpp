// The grader: runs every case of every exercise against the student's ops and prints a scorecard.
//
//   exercises_grade                 every exercise
//   exercises_grade --only 03       the exercises whose id starts with 03 (or contains the word)
//   exercises_grade --seed 7        other random values and random shapes (the default seed is 1)
//
// A case passes when the forward matches the reference, the gradient of every input matches the
// reference's (the same maths from the library's own ops), and gradcheck agrees (central differences
// in float64). For the first failing case of an exercise the scorecard says which input's gradient is
// wrong, at which element and by how much, and shows the failing node's step of the backward trace.
// Exit status: 0 when every exercise graded passed, 1 otherwise.
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include <attograd/viz/explain.hpp>
#include <fmt/format.h>

#include "grader/grader.hpp"

namespace course::grader {

namespace {

using namespace attograd;

constexpr double kAtol = 1e-7, kRtol = 1e-6;  // against the reference, both computed in float64

struct Failure {
  std::string message;
  std::string trace;  // the failing node's step, when it ran
};

// Fresh leaves with the case's values, so that each run starts with no .grad.
std::vector<Tensor> fresh(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) out.push_back(t.requires_grad() ? clone(t.detach()).requires_grad_() : t);
  return out;
}

std::string input_name(const std::string& op, std::size_t i, const Tensor& t) {
  const std::string letter = autograd::input_letter(autograd::find_op(op), i);
  return letter.starts_with("input ") ? fmt::format("input {} (shape {})", i, t.shape())
                                      : fmt::format("input {} ({}, shape {})", i, letter, t.shape());
}

// The first element where `got` and `want` differ by more than the tolerance, as a sentence; empty
// when they agree everywhere.
std::string compare(const Tensor& got, const Tensor& want, const std::string& what, const char* mine = "yours") {
  if (got.shape() != want.shape()) return fmt::format("{} has shape {}, expected {}", what, got.shape(), want.shape());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  std::int64_t wrong = 0, first = -1;
  for (std::size_t j = 0; j < g.size(); ++j) {
    const double diff = std::abs(g[j] - w[j]);
    if (!(diff <= kAtol + kRtol * std::abs(w[j]))) {
      if (first < 0) first = static_cast<std::int64_t>(j);
      ++wrong;
    }
  }
  if (first < 0) return {};
  const auto j = static_cast<std::size_t>(first);
  std::vector<std::int64_t> index(static_cast<std::size_t>(want.dim()));
  for (int d = want.dim() - 1, rest = first; d >= 0; --d) {
    index[static_cast<std::size_t>(d)] = rest % want.shape()[d];
    rest /= static_cast<int>(want.shape()[d]);
  }
  return fmt::format("{} is wrong at element [{}]: {} {:.6g}, expected {:.6g} (off by {:.3g}); {} of {} elements wrong",
                     what, fmt::join(index, ", "), mine, g[j], w[j], std::abs(g[j] - w[j]), wrong, g.size());
}

// The step of the backward trace that belongs to the op's node (the first one, if several).
std::string node_step(const std::string& trace, const std::string& op) {
  std::istringstream lines(trace);
  std::string line, out;
  bool inside = false;
  while (std::getline(lines, line)) {
    if (line.starts_with("step ")) {
      if (inside) break;
      inside = line.find("  " + op + "  ") != std::string::npos;
    } else if (line.starts_with("backward from")) {
      continue;
    }
    if (inside) out += line + "\n";
  }
  return out;
}

// One backward through the student's op with upstream gradient v, traced.
std::string traced_backward(const Case& c, const Tensor& v) {
  std::vector<Tensor> in = fresh(c.inputs);
  std::string trace;
  try {
    Tensor out = c.yours(in);
    viz::Explain explain(trace);
    out.backward(v);
  } catch (const std::exception&) {
    // The error is reported already; the trace has the steps before it.
  }
  return node_step(trace, c.op);
}

std::optional<Failure> grade(const Case& c) {
  // 1. The forward: given to the student, so it should match; a difference means it was changed.
  Tensor mine, want;
  try {
    NoGradGuard no_grad;
    mine = c.yours(c.inputs);
    want = c.reference(c.inputs);
  } catch (const std::exception& e) {
    return Failure{fmt::format("the forward threw: {}", e.what()), {}};
  }
  if (std::string d = compare(mine, want, "the forward's output"); !d.empty()) {
    return Failure{d + " (the forward is given: was it changed?)", {}};
  }

  // 2. The gradients against the reference's, for one random upstream gradient v.
  Generator gen(17);
  const Tensor v = randn(want.shape(), gen, {.dtype = kFloat64});
  std::vector<Tensor> in = fresh(c.inputs), ref = fresh(c.inputs);
  try {
    c.yours(in).backward(v);
  } catch (const std::exception& e) {
    return Failure{fmt::format("backward threw: {}", e.what()), traced_backward(c, v)};
  }
  c.reference(ref).backward(v);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!in[i].requires_grad()) continue;
    const Tensor got = in[i].grad().defined() ? in[i].grad() : zeros_like(in[i]);
    const Tensor expected = ref[i].grad().defined() ? ref[i].grad() : zeros_like(ref[i]);
    if (std::string d = compare(got, expected, "the gradient of " + input_name(c.op, i, in[i])); !d.empty()) {
      return Failure{d, traced_backward(c, v)};
    }
  }

  // 3. gradcheck: the gradient against finite differences of the forward itself.
  try {
    const GradcheckResult r = gradcheck(c.yours, c.inputs);
    if (!r) return Failure{r.message, traced_backward(c, v)};
  } catch (const std::exception& e) {
    return Failure{fmt::format("gradcheck: {}", e.what()), {}};
  }
  return std::nullopt;
}

// "2. add with broadcasting" -> "#2-add-with-broadcasting", as Markdown viewers make heading anchors.
std::string anchor(int number, const std::string& title) {
  std::string a = fmt::format("#{}-", number);
  for (char ch : title) {
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-') a += static_cast<char>(std::tolower(ch));
    if (ch == ' ') a += '-';
  }
  return a;
}

std::string indent(const std::string& text, const std::string& pad) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out += pad + line + "\n";
  return out;
}

}  // namespace

int run(int argc, char** argv) {
  std::string only;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (arg == "--seed" && i + 1 < argc && std::string(argv[i + 1]).find_first_not_of("0123456789") == std::string::npos) {
      seed = std::stoull(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--only <exercise>] [--seed <n>]   e.g. --only 03 or --only matmul\n", argv[0]);
      return 2;
    }
  }
  const std::vector<Exercise> all = exercises();
  int graded = 0, passed = 0, number = 0;
  std::string card = "attograd backpropagation course: scorecard\n\n";
  for (const Exercise& ex : all) {
    ++number;
    if (!only.empty() && !ex.id.starts_with(only) && ex.id.find(only) == std::string::npos) continue;
    ++graded;
    Generator gen(1000 * seed + static_cast<std::uint64_t>(number));
    const std::vector<Case> cases = ex.cases(gen);
    std::size_t failed = 0;
    std::optional<Failure> first;
    const Case* first_case = nullptr;
    for (const Case& c : cases) {
      if (std::optional<Failure> f = grade(c)) {
        if (!first) first = std::move(f), first_case = &c;
        ++failed;
      }
    }
    const std::string head = fmt::format("{:>2}  {:<28}", number, ex.title);
    if (failed == 0) {
      ++passed;
      card += fmt::format("{}passed   {} of {} cases\n", head, cases.size(), cases.size());
      continue;
    }
    card += fmt::format("{}FAILED   {} of {} cases failed ({})\n", head, failed, cases.size(), ex.id);
    if (failed == cases.size() && first->message.find("Is the backward still the blank") != std::string::npos) {
      card += fmt::format("      not started: {}'s backward returned 0 gradients, it is still the blank `return {{}};`\n",
                          first_case->op);
      continue;
    }
    card += fmt::format("      first failure, {}: {}\n", first_case->op, first_case->what);
    card += indent(first->message, "        ");
    if (!first->trace.empty()) card += "      the failing node's step of the backward trace:\n" + indent(first->trace, "        ");
    card += fmt::format("      read exercises/README.md{}; afterwards, {}\n", anchor(number, ex.title), ex.derivation);
  }
  if (graded == 0) {
    std::fprintf(stderr, "no exercise matches '%s'\n", only.c_str());
    return 2;
  }
  card += fmt::format("\n{} of {} exercise{} passed\n", passed, graded, graded == 1 ? "" : "s");
  std::fputs(card.c_str(), stdout);
  return passed == graded ? 0 : 1;
}

}  // namespace course::grader

int main(int argc, char** argv) {
  try {
    return course::grader::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "grader: %s\n", e.what());
    return 2;
  }
}
