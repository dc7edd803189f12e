// cross_entropy and nll_loss: reference values, ignore_index, reductions, sequences, stability,
// gradchecks, errors. mse_loss and binary_cross_entropy_with_logits: tests/ops/test_loss_pointwise.cpp.
#include "support/test.hpp"

#include <cmath>
#include <numbers>

using namespace attograd;
using namespace attograd::testing;

namespace {
Tensor ids_of(const std::vector<std::int64_t>& v, const Shape& shape) { return tensor_of<std::int64_t>(v, shape); }
Tensor f64(std::initializer_list<std::initializer_list<double>> rows) { return tensor(rows, {.dtype = kFloat64}); }
}  // namespace

BOOST_AUTO_TEST_SUITE(cross_entropy_op)

BOOST_AUTO_TEST_CASE(two_equal_logits_cost_ln_2) {
  check_values(cross_entropy(f64({{0.0, 0.0}}), ids_of({1}, {1})), {std::numbers::ln2}, 1e-14);
  check_values(cross_entropy(tensor({{5.0, 5.0}}), ids_of({0}, {1})), {std::numbers::ln2}, 1e-7);  // float32
  // log(e + e^2 + e^3) - 3
  check_values(cross_entropy(f64({{1.0, 2.0, 3.0}}), ids_of({2}, {1})), {0.40760596444438013}, 1e-14);
  // one row, no batch dim: logits [C], a rank-0 target
  const Tensor one = cross_entropy(tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64}), ids_of({2}, {}));
  BOOST_TEST(one.dim() == 0);
  check_values(one, {0.40760596444438013}, 1e-14);
}

BOOST_AUTO_TEST_CASE(ignore_index_excludes_positions_from_the_mean) {
  // Row 1 is ignored; counted, its logit gap of 1000 would dominate the mean.
  Tensor x = f64({{0.0, 0.0}, {1000.0, 0.0}, {0.0, 2.0}}).requires_grad_();
  const Tensor t = ids_of({1, -100, 1}, {3});
  const double row0 = std::numbers::ln2, row2 = std::log(1.0 + std::exp(2.0)) - 2.0;
  Tensor loss = cross_entropy(x, t);
  check_values(loss, {(row0 + row2) / 2.0}, 1e-14);
  loss.backward();
  // dX = (softmax - onehot) / 2 on the kept rows, 0 on the ignored one
  const double s = 1.0 / (1.0 + std::exp(2.0));
  check_values(x.grad(), {0.25, -0.25, 0.0, 0.0, s / 2.0, -s / 2.0}, 1e-14);

  check_values(cross_entropy(x, t, {.reduction = Reduction::Sum}), {row0 + row2}, 1e-14);
  const Tensor each = cross_entropy(x, t, {.reduction = Reduction::None});
  BOOST_TEST((each.shape() == Shape{3}));
  check_values(each, {row0, 0.0, row2}, 1e-14);

  // Another ignore_index (here class 0, as for a padding token) and a target equal to -100 is then an error.
  check_values(cross_entropy(x, ids_of({1, 0, 1}, {3}), {.ignore_index = 0}), {(row0 + row2) / 2.0}, 1e-14);
  BOOST_CHECK_EXCEPTION(cross_entropy(x, t, {.ignore_index = 0}), IndexError,
                        has_message("target -100 at position [1] is out of range for 2 classes (expected 0..1, or "
                                    "ignore_index 0)"));
}

