// A product as oneDNN computes it, and its cut into pieces (onednn_problem.hpp).
#include "backend/onednn_problem.hpp"

#include <unistd.h>

#include <algorithm>

#include "backend/threads.hpp"

namespace attograd::backend::onednn {

using dnnl::memory;

Operand describe(const Shape& shape, const Strides& strides, int batch_rank) {
  Operand op;
  op.batch.assign(batch_rank, 1);
  op.batch_strides.assign(batch_rank, 0);
  const int shift = batch_rank - (shape.rank() - 2);
  for (int d = 0; d + 2 < shape.rank(); ++d) {
    if (shape[d] != 1 && strides[d] != 0) {
      op.batch[d + shift] = shape[d];
      op.batch_strides[d + shift] = strides[d];
    }
  }
  op.rows = shape[-2];
  op.cols = shape[-1];
  op.row_stride = strides[-2];
  op.col_stride = strides[-1];
  // The stride of a size-1 dim is meaningless; pick the one that makes the other dim's stride the
  // unit one when it can be, as oneDNN's fast kernels want one unit stride per matrix.
  if (op.rows == 1) op.row_stride = op.col_stride == 1 ? op.cols : 1;
  if (op.cols == 1) op.col_stride = op.row_stride == 1 ? op.rows : 1;
  return op;
}

bool has_unit_stride(const Operand& op) { return op.row_stride == 1 || op.col_stride == 1; }

namespace {

memory::desc to_desc(const Operand& op, memory::data_type type = memory::data_type::f32) {
  memory::dims dims = op.batch, strides = op.batch_strides;
  dims.push_back(op.rows);
  dims.push_back(op.cols);
  strides.push_back(op.row_stride);
  strides.push_back(op.col_stride);
  // A size-1 batch dim gets the operand's whole extent as stride, as in a dense tensor: oneDNN checks
  // that strides do not overlap and picks its fast kernels by them.
  std::int64_t extent = 1;
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] > 1) extent = std::max(extent, dims[d] * strides[d]);
  }
  for (std::size_t d = 0; d + 2 < dims.size(); ++d) {
    if (dims[d] == 1) strides[d] = extent;
  }
  return memory::desc(dims, type, strides);
}

// The operand dense in bfloat16, its unit-stride dim kept: converting it is then one straight pass
// (a transposing conversion took about ten times as long: docs/performance.md, "The bf16 mode"), and
// oneDNN's bf16 kernel is as fast on a transposed operand as on a plain one.
Operand dense_bf16(Operand op) {
  const bool column_major = op.col_stride != 1;
  op.row_stride = column_major ? 1 : op.cols;
  op.col_stride = column_major ? op.rows : 1;
  std::int64_t stride = op.rows * op.cols;
  for (std::size_t d = op.batch.size(); d-- > 0;) {
    op.batch_strides[d] = stride;
    stride *= op.batch[d];
  }
  return op;
}

// Operand op cut to [begin, begin + length) along `along` (an operand broadcast along the batch dim,
// size 1 there, is not cut); returns the piece and adds where it starts to `offset`.
Operand cut(Operand op, Split::Along along, std::int64_t begin, std::int64_t length, std::int64_t& offset) {
  switch (along) {
    case Split::Along::Batch:
      if (!op.batch.empty() && op.batch[0] != 1) {
        op.batch[0] = length;
        offset += begin * op.batch_strides[0];
      }
      break;
    case Split::Along::Rows:
      op.rows = length;
      offset += begin * op.row_stride;
      break;
    case Split::Along::None: break;
  }
  return op;
}

}  // namespace

std::int64_t max_pieces() {
  static const std::int64_t most = std::clamp<std::int64_t>(sysconf(_SC_NPROCESSORS_ONLN), 2, 16);
  return most;
}

Split choose_split(std::int64_t batch, std::int64_t rows, std::int64_t flops, std::int64_t most) {
  Split s;
  if (flops < kMatmulGrainFlops) return s;
  const std::int64_t wanted = std::min(most, 1 + flops / kMatmulGrainFlops);
  // The batch dim when it takes `wanted` pieces, else the one of batch and rows that takes more.
  const std::int64_t row_pieces = rows / kMinPieceRows;
  const bool by_batch = batch >= wanted || batch >= row_pieces;
  const std::int64_t pieces = std::min(wanted, by_batch ? batch : row_pieces);
  if (pieces < 2) return s;
  s.along = by_batch ? Split::Along::Batch : Split::Along::Rows;
  s.extent = by_batch ? batch : rows;
  s.size = (s.extent + pieces - 1) / pieces;
  s.count = (s.extent + s.size - 1) / s.size;
  return s;
}

memory::desc Problem::lhs_desc() const { return to_desc(a); }
memory::desc Problem::rhs_desc() const { return to_desc(b); }
memory::desc Problem::lhs_bf16_desc() const { return to_desc(a_bf16, memory::data_type::bf16); }
memory::desc Problem::rhs_bf16_desc() const { return to_desc(b_bf16, memory::data_type::bf16); }

