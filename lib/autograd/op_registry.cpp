#include "attograd/autograd/op_registry.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

namespace attograd::autograd {

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<const Op*> ops;
};

// Built on first use, by the first Op constructed, so that it outlives every op registered at
// namespace scope whatever the order in which files are initialised.
Registry& registry() {
  static Registry r;
  return r;
}

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The "dX" tokens of a rule: a 'd' that starts a word, then the letter's name.
struct Token {
  std::string name;
  std::size_t at;
  std::size_t end;
};

std::vector<Token> gradient_tokens(std::string_view rule) {
  std::vector<Token> tokens;
  for (std::size_t i = 0; i + 1 < rule.size(); ++i) {
    if (rule[i] != 'd' || (i > 0 && is_word(rule[i - 1])) || !is_word(rule[i + 1])) continue;
    std::size_t end = i + 1;
    while (end < rule.size() && is_word(rule[end])) ++end;
    tokens.push_back({std::string(rule.substr(i + 1, end - i - 1)), i, end});
    i = end - 1;
  }
  return tokens;
}

// The test that names an op's gradcheck in the manifest, among those that qualify: the ops test
// mirroring the op's file (ops.test_unary, else ops.test_unary_values), else the first ops test, else
// the first. So a test elsewhere that also targets the op (nn.test_embedding checks embedding) does
// not change the page, which stays the same whichever other tests are added.
std::string preferred_test(const OpInfo& op, const std::vector<std::string>& tests) {
  const std::string mirror = "ops.test_" + op.file;
  for (const std::string& t : tests) {
    if (t == mirror) return t;
  }
  for (const std::string& t : tests) {
    if (t.starts_with(mirror + "_")) return t;
  }
  for (const std::string& t : tests) {
    if (t.starts_with("ops.")) return t;
  }
  return tests.front();
}

bool variadic(const OpInfo& op) {
  const RuleLetters letters = rule_letters(op);
  return letters.inputs.size() == 1 && letters.inputs[0].ends_with("_i");
}

// Did a check cover every input the op needs checked? (Any one input, for an op of any number.)
bool covers_all(const OpInfo& op, const std::set<std::size_t>& slots) {
  if (variadic(op)) return !slots.empty();
  for (std::size_t i = 0; i < checked_inputs_needed(op); ++i) {
    if (!slots.contains(i)) return false;
  }
  return true;
}

// The gradcheck cell of an op with a backward: one test that covered all its inputs, else a test per
// input ("A: `ops.test_x`, B: **none**").
std::string gradcheck_cell(const OpInfo& op, const GradcheckCoverage& coverage) {
  const auto it = coverage.find(op.key());
  if (it == coverage.end() || it->second.empty()) return "**none**";
  std::vector<std::string> complete;
  for (const auto& [test, slots] : it->second) {
    if (covers_all(op, slots)) complete.push_back(test);
  }
  if (!complete.empty()) return fmt::format("`{}`", preferred_test(op, complete));
  std::string cell;
  for (std::size_t i = 0; i < checked_inputs_needed(op); ++i) {
    std::vector<std::string> tests;
    for (const auto& [test, slots] : it->second) {
      if (slots.contains(i)) tests.push_back(test);
    }
    cell += fmt::format("{}{}: {}", cell.empty() ? "" : ", ", input_letter(&op, i),
                        tests.empty() ? "**none**" : fmt::format("`{}`", preferred_test(op, tests)));
  }
  return cell;
}

// Text for a Markdown table cell: a '|' would end the cell, even inside backticks.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string gradient_text(const OpInfo& op) {
  switch (op.gradient) {
    case Gradient::Backward: return fmt::format("backward: `{}`", op.rule);
    case Gradient::Composite: return fmt::format("composite: `{}`", op.rule);
    case Gradient::None: return fmt::format("none: {}", op.rule);
  }
  return {};
}

}  // namespace

std::string OpInfo::key() const { return form.empty() ? name : fmt::format("{} ({})", name, form); }

Op::Op(OpInfo info, std::source_location where) : info_(std::move(info)) {
  info_.file = std::filesystem::path(where.file_name()).stem().string();
  info_.line = where.line();
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.ops.push_back(this);
}

Op::~Op() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase(r.ops, this);
}

std::vector<const OpInfo*> registered_ops() {
  Registry& r = registry();
  std::vector<const OpInfo*> all;
  {
    std::lock_guard lock(r.mutex);
    for (const Op* op : r.ops) all.push_back(&op->info());
  }
  std::sort(all.begin(), all.end(), [](const OpInfo* a, const OpInfo* b) {
    return std::tie(a->file, a->line, a->name, a->form) < std::tie(b->file, b->line, b->name, b->form);
  });
  return all;
}

