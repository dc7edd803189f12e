/// \file
/// Turning graph recording off for a scope.
///
/// \code
/// {
///   NoGradGuard no_grad;          // ops below record nothing: evaluation, optimiser updates
///   Tensor y = model.forward(x);  // y.requires_grad() is false
/// }                               // recording is back on
/// \endcode
///
/// The mode is per thread: a guard in one thread does not affect another.
#pragma once

namespace attograd {

class GradMode {
 public:
  static bool is_enabled() { return enabled_; }
  static void set_enabled(bool on) { enabled_ = on; }

 private:
  static thread_local bool enabled_;
};

class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// The opposite, for a scope inside a NoGradGuard that does want a graph.
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace attograd
