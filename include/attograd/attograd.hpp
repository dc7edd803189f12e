/// \file
/// Everything in one include.
///
/// \code
/// #include <attograd/attograd.hpp>
/// using namespace attograd;
/// Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
/// Tensor y = (x * x).sum();
/// y.backward();                        // x.grad() == 2x
/// \endcode
#pragma once

#include "attograd/core/dtype.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/core/format.hpp"
#include "attograd/core/random.hpp"
#include "attograd/core/shape.hpp"
#include "attograd/core/tensor.hpp"

#include "attograd/backend/settings.hpp"

#include "attograd/autograd/anomaly.hpp"
#include "attograd/autograd/custom_op.hpp"
#include "attograd/autograd/engine.hpp"
#include "attograd/autograd/grad_mode.hpp"
#include "attograd/autograd/gradcheck.hpp"
#include "attograd/autograd/node.hpp"
#include "attograd/autograd/op_registry.hpp"

#include "attograd/ops/attention.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/dropout.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/index.hpp"
#include "attograd/ops/embedding.hpp"
#include "attograd/ops/linalg.hpp"
#include "attograd/ops/loss.hpp"
#include "attograd/ops/norm.hpp"
#include "attograd/ops/reduction.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "attograd/ops/softmax.hpp"

#include "attograd/optim/adam.hpp"
#include "attograd/optim/clip.hpp"
#include "attograd/optim/optimizer.hpp"
#include "attograd/optim/schedule.hpp"
#include "attograd/optim/sgd.hpp"

#include "attograd/io/atomic_file.hpp"
#include "attograd/io/checkpoint.hpp"
#include "attograd/io/errors.hpp"
#include "attograd/io/safetensors.hpp"

#include "attograd/nn/attention.hpp"
#include "attograd/nn/activation.hpp"
#include "attograd/nn/container.hpp"
#include "attograd/nn/dropout.hpp"
#include "attograd/nn/embedding.hpp"
#include "attograd/nn/feedforward.hpp"
#include "attograd/nn/init.hpp"
#include "attograd/nn/linear.hpp"
#include "attograd/nn/models.hpp"
#include "attograd/nn/module.hpp"
#include "attograd/nn/norm.hpp"
#include "attograd/nn/sampling.hpp"
#include "attograd/nn/transformer.hpp"

#include "attograd/viz/attention.hpp"
#include "attograd/viz/dot.hpp"
#include "attograd/viz/explain.hpp"
#include "attograd/viz/summary.hpp"
#include "attograd/viz/svg.hpp"

#include "attograd/train/csv.hpp"
#include "attograd/train/curve.hpp"
#include "attograd/train/data.hpp"
#include "attograd/train/progress.hpp"
#include "attograd/train/report.hpp"
#include "attograd/train/resume.hpp"
#include "attograd/train/run_report.hpp"
#include "attograd/train/split.hpp"