Piece Problem::piece(std::int64_t i) const {
  const std::int64_t begin = split.along == Split::Along::None ? 0 : i * split.size;
  const std::int64_t length = split.along == Split::Along::None ? 0 : split.length(i);
  // c's rows are a's: a cut of the rows leaves b whole. The bias [1, .., 1, N] is the same for every
  // row and batch: no cut cuts it.
  const Split::Along none = Split::Along::None;
  const Split::Along along_a = split.along, along_b = split.along == Split::Along::Rows ? none : split.along;
  const Split::Along along_bias = none;
  Piece p;
  p.lhs = to_desc(cut(a, along_a, begin, length, p.lhs_offset));
  p.rhs = to_desc(cut(b, along_b, begin, length, p.rhs_offset));
  p.out = to_desc(cut(c, split.along, begin, length, p.out_offset));
  p.bias = to_desc(cut(bias, along_bias, begin, length, p.bias_offset));
  // The bf16 copies are dense, so their pieces start elsewhere than the float32 operands' do.
  p.lhs_bf16 = to_desc(cut(a_bf16, along_a, begin, length, p.lhs_bf16_offset), memory::data_type::bf16);
  p.rhs_bf16 = to_desc(cut(b_bf16, along_b, begin, length, p.rhs_bf16_offset), memory::data_type::bf16);
  return p;
}

Problem make_problem(const Shape& a_shape, const Strides& a_strides, const Shape& b_shape, const Strides& b_strides,
                     const Shape& c_shape, std::int64_t flops) {
  return make_problem(a_shape, a_strides, b_shape, b_strides, c_shape, contiguous_strides(c_shape), flops);
}

Problem make_problem(const Shape& a_shape, const Strides& a_strides, const Shape& b_shape, const Strides& b_strides,
                     const Shape& c_shape, const Strides& c_strides, std::int64_t flops) {
  const int batch_rank = c_shape.rank() - 2;
  Operand a = describe(a_shape, a_strides, batch_rank);
  Operand b = describe(b_shape, b_strides, batch_rank);
  // c as given: contiguous, or rows of unit stride laid out otherwise (a product written straight
  // into a [B, T, H, D] tensor seen as [B, H, T, D]).
  Operand c = describe(c_shape, c_strides, batch_rank);
  c.col_stride = 1;
  c.row_stride = c.rows == 1 ? c.cols : c_strides[-2];
  std::vector<std::int64_t> batch(c_shape.begin(), c_shape.end() - 2);

  // Batch dims of size 1 in c are size 1 in both operands: they do not exist for the product.
  for (int d = batch_rank - 1; d >= 0; --d) {
    if (batch[d] == 1) {
      for (auto* v : {&batch, &a.batch, &a.batch_strides, &b.batch, &b.batch_strides, &c.batch, &c.batch_strides}) {
        v->erase(v->begin() + d);
      }
    }
  }
  // Innermost batch dims that b broadcasts along and whose a rows (and c rows) continue the previous
  // dim's rows become more rows: [B, T, C]·[C, N] is one [B·T, C]·[C, N] product.
  while (!batch.empty()) {
    const std::size_t d = batch.size() - 1;
    const bool rows_continue = a.rows == 1 ? a.col_stride == 1 : a.batch_strides[d] == a.rows * a.row_stride;
    const bool c_rows_continue = c.batch_strides[d] == c.rows * c.row_stride;
    if (b.batch[d] != 1 || a.batch[d] == 1 || !rows_continue || !c_rows_continue) break;
    if (a.rows == 1) a.row_stride = a.batch_strides[d];
    a.rows *= a.batch[d];
    // describe() gave a single column the old row count as stride; oneDNN refuses a column-major
    // matrix whose leading dimension is below its rows ([2, 2, 1]·[1, 3] failed with status 2).
    if (a.cols == 1 && a.row_stride == 1) a.col_stride = a.rows;
    c.rows *= c.batch[d];
    for (auto* v : {&batch, &a.batch, &a.batch_strides, &b.batch, &b.batch_strides, &c.batch, &c.batch_strides}) {
      v->pop_back();
    }
  }

  Problem p;
  p.c = c;
  p.bias.batch.assign(batch.size(), 1);
  p.bias.batch_strides.assign(batch.size(), 0);
  p.bias.rows = 1;
  p.bias.cols = c.cols;
  p.bias.row_stride = c.cols;
  p.bias.col_stride = 1;
  p.a = a;
  p.b = b;
  p.a_bf16 = dense_bf16(a);
  p.b_bf16 = dense_bf16(b);
  p.rank = static_cast<int>(batch.size()) + 2;
  p.rows = a.rows;
  p.split = choose_split(batch.empty() ? 1 : batch[0], c.rows, flops, max_pieces());
  return p;
}

}  // namespace attograd::backend::onednn
