// cross_entropy's and nll_loss's class weights and label smoothing (ClassLossOptions), and
// cross_entropy against class probabilities: values and gradients against LibTorch's, finite
// differences, the plain loss when neither option is set, and bad options.
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

BOOST_AUTO_TEST_CASE(class_probabilities_as_targets_give_libtorchs_values) {
  // LibTorch 1.13, cross_entropy(x, P) in float64 with P below; gradients of the loss (of the losses
  // times (0.7, -1.3, 2.0) summed for Reduction::None) for x and for P.
  const Tensor P = tensor({{0.1, 0.6, 0.2, 0.1}, {0.0, 0.0, 1.0, 0.0}, {0.25, 0.25, 0.25, 0.25}}, {.dtype = kFloat64});
  struct Case {
    ClassLossOptions options;
    std::vector<double> loss, grad, target_grad;
  };
  const std::vector<Case> cases = {
      {{.reduction = Reduction::Mean},
       {1.0659377736610836},
       {0.041402606016067045, 0.0031533458662923804, -0.021337028068831494, -0.023218923813527925,
        0.029310825860120092, 0.017777914545660755, -0.068802734266186688, 0.021713993860405852,
        -0.072169296369322275, 0.017422250975048049, -0.02803749626344092, 0.082784541657715122},
       {0.49839396602861863, 0.16506063269528534, 0.66506063269528526, 1.1650606326952853, 0.81039535308419819,
        0.97706201975086482, 0.077062019750864824, 0.91039535308419817, 1.1321484545482667, 0.39881512121493334,
        0.5988151212149333, 0.23214845454826666}},
      {{.reduction = Reduction::Mean, .weight = class_weight()},
       {1.1855112669153214},
       {0.10291083629237394, -0.074954646613932169, 0.005860755089869614, -0.033816944768311347,
        0.029310825860120092, 0.017777914545660755, -0.068802734266186688, 0.021713993860405852,
        -0.02771162046165284, -0.04072218628118994, -0.014213536995967821, 0.082647343738810566},
       {0.24919698301430931, 0.33012126539057068, 0.66506063269528526, 1.747590949042928, 0.40519767654209909,
        1.9541240395017296, 0.077062019750864824, 1.3655930296262973, 0.56607422727413337, 0.79763024242986669,
        0.5988151212149333, 0.34822268182240002}},
      {{.reduction = Reduction::None, .weight = class_weight(), .label_smoothing = 0.2},
       {1.7226283040713597, 0.7552453622152242, 1.7330567045560001},
       {0.19462657312962342, -0.089268299731602621, -0.0013558711851555788, -0.10400240221286521,
        -0.087527831897191807, 0.057199439935519195, 0.021747196820034561, 0.008581195141638031,
        -0.16626972276991706, -0.24433311768713961, -0.085281221975806912, 0.49588406243286348},
       {0.41865093146403964, 0.5546037258561588, 1.1173018629280793, 2.9359527943921186, -1.2642167508113493,
        -6.0968670032453973, -0.2404335016226983, -4.2606502524340479, 2.7171562909158404, 3.8286251636633604,
        2.8743125818316799, 1.67146887274752}},
  };
  for (const Case& c : cases) {
    Tensor x = logits().detach().requires_grad_();
    Tensor p = P.detach().clone().requires_grad_();
    const Tensor loss = cross_entropy(x, p, c.options);
    check_values(loss, c.loss, 1e-13);
    (loss.dim() == 0 ? loss : (loss * tensor({0.7, -1.3, 2.0}, {.dtype = kFloat64})).sum()).backward();
    check_values(x.grad(), c.grad, 1e-13);
    check_values(p.grad(), c.target_grad, 1e-13);
  }
  // one-hot probabilities are the class indices' loss; [B, T, C] with [B, T, C]
  Generator gen(11);
  const Tensor x3 = randn({2, 3, 4}, gen, {.dtype = kFloat64});
  const Tensor t3 = ids_of({3, 0, 1, 1, 2, 0}, {2, 3});
  Tensor onehot = zeros({2, 3, 4}, {.dtype = kFloat64});
  for (std::int64_t i = 0; i < 6; ++i) onehot.set({i / 3, i % 3, t3.reshape({6}).at<std::int64_t>({i})}, 1.0);
  check_close(cross_entropy(x3, onehot, {.reduction = Reduction::None}), cross_entropy(x3, t3, {.reduction = Reduction::None}),
              1e-14);
  check_gradients([&](const auto& in) { return cross_entropy(in[0], in[1], {.label_smoothing = 0.1}); },
                  {rand64({2, 3, 4}, gen), rand64({2, 3, 4}, gen)});
}

BOOST_AUTO_TEST_CASE(class_probabilities_refuse_what_does_not_apply) {
  const Tensor x = zeros({2, 3});
  BOOST_CHECK_EXCEPTION(cross_entropy(x, zeros({2, 3}, {.dtype = kFloat64})), DTypeError,
                        has_message("cross_entropy: the class probabilities are float64 but the logits are float32"));
  BOOST_CHECK_EXCEPTION(cross_entropy(x, zeros({2, 3}), {.ignore_index = 0}), ValueError,
                        has_message("cross_entropy: ignore_index (0) applies to class-index targets"));
  // float labels of the class-index shape: the usual mistake, named
  BOOST_CHECK_EXCEPTION(cross_entropy(x, tensor({1.0, 2.0})), DTypeError,
                        has_message("cross_entropy: targets must be int64 class indices, got float32 of shape [2]; "
                                    "floating targets are class probabilities, of the logits' shape [2, 3]"));
}

BOOST_AUTO_TEST_CASE(logits_with_no_classes_say_so) {
  BOOST_CHECK_EXCEPTION(cross_entropy(zeros({2, 0}), zeros({2}, {.dtype = kInt64})), IndexError,
                        has_message("cross_entropy: target 0 at position [0] is out of range for 0 classes (logits of "
                                    "shape [2, 0] have no class entries: only ignore_index -100 fits)"));
}

BOOST_AUTO_TEST_CASE(pytorchs_class_dim_gets_a_hint) {
  // [B, C, T] logits with [B, T] targets: PyTorch's layout for sequences
  BOOST_CHECK_EXCEPTION(cross_entropy(zeros({2, 5, 3}), zeros({2, 3}, {.dtype = kInt64})), ShapeError,
                        has_message("they fit classes in dim 1, as PyTorch lays them out: attograd takes the classes "
                                    "last, so pass logits.transpose(1, 2)"));
  BOOST_CHECK_EXCEPTION(nll_loss(zeros({2, 5, 3, 4}), zeros({2, 3, 4}, {.dtype = kInt64})), ShapeError,
                        has_message("so pass log_probs.permute({0, 2, 3, 1})"));
  // the hint's own advice works
  const Tensor x = zeros({2, 5, 3});
  BOOST_TEST(cross_entropy(x.transpose(1, 2), zeros({2, 3}, {.dtype = kInt64})).item() == std::log(5.0),
             boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_SUITE_END()
