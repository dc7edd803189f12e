// Joins and copies, forward: cat, stack, clone, contiguous, to(dtype). Values by hand, dtype promotion,
// fresh storage, errors. Gradients: test_shape_ops_grad.cpp.
#include "support/test.hpp"

#include <cmath>

using namespace attograd;
using namespace attograd::testing;

namespace {

Tensor iota(const Shape& shape, double start = 0.0) {
  return arange(start, start + static_cast<double>(shape.numel()), 1.0, {.dtype = kFloat64}).reshape(shape);
}

bool shares_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_ops_join)

BOOST_AUTO_TEST_CASE(cat_along_each_dim) {
  Tensor a = iota({2, 3});        // 0..5
  Tensor b = iota({1, 3}, 10.0);  // 10, 11, 12
  Tensor rows = cat({a, b}, 0);
  BOOST_TEST((rows.shape() == (Shape{3, 3})));
  check_values(rows, {0, 1, 2, 3, 4, 5, 10, 11, 12});
  BOOST_TEST(!shares_storage(rows, a));

  Tensor c = iota({2, 2}, 20.0);  // 20..23
  Tensor cols = cat({a, c}, 1);
  BOOST_TEST((cols.shape() == (Shape{2, 5})));
  check_values(cols, {0, 1, 2, 20, 21, 3, 4, 5, 22, 23});
  check_values(cat({a, c}, -1), cols.to_vector());

  // Three 3-D tensors along the middle dim.
  Tensor x = iota({2, 1, 2});       // 0..3
  Tensor y = iota({2, 2, 2}, 10.0);  // 10..17
  Tensor z = iota({2, 1, 2}, 20.0);  // 20..23
  Tensor m = cat({x, y, z}, 1);
  BOOST_TEST((m.shape() == (Shape{2, 4, 2})));
  check_values(m, {0, 1, 10, 11, 12, 13, 20, 21, 2, 3, 14, 15, 16, 17, 22, 23});
  // One tensor: a copy.
  Tensor one = cat({a}, 0);
  BOOST_TEST(!shares_storage(one, a));
  check_values(one, a.to_vector());
}

BOOST_AUTO_TEST_CASE(cat_of_views_and_empty_parts) {
  Tensor a = iota({2, 3});
  // a.mT() is [3, 2]: non-contiguous input, read in its own row-major order.
  Tensor t = cat({a.mT(), iota({1, 2}, 9.0)}, 0);
  check_values(t, {0, 3, 1, 4, 2, 5, 9, 10});
  // An expanded input, and a part with no rows.
  Tensor e = cat({iota({1, 3}).expand({2, 3}), zeros({0, 3}, {.dtype = kFloat64}), a.slice(0, 1, 2)}, 0);
  check_values(e, {0, 1, 2, 0, 1, 2, 3, 4, 5});
  BOOST_TEST((cat({zeros({0, 3}), zeros({0, 3})}, 0).shape() == (Shape{0, 3})));
}

BOOST_AUTO_TEST_CASE(cat_promotes_dtypes) {
  Tensor f32 = tensor({1.5, 2.5});
  Tensor f64 = tensor({3.25}, {.dtype = kFloat64});
  Tensor i64 = tensor_of<std::int64_t>({7, -8}, {2});
  Tensor b = tensor_of<bool>({true, false}, {2});

  Tensor c1 = cat({f32, f64}, 0);
  BOOST_TEST((c1.dtype() == kFloat64));
  check_values(c1, {1.5, 2.5, 3.25});
  Tensor c2 = cat({i64, f32}, 0);
  BOOST_TEST((c2.dtype() == kFloat32));
  check_values(c2, {7, -8, 1.5, 2.5});
  Tensor c3 = cat({b, i64}, 0);
  BOOST_TEST((c3.dtype() == kInt64));
  check_values(c3, {1, 0, 7, -8});
  Tensor c4 = cat({b, b}, 0);
  BOOST_TEST((c4.dtype() == kBool));
  check_values(c4, {1, 0, 1, 0});
}

