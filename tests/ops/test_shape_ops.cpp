// Views, forward: reshape, view, flatten, transpose, mT, permute, squeeze, unsqueeze, expand. Values by
// hand, which results share their base's storage, strides, and the errors. narrow, slice and select are
// in test_shape_ops_index.cpp, cat/stack/clone/contiguous/to in test_shape_ops_join.cpp, gradients in
// test_shape_ops_grad.cpp.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// 0, 1, 2, ... in the given shape, float64.
Tensor iota(const Shape& shape) { return arange(static_cast<double>(shape.numel()), {.dtype = kFloat64}).reshape(shape); }

bool shares_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_ops)

BOOST_AUTO_TEST_CASE(reshape_of_a_contiguous_tensor_is_a_view) {
  Tensor x = iota({6});
  Tensor y = x.reshape({2, 3});
  BOOST_TEST((y.shape() == (Shape{2, 3})));
  BOOST_TEST((y.strides() == (Strides{3, 1})));
  BOOST_TEST(shares_storage(x, y));
  BOOST_TEST(y.is_contiguous());
  BOOST_TEST(y.at({1, 0}) == 3.0);
  BOOST_TEST(y.at({1, 2}) == 5.0);
  // Writing through the view is visible in the base, and the other way round.
  y.set({1, 2}, 50.0);
  BOOST_TEST(x.at({5}) == 50.0);
  x.set({0}, -1.0);
  BOOST_TEST(y.at({0, 0}) == -1.0);
}

BOOST_AUTO_TEST_CASE(reshape_infers_one_minus_one) {
  Tensor x = iota({2, 3, 4});
  BOOST_TEST((x.reshape({-1}).shape() == (Shape{24})));
  BOOST_TEST((x.reshape({4, -1}).shape() == (Shape{4, 6})));
  BOOST_TEST((x.reshape({-1, 2, 3}).shape() == (Shape{4, 2, 3})));
  BOOST_TEST((x.reshape({2, -1, 1}).shape() == (Shape{2, 12, 1})));
  check_values(x.reshape({4, -1}), x.to_vector());
  // -1 also works for a tensor with no elements, as long as the other sizes are not 0.
  BOOST_TEST((zeros({0, 3}).reshape({-1}).shape() == (Shape{0})));
  BOOST_TEST((zeros({0, 3}).reshape({3, -1}).shape() == (Shape{3, 0})));
  // Rank 0 to rank 1 and back.
  Tensor s = scalar_tensor(7.0);
  BOOST_TEST(s.reshape({1, 1}).at({0, 0}) == 7.0);
  BOOST_TEST((s.reshape({1}).reshape(Shape{}).dim() == 0));
}

BOOST_AUTO_TEST_CASE(reshape_copies_when_the_strides_forbid_a_view) {
  Tensor x = iota({2, 3});
  Tensor t = x.mT();  // [3, 2], strides [1, 3]
  Tensor r = t.reshape({6});
  BOOST_TEST(!shares_storage(x, r));
  BOOST_TEST(r.is_contiguous());
  check_values(r, {0, 3, 1, 4, 2, 5});  // t's row-major order
  r.set({0}, 100.0);
  BOOST_TEST(x.at({0, 0}) == 0.0);  // a copy: the base is untouched
}

BOOST_AUTO_TEST_CASE(reshape_of_a_non_contiguous_tensor_is_a_view_when_possible) {
  // Every second column of a [4, 6] tensor: [4, 3] with strides [6, 2]. Its rows are evenly spaced,
  // so splitting or merging them needs no copy; splitting the columns does not either.
  Tensor base = iota({4, 6});
  Tensor s = base.slice(1, 0, 6, 2);
  BOOST_TEST((s.strides() == (Strides{6, 2})));
  BOOST_TEST(!s.is_contiguous());

  Tensor merged = s.reshape({12});
  BOOST_TEST(shares_storage(base, merged));
  BOOST_TEST((merged.strides() == (Strides{2})));
  check_values(merged, {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22});

  Tensor split = s.reshape({2, 2, 3});
  BOOST_TEST(shares_storage(base, split));
  BOOST_TEST((split.strides() == (Strides{12, 6, 2})));
  check_values(split, s.to_vector());

  Tensor with_ones = s.reshape({1, 4, 1, 3, 1});
  BOOST_TEST(shares_storage(base, with_ones));
  check_values(with_ones, s.to_vector());

  // Writing through the reshaped view reaches the right element of the base: merged[5] is s[1, 2],
  // which is base[1, 4].
  merged.set({5}, -7.0);
  BOOST_TEST(base.at({1, 4}) == -7.0);

  // A transposed tensor with a size-1 dim added or removed stays a view.
  Tensor t = iota({2, 3}).mT();
  Tensor t3 = t.reshape({3, 1, 2});
  BOOST_TEST(shares_storage(t, t3));
  BOOST_TEST((t3.strides()[0] == 1));
  BOOST_TEST((t3.strides()[2] == 3));
  check_values(t3, t.to_vector());
}

