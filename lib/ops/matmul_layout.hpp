// Internal: matmul with its output laid out as another tensor, for the attention composite.
//
//   Tensor y = matmul_laid_out_as(weights, v, v);   // [B, H, T, D] written into v's [B, T, H, D] order
//
// The same op as matmul (the same node, values and gradients); only where c's elements lie differs.
// With v a head split's view ([B, T, H, D] seen as [B, H, T, D]) and the output of v's shape, the heads
// are then joined back into [B, T, C] by a view instead of a copy. Any other `like` (another shape, a
// contiguous tensor, a layout oneDNN would not write in place) gives matmul's contiguous output.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd {

Tensor matmul_laid_out_as(const Tensor& a, const Tensor& b, const Tensor& like);

}  // namespace attograd
