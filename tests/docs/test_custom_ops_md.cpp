// docs/custom-ops.md's example prints what the page says. tests/CMakeLists.txt compiles the example
// from the page itself (the ```cpp block after "custom-ops-example: code") into custom_ops_example;
// this test runs it and compares its output with the page's output block, exactly: the example
// computes in float64 with a handful of elementwise ops, the same bits on any machine.
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "support/test.hpp"

namespace {

std::string page() {
  std::ifstream in(ATTOGRAD_SOURCE_DIR "/docs/custom-ops.md");
  BOOST_TEST_REQUIRE(in.good(), "cannot read docs/custom-ops.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string block_after(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  BOOST_TEST_REQUIRE(at != std::string::npos, "docs/custom-ops.md lacks " + marker);
  const auto body = text.find('\n', text.find("```", at)) + 1;
  return text.substr(body, text.find("\n```", body) - body + 1);
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

}  // namespace

BOOST_AUTO_TEST_CASE(the_custom_op_example_prints_what_the_page_says) {
  const std::string expected = block_after(page(), "<!-- custom-ops-example: output -->");
  const std::string actual = run(ATTOGRAD_CUSTOM_OPS_EXAMPLE);
  BOOST_TEST(actual == expected);
  BOOST_TEST(actual.find("step 1  silu  [3] -> [3]") != std::string::npos);
  BOOST_TEST(actual.find("gradcheck: passed") != std::string::npos);
}

// The page's table of errors shows the messages tests/autograd/test_custom_op.cpp checks; these are
// the same texts, so that neither can change alone.
BOOST_AUTO_TEST_CASE(the_error_table_shows_the_messages_the_library_gives) {
  const std::string text = page();
  for (const char* message : {
           "backward of 'plus' returned 0 gradients for 2 inputs; return one per input",
           "backward of 'plus' returned no gradient for input 1 (B, shape [3]), which requires grad; return dB",
           "the gradient for input 1 (B, shape [3]) has shape [2, 3], expected [3]; the forward broadcast this "
           "input to [2, 3]: sum the gradient over the broadcast dims, sum_to(dB, ctx.input_shape(1))",
           "the gradient for input 1 (B, shape [3]) is float32, expected float64 like the input"}) {
    BOOST_TEST(text.find(message) != std::string::npos, "docs/custom-ops.md lacks: " << message);
  }
}