const OpInfo* find_op(std::string_view key) {
  for (const OpInfo* op : registered_ops()) {
    if (op->key() == key) return op;
  }
  return nullptr;
}

RuleLetters rule_letters(const OpInfo& op) {
  RuleLetters letters;
  if (op.gradient != Gradient::Backward) return letters;
  const std::vector<Token> tokens = gradient_tokens(op.rule);
  // A token followed by " =" is a gradient being defined: an input's.
  std::vector<bool> defined(tokens.size(), false);
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    const std::string_view rest = std::string_view(op.rule).substr(tokens[k].end);
    defined[k] = rest.starts_with(" =") && !rest.starts_with(" ==");
    if (defined[k]) letters.inputs.push_back(tokens[k].name);
  }
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    if (!defined[k] &&
        std::find(letters.inputs.begin(), letters.inputs.end(), tokens[k].name) == letters.inputs.end()) {
      letters.output = tokens[k].name;
      break;
    }
  }
  return letters;
}

std::string input_letter(const OpInfo* op, std::size_t i) {
  if (op != nullptr) {
    const RuleLetters letters = rule_letters(*op);
    if (i < letters.inputs.size() && !letters.inputs[i].ends_with("_i")) return letters.inputs[i];
    if (letters.inputs.size() == 1 && letters.inputs[0].ends_with("_i")) {
      return fmt::format("{}_{}", letters.inputs[0].substr(0, letters.inputs[0].size() - 2), i);
    }
  }
  return fmt::format("input {}", i);
}

std::string output_letter(const OpInfo* op) {
  if (op != nullptr) {
    RuleLetters letters = rule_letters(*op);
    if (!letters.output.empty()) return letters.output;
  }
  return "output";
}

std::size_t checked_inputs_needed(const OpInfo& op) {
  if (op.gradient != Gradient::Backward) return 0;
  const RuleLetters letters = rule_letters(op);
  return variadic(op) || letters.inputs.empty() ? 1 : letters.inputs.size();
}

std::string op_manifest(const GradcheckCoverage& gradchecked) {
  const std::vector<const OpInfo*> ops = registered_ops();
  std::size_t own = 0, composite = 0, none = 0;
  for (const OpInfo* op : ops) {
    own += op->gradient == Gradient::Backward;
    composite += op->gradient == Gradient::Composite;
    none += op->gradient == Gradient::None;
  }
  std::string text = fmt::format(
      "# Ops\n\n"
      "<!-- Generated from the op registry and the gradient checks that ran: do not edit by hand. -->\n"
      "<!-- Regenerate with the commands in docs/teaching.md, section \"The op manifest\". -->\n\n"
      "{} ops: {} with a backward of their own, {} composite (their gradient comes from the ops they are\n"
      "made of), {} without a gradient. Each op is registered beside its definition in `lib/ops/`\n"
      "(`attograd/autograd/op_registry.hpp`). The gradcheck column names a test with gradient checks\n"
      "(finite differences in float64, `check_gradients`) that target the op, one for each input its rule\n"
      "differentiates (a check targets the op that made the tensor its function returns); the op's page\n"
      "in `docs/derivations/` derives the rule.\n",
      ops.size(), own, composite, none);
  std::string file;
  for (const OpInfo* op : ops) {
    if (op->file != file) {
      file = op->file;
      text += fmt::format("\n## lib/ops/{}.cpp\n\n", file);
      text += "| op | gradient | backend | gradcheck | derivation |\n|---|---|---|---|---|\n";
    }
    std::string check = "—";
    if (op->gradient == Gradient::Backward) {
      check = gradcheck_cell(*op, gradchecked);
    } else if (op->gradient == Gradient::Composite) {
      check = "through its parts";
    }
    const std::string derivation =
        op->derivation.empty() ? "—" : fmt::format("[{}](derivations/{})", op->derivation, op->derivation);
    const std::string form = op->form.empty() ? "" : fmt::format(" (`{}`)", op->form);
    const std::string_view backend = op->gradient == Gradient::Composite ? "its parts" : op->backend;
    text += fmt::format("| `{}`{} | {} | {} | {} | {} |\n", op->name, cell(form), cell(gradient_text(*op)), backend,
                        check, derivation);
  }
  return text;
}

}  // namespace attograd::autograd
