// cross_entropy's and nll_loss's class weights and label smoothing (ClassLossOptions): values and
// gradients against LibTorch's, finite differences, the plain loss when neither is set, and bad options.
#include "support/test.hpp"

#include <cmath>
#include <limits>

using namespace attograd;
using namespace attograd::testing;

namespace {

Tensor ids_of(const std::vector<std::int64_t>& v, const Shape& shape) { return tensor_of<std::int64_t>(v, shape); }

// The inputs of the reference values below: three rows of four classes, the middle one ignored.
Tensor logits() {
  return tensor({{1.0, 2.0, 0.5, -1.0}, {0.3, -0.2, 2.5, 0.0}, {-1.5, 0.7, 0.1, 1.2}}, {.dtype = kFloat64});
}
Tensor targets() { return ids_of({1, -100, 3}, {3}); }
Tensor class_weight() { return tensor({0.5, 2.0, 1.0, 1.5}, {.dtype = kFloat64}); }

struct Reference {
  ClassLossOptions options;
  std::vector<double> loss, grad;
};

// Computed with LibTorch 1.13 (Debian's libtorch-dev), torch::nn::functional::cross_entropy with the
// same options in float64; the gradient is that of the loss, or for Reduction::None of the losses
// times (0.7, -1.3, 2.0) summed.
std::vector<Reference> references() {
  return {
      {{.reduction = Reduction::Mean, .label_smoothing = 0.2},
       {0.84081363086532812},
       {0.08710390902410059, -0.12026998120056141, 0.042994457896752776, -0.0098283857202918854, 0, 0, 0, 0,
        -0.0082539445539834104, 0.12613337646257208, 0.057943755604838616, -0.17582318751342735}},
      {{.reduction = Reduction::None, .label_smoothing = 0.2},
       {0.77018189808585613, 0, 0.91144536364480011},
       {0.12194547263374082, -0.16837797368078594, 0.060192241055453885, -0.013759740008408636, 0, 0, 0, 0,
        -0.033015778215933642, 0.50453350585028833, 0.23177502241935447, -0.70329275005370939}},
      {{.reduction = Reduction::Mean, .weight = class_weight()},
       {0.58143766903968908},
       {0.12811875317040064, -0.22316569280064164, 0.077707951882003148, 0.017338987748237843, 0, 0, 0, 0,
        0.014353761810871363, 0.12954289411077605, 0.071094647661290242, -0.21499130358293767}},
      {{.reduction = Reduction::Sum, .weight = class_weight()},
       {2.0350318416389119},
       {0.44841563609640228, -0.78107992480224575, 0.27197783158701105, 0.06068645711883245, 0, 0, 0, 0,
        0.050238166338049769, 0.45340012938771623, 0.24883126681451584, -0.75246956254028197}},
      {{.reduction = Reduction::Mean, .weight = class_weight(), .label_smoothing = 0.3},
       {0.7478950035132097},
       {0.10299110772444486, -0.13377383807485516, 0.04753723586670637, -0.016754505516296054, 0, 0, 0, 0,
        0.0029217880060420811, 0.080208606548094405, 0.046111343849654304, -0.1292417384037908}},
      {{.reduction = Reduction::None, .weight = class_weight(), .label_smoothing = 0.3},
       {1.3664478691023945, 0, 1.2511846431938398},
       {0.25232821392488997, -0.32774590328339503, 0.11646622787343064, -0.041048538514925334, 0, 0, 0, 0,
        0.020452516042294561, 0.56146024583666077, 0.32277940694758006, -0.90469216882653558}},
      {{.reduction = Reduction::Sum, .weight = class_weight(), .label_smoothing = 0.3},
       {2.6176325122962343},
       {0.36046887703555702, -0.46820843326199296, 0.16638032553347229, -0.05864076930703619, 0, 0, 0, 0,
        0.01022625802114728, 0.28073012291833038, 0.16138970347379003, -0.45234608441326779}},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(class_loss_options)

BOOST_AUTO_TEST_CASE(weights_and_label_smoothing_give_libtorchs_values) {
  for (const Reference& ref : references()) {
    for (const DType dtype : {kFloat64, kFloat32}) {
      const double tolerance = dtype == kFloat64 ? 1e-13 : 2e-6;
      ClassLossOptions options = ref.options;
      if (options.weight.defined()) options.weight = options.weight.to(dtype);
      Tensor x = logits().to(dtype).detach().requires_grad_();
      const Tensor loss = cross_entropy(x, targets(), options);
      BOOST_TEST_INFO("smoothing " << options.label_smoothing << ", weight " << options.weight.defined() << ", "
                                   << dtype);
      check_values(loss, ref.loss, tolerance);
      (loss.dim() == 0 ? loss : (loss * tensor({0.7, -1.3, 2.0}, {.dtype = dtype})).sum()).backward();
      check_values(x.grad(), ref.grad, tolerance);
    }
  }
}

BOOST_AUTO_TEST_CASE(nll_loss_takes_the_weight_too) {
  // LibTorch 1.13: nll_loss(log_softmax(x), t, weight) = 0.58143766903968908, the weighted
  // cross-entropy's mean; gradient -w[t_i] / sum of w[t_i] at each target.
  Tensor lp = log_softmax(logits(), -1).detach().requires_grad_();
  const Tensor loss = nll_loss(lp, targets(), {.weight = class_weight()});
  check_values(loss, {0.58143766903968908}, 1e-13);
  loss.backward();
  check_values(lp.grad(), {0, -0.5714285714285714, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.42857142857142855}, 1e-15);
}

BOOST_AUTO_TEST_CASE(unit_weights_and_no_smoothing_are_the_plain_loss) {
  Generator gen(9);
  const Tensor x = randn({5, 7}, gen, {.dtype = kFloat64});
  const Tensor t = ids_of({6, 0, -100, 3, 3}, {5});
  const Tensor ones = full({7}, 1.0, {.dtype = kFloat64});
  for (const Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    check_close(cross_entropy(x, t, {.reduction = r, .weight = ones}), cross_entropy(x, t, {.reduction = r}), 1e-15);
    check_close(nll_loss(x, t, {.reduction = r, .weight = ones}), nll_loss(x, t, {.reduction = r}), 1e-15);
  }
  // every target ignored: the mean is 0/0 = NaN, as in PyTorch, and the gradient 0
  Tensor y = x.detach().clone().requires_grad_();
  const Tensor all_ignored = cross_entropy(y, ids_of({-100, -100, -100, -100, -100}, {5}),
                                           {.weight = full({7}, 2.0, {.dtype = kFloat64}), .label_smoothing = 0.1});
  BOOST_TEST(std::isnan(all_ignored.item()));
  all_ignored.backward();
  check_close(y.grad(), zeros({5, 7}, {.dtype = kFloat64}), 0.0);
}

BOOST_AUTO_TEST_CASE(gradients_against_finite_differences) {
  Generator gen(10);
  const Tensor w = tensor({0.3, 1.7, 1.0, 2.5, 0.9}, {.dtype = kFloat64});
  const Tensor t = ids_of({4, -100, 0, 2, 2, 1}, {2, 3});
  for (const Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    for (const ClassLossOptions& o : {ClassLossOptions{.reduction = r, .weight = w},
                                      ClassLossOptions{.reduction = r, .label_smoothing = 0.25},
                                      ClassLossOptions{.reduction = r, .weight = w, .label_smoothing = 1.0}}) {
      check_gradients([&](const auto& in) { return cross_entropy(in[0], t, o); }, {rand64({2, 3, 5}, gen, 2.0)});
    }
    check_gradients([&](const auto& in) { return nll_loss(in[0], t, {.reduction = r, .weight = w}); },
                    {rand64({2, 3, 5}, gen)});
  }
}

BOOST_AUTO_TEST_CASE(bad_options_are_errors_naming_the_values) {
  const Tensor x = zeros({2, 3});
  const Tensor t = ids_of({0, 2}, {2});
  BOOST_CHECK_EXCEPTION(cross_entropy(x, t, {.weight = ones({4})}), ShapeError,
                        has_message("cross_entropy: weight must hold one entry per class, shape [3] for logits of "
                                    "shape [2, 3]; got [4]"));
  BOOST_CHECK_EXCEPTION(cross_entropy(x, t, {.weight = ones({3}, {.dtype = kFloat64})}), DTypeError,
                        has_message("cross_entropy: weight is float64 but the logits are float32; convert it with "
                                    "weight.to(float32)"));
  BOOST_CHECK_EXCEPTION(cross_entropy(x, t, {.label_smoothing = 1.5}), ValueError,
                        has_message("cross_entropy: label_smoothing must be in [0, 1], got 1.5"));
  BOOST_CHECK_EXCEPTION(cross_entropy(x, t, {.label_smoothing = std::numeric_limits<double>::quiet_NaN()}),
                        ValueError, has_message("label_smoothing must be in [0, 1], got nan"));
  BOOST_CHECK_EXCEPTION(nll_loss(x, t, {.label_smoothing = 0.1}), ValueError,
                        has_message("nll_loss: label_smoothing (0.1) applies to cross_entropy only"));
  BOOST_CHECK_EXCEPTION(nll_loss(x, t, {.weight = ones({2, 3})}), ShapeError,
                        has_message("nll_loss: weight must hold one entry per class, shape [3]"));
}

BOOST_AUTO_TEST_SUITE_END()
