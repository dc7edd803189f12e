// Checks or writes docs/ops.md, the op manifest, from the op registry and the gradient checks that ran.
//
//   ops_manifest check <docs/ops.md> <coverage dir> <docs/derivations>   (the CTest test docs.ops_manifest)
//   ops_manifest write <docs/ops.md> <coverage dir> <docs/derivations>   (the build target ops_md)
//
// The coverage dir holds one file per test program, written by check_gradients (tests/support/test.cpp):
// the ops its passing gradient checks targeted, with the inputs checked, under the run's token. check
// fails when the file differs from what would be written, when an input of an op with a backward was
// never targeted by a gradient check, when a coverage file is from another run, when a derivation link
// names a page or section that does not exist, or when library code records an op by name rather than
// through its registered Op (the project root is found from <docs/derivations>). write writes the
// file, then reports the same problems.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <attograd/attograd.hpp>

namespace fs = std::filesystem;
using attograd::autograd::Gradient;
using attograd::autograd::GradcheckCoverage;
using attograd::autograd::OpInfo;

namespace {

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The coverage of this run: op key -> test program -> input slots checked. A file is counted only when
// its first line carries the run token in <dir>/.run (tests/tools/gradcheck_coverage_run.cmake, run by
// CTest before the test programs); a file from another run is reported in `stale` instead.
GradcheckCoverage read_coverage(const fs::path& dir, std::vector<std::string>& stale) {
  GradcheckCoverage covered;
  if (!fs::is_directory(dir)) return covered;
  std::ifstream token_file(dir / ".run");
  std::string token;
  std::getline(token_file, token);
  if (token.empty()) {
    stale.push_back(fmt::format("{} has no .run token: run the tests through ctest, which starts a run by "
                                "cleaning the directory", dir.string()));
    return covered;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    if (first != "run " + token) {
      stale.push_back(fmt::format("{} is from another run ('{}', this run is '{}'); it was not counted",
                                  file.string(), first, token));
      continue;
    }
    const std::string program = file.stem().string();
    for (std::string line; std::getline(in, line);) {
      const auto tab = line.find('\t');
      if (tab == std::string::npos) continue;
      std::set<std::size_t>& slots = covered[line.substr(0, tab)][program];
      std::istringstream list(line.substr(tab + 1));
      for (std::string slot; std::getline(list, slot, ',');) {
        if (!slot.empty()) slots.insert(std::stoul(slot));
      }
    }
  }
  return covered;
}

// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
std::string slug(const std::string& heading) {
  std::string out;
  for (unsigned char c : heading) {
    if (std::isalnum(c) || c == '-' || c == '_') {
      out += static_cast<char>(std::tolower(c));
    } else if (c == ' ') {
      out += '-';
    }
  }
  return out;
}

// Problems with the registry and the coverage: ops with a backward and no gradient check, links to
// derivations that do not exist.
std::vector<std::string> problems(const GradcheckCoverage& covered, const fs::path& derivations) {
  std::vector<std::string> found;
  for (const OpInfo* op : attograd::autograd::registered_ops()) {
    const auto it = covered.find(op->key());
    if (op->gradient == Gradient::Backward && it == covered.end()) {
      found.push_back(
          fmt::format("'{}' (lib/ops/{}.cpp:{}) has a backward but no gradient check targets it; add a "
                      "check_gradients test in tests/ops/ whose function returns the op's result",
                      op->key(), op->file, op->line));
    } else if (op->gradient == Gradient::Backward) {
      std::set<std::size_t> slots;
      for (const auto& [program, s] : it->second) slots.insert(s.begin(), s.end());
      // A rule for any number of inputs ("dX_i = ...") is covered by a check of any one of them.
      const auto letters = attograd::autograd::rule_letters(*op).inputs;
      const bool any_input = letters.size() == 1 && letters[0].ends_with("_i");
      for (std::size_t i = 0; i < attograd::autograd::checked_inputs_needed(*op); ++i) {
        if (slots.contains(i) || (any_input && !slots.empty())) continue;
        found.push_back(fmt::format("'{}' (lib/ops/{}.cpp:{}): no gradient check targets it with input {} "
                                    "needing a gradient; add a check_gradients test in tests/ops/ where it does",
                                    op->key(), op->file, op->line, attograd::autograd::input_letter(op, i)));
      }
    }
    if (op->derivation.empty()) continue;
    const std::string link(op->derivation);
    const fs::path page = derivations / link.substr(0, link.find('#'));
    if (!fs::is_regular_file(page)) {
      found.push_back(fmt::format("'{}' links to {}, which does not exist", op->key(), page.string()));
      continue;
    }
    if (link.find('#') == std::string::npos) continue;
    const std::string anchor = link.substr(link.find('#') + 1);
    std::istringstream lines(read(page));
    bool has = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with('#')) has = has || slug(line.substr(line.find_first_not_of('#'))).substr(1) == anchor;
    }
    if (!has)
      found.push_back(
          fmt::format("'{}' links to {}, but {} has no heading with that anchor", op->key(), link, page.string()));
  }
  return found;
}

// Library code that records an op by name (record("foo", ...)) instead of through its registered Op:
// such an op would be missing from the manifest, from explain mode's rules and from the gradcheck column.
std::vector<std::string> ops_recorded_by_name(const fs::path& root) {
  std::vector<std::string> found;
  if (!fs::is_directory(root / "lib")) return found;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root / "lib")) {
    if (entry.path().extension() == ".cpp") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::istringstream lines(read(file));
    int number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++number;
      const auto at = line.find("record(\"");
      if (at == std::string::npos) continue;
      const auto name = line.substr(at + 8, line.find('"', at + 8) - at - 8);
      found.push_back(fmt::format("{}:{} records the op '{}' by name; register it with an autograd::Op beside its "
                                  "definition (attograd/autograd/op_registry.hpp) and pass that to record()",
                                  fs::relative(file, root).string(), number, name));
    }
  }
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 5 ? argv[1] : "";
  if (mode != "check" && mode != "write") {
    std::fprintf(stderr, "usage: ops_manifest check|write <docs/ops.md> <coverage dir> <docs/derivations>\n");
    return 2;
  }
  const fs::path doc = argv[2], coverage = argv[3], derivations = argv[4];
  std::vector<std::string> stale;
  const auto covered = read_coverage(coverage, stale);
  const std::string text = attograd::autograd::op_manifest(covered);
  int status = 0;
  if (mode == "write") {
    std::ofstream(doc, std::ios::binary) << text;
    fmt::print("wrote {} ({} ops; gradient checks seen in {})\n", doc.string(),
               attograd::autograd::registered_ops().size(), coverage.string());
  } else if (read(doc) != text) {
    const std::string old = read(doc);
    std::istringstream a(old), b(text);
    std::string la, lb;
    int line = 1;
    while (std::getline(a, la) && std::getline(b, lb) && la == lb) ++line;
    fmt::print(
        "{} differs from what the registry generates, first at line {}:\n  committed: {}\n  generated: {}\n"
        "Regenerate it: cmake --build <build dir> --target ops_md (after running the tests)\n",
        doc.string(), line, la, lb);
    status = 1;
  }
  std::vector<std::string> found = stale;
  for (std::string& p : problems(covered, derivations)) found.push_back(std::move(p));
  for (std::string& p : ops_recorded_by_name(derivations.parent_path().parent_path())) found.push_back(std::move(p));
  for (const std::string& p : found) {
    fmt::print("{}\n", p);
    status = 1;
  }
  if (status == 0) fmt::print("{} is up to date: every op with a backward has a gradient check\n", doc.string());
  return status;
}