BOOST_AUTO_TEST_CASE(reshape_matches_a_copy_for_many_views) {
  // Whatever path reshape takes (view or copy), the values must be the view's in row-major order.
  Tensor base = iota({4, 6, 2});
  const std::vector<Tensor> views = {base.permute({2, 0, 1}), base.slice(1, 1, 5, 2), base.transpose(0, 1),
                                     base.select(2, 1), base.slice(0, 0, 4, 2).transpose(1, 2),
                                     base.slice(2, 0, 1).expand({4, 6, 3})};
  for (const Tensor& v : views) {
    const std::vector<double> expected = v.to_vector();
    check_values(v.reshape({-1}), expected);
    check_values(v.reshape({v.shape()[0], -1}), expected);
    check_values(v.reshape({-1, v.shape()[-1]}), expected);
    check_values(v.flatten(), expected);
  }
}

BOOST_AUTO_TEST_CASE(reshape_errors_name_the_shapes) {
  Tensor x = iota({2, 3});
  BOOST_CHECK_EXCEPTION(x.reshape({4, -1}), ShapeError,
                        has_message("reshape: shape [4, -1] is invalid for input of shape [2, 3] (6 elements)"));
  BOOST_CHECK_EXCEPTION(x.reshape({5}), ShapeError,
                        has_message("reshape: shape [5] is invalid for input of shape [2, 3] (6 elements)"));
  BOOST_CHECK_EXCEPTION(x.reshape({-1, -1}), ShapeError, has_message("reshape: only one dim can be -1, got [-1, -1]"));
  BOOST_CHECK_EXCEPTION(x.reshape({-2, -3}), ShapeError, has_message("reshape: invalid size -2 in shape [-2, -3]"));
  // Sizes whose product does not fit in int64 are refused, not wrapped around.
  constexpr std::int64_t big = std::int64_t{1} << 62;
  BOOST_CHECK_EXCEPTION(x.reshape({big, 4}), ShapeError,
                        has_message("reshape: the sizes in shape [4611686018427387904, 4] multiply past the int64 range"));
  BOOST_CHECK_EXCEPTION(x.reshape({-1, big, 8}), ShapeError, has_message("multiply past the int64 range"));
  BOOST_CHECK_EXCEPTION(x.view({big, big, 0}), ShapeError, has_message("view: the sizes in shape"));
  // With no elements, -1 could be anything.
  BOOST_CHECK_EXCEPTION(zeros({0, 3}).reshape({0, -1}), ShapeError,
                        has_message("reshape: shape [0, -1] is invalid for input of shape [0, 3] (0 elements)"));
}

BOOST_AUTO_TEST_CASE(view_works_when_strides_allow_and_suggests_reshape_otherwise) {
  Tensor x = iota({2, 3});
  Tensor v = x.view({3, 2});
  BOOST_TEST(shares_storage(x, v));
  check_values(v, {0, 1, 2, 3, 4, 5});
  BOOST_TEST((x.view({-1}).shape() == (Shape{6})));

  BOOST_CHECK_EXCEPTION(x.mT().view({6}), ShapeError,
                        has_message("view: a tensor of shape [3, 2] with strides [1, 3] cannot be viewed as [6] "
                                    "without a copy; use reshape()"));
  // The -1 is resolved before the message is written.
  BOOST_CHECK_EXCEPTION(x.mT().view({-1}), ShapeError, has_message("cannot be viewed as [6]"));
  BOOST_CHECK_EXCEPTION(x.view({4}), ShapeError, has_message("view: shape [4] is invalid for input of shape [2, 3]"));
  // An expanded tensor can be viewed only where its repeated dims stay whole.
  Tensor e = iota({3, 1}).expand({3, 4});
  Tensor ev = e.view({3, 2, 2});
  BOOST_TEST((ev.strides() == (Strides{1, 0, 0})));
  check_values(ev, e.to_vector());
  BOOST_CHECK_EXCEPTION(e.view({12}), ShapeError, has_message("use reshape()"));
}

