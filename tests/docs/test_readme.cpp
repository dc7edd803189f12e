// The README's example prints what the README says. The example is compiled from README.md itself
// (tests/CMakeLists.txt extracts it into the program readme_example); this test runs that program and
// compares its output with the README's output block: text exactly, numbers within 2e-4, which holds on
// any x86-64 CPU whatever its vector width (the README prints 4 decimals).
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/test.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first fenced block after `marker` in the README.
std::string block_after(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  BOOST_TEST_REQUIRE(at != std::string::npos, "README lacks " + marker);
  const auto open = text.find("```", at);
  const auto body = text.find('\n', open) + 1;
  const auto close = text.find("\n```", body);
  return text.substr(body, close - body + 1);
}

std::string run(const std::string& program) {
  std::string out;
  FILE* pipe = popen(program.c_str(), "r");
  BOOST_TEST_REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
  BOOST_TEST(pclose(pipe) == 0);
  return out;
}

// Splits text into number and non-number pieces.
std::vector<std::string> tokens(const std::string& text) {
  static const std::regex number(R"(-?\d+\.\d+(e[+-]?\d+)?|-?\d+)");
  std::vector<std::string> out;
  std::sregex_token_iterator it(text.begin(), text.end(), number, {-1, 0});
  for (; it != std::sregex_token_iterator(); ++it) out.push_back(*it);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(readme_example_prints_what_the_readme_says) {
  const std::string readme = read_file(ATTOGRAD_README);
  const std::string expected = block_after(readme, "<!-- readme-example: output");
  const std::string actual = run(ATTOGRAD_README_EXAMPLE);
  const auto e = tokens(expected);
  const auto a = tokens(actual);
  BOOST_TEST_REQUIRE(e.size() == a.size(), "README:\n" + expected + "\nprogram:\n" + actual);
  for (std::size_t i = 0; i < e.size(); ++i) {
    const bool is_number = !e[i].empty() && (std::isdigit(static_cast<unsigned char>(e[i].back())) != 0);
    if (is_number) {
      BOOST_TEST(std::abs(std::stod(e[i]) - std::stod(a[i])) <= 2e-4, e[i] + " vs " + a[i]);
    } else {
      BOOST_TEST(e[i] == a[i]);
    }
  }
}
