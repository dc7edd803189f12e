/// \file
/// Modules that own other modules, named "0", "1", ...
///
/// \code
/// Sequential net;                          // applies its modules in order
/// net.add<Linear>(2, 16);                  // constructed in place; returns Linear&
/// net.add<Tanh>();
/// net.add<Linear>(16, 1);
/// Tensor y = net(x);                       // the same as fc2(tanh(fc1(x)))
///
/// ModuleList blocks;                       // holds modules; the owner decides how to call them
/// for (int i = 0; i < 4; ++i) blocks.add<Linear>(8, 8);
/// for (std::size_t i = 0; i < blocks.size(); ++i) x = blocks.at<Linear>(i)(x);
/// \endcode
///
/// Modules can be neither copied nor moved (their parents hold references to them), so a container
/// constructs each module itself and keeps it behind a std::unique_ptr. Registered in a parent as
/// "net" and "blocks", their parameters read `net.0.weight`, `blocks.3.bias`.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "attograd/core/tensor.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::nn {

/// The common part of Sequential and ModuleList: owned modules, indexed from 0.
class ModuleContainer : public Module {
  using Owned = std::vector<std::unique_ptr<Module>>;

 public:
  /// Iterates over the modules as Module& (const Module& for a const container).
  template <class M>
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;  ///< std::iterator_traits' members
    using value_type = std::remove_const_t<M>;  ///< the module type
    using difference_type = std::ptrdiff_t;  ///< a distance between iterators
    using pointer = M*;  ///< a pointer to a module
    using reference = M&;  ///< a reference to a module
    Iterator() = default;
    explicit Iterator(Owned::const_iterator it) : it_(it) {}  ///< at a position in the container
    M& operator*() const { return **it_; }  ///< the module
    M* operator->() const { return it_->get(); }  ///< the module's members
    Iterator& operator++() {  ///< the next module
      ++it_;
      return *this;
    }
    Iterator operator++(int) { return Iterator(it_++); }  ///< the next module (postfix)
    friend bool operator==(const Iterator&, const Iterator&) = default;  ///< same position

   private:
    Owned::const_iterator it_;
  };

  std::size_t size() const { return modules_.size(); }  ///< number of modules
  bool empty() const { return modules_.empty(); }  ///< no modules

  /// The module at index i (IndexError past the end).
  Module& operator[](std::size_t i) { return *modules_[checked(i)]; }
  const Module& operator[](std::size_t i) const { return *modules_[checked(i)]; }  ///< \overload
  /// The module at index i as its own type (ValueError if it is another type).
  template <class M>
  M& at(std::size_t i) {
    return cast<M>(*this, i);
  }
  template <class M>
  const M& at(std::size_t i) const {  ///< \overload
    return cast<const M>(*this, i);
  }

  Iterator<Module> begin() { return Iterator<Module>(modules_.cbegin()); }  ///< the first module
  Iterator<Module> end() { return Iterator<Module>(modules_.cend()); }  ///< past the last module
  Iterator<const Module> begin() const { return Iterator<const Module>(modules_.cbegin()); }  ///< \overload
  Iterator<const Module> end() const { return Iterator<const Module>(modules_.cend()); }  ///< \overload

 protected:
  /// `type_name` is the subclass's name ("Sequential")
  explicit ModuleContainer(std::string type_name) : Module(std::move(type_name)) {}

  /// Constructs an M from args, takes ownership and registers it under the next index.
  template <class M, class... Args>
  M& emplace(Args&&... args) {
    modules_.push_back(std::make_unique<M>(std::forward<Args>(args)...));
    M& m = static_cast<M&>(*modules_.back());
    register_module(std::to_string(modules_.size() - 1), m);
    return m;
  }

 private:
  std::size_t checked(std::size_t i) const;
  [[noreturn]] void throw_wrong_type(std::size_t i) const;

  template <class M, class Self>
  static M& cast(Self& self, std::size_t i) {
    auto* m = dynamic_cast<M*>(&self[i]);
    if (m == nullptr) self.throw_wrong_type(i);
    return *m;
  }

  Owned modules_;
};

/// A module that can stand in a Sequential: forward(const Tensor&) const gives a Tensor.
template <class M>
concept SequentialModule = std::derived_from<M, Module> && requires(const M& m, const Tensor& x) {
  { m.forward(x) } -> std::convertible_to<Tensor>;
};

/// Y = f_n(..f_1(f_0(X))), f_i the forward of module i. Empty, it returns X.
class Sequential : public ModuleContainer {
 public:
  Sequential() : ModuleContainer("Sequential") {}

  /// Constructs an M from args at the end of the chain and returns it: `net.add<Linear>(2, 16)`.
  template <SequentialModule M, class... Args>
  M& add(Args&&... args) {
    M& m = emplace<M>(std::forward<Args>(args)...);
    steps_.emplace_back([&m](const Tensor& x) { return m.forward(x); });
    return m;
  }

  Tensor forward(const Tensor& x) const;  ///< x through every module in order
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)

 private:
  std::vector<std::function<Tensor(const Tensor&)>> steps_;  // steps_[i] calls module i's forward
};

/// Modules in a list, registered as "0", "1", ...; it has no forward: its owner calls them.
class ModuleList : public ModuleContainer {
 public:
  ModuleList() : ModuleContainer("ModuleList") {}

  /// Constructs an M from args at the end of the list and returns it: `blocks.add<Block>(64, 4)`.
  template <class M, class... Args>
    requires std::derived_from<M, Module>
  M& add(Args&&... args) {
    return emplace<M>(std::forward<Args>(args)...);
  }
};

}  // namespace attograd::nn
