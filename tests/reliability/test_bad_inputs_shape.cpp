// Bad-input table for the shape ops (views, reshapes, joins): each invalid call, the exception it must
// throw, and the op and values its message must name.
#include "support/test.hpp"

#include <limits>

#include "reliability/bad_inputs.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr std::int64_t kBig = std::numeric_limits<std::int64_t>::max();

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_inputs_shape)

BOOST_AUTO_TEST_CASE(reshape_view_and_flatten) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("reshape to another element count", [] { reshape(f32({2, 3}), {4, 2}); },
                      {"reshape: shape [4, 2] is invalid for input of shape [2, 3] (6 elements)"}),
      bad<ShapeError>("reshape -1 that does not divide", [] { reshape(f32({2, 3}), {4, -1}); },
                      {"reshape: shape [4, -1] is invalid for input of shape [2, 3]"}),
      bad<ShapeError>("reshape two -1", [] { reshape(f32({2, 3}), {-1, -1}); },
                      {"reshape: only one dim can be -1, got [-1, -1]"}),
      bad<ShapeError>("reshape negative size", [] { reshape(f32({2, 3}), {-2, -3}); },
                      {"reshape: invalid size -2 in shape [-2, -3]"}),
      bad<ShapeError>("reshape sizes that overflow", [] { reshape(f32({2, 3}), {kBig, kBig}); },
                      {"reshape: the sizes in shape [9223372036854775807, 9223372036854775807] multiply past the "
                       "int64 range"}),
      bad<ShapeError>("reshape -1 with a zero dim", [] { reshape(f32({0, 3}), {0, -1}); },
                      {"reshape: shape [0, -1] is invalid for input of shape [0, 3] (0 elements)"}),
      bad<ShapeError>("reshape of nine dims", [] { reshape(f32({1}), Shape{1, 1, 1, 1, 1, 1, 1, 1, 1}); },
                      {"rank 9 exceeds the maximum rank 8"}),
      bad<ShapeError>("view of a transpose", [] { view(f32({2, 3}).transpose(0, 1), {6}); },
                      {"view: a tensor of shape [3, 2] with strides [1, 3] cannot be viewed as [6] without a copy; "
                       "use reshape()"}),
      bad<ShapeError>("view to another element count", [] { f32({6}).view({5}); }, {"view", "[5]", "[6]"}),
      bad<IndexError>("flatten start after end", [] { flatten(f32({2, 3, 4}), 2, 1); },
                      {"flatten: start_dim 2 comes after end_dim 1"}),
      bad<IndexError>("flatten dim out of range", [] { flatten(f32({2, 3}), 0, 2); },
                      {"flatten: dim 2 is out of range for a tensor of rank 2"}),
  }));
}

BOOST_AUTO_TEST_CASE(transpose_permute_and_mT) {
  BOOST_TEST(check_bad_inputs({
      bad<IndexError>("transpose dim out of range", [] { transpose(f32({2, 3}), 0, 2); },
                      {"transpose: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"}),
      bad<IndexError>("transpose negative dim out of range", [] { f32({2, 3}).transpose(-3, 0); },
                      {"transpose: dim -3", "rank 2"}),
      bad<ShapeError>("permute too few dims", [] { permute(f32({2, 3, 4}), {1, 0}); },
                      {"permute: 2 dims given for a tensor of rank 3 (shape [2, 3, 4])"}),
      bad<IndexError>("permute repeated dim", [] { permute(f32({2, 3, 4}), {0, 1, -3}); },
                      {"permute: dim 0 appears twice in [0, 1, -3]"}),
      bad<IndexError>("permute dim out of range", [] { permute(f32({2, 3}), {0, 5}); },
                      {"permute: dim 5 is out of range for a tensor of rank 2"}),
      bad<ShapeError>("mT of a vector", [] { f32({3}).mT(); }, {"mT: needs a tensor of rank >= 2, got shape [3]"}),
  }));
}