BOOST_AUTO_TEST_CASE(flatten_merges_a_range_of_dims) {
  Tensor x = iota({2, 3, 4});
  BOOST_TEST((x.flatten().shape() == (Shape{24})));
  BOOST_TEST((x.flatten(1).shape() == (Shape{2, 12})));
  BOOST_TEST((x.flatten(0, 1).shape() == (Shape{6, 4})));
  BOOST_TEST((x.flatten(-2, -1).shape() == (Shape{2, 12})));
  BOOST_TEST((x.flatten(1, 1).shape() == (Shape{2, 3, 4})));
  BOOST_TEST(shares_storage(x, x.flatten(1)));
  check_values(x.flatten(0, 1), x.to_vector());
  BOOST_TEST((scalar_tensor(3.0).flatten().shape() == (Shape{1})));
  // Of a transposed tensor: a copy, in the transposed order.
  check_values(iota({2, 3}).mT().flatten(), {0, 3, 1, 4, 2, 5});
  BOOST_CHECK_EXCEPTION(x.flatten(2, 1), IndexError, has_message("flatten: start_dim 2 comes after end_dim 1"));
  BOOST_CHECK_EXCEPTION(x.flatten(3), IndexError,
                        has_message("flatten: dim 3 is out of range for a tensor of rank 3 (expected -3..2)"));
  // A rank-0 tensor accepts dims 0 and -1 only, like every op.
  BOOST_TEST((scalar_tensor(3.0).flatten(-1, 0).shape() == Shape{1}));
  BOOST_CHECK_EXCEPTION(scalar_tensor(3.0).flatten(1), IndexError,
                        has_message("flatten: dim 1 is out of range for a tensor of rank 0 (expected -1..0)"));
}

BOOST_AUTO_TEST_CASE(transpose_swaps_sizes_and_strides) {
  Tensor x = iota({2, 3, 4});
  Tensor t = x.transpose(0, 2);
  BOOST_TEST((t.shape() == (Shape{4, 3, 2})));
  BOOST_TEST((t.strides() == (Strides{1, 4, 12})));
  BOOST_TEST(shares_storage(x, t));
  BOOST_TEST(!t.is_contiguous());
  BOOST_TEST(t.at({3, 1, 0}) == x.at({0, 1, 3}));
  BOOST_TEST(t.at({2, 2, 1}) == 22.0);
  // Negative dims, the same dim twice (identity), and the transpose of a transpose.
  BOOST_TEST((x.transpose(-1, -3).strides() == t.strides()));
  BOOST_TEST((x.transpose(1, 1).strides() == x.strides()));
  check_values(t.transpose(2, 0), x.to_vector());
  BOOST_TEST(t.transpose(2, 0).is_contiguous());
  // Writing through the transpose.
  t.set({3, 0, 1}, -5.0);
  BOOST_TEST(x.at({1, 0, 3}) == -5.0);
  BOOST_CHECK_EXCEPTION(x.transpose(0, 3), IndexError,
                        has_message("transpose: dim 3 is out of range for a tensor of rank 3 (expected -3..2)"));
}

BOOST_AUTO_TEST_CASE(mT_transposes_the_last_two_dims) {
  Tensor x = iota({2, 3, 4});
  Tensor t = x.mT();
  BOOST_TEST((t.shape() == (Shape{2, 4, 3})));
  BOOST_TEST((t.strides() == (Strides{12, 1, 4})));
  BOOST_TEST(t.at({1, 3, 2}) == x.at({1, 2, 3}));
  BOOST_TEST(shares_storage(x, t));
  check_values(iota({2, 2}).mT(), {0, 2, 1, 3});
  BOOST_CHECK_EXCEPTION(iota({3}).mT(), ShapeError, has_message("mT: needs a tensor of rank >= 2, got shape [3]"));
  BOOST_CHECK_EXCEPTION(scalar_tensor(1.0).mT(), ShapeError, has_message("got shape []"));
}

