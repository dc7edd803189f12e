// docs/backprop.md's numbers. Each fenced block after a marker `<!-- backprop: NAME` in the doc is
// computed here, with attograd and with the hand-derived formulas the doc states, and compared with the
// doc's text exactly: if attograd or the doc changes, this test says which block no longer matches.
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "support/test.hpp"

using namespace attograd;

namespace {

std::string doc_text() {
  const std::string path = ATTOGRAD_SOURCE_DIR "/docs/backprop.md";
  std::ifstream in(path);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The body of the first fenced block after the marker `<!-- backprop: name`.
std::string doc_block(const std::string& name) {
  const std::string text = doc_text();
  const std::string marker = "<!-- backprop: " + name + " ";
  const auto at = text.find(marker);
  BOOST_TEST_REQUIRE(at != std::string::npos, "docs/backprop.md lacks " + marker);
  const auto body = text.find('\n', text.find("```", at)) + 1;
  return text.substr(body, text.find("\n```", body) - body + 1);
}

// A number as the doc writes it: 6 decimals, trailing zeros dropped (1, 0.5, -1.075766).
std::string num(double v) {
  std::string s = fmt::format("{:.6f}", v);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// The doc's neuron: L = (tanh(w·x + b) - t)^2 at x = 2, w = 0.5, b = -0.5, t = 1.
struct Neuron {
  TensorOptions leaf{.dtype = kFloat64, .requires_grad = true};
  Tensor x = scalar_tensor(2.0, leaf).set_name("x");
  Tensor w = scalar_tensor(0.5, leaf).set_name("w");
  Tensor b = scalar_tensor(-0.5, leaf).set_name("b");
  double t = 1.0;
  Tensor u = w * x;
  Tensor z = u + b;
  Tensor y = tanh(z);
  Tensor d = y - t;
  Tensor L = pow(d, 2.0);
};

// Records each backward step as one line of the doc's traces.
std::string trace_backward(const Tensor& root) {
  std::string trace;
  autograd::StepHookGuard hook([&](const autograd::BackwardStep& s) {
    if (s.node.kind() == autograd::Node::Kind::Leaf) {
      const std::string& name = s.node.tensor()->name;
      trace += fmt::format("step {}: leaf {} gets {}, so {}.grad = {}\n", s.step, name, num(s.grad_output.item()),
                           name, num(Tensor(s.node.tensor()->grad).item()));
      return;
    }
    std::vector<std::string> sent;
    for (std::size_t i = 0; i < s.grad_inputs.size(); ++i) {
      sent.push_back(fmt::format("{}{}", num(s.grad_inputs[i].item()), s.accumulated[i] ? " (added)" : ""));
    }
    trace += fmt::format("step {}: {} gets {}, sends {}\n", s.step, s.node.op(), num(s.grad_output.item()),
                         fmt::join(sent, ", "));
  });
  root.backward();
  return trace;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backprop_md)

BOOST_AUTO_TEST_CASE(forward_values) {
  Neuron n;
  const std::string text = fmt::format(
      "u = w * x    = {}\n"
      "z = u + b    = {}\n"
      "y = tanh(z)  = {}\n"
      "d = y - t    = {}\n"
      "L = d^2      = {}\n",
      num(n.u.item()), num(n.z.item()), num(n.y.item()), num(n.d.item()), num(n.L.item()));
  BOOST_TEST(text == doc_block("forward"));
}

BOOST_AUTO_TEST_CASE(local_derivatives) {
  Neuron n;
  const double y = n.y.item(), d = n.d.item();
  const std::string text = fmt::format(
      "L = d^2      dL/dd = 2d          = {}\n"
      "d = y - t    dd/dy = 1\n"
      "y = tanh(z)  dy/dz = 1 - y^2     = {}\n"
      "z = u + b    dz/du = 1           dz/db = 1\n"
      "u = w * x    du/dw = x = {}       du/dx = w = {}\n",
      num(2 * d), num(1 - y * y), num(n.x.item()), num(n.w.item()));
  BOOST_TEST(text == doc_block("local"));
}

BOOST_AUTO_TEST_CASE(chain_rule_by_hand_matches_autograd) {
  Neuron n;
  for (Tensor* v : {&n.d, &n.y, &n.z, &n.u}) v->retain_grad();
  n.L.backward();
  // The chain rule by hand, exactly as the doc writes it.
  const double y = n.y.item(), d = n.d.item();
  const double dd = 1 * 2 * d, dy = dd * 1, dz = dy * (1 - y * y), du = dz * 1, db = dz * 1;
  const double dw = du * n.x.item(), dx = du * n.w.item();
  const std::string text = fmt::format(
      "dL/dL = 1\n"
      "dL/dd = dL/dL * 2d        = {}\n"
      "dL/dy = dL/dd * 1         = {}\n"
      "dL/dz = dL/dy * (1 - y^2) = {}\n"
      "dL/du = dL/dz * 1         = {}\n"
      "dL/db = dL/dz * 1         = {}\n"
      "dL/dw = dL/du * x         = {}\n"
      "dL/dx = dL/du * w         = {}\n",
      num(dd), num(dy), num(dz), num(du), num(db), num(dw), num(dx));
  BOOST_TEST(text == doc_block("chain"));
  // attograd's gradients are the same numbers (to rounding: the doc shows 6 decimals).
  BOOST_TEST(n.d.grad().item() == dd, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(n.y.grad().item() == dy, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(n.z.grad().item() == dz, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(n.u.grad().item() == du, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(n.b.grad().item() == db, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(n.w.grad().item() == dw, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(n.x.grad().item() == dx, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(engine_trace_of_the_neuron) {
  Neuron n;
  std::string text = trace_backward(n.L);
  text += fmt::format("dL/dw = {}, dL/db = {}, dL/dx = {}\n", num(n.w.grad().item()), num(n.b.grad().item()),
                      num(n.x.grad().item()));
  BOOST_TEST(text == doc_block("trace"));
}

BOOST_AUTO_TEST_CASE(a_weight_used_twice_gets_the_sum) {
  // h = tanh(w·x), y = w·h: the same w in both "layers".
  TensorOptions leaf{.dtype = kFloat64, .requires_grad = true};
  Tensor x = scalar_tensor(2.0, leaf).set_name("x");
  Tensor w = scalar_tensor(0.5, leaf).set_name("w");
  Tensor h = tanh(w * x);
  Tensor y = w * h;
  std::string text = fmt::format("h = {}, y = {}\n", num(h.item()), num(y.item()));
  text += trace_backward(y);
  text += fmt::format("dy/dw = {}\n", num(w.grad().item()));
  BOOST_TEST(text == doc_block("twice"));

  // The same with the two uses as two leaves holding the same value: their gradients are the two
  // contributions, and they add up to the shared weight's.
  Tensor w1 = scalar_tensor(0.5, leaf), w2 = scalar_tensor(0.5, leaf);
  (w2 * tanh(w1 * x.detach())).backward();
  const std::string split = fmt::format("dy/dw1 = {} (first use, inside tanh)\ndy/dw2 = {} (second use)\n"
                                        "sum    = {}\n",
                                        num(w1.grad().item()), num(w2.grad().item()),
                                        num(w1.grad().item() + w2.grad().item()));
  BOOST_TEST(split == doc_block("split"));
  BOOST_TEST(w1.grad().item() + w2.grad().item() == w.grad().item(), boost::test_tools::tolerance(1e-15));
  // And the closed form: dy/dw = h + w (1 - h^2) x.
  const double hv = h.item();
  BOOST_TEST(w.grad().item() == hv + 0.5 * (1 - hv * hv) * 2.0, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(finite_differences_agree) {
  auto loss = [](double w) { return std::pow(std::tanh(w * 2.0 - 0.5) - 1.0, 2.0); };
  const double h = 1e-6;
  const double numeric = (loss(0.5 + h) - loss(0.5 - h)) / (2 * h);
  Neuron n;
  n.L.backward();
  const std::string text = fmt::format("(L(w + h) - L(w - h)) / 2h = {}   with h = 1e-6\n"
                                       "autograd's dL/dw            = {}\n",
                                       num(numeric), num(n.w.grad().item()));
  BOOST_TEST(text == doc_block("finite"));
  // The doc's gradcheck call passes.
  auto f = [](const std::vector<Tensor>& in) { return pow(tanh(in[0] * in[1] + in[2]) - 1.0, 2.0); };
  const GradcheckResult r = gradcheck(f, {scalar_tensor(0.5, {.dtype = kFloat64, .requires_grad = true}),
                                          scalar_tensor(2.0, {.dtype = kFloat64, .requires_grad = true}),
                                          scalar_tensor(-0.5, {.dtype = kFloat64, .requires_grad = true})});
  BOOST_TEST(r.ok, r.message);
}

BOOST_AUTO_TEST_SUITE_END()
