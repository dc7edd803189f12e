// In-place updates: zero_, fill_, copy_, add_, mul_ and set. Values (through views too), broadcasting and
// dtype conversion in copy_, overlapping source and destination, the version counter that makes a graph
// refuse backward after a saved tensor changed, and the refusals: tensors that require grad under grad
// mode, expanded views.
#include "support/test.hpp"

#include <cmath>
#include <limits>

using namespace attograd;
using namespace attograd::testing;

namespace {

Tensor iota(const Shape& shape) { return arange(static_cast<double>(shape.numel()), {.dtype = kFloat64}).reshape(shape); }

std::uint64_t version(const Tensor& t) { return t.impl()->storage->version(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(inplace)

BOOST_AUTO_TEST_CASE(zero_and_fill) {
  Tensor x = iota({2, 3});
  Tensor& same = x.fill_(2.5);
  BOOST_TEST(&same == &x);  // returns *this, so calls chain
  check_values(x, {2.5, 2.5, 2.5, 2.5, 2.5, 2.5});
  x.zero_();
  check_values(x, {0, 0, 0, 0, 0, 0});
  // Through a strided view: only the covered elements change.
  Tensor y = iota({2, 4});
  y.slice(1, 1, 4, 2).fill_(-1.0);
  check_values(y, {0, -1, 2, -1, 4, -1, 6, -1});
  y.mT().select(0, 0).zero_();  // column 0
  check_values(y, {0, -1, 2, -1, 0, -1, 6, -1});
  // Other dtypes: the value is converted as a C++ cast does.
  Tensor ids = tensor_of<std::int64_t>({1, 2, 3}, {3});
  ids.fill_(7.9);
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 7, 7}));
  // Values outside int64 (converting them would be undefined behaviour) are refused.
  BOOST_CHECK_EXCEPTION(ids.fill_(INFINITY), ValueError, has_message("fill_: value inf does not fit in int64"));
  BOOST_CHECK_EXCEPTION(ids.fill_(-1e19), ValueError, has_message("fill_: value -1e+19 does not fit in int64"));
  BOOST_CHECK_EXCEPTION(ids.fill_(NAN), ValueError, has_message("fill_: value nan does not fit in int64"));
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 7, 7}));
  ids.fill_(-9223372036854775808.0);  // -2^63 itself fits
  BOOST_TEST(ids.at({0}) == static_cast<double>(std::numeric_limits<std::int64_t>::min()));
  Tensor mask = tensor_of<bool>({false, true}, {2});
  mask.fill_(1.0);
  BOOST_TEST((mask.to_vector<bool>() == std::vector<bool>{true, true}));
  mask.zero_();
  BOOST_TEST((mask.to_vector<bool>() == std::vector<bool>{false, false}));
  // Rank 0 and empty tensors.
  Tensor s = scalar_tensor(1.0);
  s.fill_(3.0);
  BOOST_TEST(s.item() == 3.0);
  Tensor none = zeros({0, 2});
  none.fill_(1.0);
  BOOST_TEST(none.numel() == 0);
}

BOOST_AUTO_TEST_CASE(copy_same_shape_broadcast_and_dtype_conversion) {
  Tensor x = zeros({2, 3}, {.dtype = kFloat64});
  x.copy_(iota({2, 3}));
  check_values(x, {0, 1, 2, 3, 4, 5});
  // A row broadcast over the rows, a column over the columns, a scalar everywhere.
  x.copy_(tensor({7.0, 8.0, 9.0}, {.dtype = kFloat64}));
  check_values(x, {7, 8, 9, 7, 8, 9});
  x.copy_(tensor({1.0, 2.0}, {.dtype = kFloat64}).unsqueeze(1));
  check_values(x, {1, 1, 1, 2, 2, 2});
  x.copy_(scalar_tensor(-4.0));
  check_values(x, {-4, -4, -4, -4, -4, -4});
  // Conversions: float32 to float64, float64 to int64 (truncation), int64 to float32, float to bool.
  x.copy_(tensor({0.1, 0.2, 0.3}));
  BOOST_TEST(x.at({1, 0}) == static_cast<double>(0.1f));
  Tensor ids = zeros({3}, {.dtype = kInt64});
  ids.copy_(tensor({-2.7, 0.5, 3.9}, {.dtype = kFloat64}));
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{-2, 0, 3}));
  Tensor f = zeros({3});
  f.copy_(ids);
  check_values(f, {-2, 0, 3});
  Tensor mask = zeros({3}, {.dtype = kBool});
  mask.copy_(tensor({0.0, -0.5, 2.0}));
  BOOST_TEST((mask.to_vector<bool>() == std::vector<bool>{false, true, true}));
  // Into a non-contiguous destination, from a non-contiguous source.
  Tensor d = zeros({3, 2}, {.dtype = kFloat64});
  d.mT().copy_(iota({2, 3}));  // d = iota^T
  check_values(d, {0, 3, 1, 4, 2, 5});
  Tensor e = zeros({2, 3}, {.dtype = kFloat64});
  e.copy_(d.mT());
  check_values(e, {0, 1, 2, 3, 4, 5});
}

