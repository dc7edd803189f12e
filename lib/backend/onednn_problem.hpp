// Internal to onednn.cpp: a product as oneDNN will compute it (the layout rules of onednn.hpp: batch
// dims folded into rows, broadcast batch dims as size 1), and how it is cut into pieces.
//
//   Problem p = make_problem(a.shape(), a.strides(), b.shape(), b.strides(), c.shape(), flops);
//   for (std::int64_t i = 0; i < p.split.count; ++i) {
//     Piece piece = p.piece(i);   // descriptors of piece i's operands and its offset into each
//   }
//
// Pieces: a product of more than kMatmulGrainFlops (backend/threads.hpp) is cut into pieces along its
// outermost batch dim or its rows, each piece computed by a one-thread primitive. (Not its columns: a
// piece of c's columns is a strided output, for which oneDNN 2.6 offers only its reference kernel.)
// The cut depends on the shapes only, never on the thread count: the threads share out the same pieces,
// so every element of c comes from the same kernel call, the same bits at any thread count. (oneDNN's
// own threading splits a product by the thread count, and for some shapes its K sum too, which moved
// elements of a product by an ulp or more between 1 and 2 threads.)
#pragma once

#include <cstdint>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "attograd/core/shape.hpp"

namespace attograd::backend::onednn {

// A matrix operand [.., R, C] as oneDNN will see it: batch dims aligned to c's, a broadcast batch dim
// (size 1 or stride 0) as size 1.
struct Operand {
  std::vector<std::int64_t> batch, batch_strides;
  std::int64_t rows = 0, cols = 0, row_stride = 0, col_stride = 0;
  bool operator==(const Operand&) const = default;
};

Operand describe(const Shape& shape, const Strides& strides, int batch_rank);
bool has_unit_stride(const Operand& op);

// The fewest rows a piece has: a piece repacks the whole rhs and runs oneDNN's kernel on fewer rows,
// so thin pieces cost (16 pieces of 64 rows made a [1024, 1024] product half as fast on one thread).
inline constexpr std::int64_t kMinPieceRows = 64;

// The most pieces a product is cut into on this machine: its processors, from 2 to 16. A machine
// property, not the thread setting, so that the cut is the same whatever the count.
std::int64_t max_pieces();

// Where a product is cut: along c's outermost batch dim or its rows, into `count` pieces of
// `size` (the last one shorter when size does not divide the extent).
struct Split {
  enum class Along { None, Batch, Rows };
  Along along = Along::None;
  std::int64_t count = 1, size = 0, extent = 0;
  std::int64_t length(std::int64_t i) const { return i + 1 < count ? size : extent - size * (count - 1); }
};

// One piece: its operands' descriptors and where its data starts in each operand, in elements.
struct Piece {
  dnnl::memory::desc lhs, rhs, out, bias, lhs_bf16, rhs_bf16;
  std::int64_t lhs_offset = 0, rhs_offset = 0, out_offset = 0, bias_offset = 0;
  std::int64_t lhs_bf16_offset = 0, rhs_bf16_offset = 0;  // into the operands converted to bf16
};

// The product oneDNN computes: the operands after folding, and its cut.
struct Problem {
  Operand a, b, c, bias;
  Operand a_bf16, b_bf16;  // the operands dense in bfloat16, for MatmulPrecision::BFloat16
  Split split;
  int rank = 0;
  std::int64_t rows = 0;

  // The whole operands' descriptors (for the bf16 conversions) and those of piece i.
  dnnl::memory::desc lhs_desc() const;
  dnnl::memory::desc rhs_desc() const;
  dnnl::memory::desc lhs_bf16_desc() const;
  dnnl::memory::desc rhs_bf16_desc() const;
  Piece piece(std::int64_t i) const;
};

// flops: 2·M·N·K of the whole product, which sets the number of pieces. c is contiguous, or laid out
// by c_strides with a unit stride along its rows and no two elements in one place.
Problem make_problem(const Shape& a_shape, const Strides& a_strides, const Shape& b_shape, const Strides& b_strides,
                     const Shape& c_shape, std::int64_t flops);
Problem make_problem(const Shape& a_shape, const Strides& a_strides, const Shape& b_shape, const Strides& b_strides,
                     const Shape& c_shape, const Strides& c_strides, std::int64_t flops);

// The cut for a product of these folded extents (batch = c's outermost batch dim, 1 without one), in
// at most `most` pieces.
Split choose_split(std::int64_t batch, std::int64_t rows, std::int64_t flops, std::int64_t most);

}  // namespace attograd::backend::onednn