BOOST_AUTO_TEST_CASE(all_targets_ignored_is_nan_with_a_zero_gradient) {
  // As in PyTorch: the mean over no targets is 0/0.
  Tensor x = f64({{1.0, 2.0}, {3.0, 4.0}}).requires_grad_();
  Tensor loss = cross_entropy(x, ids_of({-100, -100}, {2}));
  BOOST_TEST(std::isnan(loss.item()));
  loss.backward();
  check_values(x.grad(), {0, 0, 0, 0}, 0.0);
  check_values(cross_entropy(x, ids_of({-100, -100}, {2}), {.reduction = Reduction::Sum}), {0.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(sequences_are_batch_time_vocabulary_with_classes_last) {
  Generator gen(6);
  const Tensor logits = randn({2, 3, 4}, gen, {.dtype = kFloat64});
  const Tensor t = ids_of({3, 0, -100, 1, 1, 2}, {2, 3});
  const Tensor each = cross_entropy(logits, t, {.reduction = Reduction::None});
  BOOST_TEST((each.shape() == Shape{2, 3}));
  // the same as flattening to [B*T, V]
  check_close(each.reshape({6}), cross_entropy(logits.reshape({6, 4}), t.reshape({6}), {.reduction = Reduction::None}),
              1e-14);
  check_close(cross_entropy(logits, t), cross_entropy(logits.reshape({6, 4}), t.reshape({6})), 1e-14);
  // each entry by hand: log sum exp - the target's logit
  const auto x = logits.to_vector<double>();
  const auto tv = t.to_vector<std::int64_t>();
  for (int p = 0; p < 6; ++p) {
    double z = 0.0;
    for (int c = 0; c < 4; ++c) z += std::exp(x[p * 4 + c]);
    const double expected = tv[p] < 0 ? 0.0 : std::log(z) - x[p * 4 + tv[p]];
    BOOST_TEST(std::abs(each.reshape({6}).at({p}) - expected) < 1e-12, "position " << p);
  }
  // the mean divides by the 5 targets that count, not by 6
  check_values(cross_entropy(logits, t), {sum(each).item() / 5.0}, 1e-14);
}

BOOST_AUTO_TEST_CASE(is_stable_for_huge_logits) {
  check_values(cross_entropy(f64({{1000.0, 0.0}}), ids_of({1}, {1})), {1000.0}, 1e-12);
  check_values(cross_entropy(f64({{1000.0, 0.0}}), ids_of({0}, {1})), {0.0}, 1e-12);
  Tensor x = tensor({{1e4, -1e4, 0.0}}, {.requires_grad = true});  // float32: exp(1e4) overflows naively
  Tensor loss = cross_entropy(x, ids_of({1}, {1}));
  check_values(loss, {2e4}, 1e-6);
  loss.backward();
  check_values(x.grad(), {1.0, -1.0, 0.0}, 1e-6);
  // -inf logits (a masked class) are fine as long as the target is not one of them
  check_values(cross_entropy(f64({{-INFINITY, 0.0, 0.0}}), ids_of({2}, {1})), {std::numbers::ln2}, 1e-14);
}

BOOST_AUTO_TEST_CASE(equals_nll_loss_of_log_softmax) {
  Generator gen(7);
  const Tensor logits = randn({5, 6}, gen, {.dtype = kFloat64});
  const Tensor t = ids_of({5, 0, 3, -100, 3}, {5});
  for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    check_close(cross_entropy(logits, t, {.reduction = r}), nll_loss(log_softmax(logits, -1), t, {.reduction = r}),
                1e-14);
  }
  // nll_loss on its own: minus the picked entries
  const Tensor lp = f64({{-0.5, -1.5}, {-2.5, -3.5}});
  check_values(nll_loss(lp, ids_of({1, 0}, {2}), {.reduction = Reduction::None}), {1.5, 2.5}, 0.0);
  check_values(nll_loss(lp, ids_of({1, 0}, {2})), {2.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(gradients_are_checked_against_finite_differences) {
  Generator gen(8);
  auto ce = [](Tensor t, ClassLossOptions o) {
    return [t, o](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, o); };
  };
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    check_gradients(ce(ids_of({0, 4, 2}, {3}), {.reduction = r}), {rand64({3, 5}, gen)});
    check_gradients(ce(ids_of({3, -100, 0, 1, 1, 2}, {2, 3}), {.reduction = r}), {rand64({2, 3, 4}, gen, 3.0)});
    check_gradients(ce(ids_of({1}, {}), {.reduction = r}), {rand64({2}, gen)});
    check_gradients(ce(ids_of({0, 0}, {2, 1}), {.ignore_index = 1, .reduction = r}), {rand64({2, 1, 1}, gen)});
  }
  auto nll = [](Tensor t, ClassLossOptions o) {
    return [t, o](const std::vector<Tensor>& in) { return nll_loss(in[0], t, o); };
  };
  check_gradients(nll(ids_of({2, 2, 0, -100}, {4}), {}), {rand64({4, 3}, gen)});
  check_gradients(nll(ids_of({1, 0, 1, 1}, {2, 2}), {.reduction = Reduction::None}), {rand64({2, 2, 2}, gen)});
  // One loss per row of [N, C]: the result is nll_loss's own node, which this check targets (with an
  // ignored row, whose gradient is 0).
  check_gradients(nll(ids_of({2, -100, 0, 1}, {4}), {.reduction = Reduction::None}), {rand64({4, 3}, gen)});
  // strided (transposed) inputs
  check_gradients([](const std::vector<Tensor>& in) { return cross_entropy(in[0].mT(), ids_of({2, 0}, {2})); },
                  {rand64({3, 2}, gen)});
  check_gradients([](const std::vector<Tensor>& in) { return nll_loss(in[0].mT(), ids_of({2, 0}, {2})); },
                  {rand64({3, 2}, gen)});
  check_values(nll_loss(f64({{-0.5, -1.5}, {-2.5, -3.5}}).mT(), ids_of({1, 0}, {2}), {.reduction = Reduction::None}),
               {2.5, 1.5}, 0.0);
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_errors_naming_the_values) {
  const Tensor x = zeros({2, 3});
  BOOST_CHECK_EXCEPTION(cross_entropy(x, ids_of({1, 3}, {2})), IndexError,
                        has_message("cross_entropy: target 3 at position [1] is out of range for 3 classes (expected "
                                    "0..2, or ignore_index -100)"));
  BOOST_CHECK_EXCEPTION(cross_entropy(zeros({2, 2, 3}), ids_of({0, 1, -1, 2}, {2, 2})), IndexError,
                        has_message("target -1 at position [1, 0]"));
  BOOST_CHECK_EXCEPTION(cross_entropy(x, tensor({1.0, 2.0})), DTypeError,
                        has_message("cross_entropy: targets must be int64 class indices, got float32"));
  BOOST_CHECK_EXCEPTION(cross_entropy(tensor_of<std::int64_t>({1, 2}, {1, 2}), ids_of({0}, {1})), DTypeError,
                        has_message("cross_entropy: expected floating-point logits, got int64"));
  BOOST_CHECK_EXCEPTION(cross_entropy(zeros({2, 3, 5}), ids_of({0, 0, 0, 0, 0, 0}, {2, 3, 1})), ShapeError,
                        has_message("cross_entropy: targets of shape [2, 3, 1] do not fit logits of shape [2, 3, 5]: "
                                    "expected targets of shape [2, 3] (the logits' shape without the last, class dim)"));
  BOOST_CHECK_EXCEPTION(cross_entropy(x, ids_of({0, 0, 0}, {3})), ShapeError, has_message("expected targets of shape [2]"));
  BOOST_CHECK_EXCEPTION(cross_entropy(scalar_tensor(1.0), ids_of({0}, {})), ShapeError,
                        has_message("cross_entropy: logits need a class dim (the last one), got a rank-0 tensor"));
  BOOST_CHECK_EXCEPTION(nll_loss(x, ids_of({0, 5}, {2})), IndexError,
                        has_message("nll_loss: target 5 at position [1] is out of range for 3 classes"));
  BOOST_CHECK_EXCEPTION(nll_loss(x, ids_of({0}, {1})), ShapeError,
                        has_message("nll_loss: targets of shape [1] do not fit log-probabilities of shape [2, 3]"));
}

BOOST_AUTO_TEST_SUITE_END()