BOOST_AUTO_TEST_CASE(copy_reads_an_overlapping_source_before_writing) {
  // x.copy_(x.mT()) on a square matrix: a naive loop would read elements it already overwrote.
  Tensor x = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}, {7.0, 8.0, 9.0}});
  x.copy_(x.mT());
  check_values(x, {1, 4, 7, 2, 5, 8, 3, 6, 9});
  // Shifting right by one inside the same tensor (memmove, not a cascade of the first value).
  Tensor a = iota({5});
  a.slice(0, 1, 5).copy_(a.slice(0, 0, 4));
  check_values(a, {0, 0, 1, 2, 3});
  // Shifting left.
  Tensor b = iota({5});
  b.slice(0, 0, 4).copy_(b.slice(0, 1, 5));
  check_values(b, {1, 2, 3, 4, 4});
  // From a broadcast view of itself: every element becomes the first.
  Tensor c = iota({3});
  c.copy_(c.slice(0, 0, 1).expand({3}));
  check_values(c, {0, 0, 0});
  // copy_ from itself is a no-op.
  Tensor same = iota({2, 2});
  same.copy_(same);
  check_values(same, {0, 1, 2, 3});
}

BOOST_AUTO_TEST_CASE(copy_errors) {
  Tensor x = zeros({3});
  BOOST_CHECK_EXCEPTION(x.copy_(zeros({2, 3})), ShapeError,
                        has_message("copy_: source of shape [2, 3] does not broadcast to the destination's shape [3]"));
  BOOST_CHECK_EXCEPTION(x.copy_(zeros({4})), ShapeError,
                        has_message("copy_: shapes [4] and [3] cannot be broadcast: dim -1 is 4 vs 3"));
  BOOST_CHECK_EXCEPTION(x.copy_(Tensor()), ValueError, has_message("undefined"));
  check_values(x, {0, 0, 0});  // nothing was written
}

BOOST_AUTO_TEST_CASE(add_with_alpha_and_broadcasting) {
  Tensor x = iota({2, 3});
  x.add_(ones({2, 3}, {.dtype = kFloat64}));
  check_values(x, {1, 2, 3, 4, 5, 6});
  x.add_(tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64}), -2.0);  // x -= 2 * row
  check_values(x, {-1, -2, -3, 2, 1, 0});
  x.add_(scalar_tensor(0.5, {.dtype = kFloat64}), 4.0);
  check_values(x, {1, 0, -1, 4, 3, 2});
  // x.add_(x) doubles, x.add_(x.mT()) on a square matrix uses the values from before the update.
  Tensor y = tensor({{1.0, 2.0}, {3.0, 4.0}});
  y.add_(y);
  check_values(y, {2, 4, 6, 8});
  y.add_(y.mT(), 0.5);
  check_values(y, {3, 7, 8, 12});
  // Overlapping slices: a[1:] += a[:4] with a's old values, not a running sum.
  Tensor a = iota({5});
  a.slice(0, 1, 5).add_(a.slice(0, 0, 4));
  check_values(a, {0, 1, 3, 5, 7});
  // int64 works; through a view.
  Tensor ids = tensor_of<std::int64_t>({1, 2, 3, 4}, {2, 2});
  ids.select(1, 0).add_(tensor_of<std::int64_t>({10, 20}, {2}), 2.0);
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{21, 2, 43, 4}));
  // A fractional alpha cannot scale int64 values (0.5 would be truncated to 0 and add nothing).
  BOOST_CHECK_EXCEPTION(ids.add_(tensor_of<std::int64_t>({1, 1}, {2}), 0.5), ValueError,
                        has_message("add_: alpha 0.5 is not a whole number, which an int64 tensor cannot use; "
                                    "convert the tensor with to(kFloat64) first"));
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{21, 2, 43, 4}));
}