BOOST_AUTO_TEST_CASE(permute_reorders_dims) {
  Tensor x = iota({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});  // p[k, i, j] = x[i, j, k]
  BOOST_TEST((p.shape() == (Shape{4, 2, 3})));
  BOOST_TEST((p.strides() == (Strides{1, 12, 4})));
  BOOST_TEST(shares_storage(x, p));
  for (std::int64_t i = 0; i < 2; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) {
      for (std::int64_t k = 0; k < 4; ++k) BOOST_TEST(p.at({k, i, j}) == x.at({i, j, k}));
    }
  }
  // Negative dims; the inverse permutation gives x back.
  BOOST_TEST((x.permute({-1, 0, -2}).strides() == p.strides()));
  check_values(p.permute({1, 2, 0}), x.to_vector());
  BOOST_TEST(p.permute({1, 2, 0}).is_contiguous());
  BOOST_TEST((scalar_tensor(2.0).permute(Shape{}).item() == 2.0));

  BOOST_CHECK_EXCEPTION(x.permute({0, 1}), ShapeError,
                        has_message("permute: 2 dims given for a tensor of rank 3 (shape [2, 3, 4])"));
  BOOST_CHECK_EXCEPTION(x.permute({0, 1, 2, 0}), ShapeError, has_message("permute: 4 dims given"));
  BOOST_CHECK_EXCEPTION(x.permute({0, 0, 1}), IndexError, has_message("permute: dim 0 appears twice in [0, 0, 1]"));
  BOOST_CHECK_EXCEPTION(x.permute({2, 1, -1}), IndexError, has_message("permute: dim 2 appears twice in [2, 1, -1]"));
  BOOST_CHECK_EXCEPTION(x.permute({0, 1, 3}), IndexError,
                        has_message("permute: dim 3 is out of range for a tensor of rank 3"));
}

BOOST_AUTO_TEST_CASE(squeeze_drops_size_one_dims) {
  Tensor x = iota({1, 3, 1, 2});
  BOOST_TEST((x.squeeze().shape() == (Shape{3, 2})));
  BOOST_TEST((x.squeeze(0).shape() == (Shape{3, 1, 2})));
  BOOST_TEST((x.squeeze(-2).shape() == (Shape{1, 3, 2})));
  BOOST_TEST((x.squeeze(1).shape() == x.shape()));  // size 3: unchanged
  BOOST_TEST(shares_storage(x, x.squeeze()));
  check_values(x.squeeze(), x.to_vector());
  BOOST_TEST(ones({1, 1}).squeeze().dim() == 0);
  BOOST_TEST(scalar_tensor(4.0).squeeze().dim() == 0);
  BOOST_TEST(scalar_tensor(4.0).squeeze(0).dim() == 0);
  // Of a non-contiguous tensor: still a view, with the strides of the dims that remain.
  Tensor t = iota({2, 1, 3}).transpose(0, 2);  // [3, 1, 2], strides [1, 3, 3]
  Tensor s = t.squeeze();
  BOOST_TEST((s.shape() == (Shape{3, 2})));
  BOOST_TEST(shares_storage(t, s));
  BOOST_TEST((s.strides() == (Strides{1, 3})));
  check_values(s, {0, 3, 1, 4, 2, 5});
  BOOST_CHECK_EXCEPTION(x.squeeze(4), IndexError,
                        has_message("squeeze: dim 4 is out of range for a tensor of rank 4 (expected -4..3)"));
}

BOOST_AUTO_TEST_CASE(unsqueeze_inserts_a_size_one_dim) {
  Tensor x = iota({2, 3});
  BOOST_TEST((x.unsqueeze(0).shape() == (Shape{1, 2, 3})));
  BOOST_TEST((x.unsqueeze(1).shape() == (Shape{2, 1, 3})));
  BOOST_TEST((x.unsqueeze(2).shape() == (Shape{2, 3, 1})));
  BOOST_TEST((x.unsqueeze(-1).shape() == (Shape{2, 3, 1})));
  BOOST_TEST((x.unsqueeze(-2).shape() == (Shape{2, 1, 3})));
  BOOST_TEST((x.unsqueeze(-3).shape() == (Shape{1, 2, 3})));
  BOOST_TEST((scalar_tensor(1.0).unsqueeze(0).shape() == (Shape{1})));
  BOOST_TEST((scalar_tensor(1.0).unsqueeze(-1).shape() == (Shape{1})));
  BOOST_TEST(shares_storage(x, x.unsqueeze(1)));
  // Of a transposed tensor: a view that keeps the transposed strides.
  Tensor u = x.mT().unsqueeze(1);
  BOOST_TEST((u.shape() == (Shape{3, 1, 2})));
  BOOST_TEST(shares_storage(x, u));
  BOOST_TEST((u.strides()[0] == 1));
  BOOST_TEST((u.strides()[2] == 3));
  check_values(u, {0, 3, 1, 4, 2, 5});
  // The message gives the input's rank (2) and the dims the result allows (-3..2).
  BOOST_CHECK_EXCEPTION(x.unsqueeze(3), IndexError,
                        has_message("unsqueeze: dim 3 is out of range for a tensor of rank 2 (expected -3..2)"));
  BOOST_CHECK_EXCEPTION(x.unsqueeze(-4), IndexError, has_message("unsqueeze: dim -4 is out of range"));
}

