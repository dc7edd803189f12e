// mse_loss's fused mean and sum (lib/ops/loss.cpp) against the composite they replace,
// mean((X - T)^2) and sum((X - T)^2): values and the gradients of both inputs in float32 and float64,
// on a strided input, with a gradcheck of both inputs; Reduction::None keeps the composite, and mixed
// dtypes are refused (docs/conventions.md, "Dtypes").
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

void compare(Reduction reduction, DType dtype, double tolerance, bool strided) {
  Generator gen(13);
  Tensor a0 = randn({6, 5}, gen, {.dtype = dtype});
  if (strided) a0 = a0.mT().contiguous().mT();  // the same values in column-major order
  const Tensor b0 = randn({6, 5}, gen, {.dtype = dtype});
  Tensor a1 = a0.detach().requires_grad_(), b1 = b0.clone().requires_grad_();
  Tensor a2 = a0.clone().requires_grad_(), b2 = b0.clone().requires_grad_();
  const Tensor l1 = mse_loss(a1, b1, reduction) * 3.0;  // an incoming gradient other than 1
  const Tensor d = a2 - b2;
  const Tensor l2 = (reduction == Reduction::Mean ? mean(d * d) : sum(d * d)) * 3.0;
  BOOST_TEST(l1.dim() == 0);
  check_close(l1, l2, tolerance);
  l1.backward();
  l2.backward();
  check_close(a1.grad(), a2.grad(), tolerance);
  check_close(b1.grad(), b2.grad(), tolerance);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mse_loss_fused)

BOOST_AUTO_TEST_CASE(matches_the_composite) {
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    compare(r, kFloat64, 1e-14, false);
    compare(r, kFloat64, 1e-14, true);
    compare(r, kFloat32, 1e-6, false);
  }
}

BOOST_AUTO_TEST_CASE(hand_computed_value_and_gradient) {
  Tensor a = tensor({1.0, 2.0, 4.0}).requires_grad_();
  const Tensor b = tensor({1.0, 0.0, 1.0});
  const Tensor l = mse_loss(a, b);  // (0 + 4 + 9) / 3
  BOOST_TEST(l.grad_fn_name() == "mse_loss");
  check_values(l, {13.0 / 3.0}, 1e-7);
  l.backward();
  check_values(a.grad(), {0.0, 4.0 / 3.0, 2.0}, 1e-7);  // 2 (a - b) / 3
}

BOOST_AUTO_TEST_CASE(gradcheck_of_both_inputs) {
  Generator gen(8);
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    check_gradients([r](const auto& in) { return mse_loss(in[0], in[1], r); }, {rand64({3, 4}, gen), rand64({3, 4}, gen)});
  }
}

BOOST_AUTO_TEST_CASE(none_keeps_the_composite_and_mixed_dtypes_are_refused) {
  const Tensor a = tensor({1.0, 3.0}).requires_grad_();
  BOOST_TEST(mse_loss(a, tensor({0.0, 1.0}), Reduction::None).grad_fn_name() == "mul");
  // A float64 target for a float32 prediction used to give a float64 loss; like linear and layer_norm,
  // mse_loss now asks for one dtype (PyTorch's backward refuses the mix: "Found dtype Double but
  // expected Float").
  for (Reduction r : {Reduction::Mean, Reduction::None}) {
    BOOST_CHECK_EXCEPTION(mse_loss(a, tensor({0.0, 1.0}, {.dtype = kFloat64}), r), DTypeError,
                          has_message("mse_loss: expected floating-point tensors of one dtype, got input float32 and "
                                      "target float64; mixed dtypes are not promoted here: convert target with "
                                      ".to(kFloat32), or input with .to(kFloat64)"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
