// Helpers shared by the tests: gradient checks that report through Boost.Test, error-message checks,
// and float64 inputs for gradchecks.
//
//   check_gradients([](const auto& in) { return tanh(in[0]); }, {rand64({2, 3}, gen)});
//   BOOST_CHECK_EXCEPTION(matmul(a, b), ShapeError, has_message("inner dimensions differ"));
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <attograd/attograd.hpp>
#include <attograd/nn/module.hpp>

#include "backend/threads.hpp"  // ThreadCount restores the setting

namespace attograd::testing {

// What a gradient check targets, seen while it is alive: the registered op that made the tensor the
// check's function returns (the node its backward runs first), and which of that op's inputs needed a
// gradient, so that the check compared them with finite differences. An op that merely ran inside the
// function (the tanh in tanh(x) * 2) is not its target. check_gradients credits its target, and only
// that, in docs/ops.md's gradcheck column. The engine's step hook reads no gradient, and says so, so
// that the engine still lets backwards reuse the memory of the gradient they receive
// (Grads::take_output_grad): the checks cover that path too.
class CheckTarget {
 public:
  CheckTarget();
  const std::string& key() const { return key_; }  // empty until a backward ran
  const std::set<std::size_t>& slots() const { return slots_; }

 private:
  std::string key_;
  std::set<std::size_t> slots_;
  autograd::StepHookGuard hook_;
};

// Runs gradcheck and fails the current test with its message if it does not pass.
void check_gradients(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

// Runs gradcheck with respect to `inputs` and every parameter of `module` (checked in place: the module
// must already be float64). f receives `inputs`; the parameters are the module's own. Fails if the
// output does not depend on some parameter (a check that would say nothing about it).
void check_module_gradients(nn::Module& module, const GradcheckFn& f, const std::vector<Tensor>& inputs,
                            GradcheckOptions options = {});

// A float64 tensor of normal values that requires grad: the usual gradcheck input.
Tensor rand64(const Shape& shape, Generator& gen, double scale = 1.0);
// Same, with values kept at least `margin` away from 0 (for ops with a kink or pole at 0).
Tensor rand64_away_from_zero(const Shape& shape, Generator& gen, double margin = 0.1);

// A predicate for BOOST_CHECK_EXCEPTION: the exception's message contains `part`. Prints the actual
// message when it does not.
std::function<bool(const std::exception&)> has_message(std::string part);

// Element-wise closeness with a report of the first differing element.
void check_close(const Tensor& actual, const Tensor& expected, double tolerance = 1e-6);
void check_values(const Tensor& actual, const std::vector<double>& expected, double tolerance = 1e-6);

// Sets the thread count (attograd::set_num_threads) for one scope, then restores the previous setting
// (the default when none was set).
class ThreadCount {
 public:
  explicit ThreadCount(int n) : previous_(backend::thread_setting()) { set_num_threads(n); }
  ~ThreadCount() { previous_ > 0 ? set_num_threads(previous_) : reset_num_threads(); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int previous_;
};

}  // namespace attograd::testing