BOOST_AUTO_TEST_CASE(expand_repeats_size_one_dims_with_stride_zero) {
  Tensor x = iota({3, 1});  // [[0], [1], [2]]
  Tensor e = x.expand({3, 4});
  BOOST_TEST((e.shape() == (Shape{3, 4})));
  BOOST_TEST((e.strides() == (Strides{1, 0})));
  BOOST_TEST(shares_storage(x, e));
  BOOST_TEST(!e.is_contiguous());
  check_values(e, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  // New leading dims, and -1 keeping a size.
  Tensor lead = x.expand({2, 3, 4});
  BOOST_TEST((lead.strides() == (Strides{0, 1, 0})));
  check_values(lead, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  BOOST_TEST((x.expand({-1, 2}).shape() == (Shape{3, 2})));
  BOOST_TEST((x.expand({5, -1, -1}).shape() == (Shape{5, 3, 1})));
  BOOST_TEST((x.expand({3, 0}).shape() == (Shape{3, 0})));
  BOOST_TEST(x.expand({3, 1}).is_same(x));
  // A scalar expands to anything; writes to the base show in every copy.
  Tensor s = scalar_tensor(2.0, {.dtype = kFloat64});
  Tensor se = s.expand({2, 2});
  check_values(se, {2, 2, 2, 2});
  s.fill_(9.0);
  check_values(se, {9, 9, 9, 9});
  // Of a non-contiguous tensor: the strides of the kept dims survive.
  Tensor t = iota({1, 3}).mT().expand({3, 2});  // column [0, 1, 2] repeated
  check_values(t, {0, 0, 1, 1, 2, 2});
}

BOOST_AUTO_TEST_CASE(expand_errors_name_the_shapes) {
  Tensor x = iota({3, 1});
  BOOST_CHECK_EXCEPTION(x.expand({4}), ShapeError, has_message("expand: cannot expand shape [3, 1] to fewer dims [4]"));
  BOOST_CHECK_EXCEPTION(x.expand({2, 4}), ShapeError,
                        has_message("expand: shape [3, 1] cannot be expanded to [2, 4]: dim 0 is 3 (only size-1 "
                                    "dims expand)"));
  BOOST_CHECK_EXCEPTION(x.expand({-1, 3, 4}), ShapeError,
                        has_message("expand: -1 is not allowed for the new leading dim 0 in [-1, 3, 4]"));
  // Sizes below -1 are not sizes.
  BOOST_CHECK_EXCEPTION(x.expand({3, -2}), ShapeError, has_message("expand: invalid size -2 in [3, -2]"));
  BOOST_CHECK_EXCEPTION(x.expand({-3, 3, 1}), ShapeError, has_message("expand: invalid size -3 in [-3, 3, 1]"));
}

BOOST_AUTO_TEST_CASE(views_of_views_compose) {
  // A transpose of a slice of a reshape: each step a view of the same storage.
  Tensor base = iota({24});
  Tensor v = base.reshape({4, 6}).slice(1, 1, 6, 2).transpose(0, 1);  // [3, 4]
  BOOST_TEST((v.shape() == (Shape{3, 4})));
  BOOST_TEST(shares_storage(base, v));
  BOOST_TEST(v.offset() == 1);
  BOOST_TEST((v.strides() == (Strides{2, 6})));
  // v[i, j] = base[6 j + 1 + 2 i]
  check_values(v, {1, 7, 13, 19, 3, 9, 15, 21, 5, 11, 17, 23});
  v.set({2, 3}, -1.0);
  BOOST_TEST(base.at({23}) == -1.0);
}

BOOST_AUTO_TEST_SUITE_END()