BOOST_AUTO_TEST_CASE(add_a_number) {
  Tensor x = iota({2, 3});
  x.add_(1.5);
  check_values(x, {1.5, 2.5, 3.5, 4.5, 5.5, 6.5});
  x.slice(1, 0, 1).add_(-1);  // through a view; an int converts
  check_values(x, {0.5, 2.5, 3.5, 3.5, 5.5, 6.5});
  Tensor ids = tensor_of<std::int64_t>({1, 2}, {2});
  ids.add_(3.0);
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 5}));
  BOOST_CHECK_EXCEPTION(ids.add_(0.5), ValueError,
                        has_message("add_: value 0.5 is not a whole number, which an int64 tensor cannot use"));
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 5}));
  Tensor w = ones({2}, {.requires_grad = true});
  BOOST_CHECK_EXCEPTION(w.add_(1.0), AutogradError, has_message("add_: in-place update of a leaf that requires grad"));
  check_values(w, {1, 1});
}

BOOST_AUTO_TEST_CASE(add_errors) {
  Tensor x = zeros({2, 3});
  BOOST_CHECK_EXCEPTION(x.add_(ones({2, 3}, {.dtype = kFloat64})), DTypeError,
                        has_message("add_: dtypes differ: tensor float32 vs other float64; convert other with .to(kFloat32)"));
  BOOST_CHECK_EXCEPTION(x.add_(ones({3, 3})), ShapeError,
                        has_message("add_: shapes [3, 3] and [2, 3] cannot be broadcast: dim -2 is 3 vs 2"));
  BOOST_CHECK_EXCEPTION(x.add_(ones({1, 2, 3})), ShapeError,
                        has_message("add_: source of shape [1, 2, 3] does not broadcast to the destination's shape "
                                    "[2, 3]"));
  Tensor mask = zeros({2}, {.dtype = kBool});
  BOOST_CHECK_EXCEPTION(mask.add_(mask), DTypeError, has_message("add_: expected a numeric"));
  check_values(x, {0, 0, 0, 0, 0, 0});
}

BOOST_AUTO_TEST_CASE(mul_scales) {
  Tensor x = iota({2, 3});
  x.mul_(-0.5);
  check_values(x, {0, -0.5, -1, -1.5, -2, -2.5});
  x.mT().select(0, 2).mul_(10.0);  // column 2
  check_values(x, {0, -0.5, -10, -1.5, -2, -25});
  Tensor ids = tensor_of<std::int64_t>({1, -2}, {2});
  ids.mul_(3.0);
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, -6}));
  // A fractional factor would be truncated (0.5 to 0, zeroing the tensor): refused, nothing written.
  BOOST_CHECK_EXCEPTION(ids.mul_(0.5), ValueError, has_message("mul_: factor 0.5 is not a whole number"));
  BOOST_CHECK_EXCEPTION(ids.mul_(NAN), ValueError, has_message("mul_: factor nan is not a whole number"));
  BOOST_CHECK_EXCEPTION(ids.mul_(1e19), ValueError, has_message("mul_: factor 1e+19 does not fit in int64"));
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, -6}));
  Tensor mask = zeros({2}, {.dtype = kBool});
  BOOST_CHECK_EXCEPTION(mask.mul_(2.0), DTypeError, has_message("mul_: expected a numeric"));
}

