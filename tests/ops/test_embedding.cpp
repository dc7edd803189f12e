// embedding: values, the scatter-add gradient (repeated ids accumulate), gradchecks, errors.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
Tensor ids_of(const std::vector<std::int64_t>& v, const Shape& shape) { return tensor_of<std::int64_t>(v, shape); }
}  // namespace

BOOST_AUTO_TEST_SUITE(embedding_op)

BOOST_AUTO_TEST_CASE(looks_up_rows_by_id) {
  const Tensor w = tensor({{0.0, 1.0}, {10.0, 11.0}, {20.0, 21.0}});
  const Tensor y = embedding(w, ids_of({2, 0, 2, 1}, {2, 2}));
  BOOST_TEST((y.shape() == Shape{2, 2, 2}));
  BOOST_TEST((y.dtype() == kFloat32));
  check_values(y, {20, 21, 0, 1, 20, 21, 10, 11}, 0.0);
  // rank-0 ids give one row; empty ids give no rows
  const Tensor one = embedding(w, ids_of({1}, {}));
  BOOST_TEST((one.shape() == Shape{2}));
  check_values(one, {10, 11}, 0.0);
  BOOST_TEST((embedding(w, ids_of({}, {0, 3})).shape() == Shape{0, 3, 2}));
}

BOOST_AUTO_TEST_CASE(reads_strided_weights_and_ids) {
  // A transposed weight (as when a [D, V] matrix is tied to the embedding) and a strided view of ids.
  const Tensor wt = tensor({{0.0, 10.0, 20.0}, {1.0, 11.0, 21.0}}).transpose(0, 1);  // [[0, 1], [10, 11], [20, 21]]
  const Tensor ids = ids_of({2, 0, 1, 2, 0, 0}, {2, 3}).transpose(0, 1);            // [[2, 2], [0, 0], [1, 0]]
  check_values(embedding(wt, ids), {20, 21, 20, 21, 0, 1, 0, 1, 10, 11, 0, 1}, 0.0);
}

BOOST_AUTO_TEST_CASE(repeated_ids_accumulate_their_gradients) {
  Tensor w = zeros({4, 3}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor ids = ids_of({1, 3, 1, 1}, {2, 2});
  // upstream: position p's row is filled with p + 1
  const Tensor up = tensor(std::vector<double>{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}, {2, 2, 3}, {.dtype = kFloat64});
  embedding(w, ids).backward(up);
  // row 1 gets positions 0, 2, 3 (1 + 3 + 4 = 8), row 3 gets position 1 (2), rows 0 and 2 nothing
  check_values(w.grad(), {0, 0, 0, 8, 8, 8, 0, 0, 0, 2, 2, 2}, 0.0);
  // a second backward adds again
  embedding(w, ids).sum().backward();
  check_values(w.grad(), {0, 0, 0, 11, 11, 11, 0, 0, 0, 3, 3, 3}, 0.0);
}

BOOST_AUTO_TEST_CASE(gradient_is_checked_against_finite_differences) {
  Generator gen(1);
  auto lookup = [](Tensor ids) { return [ids](const std::vector<Tensor>& in) { return embedding(in[0], ids); }; };
  check_gradients(lookup(ids_of({1, 4, 1, 0, 1, 2}, {2, 3})), {rand64({5, 3}, gen)});
  check_gradients(lookup(ids_of({2}, {})), {rand64({3, 4}, gen)});
  check_gradients(lookup(ids_of({0, 0, 0}, {3})), {rand64({1, 1}, gen)});  // V = 1, D = 1, one id thrice
  check_gradients(lookup(ids_of({3, 1, 3, 3, 0, 2, 1, 1}, {2, 2, 2})), {rand64({4, 2}, gen)});
  // Used after a non-linearity, so the upstream gradient differs per position.
  check_gradients([](const std::vector<Tensor>& in) { return tanh(embedding(in[0], ids_of({1, 1, 2}, {3})) * 2.0); },
                  {rand64({3, 2}, gen)});
}

BOOST_AUTO_TEST_CASE(weight_tying_adds_both_gradients) {
  // The same table embeds the ids and projects back to the vocabulary: logits = E(ids) · Wᵀ.
  Generator gen(2);
  const Tensor ids = ids_of({2, 0, 2}, {3});
  check_gradients([ids](const std::vector<Tensor>& in) { return matmul(embedding(in[0], ids), in[0].mT()); },
                  {rand64({4, 3}, gen)});
}

BOOST_AUTO_TEST_CASE(float32_forward_and_backward) {
  Tensor w = tensor({{1.0, 2.0}, {3.0, 4.0}}, {.requires_grad = true});
  Tensor y = embedding(w, ids_of({1, 1, 0}, {3}));
  BOOST_TEST(y.grad_fn_name() == "embedding");
  y.sum().backward();
  BOOST_TEST((w.grad().dtype() == kFloat32));
  check_values(w.grad(), {1, 1, 2, 2}, 0.0);
}

BOOST_AUTO_TEST_CASE(ids_out_of_range_are_an_index_error_naming_id_position_and_vocabulary) {
  const Tensor w = zeros({5, 2});
  BOOST_CHECK_EXCEPTION(embedding(w, ids_of({0, 1, 4, 5}, {2, 2})), IndexError,
                        has_message("embedding: id 5 at position [1, 1] is out of range for a vocabulary of 5 "
                                    "(expected 0..4)"));
  BOOST_CHECK_EXCEPTION(embedding(w, ids_of({3, -1}, {2})), IndexError,
                        has_message("id -1 at position [1] is out of range for a vocabulary of 5"));
  BOOST_CHECK_EXCEPTION(embedding(w, ids_of({1000000000}, {})), IndexError, has_message("id 1000000000 at position []"));
  BOOST_CHECK_EXCEPTION(embedding(zeros({0, 3}), ids_of({0}, {1})), IndexError,
                        has_message("id 0 at position [0] is out of range for a vocabulary of 0 (the table is empty)"));
}

BOOST_AUTO_TEST_CASE(ids_must_be_int64_and_the_weight_a_float_matrix) {
  BOOST_CHECK_EXCEPTION(embedding(zeros({5, 2}), tensor({1.0, 2.0})), DTypeError,
                        has_message("embedding: ids must be int64, got float32"));
  BOOST_CHECK_EXCEPTION(embedding(zeros({5, 2}), tensor_of<bool>({true}, {1})), DTypeError,
                        has_message("ids must be int64, got bool"));
  BOOST_CHECK_EXCEPTION(embedding(zeros({5}), ids_of({1}, {1})), ShapeError,
                        has_message("embedding: the weight must be a [vocabulary, dim] matrix (rank 2), got shape [5]"));
  BOOST_CHECK_EXCEPTION(embedding(ids_of({1, 2}, {1, 2}), ids_of({0}, {1})), DTypeError,
                        has_message("embedding: the weight must be a floating-point tensor, got int64"));
}

BOOST_AUTO_TEST_CASE(ids_modified_after_the_forward_are_caught_in_backward) {
  Tensor w = ones({3, 2}, {.requires_grad = true});
  Tensor ids = ids_of({0, 1}, {2});
  Tensor y = embedding(w, ids).sum();
  ids.set({0}, 2.0);  // the gradient would go to the wrong row
  BOOST_CHECK_EXCEPTION(y.backward(), AutogradError, has_message("modified in place"));
}

BOOST_AUTO_TEST_SUITE_END()
