// 01_autograd_basics: one neuron, y = tanh(w·x + b), its value and its gradients, computed by
// attograd and by hand.
//
// The chain rule by hand: with z = w·x + b and y = tanh(z),
//   dy/dz = 1 - y^2
//   dy/dw = dy/dz * x      dy/dx = dy/dz * w      dy/db = dy/dz
// attograd records the graph (dot product, add, tanh) as it computes y, then backward() applies the
// same rule node by node from y back to the leaves.
#include <cmath>

#include <CLI/CLI.hpp>
#include <fmt/ranges.h>
#include <attograd/attograd.hpp>

using namespace attograd;

int main(int argc, char** argv) {
  CLI::App app{"The gradients of one neuron, y = tanh(w.x + b), by attograd and by hand"};
  double b_value = 0.1;
  app.add_option("--bias", b_value, "the bias b")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor w = tensor({0.5, 0.3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = scalar_tensor(b_value, {.dtype = kFloat64, .requires_grad = true});

  Tensor y = tanh(matmul(w, x) + b);  // forward: the graph is recorded as we go
  y.backward();                       // backward: dy/d(every leaf)

  const double yv = y.item();
  const double dz = 1.0 - yv * yv;  // by hand
  fmt::print("y = tanh(w.x + b) = {:.6f}\n\n", yv);
  fmt::print("{:<8}{:>28}{:>28}\n", "", "attograd", "by hand");
  fmt::print("{:<8}{:>28}{:>28}\n", "dy/dw", fmt::format("{}", w.grad().to_vector<double>()),
             fmt::format("[{:.6g}, {:.6g}]", dz * 1.0, dz * 2.0));
  fmt::print("{:<8}{:>28}{:>28}\n", "dy/dx", fmt::format("{}", x.grad().to_vector<double>()),
             fmt::format("[{:.6g}, {:.6g}]", dz * 0.5, dz * 0.3));
  fmt::print("{:<8}{:>28}{:>28}\n", "dy/db", fmt::format("{:.6g}", b.grad().item()), fmt::format("{:.6g}", dz));

  const double err = std::abs(b.grad().item() - dz) + std::abs(w.grad().at({0}) - dz) +
                     std::abs(w.grad().at({1}) - 2 * dz) + std::abs(x.grad().at({0}) - 0.5 * dz) +
                     std::abs(x.grad().at({1}) - 0.3 * dz);
  fmt::print("\nresult: max_abs_error={:.3g} agree={}\n", err, err < 1e-12 ? "yes" : "no");
  return err < 1e-12 ? 0 : 1;
}
