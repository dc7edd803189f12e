/// \file
/// Choosing slices by integer indices.
///
/// \code
/// Tensor batch = index_select(inputs, 0, tensor_of<std::int64_t>({7, 2, 9}, {3}));  // rows 7, 2, 9
/// \endcode
///
/// Any dtype (int64 token sequences and float features alike). Derivation: docs/derivations/shape.md.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd {

/// Y[.., i, ..] = X[.., index[i], ..] along dim    index int64 [n], every entry in [-size, size)
/// dX = dY's slices added back at the positions they came from (a repeated index gets every one)
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);

}  // namespace attograd
