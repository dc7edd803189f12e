// Graph pictures: the DOT text of a small graph, exactly, with and without GraphCapture; leaves,
// parameters, constants and ops styled apart; SVG through Graphviz and a clear error without it.
#include "support/test.hpp"

#include <fmt/format.h>

using namespace attograd;
using namespace attograd::testing;

namespace {

// y = tanh(w·x + b) with w = [0.5, -1], x = [1, 2], b = 0.25: one neuron, as in micrograd.
struct Neuron {
  Tensor w = tensor({0.5, -1.0}, {.dtype = kFloat64, .requires_grad = true}).set_name("w");
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64});
  Tensor b = scalar_tensor(0.25, {.dtype = kFloat64, .requires_grad = true}).set_name("b");
  Tensor forward() const { return tanh(sum(w * x) + b); }
};

constexpr std::string_view kOp = R"(style="rounded,filled", fillcolor="#dbe8fb")";
constexpr std::string_view kParameter = R"(style=filled, fillcolor="#fde3c3")";

std::string header() {
  return "digraph attograd {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=11];\n"
         "  edge [fontname=\"Helvetica\", fontsize=10];\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dot)

// Every value by hand: w·x = 0.5 - 2 = -1.5, + b = -1.25, tanh(-1.25) = -0.8483. Backward:
// 1 - y² = 0.2804 flows through add and sum unchanged; dw = 0.2804 · x = [0.2804, 0.5608].
BOOST_AUTO_TEST_CASE(a_neuron_after_backward_shows_every_value_and_gradient) {
  Neuron n;
  viz::GraphCapture capture;
  Tensor y = n.forward();
  y.backward();
  const std::string expected =
      header() + fmt::format(
                     "  n0 [label=\"w\\nparameter\\n[2] float64\\nvalue [0.5, -1]\\ngrad [0.2804, 0.5608]\", {}];\n"
                     "  n1 [label=\"mul (A * B)\\n[2] float64\\nvalue [0.5, -2]\\ngrad [0.2804, 0.2804]\", {}];\n"
                     "  c0 [label=\"constant\\n[2] float64\\nvalue [1, 2]\", style=dashed, color=\"#888888\", "
                     "fontcolor=\"#555555\"];\n"
                     "  n2 [label=\"sum\\n[] float64\\nvalue -1.5\\ngrad 0.2804\", {}];\n"
                     "  n3 [label=\"b\\nparameter\\n[] float64\\nvalue 0.25\\ngrad 0.2804\", {}];\n"
                     "  n4 [label=\"add (A + B)\\n[] float64\\nvalue -1.25\\ngrad 0.2804\", {}];\n"
                     "  n5 [label=\"tanh\\n[] float64\\nvalue -0.8483\\ngrad 1\", {}, penwidth=2.5];\n"
                     "  n0 -> n1 [label=\"A\"];\n"
                     "  c0 -> n1 [label=\"B\"];\n"
                     "  n1 -> n2;\n"
                     "  n2 -> n4 [label=\"A\"];\n"
                     "  n3 -> n4 [label=\"B\"];\n"
                     "  n4 -> n5;\n"
                     "}}\n",
                     kParameter, kOp, kOp, kParameter, kOp, kOp);
  BOOST_TEST(viz::to_dot(y) == expected);
}

// Without GraphCapture the graph has kept only what backward needs: the intermediates' values are
// gone, the constant x was never linked, and nothing has a gradient yet.
BOOST_AUTO_TEST_CASE(without_capture_freed_values_are_marked) {
  Neuron n;
  Tensor y = n.forward();
  const std::string expected = header() + fmt::format(
                                              "  n0 [label=\"w\\nparameter\\n[2] float64\\nvalue [0.5, -1]\", {}];\n"
                                              "  n1 [label=\"mul (A * B)\\n[2] float64\\nvalue freed\", {}];\n"
                                              "  n2 [label=\"sum\\n[] float64\\nvalue freed\", {}];\n"
                                              "  n3 [label=\"b\\nparameter\\n[] float64\\nvalue 0.25\", {}];\n"
                                              "  n4 [label=\"add (A + B)\\n[] float64\\nvalue freed\", {}];\n"
                                              "  n5 [label=\"tanh\\n[] float64\\nvalue -0.8483\", {}, penwidth=2.5];\n"
                                              "  n0 -> n1 [label=\"A\"];\n"
                                              "  n1 -> n2;\n"
                                              "  n2 -> n4 [label=\"A\"];\n"
                                              "  n3 -> n4 [label=\"B\"];\n"
                                              "  n4 -> n5;\n"
                                              "}}\n",
                                              kParameter, kOp, kOp, kParameter, kOp, kOp);
  BOOST_TEST(viz::to_dot(y) == expected);
}

BOOST_AUTO_TEST_CASE(leaves_constants_and_named_outputs) {
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});  // an unnamed leaf
  BOOST_TEST(viz::to_dot(x) == header() +
                                   "  n0 [label=\"leaf\\n[2] float64\\nvalue [1, 2]\", style=filled, "
                                   "fillcolor=\"#dcf2dc\", penwidth=2.5];\n}\n");
  const Tensor c = tensor({3.0});
  BOOST_TEST(viz::to_dot(c) == header() +
                                   "  c0 [label=\"constant\\n[1] float32\\nvalue [3]\", style=dashed, "
                                   "color=\"#888888\", fontcolor=\"#555555\", penwidth=2.5];\n}\n");
  Tensor y = (x * 2.0).set_name("y");
  const std::string dot = viz::to_dot(y);
  // The scalar constant is shown under the op's form: s is 2 here.
  BOOST_TEST(dot.find("n1 [label=\"y = mul (A * s)\\ns = 2\\n[2] float64\\nvalue [2, 4]\"") != std::string::npos, dot);
  BOOST_TEST(dot.find("  n0 -> n1;\n") != std::string::npos, dot);
  const std::string shifted = viz::to_dot(sub(pow(x, 3.0), 0.5));
  BOOST_TEST(shifted.find("\"sub (A - s)\\ns = 0.5\\n") != std::string::npos, shifted);
  BOOST_TEST(shifted.find("\"pow\\np = 3\\n") != std::string::npos, shifted);
}

