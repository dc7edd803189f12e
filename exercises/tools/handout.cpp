// handout: turns a reference solution into the file a student gets, or into a planted wrong answer.
//
//   handout student solutions/03_matmul.cpp student/03_matmul.cpp
//   handout planted  solutions/03_matmul.cpp planted/03_matmul.cpp
//
// A solution marks its answer with two comment lines:
//
//       // BEGIN SOLUTION
//       ... the backward ...          // PLANTED: a wrong line, for the grader's own test
//       // END SOLUTION
//
// `student` replaces everything from BEGIN to END with a blank backward (`return {};`, which the grader
// reports as "returned 0 gradients"), and the answer in the op's `.rule = "dA = dC * B   dB = dC * A"`
// with the question "dA = ?   dB = ?   (from dC)", which still names the inputs in the trace and in
// the error messages; `planted` keeps the solution but swaps each line that carries a
// PLANTED comment for the wrong line after it, and drops the markers. Nothing else changes, so the
// forward a student is given is the forward the solution was graded with.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

std::string indentation(const std::string& line) { return line.substr(0, line.find_first_not_of(' ')); }

bool is_marker(const std::string& line, const std::string& word) {
  const auto at = line.find_first_not_of(' ');
  return at != std::string::npos && line.compare(at, word.size(), word) == 0;
}

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// "dA = dC·Bᵀ   dB = Aᵀ·dC" -> "dA = ?   dB = ?   (from dC)": the gradients an op defines (a "dX"
// followed by " ="), and the first one it reads, the output's.
std::string question(const std::string& rule) {
  std::string defined, from;
  for (std::size_t i = 0; i + 1 < rule.size(); ++i) {
    if (rule[i] != 'd' || (i > 0 && is_word(rule[i - 1])) || !is_word(rule[i + 1])) continue;
    std::size_t end = i + 1;
    while (end < rule.size() && is_word(rule[end])) ++end;
    const std::string token = rule.substr(i, end - i);
    if (rule.compare(end, 2, " =") == 0 && rule.compare(end, 3, " ==") != 0) {
      defined += (defined.empty() ? "" : "   ") + token + " = ?";
    } else if (from.empty()) {
      from = token;
    }
    i = end - 1;
  }
  return from.empty() ? defined : defined + "   (from " + from + ")";
}

// The line with its `.rule = "..."` asked as a question.
std::string without_answer(const std::string& line) {
  const std::string key = ".rule = \"";
  const auto at = line.find(key);
  if (at == std::string::npos) return line;
  const auto start = at + key.size(), close = line.find('"', start);
  return line.substr(0, start) + question(line.substr(start, close - start)) + line.substr(close);
}

int fail(const std::string& what) {
  std::cerr << "handout: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (std::string(argv[1]) != "student" && std::string(argv[1]) != "planted")) {
    return fail("usage: handout student|planted <solution.cpp> <out.cpp>");
  }
  const std::string mode = argv[1], in_path = argv[2], out_path = argv[3];
  std::ifstream in(in_path);
  if (!in) return fail("cannot read " + in_path);

  const std::string begin = "// BEGIN SOLUTION", end = "// END SOLUTION", planted = "// PLANTED: ";
  std::ostringstream out;
  std::string line;
  int line_no = 0, regions = 0, plants = 0, begin_line = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (is_marker(line, begin)) {
      if (inside) return fail(in_path + ":" + std::to_string(line_no) + ": BEGIN SOLUTION inside another");
      inside = true;
      begin_line = line_no;
      ++regions;
      if (mode == "student") {
        const std::string pad = indentation(line);
        out << pad << "// Your backward: one gradient per input, in the order of the inputs. Derive it on\n"
            << pad << "// paper first; the exercise's text (exercises/README.md) says where to start.\n"
            << pad << "return {};\n";
      }
      continue;
    }
    if (is_marker(line, end)) {
      if (!inside) return fail(in_path + ":" + std::to_string(line_no) + ": END SOLUTION without BEGIN");
      inside = false;
      continue;
    }
    if (inside && mode == "student") continue;
    const auto mark = line.find(planted);
    if (mark != std::string::npos) {
      ++plants;
      out << (mode == "planted" ? indentation(line) + line.substr(mark + planted.size()) : line.substr(0, mark))
          << "\n";
      continue;
    }
    out << (mode == "student" ? without_answer(line) : line) << "\n";
  }
  if (inside) return fail(in_path + ":" + std::to_string(begin_line) + ": BEGIN SOLUTION is never ended");
  if (regions == 0) return fail(in_path + ": no BEGIN SOLUTION / END SOLUTION region");
  if (mode == "planted" && plants == 0) return fail(in_path + ": no PLANTED line to plant");

  // Written whole to a temporary file, then renamed: a student's file is never left half written.
  const std::string tmp = out_path + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file << out.str();
    if (!file.flush()) return fail("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, out_path, ec);
  if (ec) return fail("cannot rename " + tmp + " to " + out_path + ": " + ec.message());
  return 0;
}
