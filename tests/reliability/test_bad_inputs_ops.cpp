// Bad-input table for the ops that combine several tensors: matmul, linear, linear_relu and
// linear_add, embedding and index_select, the losses, layer_norm, attention and dropout. A mix of
// float32 and float64 is refused by each of them (docs/conventions.md, "Dtypes"). Each invalid call,
// the exception it must throw, and the op and values its message must name.
#include "support/test.hpp"

#include <cmath>
#include <limits>

#include "reliability/bad_inputs.hpp"

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(bad_inputs_ops)

BOOST_AUTO_TEST_CASE(matmul_and_linear) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("matmul inner dims differ", [] { matmul(f32({2, 3}), f32({4, 5})); },
                      {"matmul: inner dimensions differ: lhs [2, 3] vs rhs [4, 5]"}),
      bad<ShapeError>("matmul vector by vector of other length", [] { matmul(f32({3}), f32({4})); },
                      {"matmul: inner dimensions differ: lhs [3] vs rhs [4]"}),
      bad<ShapeError>("matmul matrix by vector", [] { matmul(f32({2, 3}), f32({2})); }, {"matmul", "[2, 3]", "[2]"}),
      bad<ShapeError>("matmul batch mismatch", [] { matmul(f32({2, 2, 3}), f32({3, 3, 4})); },
                      {"matmul: batch dims [2] and [3] cannot be broadcast: lhs [2, 2, 3] vs rhs [3, 3, 4]"}),
      bad<ShapeError>("matmul of a scalar", [] { matmul(f32({}), f32({3})); },
                      {"matmul: both operands need at least 1 dim, got lhs [] and rhs [3]"}),
      bad<ShapeError>("matmul zero inner vs nonzero", [] { matmul(f32({2, 0}), f32({3, 2})); },
                      {"matmul", "[2, 0]", "[3, 2]"}),
      bad<DTypeError>("matmul float32 with float64", [] { matmul(f32({2, 2}), f64({2, 2})); },
                      {"matmul: expected floating-point tensors of one dtype, got lhs float32 and rhs float64",
                       "convert rhs with .to(kFloat32), or lhs with .to(kFloat64)"}),
      bad<DTypeError>("matmul of int64", [] { matmul(i64({2, 2}), i64({2, 2})); }, {"matmul", "int64"}),
      bad<ShapeError>("linear weight of rank 1", [] { linear(f32({2, 3}), f32({3})); },
                      {"linear: weight must be 2-D [out, in], got shape [3]"}),
      bad<ShapeError>("linear features differ", [] { linear(f32({2, 3}), f32({5, 4})); },
                      {"linear: input [2, 3] has 3 features but weight [5, 4] expects 4"}),
      bad<ShapeError>("linear of a scalar input", [] { linear(f32({}), f32({5, 4})); }, {"linear", "[]", "[5, 4]"}),
      bad<ShapeError>("linear bias of the wrong size", [] { linear(f32({2, 4}), f32({5, 4}), f32({4})); },
                      {"linear: bias must have shape [5] to match weight [5, 4], got [4]"}),
      bad<ShapeError>("linear bias of rank 2", [] { linear(f32({2, 4}), f32({5, 4}), f32({1, 5})); },
                      {"linear", "[5]", "[1, 5]"}),
      bad<DTypeError>("linear float64 input, float32 weight", [] { linear(f64({2, 4}), f32({5, 4})); },
                      {"linear: expected floating-point tensors of one dtype, got input float64 and weight float32",
                       "convert the model with model.to(kFloat64) or the input with x.to(kFloat32)"}),
      bad<DTypeError>("linear int64 input", [] { linear(i64({2, 4}), f32({5, 4})); }, {"linear", "int64"}),
      bad<DTypeError>("linear float64 bias", [] { linear(f32({2, 4}), f32({5, 4}), f64({5})); },
                      {"linear", "weight float32 and bias float64", "the parameters differ", "model.to(kFloat32)"}),
      // An undefined tensor is refused by the op that got it, by name (require_defined).
      bad<ValueError>("matmul of undefined", [] { matmul(kUndefined, f32({2, 2})); }, {"matmul", "undefined"}),
      bad<ValueError>("linear with undefined weight", [] { linear(f32({2, 2}), kUndefined); }, {"linear", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(linear_relu_op) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("linear_relu weight of rank 1", [] { linear_relu(f32({2, 3}), f32({3})); },
                      {"linear_relu: weight must be 2-D [out, in], got shape [3]"}),
      bad<ShapeError>("linear_relu features differ", [] { linear_relu(f32({2, 3}), f32({5, 4})); },
                      {"linear_relu: input [2, 3] has 3 features but weight [5, 4] expects 4"}),
      bad<ShapeError>("linear_relu of a scalar input", [] { linear_relu(f32({}), f32({5, 4})); },
                      {"linear_relu", "[]", "[5, 4]"}),
      bad<ShapeError>("linear_relu bias of the wrong size", [] { linear_relu(f32({2, 4}), f32({5, 4}), f32({4})); },
                      {"linear_relu: bias must have shape [5] to match weight [5, 4], got [4]"}),
      bad<DTypeError>("linear_relu float64 input, float32 weight and bias",
                      [] { linear_relu(f64({2, 4}), f32({5, 4}), f32({5})); },
                      {"linear_relu: expected floating-point tensors of one dtype, got input float64, weight float32 "
                       "and bias float32",
                       "model.to(kFloat64)", "x.to(kFloat32)"}),
      bad<DTypeError>("linear_relu float32 input, float64 weight", [] { linear_relu(f32({2, 4}), f64({5, 4})); },
                      {"linear_relu", "input float32 and weight float64", "model.to(kFloat32)", "x.to(kFloat64)"}),
      bad<DTypeError>("linear_relu int64 input", [] { linear_relu(i64({2, 4}), f32({5, 4})); },
                      {"linear_relu", "input int64", "convert input with .to(kFloat32)"}),
      bad<ValueError>("linear_relu of undefined", [] { linear_relu(kUndefined, f32({5, 4})); },
                      {"linear_relu", "undefined"}),
      bad<ValueError>("linear_relu with undefined weight", [] { linear_relu(f32({2, 4}), kUndefined); },
                      {"linear_relu", "weight", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(linear_add_op) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("linear_add residual of another shape",
                      [] { linear_add(f32({2, 4}), f32({5, 4}), {}, f32({2, 4})); },
                      {"linear_add: residual [2, 4] must have the output's shape [2, 5]", "not broadcast"}),
      bad<ShapeError>("linear_add residual that would broadcast",
                      [] { linear_add(f32({2, 4}), f32({5, 4}), {}, f32({5})); },
                      {"linear_add", "[5]", "[2, 5]", "not broadcast"}),
      bad<DTypeError>("linear_add float64 residual", [] { linear_add(f32({2, 4}), f32({5, 4}), {}, f64({2, 5})); },
                      {"linear_add", "input float32 and residual float64"}),
      bad<ShapeError>("linear_add features differ", [] { linear_add(f32({2, 3}), f32({5, 4}), {}, f32({2, 5})); },
                      {"linear_add: input [2, 3] has 3 features but weight [5, 4] expects 4"}),
      bad<ValueError>("linear_add of undefined residual",
                      [] { linear_add(f32({2, 4}), f32({5, 4}), {}, kUndefined); },
                      {"linear_add", "residual", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(embedding_and_index_select) {
  BOOST_TEST(check_bad_inputs({
      bad<IndexError>("embedding id too large", [] { embedding(f32({5, 3}), ids({0, 5}, {2})); },
                      {"embedding: id 5 at position [1] is out of range for a vocabulary of 5 (expected 0..4)"}),
      bad<IndexError>("embedding negative id", [] { embedding(f32({5, 3}), ids({1, 2, 3, -1}, {2, 2})); },
                      {"embedding: id -1 at position [1, 1]", "vocabulary of 5"}),
      bad<IndexError>("embedding id huge",
                      [] { embedding(f32({5, 3}), ids({std::numeric_limits<std::int64_t>::max()}, {1})); },
                      {"embedding", "9223372036854775807", "vocabulary of 5"}),
      bad<IndexError>("embedding into an empty table", [] { embedding(f32({0, 3}), ids({0}, {1})); },
                      {"embedding: id 0", "vocabulary of 0", "the table is empty"}),
      bad<DTypeError>("embedding float ids", [] { embedding(f32({5, 3}), f32({2})); },
                      {"embedding: ids must be int64, got float32"}),
      bad<DTypeError>("embedding int64 table", [] { embedding(i64({5, 3}), ids({0}, {1})); },
                      {"embedding: the weight must be a floating-point tensor, got int64"}),
      bad<ShapeError>("embedding table of rank 1", [] { embedding(f32({5}), ids({0}, {1})); },
                      {"embedding", "rank 2", "[5]"}),
      bad<IndexError>("index_select index too large", [] { index_select(f32({4, 2}), 0, ids({1, 4}, {2})); },
                      {"index_select: index 4 at position 1 is out of range for dim 0 of size 4"}),
      bad<IndexError>("index_select index too negative", [] { index_select(f32({4, 2}), 1, ids({-3}, {1})); },
                      {"index_select: index -3", "dim 1 of size 2"}),
      bad<IndexError>("index_select dim out of range", [] { index_select(f32({4, 2}), 2, ids({0}, {1})); },
                      {"index_select", "dim 2", "rank 2"}),
      bad<DTypeError>("index_select float index", [] { index_select(f32({4, 2}), 0, f32({1})); },
                      {"index_select: the index must be a 1-D int64 tensor, got float32 of shape [1]"}),
      bad<DTypeError>("index_select 2-D index", [] { index_select(f32({4, 2}), 0, i64({1, 1})); },
                      {"index_select", "int64 of shape [1, 1]"}),
      bad<ShapeError>("index_select of a scalar", [] { index_select(f32({}), 0, ids({0}, {1})); },
                      {"index_select: a rank-0 tensor has no dim"}),
      // An undefined tensor is refused by the op that got it, by name (require_defined).
      bad<ValueError>("embedding of undefined ids", [] { embedding(f32({5, 3}), kUndefined); },
                      {"embedding", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(losses) {
  BOOST_TEST(check_bad_inputs({
      bad<IndexError>("cross_entropy target too large", [] { cross_entropy(f32({2, 3}), ids({0, 3}, {2})); },
                      {"cross_entropy: target 3 at position [1] is out of range for 3 classes (expected 0..2, or "
                       "ignore_index -100)"}),
      bad<IndexError>("cross_entropy negative target",
                      [] { cross_entropy(f32({2, 2, 3}), ids({0, 1, -1, 2}, {2, 2})); },
                      {"cross_entropy: target -1 at position [1, 0]", "3 classes"}),
      bad<ShapeError>("cross_entropy targets of the wrong shape",
                      [] { cross_entropy(f32({2, 3}), ids({0, 1, 2}, {3})); },
                      {"cross_entropy: targets of shape [3] do not fit logits of shape [2, 3]",
                       "expected targets of shape [2]"}),
      bad<ShapeError>("cross_entropy targets shaped like logits", [] { cross_entropy(f32({2, 3}), i64({2, 3})); },
                      {"cross_entropy", "[2, 3]", "expected targets of shape [2]"}),
      bad<DTypeError>("cross_entropy float targets", [] { cross_entropy(f32({2, 3}), f32({2})); },
                      {"cross_entropy: targets must be int64 class indices, got float32"}),
      bad<DTypeError>("cross_entropy int64 logits", [] { cross_entropy(i64({2, 3}), ids({0, 1}, {2})); },
                      {"cross_entropy", "int64"}),
      bad<ShapeError>("cross_entropy scalar logits", [] { cross_entropy(f32({}), ids({0}, {})); },
                      {"cross_entropy", "rank-0"}),
      bad<IndexError>("cross_entropy with zero classes", [] { cross_entropy(f32({2, 0}), ids({0, 0}, {2})); },
                      {"cross_entropy: target 0 at position [0] is out of range for 0 classes"}),
      bad<IndexError>("nll_loss target too large", [] { nll_loss(f32({1, 4}), ids({7}, {1})); },
                      {"nll_loss: target 7", "4 classes"}),
      bad<ShapeError>("nll_loss targets of the wrong shape", [] { nll_loss(f32({4}), ids({0}, {1})); },
                      {"nll_loss", "[1]", "[4]"}),
      bad<ShapeError>("mse_loss [N] vs [N, 1]", [] { mse_loss(f32({3}), f32({3, 1})); },
                      {"mse_loss: input [3] and target [3, 1] must have the same shape"}),
      bad<DTypeError>("mse_loss int64 target", [] { mse_loss(f32({3}), i64({3})); },
                      {"mse_loss: expected floating-point tensors of one dtype, got input float32 and target int64"}),
      bad<DTypeError>("mse_loss float32 with a float64 target", [] { mse_loss(f32({3}), f64({3})); },
                      {"mse_loss: expected floating-point tensors of one dtype, got input float32 and target float64",
                       "convert target with .to(kFloat32)"}),
      bad<DTypeError>("mse_loss float64 with float32, no reduction",
                      [] { mse_loss(f64({3}), f32({3}), Reduction::None); },
                      {"mse_loss", "input float64 and target float32"}),
      bad<ShapeError>("bce shape mismatch", [] { binary_cross_entropy_with_logits(f32({3}), f32({2})); },
                      {"binary_cross_entropy_with_logits: logits [3] and targets [2]"}),
      bad<DTypeError>("bce float32 with float64", [] { binary_cross_entropy_with_logits(f32({3}), f64({3})); },
                      {"binary_cross_entropy_with_logits: expected floating-point tensors of one dtype, got logits "
                       "float32 and targets float64",
                       "convert targets with .to(kFloat32)"}),
      bad<DTypeError>("bce int64 targets", [] { binary_cross_entropy_with_logits(f32({3}), i64({3})); },
                      {"binary_cross_entropy_with_logits", "int64"}),
      // An undefined tensor is refused by the op that got it, by name (require_defined).
      bad<ValueError>("cross_entropy undefined targets", [] { cross_entropy(f32({2, 3}), kUndefined); },
                      {"cross_entropy", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(layer_norm_op) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("layer_norm last dim differs", [] { layer_norm(f32({2, 3}), {4}); },
                      {"layer_norm: normalized_shape [4] expects an input of shape", "got [2, 3]"}),
      bad<ShapeError>("layer_norm more dims than the input", [] { layer_norm(f32({3}), {2, 3}); },
                      {"layer_norm", "[2, 3]", "got [3]"}),
      bad<ShapeError>("layer_norm empty normalized_shape", [] { layer_norm(f32({2, 3}), Shape{}); },
                      {"layer_norm: normalized_shape must name at least one dim, got []"}),
      bad<ShapeError>("layer_norm weight of the wrong shape", [] { layer_norm(f32({2, 3}), {3}, f32({2})); },
                      {"layer_norm: weight has shape [2] but normalized_shape is [3]"}),
      bad<ShapeError>("layer_norm bias of the wrong shape", [] { layer_norm(f32({2, 3}), {3}, {}, f32({3, 1})); },
                      {"layer_norm: bias has shape [3, 1] but normalized_shape is [3]"}),
      bad<DTypeError>("layer_norm int64 input", [] { layer_norm(i64({2, 3}), {3}); },
                      {"layer_norm: expected a floating-point input, got int64"}),
      bad<DTypeError>("layer_norm int64 weight", [] { layer_norm(f32({2, 3}), {3}, i64({3})); },
                      {"layer_norm: expected floating-point tensors of one dtype, got input float32 and weight int64"}),
      bad<DTypeError>("layer_norm float64 input, float32 weight and bias",
                      [] { layer_norm(f64({2, 3}), {3}, f32({3}), f32({3})); },
                      {"layer_norm: expected floating-point tensors of one dtype, got input float64, weight float32 "
                       "and bias float32",
                       "convert the model with model.to(kFloat64) or the input with x.to(kFloat32)"}),
      bad<DTypeError>("layer_norm float32 input, float64 bias", [] { layer_norm(f32({2, 3}), {3}, {}, f64({3})); },
                      {"layer_norm", "input float32 and bias float64"}),
      bad<ValueError>("layer_norm negative eps", [] { layer_norm(f32({2, 3}), {3}, {}, {}, -1e-5); },
                      {"layer_norm: eps must be finite and >= 0, got -1e-05"}),
      bad<ValueError>("layer_norm NaN eps", [] { layer_norm(f32({2, 3}), {3}, {}, {}, std::nan("")); },
                      {"layer_norm: eps", "nan"}),
      bad<ValueError>("layer_norm infinite eps", [] { layer_norm(f32({2, 3}), {3}, {}, {}, kInf); },
                      {"layer_norm: eps", "inf"}),
  }));
}

BOOST_AUTO_TEST_CASE(attention) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("sdpa q and k of rank 1", [] { scaled_dot_product_attention(f32({4}), f32({4}), f32({4})); },
                      {"scaled_dot_product_attention: q and k need at least 2 dims [.., T, D], got q [4] and k [4]"}),
      bad<ShapeError>("sdpa key size differs",
                      [] { scaled_dot_product_attention(f32({3, 4}), f32({3, 5}), f32({3, 4})); },
                      {"scaled_dot_product_attention: q and k must have the same last dim", "q [3, 4] and k [3, 5]"}),
      bad<ShapeError>("sdpa batch dims differ",
                      [] { scaled_dot_product_attention(f32({2, 3, 4}), f32({3, 3, 4}), f32({3, 3, 4})); },
                      {"scaled_dot_product_attention: the batch dims of q [2, 3, 4] and k [3, 3, 4]"}),
      bad<ShapeError>("sdpa v rows differ from k",
                      [] { scaled_dot_product_attention(f32({3, 4}), f32({5, 4}), f32({4, 4})); },
                      {"scaled_dot_product_attention: v needs one row per key", "k [5, 4] and v [4, 4]"}),
      bad<ShapeError>("sdpa v batch differs",
                      [] { scaled_dot_product_attention(f32({2, 3, 4}), f32({2, 3, 4}), f32({5, 3, 4})); },
                      {"scaled_dot_product_attention: the batch dims of q [2, 3, 4], k [2, 3, 4] and v [5, 3, 4]"}),
      bad<DTypeError>("sdpa q float32, k float64",
                      [] { scaled_dot_product_attention(f32({3, 4}), f64({3, 4}), f32({3, 4})); },
                      {"scaled_dot_product_attention: expected floating-point tensors of one dtype, got q float32 and "
                       "k float64",
                       "convert k with .to(kFloat32), or q with .to(kFloat64)"}),
      bad<DTypeError>("sdpa v float64", [] { scaled_dot_product_attention(f32({3, 4}), f32({3, 4}), f64({3, 4})); },
                      {"scaled_dot_product_attention: expected floating-point tensors of one dtype, got q float32, k "
                       "float32 and v float64",
                       "convert v with .to(kFloat32), or the others with .to(kFloat64)"}),
      bad<DTypeError>("attention_weights q float64, k float32", [] { attention_weights(f64({3, 4}), f32({3, 4})); },
                      {"scaled_dot_product_attention", "q float64 and k float32"}),
      bad<ValueError>("sdpa of undefined q", [] { scaled_dot_product_attention(kUndefined, f32({3, 4}), f32({3, 4})); },
                      {"scaled_dot_product_attention: q is an undefined tensor"}),
      bad<DTypeError>("sdpa int64 mask",
                      [] { scaled_dot_product_attention(f32({3, 4}), f32({3, 4}), f32({3, 4}), i64({3, 3})); },
                      {"scaled_dot_product_attention: the mask must be bool (true = masked), got int64"}),
      bad<ShapeError>("sdpa mask of the wrong size",
                      [] { scaled_dot_product_attention(f32({3, 4}), f32({3, 4}), f32({3, 4}), causal_mask(4)); },
                      {"scaled_dot_product_attention: the mask of shape [4, 4] does not broadcast to the attention "
                       "scores' shape [3, 3]"}),
      bad<ShapeError>("sdpa mask of higher rank",
                      [] { scaled_dot_product_attention(f32({3, 4}), f32({3, 4}), f32({3, 4}), mask({2, 3, 3})); },
                      {"scaled_dot_product_attention", "[2, 3, 3]", "[3, 3]"}),
      bad<ValueError>("sdpa infinite scale",
                      [] { scaled_dot_product_attention(f32({3, 4}), f32({3, 4}), f32({3, 4}), {}, kInf); },
                      {"scaled_dot_product_attention: scale must be finite, got inf"}),
      bad<ValueError>("sdpa NaN scale", [] { attention_weights(f32({3, 4}), f32({3, 4}), {}, std::nan("")); },
                      {"scaled_dot_product_attention: scale must be finite, got nan"}),
      bad<ShapeError>("sdpa key size 0 with the default scale", [] { attention_weights(f32({3, 0}), f32({3, 0})); },
                      {"scaled_dot_product_attention: the key size D (last dim of q [3, 0]) is 0"}),
      bad<ValueError>("causal_mask negative length", [] { causal_mask(-1); },
                      {"causal_mask: the sequence length must be >= 0, got -1"}),
  }));
}

BOOST_AUTO_TEST_CASE(attention_with_weights) {
  // The variant that also returns the weights checks its arguments as scaled_dot_product_attention does.
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("sdpa_with_weights key size differs",
                      [] { scaled_dot_product_attention_with_weights(f32({3, 4}), f32({3, 5}), f32({3, 4})); },
                      {"scaled_dot_product_attention: q and k must have the same last dim", "q [3, 4] and k [3, 5]"}),
      bad<ShapeError>("sdpa_with_weights v rows differ from k",
                      [] { scaled_dot_product_attention_with_weights(f32({3, 4}), f32({5, 4}), f32({4, 4})); },
                      {"scaled_dot_product_attention: v needs one row per key", "k [5, 4] and v [4, 4]"}),
      bad<DTypeError>("sdpa_with_weights v float64",
                      [] { scaled_dot_product_attention_with_weights(f32({3, 4}), f32({3, 4}), f64({3, 4})); },
                      {"scaled_dot_product_attention", "q float32, k float32 and v float64"}),
      bad<DTypeError>("sdpa_with_weights q and k int64",
                      [] { scaled_dot_product_attention_with_weights(i64({3, 4}), i64({3, 4}), f32({3, 4})); },
                      {"scaled_dot_product_attention", "q int64", "convert q with .to(kFloat32)"}),
      bad<ShapeError>("sdpa_with_weights mask of the wrong size",
                      [] {
                        scaled_dot_product_attention_with_weights(f32({3, 4}), f32({3, 4}), f32({3, 4}),
                                                                  causal_mask(2));
                      },
                      {"scaled_dot_product_attention: the mask of shape [2, 2] does not broadcast", "[3, 3]"}),
      bad<ValueError>("sdpa_with_weights NaN scale",
                      [] {
                        scaled_dot_product_attention_with_weights(f32({3, 4}), f32({3, 4}), f32({3, 4}), {},
                                                                  std::nan(""));
                      },
                      {"scaled_dot_product_attention: scale must be finite, got nan"}),
      bad<ValueError>("sdpa_with_weights of undefined v",
                      [] { scaled_dot_product_attention_with_weights(f32({3, 4}), f32({3, 4}), kUndefined); },
                      {"scaled_dot_product_attention: v is an undefined tensor"}),
  }));
}

BOOST_AUTO_TEST_CASE(dropout_op) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("dropout p above 1", [] { dropout(f32({3}), 1.5); },
                      {"dropout: probability p must be between 0 and 1, got 1.5"}),
      bad<ValueError>("dropout negative p", [] { dropout(f32({3}), -0.1); }, {"dropout", "-0.1"}),
      bad<ValueError>("dropout NaN p", [] { dropout(f32({3}), std::nan("")); }, {"dropout", "nan"}),
      bad<ValueError>("dropout bad p in evaluation", [] { dropout(f32({3}), 2.0, false); }, {"dropout", "got 2"}),
      bad<DTypeError>("dropout of int64", [] { dropout(i64({3}), 0.5); },
                      {"dropout: expected a floating-point tensor, got int64"}),
  }));
}

BOOST_AUTO_TEST_SUITE_END()
