// Gradients of the shape ops: finite-difference checks in float64 for every op on several shapes,
// chains of views, views of non-contiguous tensors; hand-computed gradients where a view covers part of
// its base; rank 8 works everywhere and rank 9 is a ShapeError.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

using Inputs = std::vector<Tensor>;

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_ops_grad)

BOOST_AUTO_TEST_CASE(gradcheck_reshape_view_flatten) {
  Generator gen(1);
  check_gradients([](const Inputs& in) { return in[0].reshape({3, -1}); }, {rand64({2, 6}, gen)});
  check_gradients([](const Inputs& in) { return in[0].view({4, 1, 3}); }, {rand64({2, 6}, gen)});
  check_gradients([](const Inputs& in) { return in[0].reshape(Shape{}); }, {rand64({1, 1}, gen)});
  check_gradients([](const Inputs& in) { return in[0].flatten(1); }, {rand64({2, 3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].flatten(); }, {rand64(Shape{}, gen)});
  // Reshape of a transposed tensor (the copy path) and of a strided slice (the view path).
  check_gradients([](const Inputs& in) { return in[0].mT().reshape({-1}); }, {rand64({3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].slice(1, 0, 6, 2).reshape({2, 2, 3}); }, {rand64({4, 6}, gen)});
  check_gradients([](const Inputs& in) { return in[0].mT().flatten(); }, {rand64({2, 3, 4}, gen)});
}

BOOST_AUTO_TEST_CASE(gradcheck_transpose_mT_permute) {
  Generator gen(2);
  check_gradients([](const Inputs& in) { return in[0].transpose(0, 1); }, {rand64({3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].transpose(-1, 0); }, {rand64({2, 3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].mT(); }, {rand64({2, 3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].permute({2, 0, 1}); }, {rand64({2, 3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].permute({1, 3, 0, 2}); }, {rand64({2, 1, 3, 2}, gen)});
  // A permuted tensor used by an op that reads it elementwise: the gradient must come back permuted.
  check_gradients([](const Inputs& in) { return in[0].permute({1, 2, 0}) * in[1]; },
                  {rand64({2, 3, 4}, gen), rand64({3, 4, 2}, gen)});
}

BOOST_AUTO_TEST_CASE(gradcheck_narrow_slice_select) {
  Generator gen(3);
  check_gradients([](const Inputs& in) { return in[0].narrow(1, 1, 2); }, {rand64({3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].narrow(0, -2, 2); }, {rand64({3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].slice(0, 1, 7, 2); }, {rand64({8}, gen)});
  check_gradients([](const Inputs& in) { return in[0].slice(-1, -4, 100, 3); }, {rand64({2, 7}, gen)});
  check_gradients([](const Inputs& in) { return in[0].slice(1, 1, 3); }, {rand64({2, 4, 3}, gen)});
  check_gradients([](const Inputs& in) { return in[0].select(0, 1); }, {rand64({3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].select(-1, -1); }, {rand64({2, 3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].select(0, 0); }, {rand64({1}, gen)});
}

BOOST_AUTO_TEST_CASE(gradcheck_squeeze_unsqueeze_expand) {
  Generator gen(4);
  check_gradients([](const Inputs& in) { return in[0].squeeze(); }, {rand64({1, 3, 1, 2}, gen)});
  check_gradients([](const Inputs& in) { return in[0].squeeze(2); }, {rand64({1, 3, 1, 2}, gen)});
  check_gradients([](const Inputs& in) { return in[0].unsqueeze(-2); }, {rand64({2, 3}, gen)});
  check_gradients([](const Inputs& in) { return in[0].unsqueeze(0); }, {rand64(Shape{}, gen)});
  check_gradients([](const Inputs& in) { return in[0].expand({3, 4}); }, {rand64({3, 1}, gen)});
  check_gradients([](const Inputs& in) { return in[0].expand({2, 3, 4}); }, {rand64({3, 1}, gen)});
  check_gradients([](const Inputs& in) { return in[0].expand({2, -1, 3}); }, {rand64({1, 4, 1}, gen)});
  check_gradients([](const Inputs& in) { return in[0].expand({5}); }, {rand64(Shape{}, gen)});
}

BOOST_AUTO_TEST_CASE(gradcheck_cat_stack) {
  Generator gen(5);
  check_gradients([](const Inputs& in) { return cat({in[0], in[1]}, 0); }, {rand64({2, 3}, gen), rand64({1, 3}, gen)});
  check_gradients([](const Inputs& in) { return cat({in[0], in[1], in[2]}, -1); },
                  {rand64({2, 1}, gen), rand64({2, 3}, gen), rand64({2, 2}, gen)});
  // The same tensor twice gets both slices' gradients; an input without grad is left out.
  check_gradients([](const Inputs& in) { return cat({in[0], in[1], in[0]}, 1); },
                  {rand64({2, 2, 2}, gen), randn({2, 1, 2}, gen, {.dtype = kFloat64})});
  // Non-contiguous inputs.
  check_gradients([](const Inputs& in) { return cat({in[0].mT(), in[1].slice(0, 0, 4, 2)}, 0); },
                  {rand64({3, 2}, gen), rand64({4, 3}, gen)});
  check_gradients([](const Inputs& in) { return stack({in[0], in[1]}, 0); }, {rand64({2, 3}, gen), rand64({2, 3}, gen)});
  check_gradients([](const Inputs& in) { return stack({in[0], in[1], in[0]}, -1); },
                  {rand64({2, 3}, gen), rand64({2, 3}, gen)});
  check_gradients([](const Inputs& in) { return stack({in[0], in[1]}, 0); }, {rand64(Shape{}, gen), rand64(Shape{}, gen)});
}

BOOST_AUTO_TEST_CASE(gradcheck_clone_contiguous_to) {
  Generator gen(6);
  check_gradients([](const Inputs& in) { return in[0].clone(); }, {rand64({2, 3}, gen)});
  check_gradients([](const Inputs& in) { return in[0].mT().clone(); }, {rand64({2, 3}, gen)});
  check_gradients([](const Inputs& in) { return in[0].mT().contiguous(); }, {rand64({2, 3}, gen)});
  check_gradients([](const Inputs& in) { return in[0].contiguous(); }, {rand64({2, 3}, gen)});
  // float64 -> float32 -> float64 loses precision, so only the identity conversion is gradchecked;
  // the float32 round trip is checked with hand values in test_shape_ops_join.cpp.
  check_gradients([](const Inputs& in) { return in[0].to(kFloat64); }, {rand64({2, 3}, gen)});
}

BOOST_AUTO_TEST_CASE(gradcheck_chains_of_views) {
  Generator gen(7);
  // A transpose of a slice of a reshape.
  check_gradients([](const Inputs& in) { return in[0].reshape({4, 6}).slice(1, 1, 6, 2).transpose(0, 1); },
                  {rand64({24}, gen)});
  // Views of a non-contiguous tensor: select of a permute, narrow of an expand, squeeze of a transpose.
  check_gradients([](const Inputs& in) { return in[0].permute({2, 0, 1}).select(1, 1).narrow(0, 1, 2); },
                  {rand64({2, 3, 4}, gen)});
  check_gradients([](const Inputs& in) { return in[0].expand({2, 3, 4}).narrow(2, 1, 2).mT(); },
                  {rand64({3, 1}, gen)});
  check_gradients([](const Inputs& in) { return in[0].transpose(0, 2).squeeze().unsqueeze(0).reshape({-1}); },
                  {rand64({2, 1, 3}, gen)});
  // Overlapping views of one tensor combined: each element gets the sum of its paths.
  check_gradients([](const Inputs& in) { return in[0].slice(0, 0, 4) * in[0].slice(0, 1, 5) + in[0].slice(0, 0, 5, 2).sum(); },
                  {rand64({5}, gen)});
  // A view feeding a reduction and an elementwise op.
  check_gradients([](const Inputs& in) { return (in[0].mT().slice(0, 1, 4, 2) * in[1]).sum({0}); },
                  {rand64({3, 4}, gen), rand64({2, 3}, gen)});
}

BOOST_AUTO_TEST_CASE(gradients_land_on_the_elements_a_view_covers) {
  // d/dx sum(x[1::2]) is 1 where the slice reads, 0 elsewhere.
  Tensor x = zeros({5}, {.dtype = kFloat64, .requires_grad = true});
  x.slice(0, 1, 5, 2).sum().backward();
  check_values(x.grad(), {0, 1, 0, 1, 0});

  // Two overlapping windows: x[0:3] + x[1:4], the middle elements are read twice.
  Tensor y = zeros({4}, {.dtype = kFloat64, .requires_grad = true});
  (y.slice(0, 0, 3) + y.slice(0, 1, 4)).sum().backward();
  check_values(y.grad(), {1, 2, 2, 1});

  // select: only the chosen column; expand: each element gets one per copy it made.
  Tensor z = zeros({2, 3}, {.dtype = kFloat64, .requires_grad = true});
  (z.select(1, 2) * tensor({5.0, 7.0}, {.dtype = kFloat64})).sum().backward();
  check_values(z.grad(), {0, 0, 5, 0, 0, 7});
  Tensor e = zeros({3, 1}, {.dtype = kFloat64, .requires_grad = true});
  e.expand({2, 3, 4}).sum().backward();
  check_values(e.grad(), {8, 8, 8});

  // transpose: the gradient comes back transposed. y = sum(x^T * w) so dx = w^T.
  Tensor t = zeros({2, 3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor w = tensor({1, 2, 3, 4, 5, 6}, {3, 2}, {.dtype = kFloat64});
  (t.mT() * w).sum().backward();
  check_values(t.grad(), {1, 3, 5, 2, 4, 6});

  // cat: each input gets its own slice of the upstream gradient.
  Tensor a = zeros({2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = zeros({1}, {.dtype = kFloat64, .requires_grad = true});
  cat({a, b}, 0).backward(tensor({10.0, 20.0, 30.0}, {.dtype = kFloat64}));
  check_values(a.grad(), {10, 20});
  check_values(b.grad(), {30});

  // cat with promotion: the float32 input gets a float32 gradient.
  Tensor f = zeros({1}, {.requires_grad = true});
  cat({f, a}, 0).backward(tensor({4.0, 1.0, 1.0}, {.dtype = kFloat64}));
  BOOST_TEST((f.grad().dtype() == kFloat32));
  check_values(f.grad(), {4});
}

BOOST_AUTO_TEST_CASE(views_record_their_op_names) {
  Tensor x = ones({2, 3}, {.requires_grad = true});
  BOOST_TEST(x.transpose(0, 1).grad_fn_name() == "transpose");
  BOOST_TEST(x.permute({1, 0}).grad_fn_name() == "permute");
  BOOST_TEST(x.slice(0, 0, 1).grad_fn_name() == "slice");
  BOOST_TEST(x.narrow(0, 0, 1).grad_fn_name() == "slice");
  BOOST_TEST(x.select(0, 0).grad_fn_name() == "select");
  BOOST_TEST(x.reshape({6}).grad_fn_name() == "view");
  BOOST_TEST(x.unsqueeze(0).expand({2, 2, 3}).grad_fn_name() == "expand");
  BOOST_TEST(cat({x, x}, 0).grad_fn_name() == "cat");
  // Under NoGradGuard a view records nothing and does not require grad.
  NoGradGuard no_grad;
  Tensor v = x.transpose(0, 1);
  BOOST_TEST(!v.requires_grad());
  BOOST_TEST(!v.grad_fn());
}

BOOST_AUTO_TEST_CASE(rank_eight_works_everywhere) {
  Generator gen(8);
  const Shape s8{2, 1, 2, 1, 2, 1, 2, 1};
  check_gradients([](const Inputs& in) { return in[0].permute({7, 6, 5, 4, 3, 2, 1, 0}); }, {rand64(s8, gen)});
  check_gradients([](const Inputs& in) { return in[0].transpose(0, 7).slice(6, 0, 2, 2).narrow(2, 1, 1); },
                  {rand64(s8, gen)});
  check_gradients([](const Inputs& in) { return in[0].expand({2, 3, 2, 2, 2, 2, 2, 2}); }, {rand64(s8, gen)});
  check_gradients([](const Inputs& in) { return in[0].squeeze().reshape({2, 1, 1, 2, 1, 1, 2, 2}); }, {rand64(s8, gen)});
  check_gradients([](const Inputs& in) { return in[0].unsqueeze(3); }, {rand64({2, 1, 2, 1, 2, 1, 2}, gen)});
  check_gradients([](const Inputs& in) { return stack({in[0], in[0]}, 7); }, {rand64({2, 1, 2, 1, 2, 1, 2}, gen)});
  check_gradients([](const Inputs& in) { return cat({in[0], in[0]}, 7).select(4, 1); }, {rand64(s8, gen)});
  // Values of a rank-8 permute, by hand: the full reversal reads element [i0..i7] at [i7..i0].
  Tensor x = arange(16.0, {.dtype = kFloat64}).reshape(s8);
  Tensor p = x.permute({7, 6, 5, 4, 3, 2, 1, 0});
  BOOST_TEST((p.shape() == (Shape{1, 2, 1, 2, 1, 2, 1, 2})));
  BOOST_TEST(p.at({0, 1, 0, 0, 0, 1, 0, 1}) == x.at({1, 0, 1, 0, 0, 0, 1, 0}));
  check_values(p.flatten(), {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15});
}

BOOST_AUTO_TEST_CASE(rank_nine_is_a_shape_error) {
  BOOST_CHECK_EXCEPTION((Shape{1, 1, 1, 1, 1, 1, 1, 1, 1}), ShapeError,
                        has_message("shape: rank 9 exceeds the maximum rank 8"));
  Tensor x = zeros({1, 2, 1, 2, 1, 2, 1, 2});
  BOOST_CHECK_EXCEPTION(x.unsqueeze(0), ShapeError,
                        has_message("unsqueeze: the result would have rank 9, more than the maximum 8 (input shape "
                                    "[1, 2, 1, 2, 1, 2, 1, 2])"));
  BOOST_CHECK_EXCEPTION(stack({x, x}, 0), ShapeError,
                        has_message("stack: the result would have rank 9, more than the maximum 8 (input shape "
                                    "[1, 2, 1, 2, 1, 2, 1, 2])"));
  // matmul of a 1-D tensor with a rank-8 one adds no dim to the result.
  Tensor m = ones({1, 1, 1, 1, 1, 1, 3, 2});
  BOOST_TEST((matmul(ones({3}), m).shape() == (Shape{1, 1, 1, 1, 1, 1, 2})));
}

BOOST_AUTO_TEST_SUITE_END()
