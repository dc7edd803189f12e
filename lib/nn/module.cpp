#include "attograd/nn/module.hpp"

#include <unordered_set>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/ops/shape_ops.hpp"

namespace attograd::nn {

namespace {

using Named = std::vector<std::pair<std::string, Tensor>>;

// Walks the tree depth first: own tensors, then each child's under "child.".
void collect(const Module& m, const std::string& prefix, bool buffers, Named& out,
             std::unordered_set<const TensorImpl*>& seen) {
  for (const auto& [name, t] : buffers ? m.own_buffers() : m.own_parameters()) {
    if (seen.insert(t.impl()).second) out.emplace_back(prefix + name, t);
  }
  for (const auto& [name, child] : m.children()) collect(*child, prefix + name + ".", buffers, out, seen);
}

}  // namespace

void Module::check_name(const std::string& what, const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos) {
    throw ValueError(fmt::format("{}: {} name '{}' must be non-empty and contain no dot", type_name_, what, name));
  }
  auto taken = [&name](const auto& list) {
    for (const auto& entry : list) {
      if (entry.first == name) return true;
    }
    return false;
  };
  if (taken(parameters_) || taken(buffers_) || taken(children_)) {
    throw ValueError(fmt::format("{}: the name '{}' is already registered", type_name_, name));
  }
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_name("parameter", name);
  if (!value.defined()) throw ValueError(fmt::format("{}: parameter '{}' is undefined", type_name_, name));
  if (!value.is_leaf()) value = value.detach();
  value.requires_grad_(true);
  value.set_name(path_prefix() + name);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name("buffer", name);
  if (!value.defined()) throw ValueError(fmt::format("{}: buffer '{}' is undefined", type_name_, name));
  value.set_name(path_prefix() + name);
  buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, Module& module) {
  check_name("submodule", name);
  if (&module == this) throw ValueError(fmt::format("{}: a module cannot contain itself", type_name_));
  children_.emplace_back(name, &module);
  module.parent_ = this;
  module.name_in_parent_ = name;
  module.rename_tensors(module.path_prefix());
}

// Parameters carry their path from the root (`blocks.0.attn.query.weight`) in their name, for
// pictures and error messages. Registration happens bottom up, so each registration renames the
// registered subtree; the root's constructor leaves the final names.
std::string Module::path_prefix() const {
  std::string prefix;
  for (const Module* m = this; m->parent_ != nullptr; m = m->parent_) prefix = m->name_in_parent_ + "." + prefix;
  return prefix;
}

void Module::rename_tensors(const std::string& prefix) {
  for (auto& [name, t] : parameters_) t.set_name(prefix + name);
  for (auto& [name, t] : buffers_) t.set_name(prefix + name);
  for (auto& [name, child] : children_) child->rename_tensors(prefix + name + ".");
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  Named out;
  std::unordered_set<const TensorImpl*> seen;
  collect(*this, "", false, out, seen);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  Named out;
  std::unordered_set<const TensorImpl*> seen;
  collect(*this, "", true, out, seen);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::int64_t Module::parameter_count() const {
  std::int64_t n = 0;
  for (const Tensor& t : parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (Tensor& t : parameters()) t.zero_grad();
}

void Module::to(DType dtype) {
  if (!is_floating(dtype)) {
    throw DTypeError(fmt::format("{}: to({}): parameters must stay floating point", type_name_, dtype));
  }
  NoGradGuard no_grad;
  // Every handle to a parameter (members, optimisers) shares its TensorImpl, so the conversion
  // replaces the data inside it rather than the handle.
  auto convert = [dtype](Tensor& t) {
    if (t.dtype() == dtype || !t.is_floating_point()) return;
    Tensor converted = contiguous(t.detach().to(dtype));
    TensorImpl& impl = *t.impl();
    impl.storage = converted.impl()->storage;
    impl.strides = converted.strides();
    impl.offset = converted.offset();
    impl.dtype = dtype;
    impl.grad.reset();
    impl.grad_accumulator.reset();  // graphs built from now on get a leaf node of the new dtype
  };
  for (auto& [name, t] : named_parameters()) convert(t);
  for (auto& [name, t] : named_buffers()) convert(t);
}

namespace {

void describe_tree(const Module& m, const std::string& name, int depth, std::string& out) {
  std::int64_t own = 0;
  std::vector<std::string> shapes;
  for (const auto& [pname, t] : m.own_parameters()) {
    own += t.numel();
    shapes.push_back(fmt::format("{} {}", pname, t.shape()));
  }
  const std::string config = m.describe();
  out += fmt::format("{:{}}{}{}{}", "", 2 * depth, name.empty() ? "" : name + ": ", m.type_name(),
                     config.empty() ? "" : "(" + config + ")");
  if (!shapes.empty()) out += fmt::format("  {}", fmt::join(shapes, ", "));
  const std::int64_t total = m.parameter_count();
  out += fmt::format("  [{} parameter{}]\n", total, total == 1 ? "" : "s");
  for (const auto& [cname, child] : m.children()) describe_tree(*child, cname, depth + 1, out);
}

}  // namespace

std::string to_string(const Module& module) {
  std::string out;
  describe_tree(module, "", 0, out);
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace attograd::nn
