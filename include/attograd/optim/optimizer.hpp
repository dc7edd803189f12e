/// \file
/// The base of every optimiser, over groups of parameters.
///
/// \code
/// SGD opt({{.params = weights, .weight_decay = 1e-4},      // group 0: decayed
///          {.params = biases_and_norms, .weight_decay = 0}}, // group 1: not decayed
///         {.lr = 0.1, .momentum = 0.9});
/// opt.zero_grad();  loss.backward();  opt.step();           // one training step
/// opt.set_lr(0.01);                                         // every group (a schedule does this)
/// \endcode
///
/// An optimiser holds handles to the parameters (shared tensors, as a module's parameters() gives them)
/// and updates them in place inside a NoGradGuard, so the module and every other handle see the new
/// values. A tensor listed twice (tied weights) is kept once and updated once. Each parameter's state
/// (momentum buffers, Adam's moments and step count) is keyed by the parameter and made at its first
/// update. The semantics and formulas are PyTorch's torch.optim; each optimiser's header writes its
/// update as maths.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "attograd/core/tensor.hpp"

namespace attograd::optim {

/// Parameters that share a learning rate and a weight decay. Unset values take the optimiser's.
/// (GCC 12 finds a lone group of braced tensors, SGD({{.params = {a, b}}}, ...), ambiguous with the
/// list-of-tensors constructor; pass the tensors directly then, or write std::vector<ParamGroup>{...}.)
struct ParamGroup {
  std::vector<Tensor> params = {};  ///< the tensors to update: leaves of a floating dtype that require grad
  std::optional<double> lr = std::nullopt;  ///< unset: the optimiser's
  std::optional<double> weight_decay = std::nullopt;  ///< unset: the optimiser's
};

/// Named tensors, as a checkpoint stores them.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// The base of the optimisers: parameter groups, each with its learning rate and weight decay, and each
/// parameter's state as named tensors (for checkpoints). Subclasses give update() and state_slots().
class Optimizer {
 public:
  /// A group as the optimiser holds it: each parameter once, the values resolved.
  struct Group {
    std::vector<Tensor> params;  ///< each parameter once
    double lr = 0;  ///< learning rate
    double weight_decay = 0;  ///< weight decay
  };

  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient; parameters whose grad() is undefined (unused
  /// in this step's graph) are skipped and their state is left as it was. After a module's to(dtype),
  /// the state of its parameters is converted at their next update.
  void step();
  /// Drops every parameter's gradient (grad() becomes undefined), as PyTorch's zero_grad(set_to_none).
  void zero_grad();

  const std::string& name() const { return name_; }  ///< "SGD", "Adam", "AdamW"
  const std::vector<Group>& groups() const { return groups_; }  ///< the groups, values resolved
  double lr(std::size_t group = 0) const;  ///< the learning rate of one group
  void set_lr(double lr);                     ///< every group
  void set_lr(std::size_t group, double lr);  ///< one group; ValueError if lr < 0 or the group does not exist

  /// The whole state, for checkpoints: "<g>.lr" (float64, rank 0) for each group g, and for each
  /// parameter that has state "<g>.<i>.<what>" (i its index in group g): a tensor shaped and typed like
  /// the parameter (momentum_buffer, exp_avg, ...) or an int64 rank-0 step count. The tensors share
  /// memory with the optimiser (as PyTorch's state_dict): save them before the next step().
  NamedTensors state_tensors() const;
  /// Loads what state_tensors() gave, into an optimiser made the same way (same groups, parameters of
  /// the same shapes and dtypes). Checks every name, shape, dtype and value first and throws one
  /// ValueError listing every problem, changing nothing; otherwise copies the values in. A parameter
  /// with no state in `named` starts afresh, as before its first step.
  void load_state_tensors(const NamedTensors& named);

 protected:
  /// A parameter's state: named tensors ("momentum_buffer", "step", ...), empty before its first update.
  using State = std::map<std::string, Tensor>;

  /// What one kind of state tensor is: shaped and typed like its parameter, or an int64 step count.
  struct StateSlot {
    std::string name;  ///< as stored: "momentum_buffer"
    bool is_step_count = false;  ///< an int64 count of steps rather than a tensor like the parameter
  };

  /// Checks each group's lr and weight decay and each parameter (a floating-point leaf that requires
  /// grad, in one group only); keeps a tensor listed twice once. Default values are already checked.
  Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr, double default_weight_decay);

  /// Updates `param` in place from `grad` (grad mode is off). `state` is empty at the first update.
  virtual void update(Tensor& param, const Tensor& grad, const Group& group, State& state) = 0;
  /// The state each parameter holds once it has been updated (all of these, or none).
  virtual std::vector<StateSlot> state_slots() const = 0;

  /// Throws ValueError "<optimiser>: <what>: <value>" unless ok, e.g. "SGD: invalid momentum value: -0.5".
  void check(std::string_view what, double value, bool ok) const;

 private:
  std::vector<std::string> check_state(const NamedTensors& named) const;

  std::string name_;
  std::vector<Group> groups_;
  std::unordered_map<const TensorImpl*, State> state_;
};

}  // namespace attograd::optim
