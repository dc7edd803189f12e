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

/// Whether ops record the graph on the calling thread (on by default). Prefer the guards below to
/// set_enabled().
class GradMode {
 public:
  static bool is_enabled() { return enabled_; }  ///< true while ops record on this thread
  static void set_enabled(bool on) { enabled_ = on; }  ///< turns recording on or off for this thread

 private:
  static thread_local bool enabled_;
};

/// Turns recording off on this thread while it lives (then restores the previous mode): for evaluation and
/// for in-place updates of parameters.
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
