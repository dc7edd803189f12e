#include "attograd/train/report.hpp"

#include <cmath>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/reduction.hpp"

namespace attograd::train {

void check_loss(double loss, std::int64_t step) {
  if (std::isfinite(loss)) return;
  throw ValueError(fmt::format("training: the loss is {} at step {}; stopping. To find the op where it first "
                               "appears, rerun with anomaly mode on (attograd::autograd::AnomalyMode alive over forward and "
                               "backward), or lower the learning rate",
                               loss, step));
}

std::string result_line(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "result:";
  for (const auto& [name, value] : fields) out += fmt::format(" {}={}", name, value);
  return out;
}

double accuracy(const Tensor& logits, const Tensor& targets) {
  NoGradGuard no_grad;
  require_defined("accuracy", logits, "logits");
  require_defined("accuracy", targets, "targets");
  // Float targets (0.7) would be truncated to a class silently: class indices are int64, as for
  // cross_entropy.
  if (targets.is_floating_point()) {
    throw DTypeError(fmt::format("accuracy: targets must be int64 class indices, got {}; convert with .to(kInt64)",
                                 targets.dtype()));
  }
  if (logits.dim() != targets.dim() + 1) {
    throw ShapeError(fmt::format("accuracy: logits {} need one more dim (the classes) than targets {}", logits.shape(),
                                 targets.shape()));
  }
  const Tensor predicted = argmax(logits, -1);
  if (predicted.shape() != targets.shape()) {
    throw ShapeError(fmt::format("accuracy: logits {} do not match targets {}", logits.shape(), targets.shape()));
  }
  if (targets.numel() == 0) return NAN;
  const double right = sum(eq(predicted, targets.to(kInt64))).item();
  return right / static_cast<double>(targets.numel());
}

}  // namespace attograd::train
