// Built against an installed attograd: y = sum(x^2) at x = [1, 2, 3] has gradient 2x.
#include <attograd/attograd.hpp>

int main() {
  using namespace attograd;
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor y = (x * x).sum();
  y.backward();
  const auto g = x.grad().to_vector<double>();
  const bool ok = y.item() == 14.0 && g == std::vector<double>{2.0, 4.0, 6.0};
  fmt::print("consumer: y = {}, dy/dx = {} -> {}\n", y.item(), x.grad(), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