BOOST_AUTO_TEST_CASE(cat_errors_name_the_shapes) {
  Tensor a = iota({2, 3});
  BOOST_CHECK_EXCEPTION(cat({a, iota({2, 4})}, 0), ShapeError,
                        has_message("cat: tensor 1 has shape [2, 4] but tensor 0 has [2, 3]; shapes must match "
                                    "except in dim 0"));
  BOOST_CHECK_EXCEPTION(cat({a, a, iota({3})}, 1), ShapeError,
                        has_message("cat: tensor 2 has shape [3] but tensor 0 has [2, 3]; shapes must match except "
                                    "in dim 1"));
  BOOST_CHECK_EXCEPTION(cat({}, 0), ValueError, has_message("cat: needs at least one tensor"));
  BOOST_CHECK_EXCEPTION(cat({scalar_tensor(1.0), scalar_tensor(2.0)}, 0), ShapeError,
                        has_message("cat: rank-0 tensors cannot be joined; use stack()"));
  BOOST_CHECK_EXCEPTION(cat({a, a}, 2), IndexError,
                        has_message("cat: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"));
}

BOOST_AUTO_TEST_CASE(stack_joins_along_a_new_dim) {
  Tensor a = iota({2, 3});
  Tensor b = iota({2, 3}, 10.0);
  Tensor s0 = stack({a, b}, 0);
  BOOST_TEST((s0.shape() == (Shape{2, 2, 3})));
  check_values(s0, {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15});
  Tensor s1 = stack({a, b}, 1);
  BOOST_TEST((s1.shape() == (Shape{2, 2, 3})));
  check_values(s1, {0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14, 15});
  Tensor s2 = stack({a, b}, -1);
  BOOST_TEST((s2.shape() == (Shape{2, 3, 2})));
  check_values(s2, {0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15});
  BOOST_TEST((stack({a, b}, -3).shape() == s0.shape()));
  // Scalars become a vector; a non-contiguous input is read in its own order.
  Tensor v = stack({scalar_tensor(1.0), scalar_tensor(2.0), scalar_tensor(3.0)}, 0);
  BOOST_TEST((v.shape() == (Shape{3})));
  check_values(v, {1, 2, 3});
  check_values(stack({a.mT(), a.mT()}, 0), {0, 3, 1, 4, 2, 5, 0, 3, 1, 4, 2, 5});
}

BOOST_AUTO_TEST_CASE(stack_errors) {
  Tensor a = iota({2});
  BOOST_CHECK_EXCEPTION(stack({a, iota({3})}, 0), ShapeError,
                        has_message("stack: tensor 1 has shape [3] but tensor 0 has [2]; all must be equal"));
  BOOST_CHECK_EXCEPTION(stack({}, 0), ValueError, has_message("stack: needs at least one tensor"));
  // The message gives the inputs' rank (1) and the dims the result allows (-2..1).
  BOOST_CHECK_EXCEPTION(stack({a, a}, 2), IndexError,
                        has_message("stack: dim 2 is out of range for tensors of rank 1 (expected -2..1)"));
}

BOOST_AUTO_TEST_CASE(clone_copies_into_new_storage) {
  Tensor x = iota({2, 3});
  Tensor c = x.clone();
  BOOST_TEST(!shares_storage(x, c));
  BOOST_TEST((c.dtype() == kFloat64));
  check_values(c, x.to_vector());
  c.set({0, 0}, 100.0);
  BOOST_TEST(x.at({0, 0}) == 0.0);
  // A clone of a view is contiguous and holds the view's values.
  Tensor t = x.mT().clone();
  BOOST_TEST(t.is_contiguous());
  BOOST_TEST((t.shape() == (Shape{3, 2})));
  check_values(t, {0, 3, 1, 4, 2, 5});
  Tensor ids = tensor_of<std::int64_t>({4, 5}, {2}).clone();
  BOOST_TEST((ids.dtype() == kInt64));
  check_values(ids, {4, 5});
  // The clone of a tensor needing grad is recorded; its gradient passes straight through.
  Tensor w = ones({2}, {.requires_grad = true});
  Tensor wc = w.clone();
  BOOST_TEST(wc.grad_fn_name() == "clone");
  (wc * tensor({3.0, 4.0})).sum().backward();
  check_values(w.grad(), {3, 4});
}

