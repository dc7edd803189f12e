// Internal: cross_entropy's two passes over the logits, one row at a time, with no [N, C] tensor in
// the forward and one (the gradient) in the backward. The bits are those of the ops cross_entropy was
// composed of, nll_loss(log_softmax(x)), and of their backwards chained (tests/backend/test_class_loss.cpp
// checks both against them): the row's log-softmax by backend::log_softmax_row, each exp by the kernel
// exp() uses, each product and difference in the element type.
//
//   backend::cross_entropy_rows(x, targets, ignore_index, losses, shifts);             // forward
//   backend::cross_entropy_backward(x, targets, ignore_index, shifts, dlosses, dx);    // backward
#pragma once

#include <cstdint>

#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// losses[i] = -log_softmax(x[i])[t_i], or -0 where t_i == ignore_index (nll_loss's 0, times -1).
// x [N, C] contiguous floating; targets [N] int64 contiguous, each in [0, C) or ignore_index;
// losses [N] and shifts [N, 2] contiguous, x's dtype: shifts receives each row's max and log-total
// (RowShift), all the backward needs besides x.
void cross_entropy_rows(const Tensor& x, const Tensor& targets, std::int64_t ignore_index, Tensor& losses,
                        Tensor& shifts);

// dx[i, j] = (j == t_i ? a_i : 0) - e^{y_ij} a_i with a_i = -dlosses[i] and y = log_softmax(x), which
// is softmax(x[i]) - onehot(t_i) times dlosses[i]; a_i = 0 for an ignored row. dlosses [N] contiguous,
// dx [N, C] contiguous, x's dtype; the rest as cross_entropy_rows gave them.
void cross_entropy_backward(const Tensor& x, const Tensor& targets, std::int64_t ignore_index, const Tensor& shifts,
                            const Tensor& dlosses, Tensor& dx);

}  // namespace attograd::backend
