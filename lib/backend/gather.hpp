// Internal: kernels that read or write rows and elements chosen by int64 indices: the embedding
// lookup (gather rows), its gradient (scatter-add rows), and the pick of one class per row that the
// classification losses need. No graph, no bounds checks: the ops check every index first (with
// first_out_of_range) and only then call these.
//
//   // out[i, :] = table[ids[i], :]
//   backend::gather_rows(table, ids, out);
//   // dtable[ids[i], :] += dout[i, :]    (a repeated id gets every row)
//   backend::scatter_add_rows(dout, ids, dtable);
#pragma once

#include <cstdint>
#include <optional>

#include "attograd/core/shape.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// The flat position of the first index outside [0, n) (skipping those equal to `skip`), or -1 when
// every index is valid. indices: int64, any shape and strides; positions count in row-major order.
std::int64_t first_out_of_range(const Tensor& indices, std::int64_t n, std::optional<std::int64_t> skip = {});

// The multi-dim index of flat position `flat` in a row-major tensor of this shape: 5 in [2, 3] is [1, 2].
Shape unravel_index(std::int64_t flat, const Shape& shape);

// out[i, :] = table[ids[i], :]
// table [V, D] floating, any strides; ids [N] int64, any stride, every id in [0, V); out [N, D]
// contiguous, table's dtype.
void gather_rows(const Tensor& table, const Tensor& ids, Tensor& out);

// table[ids[i], :] += src[i, :] for i = 0..N-1, in order, so a repeated id receives every row.
// src [N, D] floating, any strides; ids [N] int64, any stride, every id in [0, V); table [V, D]
// contiguous, src's dtype.
void scatter_add_rows(const Tensor& src, const Tensor& ids, Tensor& table);

// out[i] = x[i, targets[i]], or 0 where targets[i] == skip.
// x [N, C] floating, any strides; targets [N] int64, any stride, every target in [0, C) or skip;
// out [N] contiguous, x's dtype.
void pick_columns(const Tensor& x, const Tensor& targets, std::int64_t skip, Tensor& out);

// dx[i, targets[i]] += g[i] where targets[i] != skip.
// g [N] floating, any stride; targets as for pick_columns; dx [N, C] contiguous, g's dtype.
void add_at_columns(const Tensor& g, const Tensor& targets, std::int64_t skip, Tensor& dx);

}  // namespace attograd::backend
