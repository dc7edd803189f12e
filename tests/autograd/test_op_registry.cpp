// The op registry: every op registered beside its definition, the nodes that point at it, the rule
// letters explain mode and pictures use, record()'s refusal of an op without a backward, and the text
// of docs/ops.md.
#include "support/test.hpp"

#include <set>

using namespace attograd;
using namespace attograd::testing;
using autograd::find_op;
using autograd::Gradient;
using autograd::Node;
using autograd::Op;
using autograd::OpInfo;
using autograd::record;

namespace {

Tensor leaf64(std::vector<double> values) {
  const auto n = static_cast<std::int64_t>(values.size());
  return tensor(values, {n}, {.dtype = kFloat64, .requires_grad = true});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(op_registry)

BOOST_AUTO_TEST_CASE(keys_are_unique_and_every_backward_has_a_rule_and_a_derivation) {
  std::set<std::string> keys;
  std::size_t backward = 0;
  for (const OpInfo* op : autograd::registered_ops()) {
    BOOST_TEST(keys.insert(op->key()).second, "registered twice: " + op->key());
    BOOST_TEST(!op->rule.empty(), op->key() + " has no rule text");
    if (op->gradient != Gradient::Backward) continue;
    ++backward;
    BOOST_TEST(!op->derivation.empty(), op->key() + " links no derivation");
    const autograd::RuleLetters letters = autograd::rule_letters(*op);
    BOOST_TEST(!letters.inputs.empty(), op->key() + ": its rule names no input gradient: " + std::string(op->rule));
    BOOST_TEST(!letters.output.empty(), op->key() + ": its rule names no output gradient: " + std::string(op->rule));
  }
  BOOST_TEST(backward >= 40u);
  BOOST_TEST(keys.contains("matmul"));
  BOOST_TEST(keys.contains("mul (A * s)"));
  BOOST_TEST(keys.contains("argmax"));
  BOOST_TEST(keys.contains("layer_norm"));
}

BOOST_AUTO_TEST_CASE(an_op_knows_its_file_backend_and_derivation) {
  const OpInfo* matmul = find_op("matmul");
  BOOST_TEST_REQUIRE(matmul != nullptr);
  BOOST_TEST(matmul->file == "linalg");
  BOOST_TEST(matmul->line > 0u);
  BOOST_TEST(matmul->backend == "oneDNN (float32) / reference");
  BOOST_TEST(matmul->derivation == "matmul.md#two-matrices");
  BOOST_TEST(find_op("tanh")->backend == "reference");
  BOOST_TEST((find_op("mean")->gradient == Gradient::Composite));
  BOOST_TEST((find_op("eq")->gradient == Gradient::None));
  BOOST_TEST(find_op("no_such_op") == nullptr);
}

BOOST_AUTO_TEST_CASE(nodes_point_at_their_registered_op) {
  Tensor x = leaf64({1.0, 2.0});
  Tensor y = leaf64({3.0, 4.0});
  BOOST_TEST(tanh(x).grad_fn()->op_info() == find_op("tanh"));
  BOOST_TEST(tanh(x).grad_fn()->op() == "tanh");
  BOOST_TEST((x * y).grad_fn()->op_info()->key() == "mul (A * B)");
  BOOST_TEST((x * 2.0).grad_fn()->op_info()->key() == "mul (A * s)");
  BOOST_TEST((2.0 - x).grad_fn()->op_info()->key() == "rsub (s - A)");
  // max and min end with a reshape to the result's shape: their own node is the one below it.
  BOOST_TEST(max(x).grad_fn()->op() == "view");
  BOOST_TEST(max(x).grad_fn()->inputs()[0]->op_info()->key() == "max");
  BOOST_TEST(min(x).grad_fn()->inputs()[0]->op_info()->key() == "min");
  // Ops known only by name (a student's own) have no registry entry; leaves have none either.
  Tensor z = x.detach() * 2.0;
  Node* node = record("my_op", z, {x});
  BOOST_TEST_REQUIRE(node != nullptr);
  BOOST_TEST(node->op() == "my_op");
  BOOST_TEST(node->op_info() == nullptr);
  BOOST_TEST(node->inputs()[0]->op_info() == nullptr);
  // No teaching tool is on, so no node carries notes.
  BOOST_TEST(node->notes() == nullptr);
  BOOST_TEST(tanh(x).grad_fn()->notes() == nullptr);
}

BOOST_AUTO_TEST_CASE(rule_letters_name_the_inputs_and_the_output) {
  const autograd::RuleLetters matmul = autograd::rule_letters(*find_op("matmul"));
  BOOST_TEST((matmul.inputs == std::vector<std::string>{"A", "B"}));
  BOOST_TEST(matmul.output == "C");
  const autograd::RuleLetters linear = autograd::rule_letters(*find_op("linear"));
  BOOST_TEST((linear.inputs == std::vector<std::string>{"X", "W", "b"}));
  BOOST_TEST(linear.output == "Y");
  BOOST_TEST(autograd::rule_letters(*find_op("binary_cross_entropy_with_logits")).output == "L");
  // An intermediate gradient the rule names (linear_relu's dZ) is not an input: the letters are the
  // node's inputs in order, which explain mode and the gradcheck column count on.
  const autograd::RuleLetters linear_relu = autograd::rule_letters(*find_op("linear_relu"));
  BOOST_TEST((linear_relu.inputs == std::vector<std::string>{"X", "W", "b"}));
  BOOST_TEST(linear_relu.output == "Y");
  BOOST_TEST(autograd::input_letter(find_op("where"), 1) == "B");
  BOOST_TEST(autograd::input_letter(find_op("cat"), 2) == "X_2");
  BOOST_TEST(autograd::output_letter(find_op("cat")) == "Y");
  BOOST_TEST(autograd::input_letter(find_op("tanh"), 3) == "input 3");  // tanh has one input
  BOOST_TEST(autograd::input_letter(nullptr, 1) == "input 1");
  BOOST_TEST(autograd::output_letter(nullptr) == "output");
  BOOST_TEST(autograd::rule_letters(*find_op("mean")).inputs.empty());  // composite: no rule of its own
}

BOOST_AUTO_TEST_CASE(an_op_registered_in_a_scope_leaves_the_registry_with_it) {
  const std::size_t before = autograd::registered_ops().size();
  {
    const Op scoped({.name = "scoped_test_op", .rule = "dX = dY"});
    BOOST_TEST(autograd::registered_ops().size() == before + 1);
    BOOST_TEST_REQUIRE(find_op("scoped_test_op") != nullptr);
    BOOST_TEST(find_op("scoped_test_op")->file == "test_op_registry");
  }
  BOOST_TEST(autograd::registered_ops().size() == before);
  BOOST_TEST(find_op("scoped_test_op") == nullptr);
}

// An op registered without a backward cannot pass a gradient on: record() refuses when the graph is
// built, rather than backward failing later or the gradient silently stopping there.
BOOST_AUTO_TEST_CASE(record_refuses_an_op_without_a_backward_when_an_input_requires_grad) {
  const Op floor_op({.name = "floor_test", .gradient = Gradient::None, .rule = "no derivative written yet"});
  Tensor c = tensor({0.5, 1.5}, {.dtype = kFloat64});
  Tensor x = leaf64({1.5, -0.5, 2.0});
  Tensor y = x.detach();
  BOOST_CHECK_EXCEPTION(record(floor_op, y, {c, x}), AutogradError,
                        has_message("floor_test: has no backward, so it cannot pass a gradient to input 1 (shape [3]), "
                                    "which requires grad. Give it a backward, or compute it from x.detach() or inside "
                                    "a NoGradGuard if that gradient is not wanted"));
  BOOST_TEST(!y.requires_grad());
  // Nothing is asked of it when no input requires grad, or in no-grad mode.
  Tensor z = c.clone();
  BOOST_TEST(record(floor_op, z, {c}) == nullptr);
  {
    NoGradGuard no_grad;
    BOOST_TEST(record(floor_op, y, {x}) == nullptr);
  }
}

// Integer and bool outputs carry no gradient by construction: argmax and comparisons do not record
// and do not refuse, so `accuracy = eq(argmax(logits, -1), targets)` works in a training loop.
BOOST_AUTO_TEST_CASE(ops_with_integer_or_bool_outputs_do_not_record) {
  Tensor x = leaf64({1.0, 3.0, 2.0});
  const Tensor i = argmax(x);
  BOOST_TEST((i.dtype() == kInt64));
  BOOST_TEST(i.item<std::int64_t>() == 1);
  BOOST_TEST(!i.requires_grad());
  const Tensor m = x > 1.5;
  BOOST_TEST(!m.requires_grad());
  BOOST_TEST((m.to_vector<bool>() == std::vector<bool>{false, true, true}));
}

BOOST_AUTO_TEST_CASE(the_manifest_lists_each_op_with_its_gradcheck) {
  autograd::GradcheckCoverage covered;
  covered["matmul"] = {{"nn.test_module", {0, 1}}, {"ops.test_linalg", {0, 1}}, {"ops.test_linalg_linear", {0, 1}}};
  covered["tanh"] = {{"autograd.test_engine", {0}}, {"nn.test_module", {0}}};
  covered["embedding"] = {{"nn.test_embedding", {0}}, {"ops.test_embedding", {0}}, {"ops.test_embedding_extra", {0}}};
  covered["contiguous"] = {{"nn.test_attention", {0}}, {"ops.test_reduction_extremes", {0}}, {"ops.test_softmax", {0}}};
  // Each input checked, but by different tests: a test per input.
  covered["sub (A - B)"] = {{"ops.test_arithmetic", {0}}, {"nn.test_module", {1}}};
  // One input never checked: the column says so.
  covered["div (A / B)"] = {{"ops.test_arithmetic", {1}}};
  const std::string text = autograd::op_manifest(covered);
  BOOST_TEST(text.starts_with("# Ops\n\n<!-- Generated from the op registry"));
  // The test mirroring the op's file is named, if it is among those that covered it.
  BOOST_TEST(text.find("| `matmul` | backward: `dA = dC·Bᵀ   dB = Aᵀ·dC   (each summed over broadcast batch dims)` | "
                       "oneDNN (float32) / reference | `ops.test_linalg` | "
                       "[matmul.md#two-matrices](derivations/matmul.md#two-matrices) |\n") != std::string::npos);
  BOOST_TEST(text.find("| `tanh` | backward: `dX = dY * (1 - Y²)` | reference | `autograd.test_engine` | "
                       "[elementwise.md#functions-of-one-tensor](derivations/elementwise.md#functions-of-one-tensor) "
                       "|\n") != std::string::npos);
  // Not a test of another folder that sorts first, nor one whose name merely contains the mirror's.
  BOOST_TEST(text.find("| reference | `ops.test_embedding` | [embedding.md](derivations/embedding.md) |\n") !=
             std::string::npos);
  // With no mirroring test, the first ops test, so that adding an nn test does not change the page.
  BOOST_TEST(text.find("| `contiguous` | backward: `dX = dY` | reference | `ops.test_reduction_extremes` |") !=
             std::string::npos);
  BOOST_TEST(text.find("| `mul` (`A * s`) | backward: `dA = dC * s` | reference | **none** |") != std::string::npos);
  BOOST_TEST(text.find("| reference | A: `ops.test_arithmetic`, B: `nn.test_module` |") != std::string::npos);
  BOOST_TEST(text.find("| reference | A: **none**, B: `ops.test_arithmetic` |") != std::string::npos);
  BOOST_TEST(text.find("| `mean` | composite: `sum(X) / n` | its parts | through its parts |") != std::string::npos);
  BOOST_TEST(text.find("| `argmax` | none: int64 output (indices) | reference | — |") != std::string::npos);
  BOOST_TEST(text.find("\n## lib/ops/linalg.cpp\n\n| op | gradient | backend | gradcheck | derivation |\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_manifest_escapes_pipes_in_table_cells) {
  const Op abs_like({.name = "pipe_test", .rule = "dX = dY * |X| / X"});
  const std::string text = autograd::op_manifest({});
  BOOST_TEST(text.find("| `pipe_test` | backward: `dX = dY * \\|X\\| / X` | reference | **none** | — |\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