BOOST_AUTO_TEST_CASE(large_values_are_summarised_and_quotes_escaped) {
  Tensor w = (arange(12.0, {.dtype = kFloat64}).reshape({3, 4})).requires_grad_();
  w.set_name("layer \"0\".weight");
  Tensor y = w * 2.0;
  const std::string dot = viz::to_dot(y, {.max_values = 4, .rankdir = "TB"});
  BOOST_TEST(dot.find("rankdir=TB;") != std::string::npos);
  BOOST_TEST(dot.find("n0 [label=\"layer \\\"0\\\".weight\\nparameter\\n[3, 4] float64\\n"
                      "value min 0, max 11, mean 5.5, norm 22.49\"") != std::string::npos,
             dot);
}

BOOST_AUTO_TEST_CASE(capture_keeps_values_only_while_it_lives) {
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor inside, outside;
  {
    viz::GraphCapture capture;
    inside = tanh(x * 3.0);
  }
  outside = tanh(x * 3.0);
  const autograd::Node& mul_inside = *inside.grad_fn()->inputs()[0];
  BOOST_TEST_REQUIRE(mul_inside.notes() != nullptr);
  check_values(mul_inside.notes()->value, {3.0, 6.0});
  BOOST_TEST(outside.grad_fn()->inputs()[0]->notes() == nullptr);
}

// Modules name their parameters by path when they register them (nn::Module): the picture shows the
// path, so a student sees which layer's weight each box is.
BOOST_AUTO_TEST_CASE(module_parameters_show_their_dotted_path) {
  struct Net : nn::Module {
    nn::Linear hidden{2, 3};
    nn::MultiHeadSelfAttention attn{3, 1};
    Net() : nn::Module("Net") {
      register_module("hidden", hidden);
      register_module("attn", attn);
    }
  };
  Net net;
  const Tensor y = net.attn(tanh(net.hidden(ones({2, 2}))));
  const std::string dot = viz::to_dot(y);
  for (const std::string label : {"hidden.weight\\nparameter\\n[3, 2] float32", "hidden.bias\\nparameter\\n[3] float32",
                                  "attn.query.weight\\nparameter\\n[3, 3] float32",
                                  "attn.out.bias\\nparameter\\n[3] float32"}) {
    BOOST_TEST(dot.find(fmt::format("[label=\"{}\\nvalue ", label)) != std::string::npos, label << " in\n" << dot);
  }
  BOOST_TEST(dot.find(std::string(kParameter)) != std::string::npos);
}

// Needs Graphviz, which ./dev installs (docs/dependencies.md): without it this test fails rather than
// being skipped, so that a run that cannot draw is seen.
BOOST_AUTO_TEST_CASE(svg_through_graphviz) {
  BOOST_TEST_REQUIRE(viz::graphviz_available(), "Graphviz's dot is not on PATH: install graphviz (./dev does)");
  Neuron n;
  viz::GraphCapture capture;
  Tensor y = n.forward();
  y.backward();
  const std::string svg = viz::dot_to_svg(viz::to_dot(y));
  BOOST_TEST(svg.find("<svg") != std::string::npos);
  BOOST_TEST(svg.find(">tanh</text>") != std::string::npos);
  BOOST_TEST(svg.find(">value &#45;0.8483</text>") != std::string::npos, svg.substr(0, 2000));
  BOOST_CHECK_EXCEPTION(viz::dot_to_svg("digraph { a -> }"), IoError, has_message("failed (exit status 1): Error:"));
}

BOOST_AUTO_TEST_CASE(a_missing_graphviz_is_a_clear_error) {
  BOOST_TEST(!viz::graphviz_available("no-such-graphviz-dot"));
  BOOST_TEST(!viz::graphviz_available("/no/such/dir/dot"));
  BOOST_CHECK_EXCEPTION(viz::dot_to_svg("digraph {}", "no-such-graphviz-dot"), IoError,
                        has_message("dot_to_svg: Graphviz's 'no-such-graphviz-dot' program was not found (PATH "
                                    "searched); install Graphviz (Debian: apt install graphviz), or paste the DOT "
                                    "text into any Graphviz viewer"));
}

BOOST_AUTO_TEST_SUITE_END()
