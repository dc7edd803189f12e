/// \file
/// What a training program says about itself.
///
/// \code
/// check_loss(loss.item(), step);   // stops a run whose loss became NaN or infinite
/// fmt::print("{}\n", result_line({{"test_accuracy", "1.000"}, {"steps", "2000"}}));
/// // result: test_accuracy=1.000 steps=2000
/// \endcode
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "attograd/core/tensor.hpp"

namespace attograd::train {

/// Throws ValueError when loss is NaN or infinite, naming the step and suggesting anomaly mode, which
/// finds the op that produced the first NaN or Inf in the backward pass.
void check_loss(double loss, std::int64_t step);

/// "result: name=value name=value ...": the last line every example prints, for scripts and tests.
std::string result_line(const std::vector<std::pair<std::string, std::string>>& fields);

/// The fraction of rows whose largest logit is the target class. logits [.., C], targets [..] int64 (or
/// bool); float targets are a DTypeError, as in cross_entropy, rather than truncated to a class.
double accuracy(const Tensor& logits, const Tensor& targets);

}  // namespace attograd::train
