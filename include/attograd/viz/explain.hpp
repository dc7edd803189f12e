/// \file
/// Backward, step by step, as a student would work it out on paper.
///
/// \code
/// std::string trace;
/// {
///   viz::Explain explain(trace);                 // or viz::Explain explain(stdout);
///   y.backward();
/// }
/// fmt::print("{}", trace);
/// \endcode
///
/// For each step of each backward pass on this thread, in the engine's order (through its step hook):
/// the node and its input and output shapes, the local rule it applies (dA = dC·Bᵀ) with the page of
/// docs/derivations/ that derives it, the gradient it received and the gradients it sent (every value
/// when small, else min/max/mean/norm), where each went, which were added to a gradient already there
/// because a value was used more than once, and the bytes the node kept for backward, against the
/// whole graph's. A leaf's step shows its .grad. docs/teaching.md shows a trace.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "attograd/autograd/engine.hpp"

namespace attograd::viz {

/// Options of Explain.
struct ExplainOptions {
  std::int64_t max_values = 6;  ///< values with at most this many elements are shown in full
};

/// A backward trace: while it lives, every backward step on this thread is printed as it happens: the op, its
/// rule, the gradient it received and what it sent to each input (see this file's description).
class Explain {
 public:
  /// Prints each step to `out` as it happens (stdout, stderr, a file).
  explicit Explain(std::FILE* out, ExplainOptions options = {});
  /// Appends each step to `out`, which must outlive the guard.
  explicit Explain(std::string& out, ExplainOptions options = {});
  ~Explain() = default;
  Explain(const Explain&) = delete;
  Explain& operator=(const Explain&) = delete;

 private:
  void step(const autograd::BackwardStep& s);
  void write(const std::string& text);

  std::FILE* file_ = nullptr;
  std::string* text_ = nullptr;
  ExplainOptions options_;
  std::size_t total_saved_ = 0;  // bytes kept for backward by the whole graph of this pass
  autograd::StepHookGuard hook_;
};

}  // namespace attograd::viz