BOOST_AUTO_TEST_CASE(every_update_bumps_the_storage_version) {
  Tensor x = iota({2, 2});
  const Tensor src = ones({2, 2}, {.dtype = kFloat64});
  std::uint64_t v = version(x);
  x.zero_();
  BOOST_TEST(version(x) == v + 1);
  x.fill_(1.0);
  BOOST_TEST(version(x) == v + 2);
  x.copy_(src);
  BOOST_TEST(version(x) == v + 3);
  x.add_(src);
  BOOST_TEST(version(x) == v + 4);
  x.mul_(2.0);
  BOOST_TEST(version(x) == v + 5);
  x.set({1, 0}, 7.0);
  BOOST_TEST(version(x) == v + 6);
  // A write through a view bumps the one storage the base shares.
  x.mT().select(0, 1).fill_(0.0);
  BOOST_TEST(version(x) == v + 7);
  BOOST_TEST(version(src) == 0);  // the source is only read
}

BOOST_AUTO_TEST_CASE(a_graph_refuses_backward_after_a_saved_tensor_changed) {
  // mul saves both operands. Each in-place op on the saved x, or on a view of it, breaks the graph.
  const std::vector<std::function<void(Tensor&)>> updates = {
      [](Tensor& x) { x.zero_(); },
      [](Tensor& x) { x.fill_(2.0); },
      [](Tensor& x) { x.copy_(ones({2})); },
      [](Tensor& x) { x.add_(ones({2}), 0.5); },
      [](Tensor& x) { x.mul_(3.0); },
      [](Tensor& x) { x.slice(0, 1, 2).fill_(0.0); },
      [](Tensor& x) { x.set({1}, 0.0); },
  };
  for (const auto& update : updates) {
    Tensor w = tensor({1.0, 2.0}, {.requires_grad = true});
    Tensor x = tensor({3.0, 4.0});
    Tensor y = (w * x).sum();
    update(x);
    BOOST_CHECK_EXCEPTION(y.backward(), AutogradError, [](const std::exception& e) {
      const std::string what = e.what();
      BOOST_TEST_INFO(what);
      return what.find("saved by 'mul' (node") != std::string::npos &&
             what.find("was modified in place after it was saved") != std::string::npos;
    });
    BOOST_TEST(!w.grad().defined());  // no gradient half-computed from the new value
  }
  // The same through matmul, updating a weight inside NoGradGuard as an optimiser would, too early.
  Tensor a = ones({2, 2}, {.requires_grad = true});
  Tensor b = ones({2, 2});
  Tensor loss = matmul(a, b).sum();
  {
    NoGradGuard no_grad;
    a.add_(ones({2, 2}), -0.1);
  }
  BOOST_CHECK_EXCEPTION(loss.backward(), AutogradError, has_message("'matmul'"));
  // Updating a tensor the graph did not save is fine.
  Tensor p = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor q = tensor({3.0, 4.0});
  Tensor r = (p + q).sum();  // add saves nothing
  q.fill_(0.0);
  r.backward();
  check_values(p.grad(), {1, 1});
}

