// docs/autograd.md's worked example: L = (a·b + a)^2 at a = 2, b = -3. This test runs it with a hook
// on every backward step, prints the trace in the doc's format and compares it with the doc's block.
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "support/test.hpp"

using namespace attograd;

namespace {

std::string doc_block(const std::string& path, const std::string& marker) {
  std::ifstream in(path);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  const auto at = text.find(marker);
  BOOST_TEST_REQUIRE(at != std::string::npos, path + " lacks " + marker);
  const auto body = text.find('\n', text.find("```", at)) + 1;
  return text.substr(body, text.find("\n```", body) - body + 1);
}

}  // namespace

BOOST_AUTO_TEST_CASE(worked_example_matches_the_doc) {
  Tensor a = scalar_tensor(2.0, {.dtype = kFloat64, .requires_grad = true}).set_name("a");
  Tensor b = scalar_tensor(-3.0, {.dtype = kFloat64, .requires_grad = true}).set_name("b");
  Tensor c = a * b;
  Tensor d = c + a;
  Tensor L = d * d;

  std::string trace = fmt::format("L = {}\n", L.item());
  autograd::StepHookGuard hook([&](const autograd::BackwardStep& s) {
    if (s.node.kind() == autograd::Node::Kind::Leaf) {
      trace += fmt::format("step {}: leaf {} gets {:g}, so {}.grad = {:g}\n", s.step, s.node.tensor()->name,
                           s.grad_output.item(), s.node.tensor()->name, Tensor(s.node.tensor()->grad).item());
      return;
    }
    std::vector<std::string> sent;
    for (std::size_t i = 0; i < s.grad_inputs.size(); ++i) {
      sent.push_back(fmt::format("{:g}{}", s.grad_inputs[i].item(), s.accumulated[i] ? " (added)" : ""));
    }
    trace += fmt::format("step {}: {} gets {:g}, sends {}\n", s.step, s.node.op(), s.grad_output.item(),
                         fmt::join(sent, ", "));
  });
  L.backward();
  trace += fmt::format("dL/da = {:g}, dL/db = {:g}\n", a.grad().item(), b.grad().item());

  BOOST_TEST(trace == doc_block(ATTOGRAD_SOURCE_DIR "/docs/autograd.md", "<!-- worked-example-trace"));
  // The closed form: L = a^2 (b + 1)^2, dL/da = 2a(b + 1)^2 = 16, dL/db = 2a^2(b + 1) = -16.
  BOOST_TEST(a.grad().item() == 16.0);
  BOOST_TEST(b.grad().item() == -16.0);
  BOOST_TEST_MESSAGE(trace);
}
