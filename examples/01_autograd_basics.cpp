// 01_autograd_basics: one neuron, its gradients by attograd and by hand, then the same gradients used
// to train it.
//
// Part 1. The neuron y = tanh(w·x + b) with the squared error L = (y - t)^2, at fixed numbers. The
// chain rule by hand, from L back to each leaf (z = w·x + b):
//   dL/dy = 2 (y - t)
//   dL/dz = dL/dy · (1 - y^2)                  since tanh'(z) = 1 - tanh(z)^2
//   dL/dw = dL/dz · x    dL/db = dL/dz    dL/dx = dL/dz · w
// attograd records the graph (mul, sum, add, tanh, sub, pow) while it computes L; L.backward()
// applies the same rule node by node. docs/backprop.md walks through it with numbers. The graph, with
// every value and gradient, is written to the output folder as neuron.dot (neuron.svg too when
// Graphviz is installed); --explain prints the backward pass step by step (docs/teaching.md).
//
// Part 2. Gradient descent: the neuron learns to imitate a "teacher" neuron (w* = [1.5, -2], b* = 0.5)
// from 64 random examples. Each step is forward, backward, update, written out by hand (example 02 uses
// an optimiser for the update). At every step the gradients are checked against the formula above,
// averaged over the examples.
//
//   $ 01_autograd_basics
//   ...
//   result: max_grad_error=... loss=... weight_error=... steps=1000 seconds=... out=runs/01_autograd_basics
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "common.hpp"

using namespace attograd;