BOOST_AUTO_TEST_CASE(tensors_requiring_grad_are_refused_under_grad_mode) {
  Tensor w = tensor({1.0, 2.0}, {.requires_grad = true});
  BOOST_CHECK_EXCEPTION(w.zero_(), AutogradError,
                        has_message("zero_: in-place update of a leaf that requires grad (shape [2]); autograd "
                                    "does not record in-place updates. Wrap the update in a NoGradGuard (as "
                                    "optimisers do), or update a copy: x.detach().clone()"));
  BOOST_CHECK_EXCEPTION(w.fill_(1.0), AutogradError, has_message("fill_: in-place update"));
  BOOST_CHECK_EXCEPTION(w.copy_(ones({2})), AutogradError, has_message("copy_: in-place update"));
  BOOST_CHECK_EXCEPTION(w.add_(ones({2})), AutogradError, has_message("add_: in-place update"));
  BOOST_CHECK_EXCEPTION(w.mul_(2.0), AutogradError, has_message("mul_: in-place update"));
  BOOST_CHECK_EXCEPTION(w.set({0}, 5.0), AutogradError, has_message("set: in-place update of a leaf"));
  // A named parameter is named.
  Tensor named = tensor({1.0}, {.requires_grad = true});
  named.set_name("fc.bias");
  BOOST_CHECK_EXCEPTION(named.set({0}, 5.0), AutogradError,
                        has_message("set: in-place update of leaf 'fc.bias' that requires grad (shape [1])"));
  // A view of it requires grad too, and so does an op's output: part of a graph.
  BOOST_CHECK_EXCEPTION(w.slice(0, 0, 1).fill_(0.0), AutogradError,
                        has_message("fill_: in-place update of the output of 'slice' (shape [1]), which is part of "
                                    "a graph that requires grad"));
  Tensor h = w * 2.0;
  BOOST_CHECK_EXCEPTION(h.mul_(2.0), AutogradError, has_message("mul_: in-place update of the output of 'mul'"));
  BOOST_CHECK_EXCEPTION(h.set({1}, 0.0), AutogradError,
                        has_message("set: in-place update of the output of 'mul' (shape [2]), which is part of a "
                                    "graph that requires grad; autograd does not record in-place updates, so the "
                                    "gradient would be wrong. Compute the new value out of place (where, "
                                    "masked_fill), or update a copy cut from the graph, x.detach().clone(), if no "
                                    "gradient should flow through it"));
  check_values(w, {1, 2});  // nothing was written
  check_values(h, {2, 4});

  // Inside NoGradGuard: allowed, and w stays a leaf that requires grad.
  {
    NoGradGuard no_grad;
    w.mul_(2.0);
    w.add_(ones({2}), -1.0);
    w.slice(0, 1, 2).fill_(10.0);
    w.set({0}, 1.5);
  }
  check_values(w, {1.5, 10});
  BOOST_TEST(w.requires_grad());
  BOOST_TEST(w.is_leaf());
  // Its detached alias carries no grad, so it may be written to, and the write shows in w.
  w.detach().zero_();
  check_values(w, {0, 0});
}

BOOST_AUTO_TEST_CASE(set_cannot_change_a_value_the_graph_used) {
  // The write would make h[0] = 7 while the graph still computes with h[0] = 2: x.grad would come out
  // [6, 6, 6] where the true gradient of the result is [0, 6, 6]. It is refused; nothing is written.
  Tensor x = tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64}).requires_grad_();
  Tensor h = x * 2.0;
  BOOST_CHECK_EXCEPTION(h.set({0}, 7.0), AutogradError, has_message("set: in-place update of the output of 'mul'"));
  (h * 3.0).sum().backward();
  check_values(h, {2, 4, 6});
  check_values(x.grad(), {6, 6, 6});  // d(sum(3 * 2x))/dx, for the h that was computed
}

BOOST_AUTO_TEST_CASE(expanded_views_are_refused) {
  Tensor base = tensor({1.0, 2.0, 3.0});
  Tensor e = base.unsqueeze(0).expand({2, 3});  // each element appears twice
  BOOST_CHECK_EXCEPTION(e.fill_(0.0), ValueError,
                        has_message("fill_: the tensor (shape [2, 3], strides [0, 1]) has several elements sharing "
                                    "one memory location (an expand() view); clone() it first"));
  BOOST_CHECK_EXCEPTION(e.zero_(), ValueError, has_message("zero_: the tensor (shape [2, 3], strides [0, 1])"));
  BOOST_CHECK_EXCEPTION(e.copy_(ones({2, 3})), ValueError, has_message("copy_: the tensor"));
  BOOST_CHECK_EXCEPTION(e.add_(ones({3})), ValueError, has_message("add_: the tensor"));
  BOOST_CHECK_EXCEPTION(e.mul_(2.0), ValueError, has_message("mul_: the tensor"));
  BOOST_CHECK_EXCEPTION(e.set({1, 0}, 9.0), ValueError, has_message("set: the tensor (shape [2, 3], strides [0, 1])"));
  check_values(base, {1, 2, 3});
  // A size-1 dim with stride 0 repeats nothing: fine. So is a clone of the expanded view.
  Tensor s = scalar_tensor(5.0).expand({1, 1});
  s.fill_(6.0);
  BOOST_TEST(s.item() == 6.0);
  Tensor c = e.clone();
  c.fill_(0.0);
  check_values(c, {0, 0, 0, 0, 0, 0});
}

BOOST_AUTO_TEST_SUITE_END()
