/// \file
/// The base of every layer and model.
///
/// \code
/// struct Mlp : Module {
///   Linear hidden{2, 16}, out{16, 1};
///   Mlp() : Module("Mlp") { register_module("hidden", hidden); register_module("out", out); }
///   Tensor forward(const Tensor& x) const { return out(tanh(hidden(x))); }
/// };
/// Mlp net;
/// for (auto& [name, p] : net.named_parameters()) fmt::print("{} {}\n", name, p.shape());  // hidden.weight [16, 2] ...
/// fmt::print("{}\n", net);   // the tree with shapes and parameter counts
/// \endcode
///
/// A module registers its parameters, buffers and submodules by name in its constructor. Submodules
/// are registered by reference, so a module is neither copyable nor movable: make it where it lives
/// (a member, a local, std::make_unique). Parameter tensors are shared handles: the module, your member
/// and the optimiser all see the same tensor, and operations such as to(kFloat64) or loading a
/// checkpoint change it in place. Do not assign a new tensor to a registered member; copy into it
/// (`weight.copy_(...)` inside a NoGradGuard).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "attograd/core/tensor.hpp"

namespace attograd::nn {

/// The base of every layer and model: it holds named parameters, buffers and submodules, registered in the
/// constructor, so that paths like `blocks.0.attn.query.weight` name every tensor. Neither copyable nor
/// movable (submodules are registered by reference).
class Module {
 public:
  /// `type_name` is what printing shows ("Linear")
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = delete;
  Module& operator=(Module&&) = delete;

  /// Every parameter of this module and its submodules, depth first, each tensor once (a parameter
  /// shared by two modules, such as tied weights, is listed at its first path only).
  std::vector<Tensor> parameters() const;
  /// every parameter with its dotted path, depth first
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;  ///< every buffer with its dotted path
  /// This module's own parameters and buffers (not its submodules'), in registration order.
  const std::vector<std::pair<std::string, Tensor>>& own_parameters() const { return parameters_; }
  /// \copydoc own_parameters
  const std::vector<std::pair<std::string, Tensor>>& own_buffers() const { return buffers_; }
  /// Direct submodules, in registration order.
  const std::vector<std::pair<std::string, Module*>>& children() const { return children_; }
  /// Number of trainable values (each shared tensor counted once).
  std::int64_t parameter_count() const;

  /// Training mode (dropout active) or evaluation mode, for this module and all below it.
  void train(bool on = true);
  void eval() { train(false); }  ///< train(false): evaluation mode (no dropout)
  bool is_training() const { return training_; }  ///< in training mode

  /// Drops the gradients of every parameter.
  void zero_grad();
  /// Converts every parameter and buffer to dtype, in place (floating dtypes only for parameters).
  void to(DType dtype);

  /// the name it prints with: "Linear", "TransformerBlock"
  const std::string& type_name() const { return type_name_; }
  /// One line about this module's own configuration, e.g. "in=2, out=16, bias=true".
  virtual std::string describe() const { return {}; }

 protected:
  /// Registers value as a trainable parameter (it is made a leaf that requires grad) and returns it.
  /// Names are non-empty and contain no dot; each name is used once per module.
  Tensor register_parameter(const std::string& name, Tensor value);
  /// Registers a tensor that is part of the module's state but not trained (saved in checkpoints,
  /// converted by to()).
  Tensor register_buffer(const std::string& name, Tensor value);
  /// Registers a submodule; returns it. The parent must outlive nothing: submodules are members of it
  /// (or owned by it, as in Sequential).
  template <class M>
  M& register_module(const std::string& name, M& module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, Module& module);
  void check_name(const std::string& what, const std::string& name) const;
  void rename_tensors(const std::string& prefix);
  // "blocks.0.attn." for a module registered as attn in blocks.0, "" for a root.
  std::string path_prefix() const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
  Module* parent_ = nullptr;   // the module this one was last registered in
  std::string name_in_parent_;
};

/// The module tree, one line per module with its parameters' shapes and counts.
std::string to_string(const Module& module);

}  // namespace attograd::nn

/// \cond
// fmt's formatter, so that fmt::print("{}", x) works (hidden from the API reference: \cond).
template <class M>
  requires std::is_base_of_v<attograd::nn::Module, M>
struct fmt::formatter<M> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  auto format(const M& m, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}", attograd::nn::to_string(m));
  }
};
/// \endcond