namespace {

constexpr double kTeacherW0 = 1.5, kTeacherW1 = -2.0, kTeacherB = 0.5;

struct HandGradients {
  double loss = 0, dw0 = 0, dw1 = 0, db = 0;
};

// L = mean over n of (tanh(w·x_n + b) - t_n)^2 and its gradient, with plain doubles: no attograd.
HandGradients by_hand(const std::vector<double>& x /* [N, 2] */, const std::vector<double>& t, double w0, double w1,
                      double b) {
  HandGradients g;
  const auto n = static_cast<double>(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double y = std::tanh(w0 * x[2 * i] + w1 * x[2 * i + 1] + b);
    const double dy = 2 * (y - t[i]) / n;  // dL/dy_n for the mean
    const double dz = dy * (1 - y * y);    // dL/dz_n
    g.loss += (y - t[i]) * (y - t[i]) / n;
    g.dw0 += dz * x[2 * i];
    g.dw1 += dz * x[2 * i + 1];
    g.db += dz;
  }
  return g;
}

// Part 1: returns the largest difference between attograd's gradients and the hand-derived ones. Writes
// the graph, with every value and gradient, as neuron.dot (and neuron.svg when Graphviz is installed)
// into out; with `explain`, prints each backward step as it happens.
double one_neuron(const std::filesystem::path& out, bool explain, train::RunReport& report) {
  viz::GraphCapture capture;  // intermediates keep their values and gradients for the picture
  TensorOptions leaf{.dtype = kFloat64, .requires_grad = true};
  Tensor x = tensor({1.0, 2.0}, leaf);
  Tensor w = tensor({0.5, 0.3}, leaf);
  Tensor b = scalar_tensor(0.1, leaf);
  const double t = 0.5;
  x.set_name("x");  // names show in the picture and the trace
  w.set_name("w");
  b.set_name("b");
  fmt::print("Part 1: one neuron at x = [1, 2], w = [0.5, 0.3], b = 0.1, target t = 0.5\n\n");

  // Forward: each op computes its value and records a node of the graph.
  Tensor s = sum(w * x);
  Tensor z = s + b;
  Tensor y = tanh(z);
  Tensor d = y - t;
  Tensor L = pow(d, 2.0);
  // Keep the gradients of the intermediate values too (by default only leaves keep theirs).
  for (Tensor* v : {&L, &d, &y, &z, &s}) v->retain_grad();
  // Backward: from L back to every leaf; the gradients land in .grad().
  {
    std::optional<viz::Explain> trace;
    if (explain) {
      fmt::print("  Backward, step by step:\n");
      trace.emplace(stdout);
    }
    L.backward();
  }
  if (explain) fmt::print("\n");

  // The chain rule by hand, one node at a time from L back: each gradient is the one after it times
  // the local derivative.
  const double dd = 2 * d.item();                    // L = d^2:       dL/dd = 2d
  const double dy = dd * 1.0;                        // d = y - t:     dd/dy = 1
  const double dz = dy * (1 - y.item() * y.item());  // y = tanh(z):   dy/dz = 1 - y^2
  const double ds = dz * 1.0;                        // z = s + b:     dz/ds = 1, dz/db = 1
  const double db = dz * 1.0;
  const std::vector<double> dw = {ds * 1.0, ds * 2.0};  // s = w.x:       ds/dw = x, ds/dx = w
  const std::vector<double> dx = {ds * 0.5, ds * 0.3};

  fmt::print("  {:<16}{:>10}  {:<6}{:>22}{:>22}\n", "node", "value", "op", "dL/dnode: attograd", "by hand");
  auto row = [](const char* name, const Tensor& v, const std::vector<double>& grad, const std::vector<double>& hand) {
    const std::string op = v.is_leaf() ? "leaf" : v.grad_fn_name();
    // One number as it is, several in brackets; spec formats each ("{:.6f}").
    auto text = [](const std::vector<double>& values, const std::string& spec) {
      return values.size() == 1 ? fmt::format(fmt::runtime(spec), values[0])
                                : fmt::format(fmt::runtime("[" + spec + "]"), fmt::join(values, ", "));
    };
    fmt::print("  {:<16}{:>10}  {:<6}{:>22}{:>22}\n", name, text(v.to_vector<double>(), "{:.6g}"), op,
               text(grad, "{:.6f}"), text(hand, "{:.6f}"));
  };
  auto grad_of = [](const Tensor& v) { return v.grad().to_vector<double>(); };
  row("L = d^2", L, grad_of(L), {1.0});  // the seed of backward: dL/dL = 1
  row("d = y - t", d, grad_of(d), {dd});
  row("y = tanh(z)", y, grad_of(y), {dy});
  row("z = s + b", z, grad_of(z), {dz});
  row("s = sum(w * x)", s, grad_of(s), {ds});
  row("b", b, grad_of(b), {db});
  row("w", w, grad_of(w), dw);
  row("x", x, grad_of(x), dx);

  double err = 0;
  auto compare = [&err](const std::vector<double>& a, const std::vector<double>& h) {
    for (std::size_t i = 0; i < a.size(); ++i) err = std::max(err, std::abs(a[i] - h[i]));
  };
  compare(grad_of(d), {dd});
  compare(grad_of(y), {dy});
  compare(grad_of(z), {dz});
  compare(grad_of(s), {ds});
  compare(grad_of(b), {db});
  compare(grad_of(w), dw);
  compare(grad_of(x), dx);
  fmt::print("\n  largest difference between attograd and the hand-derived gradients: {:.3g}\n", err);

  const std::string dot = viz::to_dot(L);
  io::write_file_atomically(out / "neuron.dot", dot);
  if (viz::graphviz_available()) {
    io::write_file_atomically(out / "neuron.svg", viz::dot_to_svg(dot));
    fmt::print("  the graph with its values and gradients: {}\n\n", (out / "neuron.svg").string());
  } else {
    fmt::print("  the graph with its values and gradients: {} (install Debian's graphviz for an SVG picture)\n\n",
               (out / "neuron.dot").string());
  }
  report.graph(L, "part 1: the neuron's graph, with every value and gradient");
  return err;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"01_autograd_basics: one neuron's gradients by attograd and by hand, then gradient descent with them"};
  examples::Flags flags{.steps = 1000, .lr = 0.5, .out = "runs/01_autograd_basics"};
  examples::add_common_flags(app, flags);
  std::int64_t examples_count = 64;
  app.add_option("--examples", examples_count, "number of training examples for part 2")
      ->capture_default_str()
      ->check(examples::above(0));
  bool explain = false;
  app.add_flag("--explain", explain, "print part 1's backward pass step by step (docs/teaching.md)");
  CLI11_PARSE(app, argc, argv);
  auto report = examples::start_report(app, "01_autograd_basics: one neuron's gradients, by attograd and by hand");

