// docs/teaching.md shows real runs: this test runs them (tests/docs/teaching_examples.hpp) and compares
// each with the page's block after its "<!-- teaching: name -->" marker.
#include <fstream>
#include <sstream>

#include "docs/teaching_examples.hpp"
#include "support/test.hpp"

namespace {

std::string page() {
  std::ifstream in(ATTOGRAD_SOURCE_DIR "/docs/teaching.md");
  BOOST_TEST_REQUIRE(in.good(), "cannot read docs/teaching.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string block(const std::string& name) {
  const std::string text = page();
  const std::string marker = "<!-- teaching: " + name + " -->";
  const auto at = text.find(marker);
  BOOST_TEST_REQUIRE(at != std::string::npos, "docs/teaching.md lacks " + marker);
  const auto body = text.find('\n', text.find("```", at)) + 1;
  return text.substr(body, text.find("\n```", body) - body + 1);
}

// The run's text with the checkout's path removed, as the page shows it.
std::string relative(std::string text) {
  const std::string root = ATTOGRAD_SOURCE_DIR "/";
  for (auto at = text.find(root); at != std::string::npos; at = text.find(root)) text.erase(at, root.size());
  return text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(teaching_md)

BOOST_AUTO_TEST_CASE(the_neuron_picture_and_trace) {
  const teaching::Run run = teaching::neuron();
  BOOST_TEST(run.dot == block("neuron-dot"));
  BOOST_TEST(run.trace == block("neuron-trace"));
}

BOOST_AUTO_TEST_CASE(the_neuron_with_matmul) {
  BOOST_TEST(teaching::neuron_matmul().trace == block("neuron-matmul-trace"));
}

BOOST_AUTO_TEST_CASE(the_mlp_trace_fits_on_a_screen) {
  const std::string trace = teaching::mlp().trace;
  BOOST_TEST(trace == block("mlp-trace"));
  BOOST_TEST(std::count(trace.begin(), trace.end(), '\n') <= 50);
}

BOOST_AUTO_TEST_CASE(the_anomaly_message) {
  BOOST_TEST(teaching::wrap(relative(teaching::anomaly())) == block("anomaly"));
}

BOOST_AUTO_TEST_CASE(the_refusal_of_an_op_without_a_backward) {
  const attograd::autograd::Op floor_op(
      {.name = "floor", .gradient = attograd::autograd::Gradient::None, .rule = "not derived yet"});
  attograd::Tensor x = attograd::tensor({1.5, -0.5}, {.requires_grad = true});
  attograd::Tensor y = x.detach();
  std::string message;
  try {
    attograd::autograd::record(floor_op, y, {x});
  } catch (const attograd::AutogradError& e) {
    message = e.what();
  }
  BOOST_TEST(teaching::wrap(message) == block("no-backward"));
}

BOOST_AUTO_TEST_SUITE_END()
