/// \file
/// Looking up a learned vector for each token id.
///
/// \code
/// Tensor table = randn({vocab, dim}, gen).requires_grad_();    // W [V, D]
/// Tensor ids = tensor_of<std::int64_t>({3, 1, 3}, {1, 3});      // [B, T] token ids
/// Tensor x = embedding(table, ids);                            // [1, 3, D]: rows 3, 1, 3 of W
/// x.sum().backward();                                          // table.grad() row 3 gets 2, row 1 gets 1
/// \endcode
///
/// The lookup is a gather; its gradient is a scatter-add: row v of dW is the sum of the output
/// gradients of every position whose id is v, so a token that occurs twice is updated twice.
/// Derivation: docs/derivations/embedding.md.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd {

/// Y[p, :] = W[ids[p], :]    W [V, D]  ids [...] int64  Y [..., D]
/// dW[v, :] = sum of dY[p, :] over the positions p with ids[p] = v
/// Every id must be in [0, V): an IndexError names the first bad id, its position and V (no
/// out-of-range memory is ever read). ids must be int64 (DTypeError); ids get no gradient.
Tensor embedding(const Tensor& weight, const Tensor& ids);

}  // namespace attograd