BOOST_AUTO_TEST_CASE(narrow_slice_select_squeeze_unsqueeze_expand) {
  BOOST_TEST(check_bad_inputs({
      bad<IndexError>("narrow past the end", [] { narrow(f32({4, 2}), 0, 3, 2); },
                      {"narrow: start 3 and length 2 do not fit in dim 0 of size 4 (shape [4, 2])"}),
      bad<IndexError>("narrow negative length", [] { narrow(f32({4}), 0, 1, -1); }, {"narrow", "length -1"}),
      bad<IndexError>("narrow start too negative", [] { narrow(f32({4}), 0, -5, 1); }, {"narrow", "start -5"}),
      bad<IndexError>("narrow huge start", [] { narrow(f32({4}), 0, kBig, 1); },
                      {"narrow", "start 9223372036854775807"}),
      bad<IndexError>("narrow of a scalar", [] { narrow(f32({}), 0, 0, 1); }, {"narrow: a rank-0 tensor"}),
      bad<IndexError>("narrow dim out of range", [] { narrow(f32({4}), 1, 0, 1); }, {"narrow", "dim 1", "rank 1"}),
      bad<ValueError>("slice step 0", [] { slice(f32({4}), 0, 0, 4, 0); }, {"slice: step must be >= 1, got 0"}),
      bad<ValueError>("slice negative step", [] { f32({4}).slice(0, 3, 0, -1); }, {"slice", "got -1"}),
      bad<IndexError>("slice of a scalar", [] { slice(f32({}), 0, 0, 1); }, {"slice: a rank-0 tensor"}),
      bad<IndexError>("slice dim out of range", [] { slice(f32({4}), 2, 0, 1); }, {"slice", "dim 2", "rank 1"}),
      bad<IndexError>("select index out of range", [] { select(f32({4, 3}), 1, 3); },
                      {"select: index 3 is out of range for dim 1 of size 3 (shape [4, 3])"}),
      bad<IndexError>("select index too negative", [] { f32({4}).select(0, -5); }, {"select", "index -5"}),
      bad<IndexError>("select lowest int64", [] { select(f32({4}), 0, std::numeric_limits<std::int64_t>::min()); },
                      {"select", "index -9223372036854775808"}),
      bad<IndexError>("select in an empty dim", [] { select(f32({0, 2}), 0, 0); }, {"select", "size 0"}),
      bad<IndexError>("select of a scalar", [] { select(f32({}), 0, 0); }, {"select: a rank-0 tensor"}),
      bad<IndexError>("squeeze dim out of range", [] { squeeze(f32({1, 2}), 2); },
                      {"squeeze: dim 2 is out of range for a tensor of rank 2"}),
      bad<IndexError>("unsqueeze dim out of range", [] { unsqueeze(f32({2, 3}), 3); },
                      {"unsqueeze: dim 3 is out of range for a tensor of rank 2 (expected -3..2)"}),
      bad<IndexError>("unsqueeze negative dim out of range", [] { f32({2}).unsqueeze(-3); }, {"unsqueeze", "dim -3"}),
      bad<ShapeError>("unsqueeze past the maximum rank", [] { unsqueeze(f32({1, 1, 1, 1, 1, 1, 1, 2}), 0); },
                      {"unsqueeze: the result would have rank 9, more than the maximum 8"}),
      bad<ShapeError>("expand a size that is not 1", [] { expand(f32({2, 3}), {2, 4}); },
                      {"expand: shape [2, 3] cannot be expanded to [2, 4]: dim 1 is 3"}),
      bad<ShapeError>("expand to fewer dims", [] { expand(f32({2, 3}), {3}); },
                      {"expand: cannot expand shape [2, 3] to fewer dims [3]"}),
      bad<ShapeError>("expand with -2", [] { expand(f32({1}), {-2}); }, {"expand: invalid size -2 in [-2]"}),
      bad<ShapeError>("expand -1 for a new leading dim", [] { f32({3}).expand({-1, 3}); },
                      {"expand: -1 is not allowed for the new leading dim 0 in [-1, 3]"}),
  }));
}

BOOST_AUTO_TEST_CASE(cat_and_stack) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("cat of nothing", [] { cat({}, 0); }, {"cat: needs at least one tensor"}),
      bad<ShapeError>("cat of scalars", [] { cat({f32({}), f32({})}, 0); }, {"cat: rank-0 tensors cannot be joined"}),
      bad<ShapeError>("cat other size off the dim", [] { cat({f32({2, 3}), f32({2, 4})}, 0); },
                      {"cat: tensor 1 has shape [2, 4] but tensor 0 has [2, 3]; shapes must match except in dim 0"}),
      bad<ShapeError>("cat other rank", [] { cat({f32({2, 3}), f32({3})}, 1); }, {"cat: tensor 1 has shape [3]"}),
      bad<IndexError>("cat dim out of range", [] { cat({f32({2}), f32({2})}, 1); },
                      {"cat: dim 1 is out of range for a tensor of rank 1"}),
      bad<ValueError>("stack of nothing", [] { stack({}, 0); }, {"stack: needs at least one tensor"}),
      bad<ShapeError>("stack other shapes", [] { stack({f32({2}), f32({3})}, 0); },
                      {"stack: tensor 1 has shape [3] but tensor 0 has [2]; all must be equal"}),
      bad<IndexError>("stack dim out of range", [] { stack({f32({2}), f32({2})}, 2); },
                      {"stack: dim 2 is out of range for tensors of rank 1 (expected -2..1)"}),
      bad<ShapeError>("stack past the maximum rank", [] { stack({f32({1, 1, 1, 1, 1, 1, 1, 1})}, 0); },
                      {"stack: the result would have rank 9"}),
      // An undefined tensor is refused by the op that got it, by name (require_defined).
      bad<ValueError>("cat with an undefined tensor", [] { cat({f32({2}), kUndefined}, 0); },
                      {"cat", "tensor 1", "undefined"}),
      bad<ValueError>("reshape of undefined", [] { reshape(kUndefined, {2}); }, {"reshape", "undefined"}),
      bad<ValueError>("clone of undefined", [] { clone(kUndefined); }, {"clone", "undefined"}),
      bad<ValueError>("contiguous of undefined", [] { contiguous(kUndefined); }, {"contiguous", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(conversions) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("to int64 from NaN", [] { to(full({2}, std::nan("")), kInt64); },
                      {"conversion to int64: nan does not fit in int64"}),
      bad<ValueError>("to int64 from 1e30", [] { full({2}, 1e30, {.dtype = kFloat64}).to(kInt64); },
                      {"int64", "1e+30"}),
      bad<ValueError>("copy_ of -inf into int64",
                      [] { i64({2}).copy_(full({2}, -std::numeric_limits<double>::infinity())); },
                      {"int64", "-inf"}),
  }));
}

BOOST_AUTO_TEST_SUITE_END()