BOOST_AUTO_TEST_CASE(contiguous_copies_only_when_needed) {
  Tensor x = iota({2, 3});
  BOOST_TEST(x.contiguous().is_same(x));
  BOOST_TEST(x.slice(0, 1, 2).contiguous().impl()->storage == x.impl()->storage);  // whole rows: already contiguous
  Tensor t = x.mT().contiguous();
  BOOST_TEST(t.is_contiguous());
  BOOST_TEST(!shares_storage(x, t));
  BOOST_TEST((t.strides() == (Strides{2, 1})));
  check_values(t, {0, 3, 1, 4, 2, 5});
  Tensor e = iota({3, 1}).expand({3, 2}).contiguous();
  BOOST_TEST((e.strides() == (Strides{2, 1})));
  check_values(e, {0, 0, 1, 1, 2, 2});
  Tensor w = ones({2, 2}, {.requires_grad = true});
  BOOST_TEST(w.mT().contiguous().grad_fn_name() == "contiguous");
}

BOOST_AUTO_TEST_CASE(to_converts_dtypes) {
  Tensor x = tensor({-3.7, -0.5, 0.0, 0.5, 3.7});
  BOOST_TEST(x.to(kFloat32).is_same(x));
  Tensor d = x.to(kFloat64);
  BOOST_TEST((d.dtype() == kFloat64));
  BOOST_TEST(!shares_storage(x, d));
  check_values(d, {-3.7, -0.5, 0.0, 0.5, 3.7}, 1e-6);
  BOOST_TEST(d.at({0}) == static_cast<double>(-3.7f));  // exactly the float32 value, widened
  // To integers: truncation toward zero, as a C++ cast does.
  Tensor i = x.to(kInt64);
  BOOST_TEST((i.dtype() == kInt64));
  BOOST_TEST((i.to_vector<std::int64_t>() == std::vector<std::int64_t>{-3, 0, 0, 0, 3}));
  // To bool: non-zero is true.
  Tensor b = x.to(kBool);
  BOOST_TEST((b.to_vector<bool>() == std::vector<bool>{true, true, false, true, true}));
  // And back to floating point.
  check_values(i.to(kFloat64), {-3, 0, 0, 0, 3});
  check_values(b.to(kFloat32), {1, 1, 0, 1, 1});
  // Of a view: the result is contiguous, in the view's order.
  Tensor m = tensor({{1.0, 2.0}, {3.0, 4.0}}).mT().to(kFloat64);
  BOOST_TEST(m.is_contiguous());
  check_values(m, {1, 3, 2, 4});
}

BOOST_AUTO_TEST_CASE(to_carries_gradients_between_floating_dtypes_only) {
  Tensor w = tensor({1.0, 2.0}, {.requires_grad = true});  // float32
  Tensor w64 = w.to(kFloat64);
  BOOST_TEST(w64.grad_fn_name() == "to");
  (w64 * tensor({0.25, 0.5}, {.dtype = kFloat64})).sum().backward();
  BOOST_TEST((w.grad().dtype() == kFloat32));  // converted back to the leaf's dtype
  check_values(w.grad(), {0.25, 0.5});
  // Integers carry no gradient: the result is a constant.
  Tensor ids = w.to(kInt64);
  BOOST_TEST(!ids.requires_grad());
  BOOST_TEST(!ids.grad_fn());
}

BOOST_AUTO_TEST_CASE(float_to_int64_out_of_range_is_refused) {
  // Converting inf, NaN or a value beyond +-2^63 to int64 is undefined behaviour in C++: to(kInt64) and
  // copy_ into an int64 tensor refuse such values before writing anything.
  Tensor x = tensor({1.0, INFINITY});
  BOOST_CHECK_EXCEPTION(x.to(kInt64), ValueError, has_message("does not fit in int64"));
  Tensor ids = zeros({2}, {.dtype = kInt64});
  BOOST_CHECK_EXCEPTION(ids.copy_(tensor({NAN, 1e19}, {.dtype = kFloat64})), ValueError,
                        has_message("does not fit in int64"));
}

BOOST_AUTO_TEST_SUITE_END()
