/// \file
/// Every op says what it is, right beside its definition.
///
/// Each op in `lib/ops/<file>.cpp` is registered by one object above its function; the op passes it to
/// record(), so the graph knows which op made each node, with no lookup:
///
/// \code
/// // Y = tanh(X)    dX = dY * (1 - Y²)
/// const Op tanh_op({.name = "tanh", .rule = "dX = dY * (1 - Y²)", .derivation = kFunctions});
/// Tensor tanh(const Tensor& x) {
///   ...
///   if (Node* node = record(tanh_op, y, {x})) { ... }
/// }
/// \endcode
///
/// The registry generates docs/ops.md (op_manifest), gives explain mode its rule text and links, and
/// makes record() refuse an op that has no backward when an input wants a gradient.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace attograd::autograd {

/// How an op's gradient is computed.
enum class Gradient {
  Backward,   ///< its own backward function, recorded by record()
  Composite,  ///< written with other ops, whose nodes carry its gradient; no node of its own
  None,       ///< no gradient: an integer or bool output, or an in-place update that is not recorded
};

/// What the registry knows about an op: its name, its gradient rule, where it is defined and derived.
struct OpInfo {
  std::string name = {};       ///< as the graph names its nodes: "matmul"
  std::string_view form = {};  ///< which overload, when several share a name: "A * s"; else empty
  Gradient gradient = Gradient::Backward;  ///< how its gradient is computed
  /// Backward: the local rule as maths, with the comment's letters: "dA = dC·Bᵀ   dB = Aᵀ·dC".
  /// Composite: what it is made of: "sum(X) / n". None: why there is no gradient.
  std::string_view rule = {};
  std::string_view derivation = {};        ///< page and section in docs/derivations/: "matmul.md#two-matrices"
  std::string_view backend = "reference";  ///< which kernels run it
  /// Filled in by Op from where it is defined: "unary" for lib/ops/unary.cpp, and the line.
  std::string file = {};
  unsigned line = 0;  ///< the line of its definition

  /// Unique among registered ops: the name, with the form in parentheses if there is one: "mul (A * s)".
  std::string key() const;
};

/// A registered op: an object at namespace scope beside the op's definition, alive for the program.
/// Ops must not be called during static initialisation (before their Op is constructed).
class Op {
 public:
  /// Registers info under its key; `where` gives the file and line of the definition.
  explicit Op(OpInfo info, std::source_location where = std::source_location::current());
  ~Op();
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  const OpInfo& info() const { return info_; }  ///< what the registry holds for this op

 private:
  OpInfo info_;
};

/// All registered ops, ordered by file and then by line.
std::vector<const OpInfo*> registered_ops();
/// The op with this key, or null.
const OpInfo* find_op(std::string_view key);

/// The letters of an op's rule: "dA = dC·Bᵀ   dB = Aᵀ·dC" names inputs {A, B} and output C. Empty
/// when the rule does not have that form (composite and gradient-less ops).
struct RuleLetters {
  std::vector<std::string> inputs;  ///< the inputs' letters, in order: {"A", "B"}
  std::string output;  ///< the output's letter: "C"
};
/// The letters of op's rule (empty when it has none of that form).
RuleLetters rule_letters(const OpInfo& op);
/// The letter of input i of a node made by op ("A"), or "input i" when the rule does not say. A rule
/// written for any number of inputs ("dX_i = ...") gives X_0, X_1, ...
std::string input_letter(const OpInfo* op, std::size_t i);
/// The letter of a node's output ("C"), or "output" when the rule does not say.
std::string output_letter(const OpInfo* op);

/// Which gradient checks targeted each op: op key -> test program -> the op's input slots (0, 1, ...)
/// that needed a gradient in one of that program's passing checks targeting it. A check targets the op
/// that made the tensor its function returns (tests/support/test.cpp).
using GradcheckCoverage = std::map<std::string, std::map<std::string, std::set<std::size_t>>>;

/// How many inputs a check must cover for the op to count as gradient-checked: the inputs its rule
/// defines a gradient for ("dA = ...  dB = ..." gives 2), or 1 when the rule is written for any number
/// of inputs ("dX_i = ...").
std::size_t checked_inputs_needed(const OpInfo& op);

/// The Markdown text of docs/ops.md: every registered op with its gradient, backend, gradcheck status
/// and derivation.
std::string op_manifest(const GradcheckCoverage& gradchecked);

}  // namespace attograd::autograd