  return examples::run("01_autograd_basics", [&] {
    const auto out = examples::start(flags);
    double max_error = one_neuron(out, explain, report);

    // Part 2. The data: inputs X [N, 2] from the seed, targets t = tanh(X w* + b*) from the teacher.
    Generator gen(flags.seed);
    const Tensor X = randn({examples_count, 2}, gen, {.dtype = kFloat64});
    const Tensor t = tanh(matmul(X, tensor({kTeacherW0, kTeacherW1}, {.dtype = kFloat64})) + kTeacherB);
    const std::vector<double> xs = X.to_vector<double>(), ts = t.to_vector<double>();

    // The student starts where part 1 was.
    Tensor w = tensor({0.5, 0.3}, {.dtype = kFloat64, .requires_grad = true});
    Tensor b = scalar_tensor(0.1, {.dtype = kFloat64, .requires_grad = true});
    auto weight_error = [&] {
      const auto wv = w.to_vector<double>();
      return std::hypot(wv[0] - kTeacherW0, wv[1] - kTeacherW1, b.item() - kTeacherB);
    };

    fmt::print("Part 2: gradient descent on w and b towards the teacher w* = [{}, {}], b* = {} ({} examples)\n",
               kTeacherW0, kTeacherW1, kTeacherB, examples_count);
    train::Curve curve({"step", "loss", "weight_error"});
    train::Progress progress(flags.steps, {.label = "01_autograd_basics"});
    double loss = 0;
    for (std::int64_t step = 1; step <= flags.steps; ++step) {
      // Forward: the mean squared error over all examples; the graph is recorded.
      Tensor L = mean(pow(tanh(matmul(X, w) + b) - t, 2.0));
      // Backward: dL/dw and dL/db into w.grad() and b.grad(), which the last step left empty.
      L.backward();
      const HandGradients hand = by_hand(xs, ts, w.to_vector<double>()[0], w.to_vector<double>()[1], b.item());
      const auto dw = w.grad().to_vector<double>();
      max_error = std::max({max_error, std::abs(dw[0] - hand.dw0), std::abs(dw[1] - hand.dw1),
                            std::abs(b.grad().item() - hand.db), std::abs(L.item() - hand.loss)});
      loss = L.item();
      train::check_loss(loss, step);
      // Update: a step against the gradient, not recorded (NoGradGuard); then drop the gradients, which
      // backward would otherwise add to.
      {
        NoGradGuard no_grad;
        w.add_(w.grad(), -flags.lr);
        b.add_(b.grad(), -flags.lr);
      }
      w.zero_grad();
      b.zero_grad();
      curve.add({static_cast<double>(step), loss, weight_error()});
      progress.update(step, loss);
    }
    progress.finish();
    const double seconds = progress.elapsed();

    fmt::print("  learned w = [{:.4f}, {:.4f}], b = {:.4f}; gradients checked by hand at every step\n",
               w.to_vector<double>()[0], w.to_vector<double>()[1], b.item());
    examples::write_curve(curve, out, "01_autograd_basics: one neuron learns its teacher", true, &report);
    examples::print_result({{"max_grad_error", fmt::format("{:.2g}", max_error)},
                            {"loss", fmt::format("{:.3g}", loss)},
                            {"weight_error", fmt::format("{:.3g}", weight_error())},
                            {"steps", fmt::format("{}", flags.steps)}},
                           seconds, out, &report);
  });
}
