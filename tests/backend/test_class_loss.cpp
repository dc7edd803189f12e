// cross_entropy's row kernels (lib/backend/class_loss.cpp) against the ops cross_entropy used to be
// composed of, nll_loss(log_softmax(x)): the same loss and the same gradient, bit for bit, in float32
// and float64, for row lengths around the vector widths, ignored rows, every reduction, leading dims,
// rows with NaN, +inf and -inf logits, and at one and two threads (a loop large enough to be split).
#include "support/test.hpp"

#include <cstring>
#include <limits>

#include "backend/threads.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Bitwise equality of two tensors of one dtype, reporting the first element that differs.
void check_same_bits(const Tensor& actual, const Tensor& expected, const std::string& what) {
  BOOST_REQUIRE(actual.shape() == expected.shape());
  BOOST_REQUIRE(actual.dtype() == expected.dtype());
  const Tensor a = actual.contiguous(), e = expected.contiguous();
  const std::size_t bytes = a.dtype() == kFloat32 ? 4 : 8;
  const auto* pa = a.dtype() == kFloat32 ? reinterpret_cast<const unsigned char*>(a.data<float>())
                                         : reinterpret_cast<const unsigned char*>(a.data<double>());
  const auto* pe = e.dtype() == kFloat32 ? reinterpret_cast<const unsigned char*>(e.data<float>())
                                         : reinterpret_cast<const unsigned char*>(e.data<double>());
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    if (std::memcmp(pa + i * bytes, pe + i * bytes, bytes) != 0) {
      BOOST_ERROR(what << ": element " << i << " differs: " << a.reshape({-1}).at<double>({i}) << " against "
                       << e.reshape({-1}).at<double>({i}));
      return;
    }
  }
}

// The loss and the logits' gradient of `loss_of`, with the upstream gradient `weights` for a per-row loss.
std::pair<Tensor, Tensor> loss_and_grad(const Tensor& logits, const std::function<Tensor(const Tensor&)>& loss_of,
                                        const Tensor& weights) {
  Tensor x = logits.detach().clone().requires_grad_();
  const Tensor loss = loss_of(x);
  (loss.dim() == 0 ? loss : (loss * weights).sum()).backward();
  return {loss.detach(), x.grad()};
}

void check_like_composite(const Tensor& logits, const Tensor& targets, const ClassLossOptions& options,
                          const std::string& what) {
  Generator gen(7);
  const Tensor weights = randn(targets.shape(), gen, {.dtype = logits.dtype()});
  const auto [loss, grad] = loss_and_grad(
      logits, [&](const Tensor& x) { return cross_entropy(x, targets, options); }, weights);
  const auto [want_loss, want_grad] = loss_and_grad(
      logits, [&](const Tensor& x) { return nll_loss(log_softmax(x, -1), targets, options); }, weights);
  check_same_bits(loss, want_loss, what + " loss");
  check_same_bits(grad, want_grad, what + " gradient");
}

Tensor random_targets(const Shape& shape, std::int64_t classes, Generator& gen, bool with_ignored) {
  Tensor t = randint(0, classes, shape, gen);
  if (with_ignored && t.numel() > 1) {
    Tensor flat = t.reshape({-1});
    flat.set({t.numel() / 2}, -100.0);
  }
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(class_loss)

BOOST_AUTO_TEST_CASE(the_composites_bits_for_every_row_length_and_reduction) {
  Generator gen(3);
  for (const DType dtype : {kFloat32, kFloat64}) {
    for (const std::int64_t C : {1, 2, 3, 7, 8, 9, 16, 17, 31, 128, 257}) {
      for (const Reduction reduction : {Reduction::None, Reduction::Sum, Reduction::Mean}) {
        const Tensor x = randn({6, C}, gen, {.dtype = dtype}) * 3.0;
        const Tensor t = random_targets({6}, C, gen, true);
        check_like_composite(x, t, {.reduction = reduction},
                             fmt::format("{} C={} reduction {}", dtype, C, static_cast<int>(reduction)));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(leading_dims_and_a_single_row) {
  Generator gen(4);
  for (const DType dtype : {kFloat32, kFloat64}) {
    check_like_composite(randn({2, 3, 5}, gen, {.dtype = dtype}), random_targets({2, 3}, 5, gen, true), {},
                         "[2, 3, 5]");
    check_like_composite(randn({5}, gen, {.dtype = dtype}), random_targets({}, 5, gen, false), {}, "[5]");
    // a strided view of the logits (the op makes them contiguous first)
    check_like_composite(randn({7, 4}, gen, {.dtype = dtype}).mT(), random_targets({4}, 7, gen, false), {},
                         "transposed");
  }
}

BOOST_AUTO_TEST_CASE(rows_with_nan_and_infinite_logits) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (const DType dtype : {kFloat32, kFloat64}) {
    const Tensor x = tensor({{1.0, kNaN, 2.0},      // NaN: NaN loss and gradient
                             {kInf, 0.0, 1.0},      // one +inf: all the probability
                             {kInf, kInf, 0.0},     // two +inf share it
                             {-kInf, -kInf, -kInf}, // all -inf: +inf loss
                             {-kInf, 3.0, 1.0},     // a -inf logit: probability 0
                             {1e30, -1e30, 0.0},    // far apart, finite
                             {0.5, kNaN, 0.0}},     // NaN in an ignored row
                            {.dtype = dtype});
    for (const std::int64_t hit : {0, 1, 2}) {
      const Tensor t = tensor_of<std::int64_t>({hit, hit, hit, hit, hit, hit, -100}, {7});
      for (const Reduction reduction : {Reduction::None, Reduction::Sum, Reduction::Mean}) {
        check_like_composite(x, t, {.reduction = reduction}, fmt::format("{} target {}", dtype, hit));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_same_bits_at_one_and_two_threads) {
  // 2,200 rows of 129: more than one part's work (backend::kParallelGrain), so two threads split it.
  static_assert(2200 * 129 > backend::kParallelGrain);
  Generator gen(5);
  const Tensor x = randn({2200, 129}, gen) * 4.0;
  const Tensor t = random_targets({2200}, 129, gen, true);
  for (const int threads : {1, 2}) {
    const ThreadCount count(threads);
    check_like_composite(x, t, {}, fmt::format("{} threads", threads));
  }
}

BOOST_AUTO_TEST_CASE(gradients_against_finite_differences) {
  Generator gen(6);
  const Tensor t = tensor_of<std::int64_t>({2, -100, 0, 3}, {4});
  for (const Reduction reduction : {Reduction::None, Reduction::Sum, Reduction::Mean}) {
    check_gradients([&](const auto& in) { return cross_entropy(in[0], t, {.reduction = reduction}); },
                    {rand64({4, 5}, gen, 2.0)});
  }
}

BOOST_AUTO_TEST_SUITE_END()
