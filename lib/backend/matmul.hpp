// Internal: batched matrix products on plain buffers.
//
// c = a·b where a is [.., M, K], b is [.., K, N] and c is [.., M, N], allocated by the caller; the
// batch dims of a and b broadcast to c's. a and b may be strided views (a transpose is a view), so no
// operand is copied just to be transposed; c may be too (a product written straight into the heads'
// [B, T, H, D] layout, seen as [B, H, T, D]): oneDNN writes it in place when its rows have unit
// stride, other kernels into a contiguous block that is then copied.
#pragma once

#include <bit>
#include <cstdint>

#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// The product, on the fastest path available for the dtype: float32 on oneDNN (see onednn.hpp for the
// layouts it takes as they are and those it copies first), float64 on matmul_reference, float32 too
// when MatmulBackend::Reference is chosen (attograd/backend/settings.hpp).
void matmul(const Tensor& a, const Tensor& b, Tensor& c);

// c = a·b + bias with bias [N] added to every row: a Linear layer's forward. On oneDNN the addition
// is fused into the product (one pass over c); elsewhere it follows the reference product.
void matmul_bias(const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& c);

// What a product adds to its result before storing it, in this order:
//   c = a·b + bias + add
// bias [N] is added to every row; add has c's shape (a residual the product's output joins). On
// oneDNN these are post-ops of the product's kernel, applied to each block of c while it is in cache,
// with no pass of their own (add when it is laid out as c; otherwise it follows the product). The
// other kernels compute the same steps one after another: the same bits, since each step is one
// float operation per element either way. (ReLU is not offered: oneDNN's ReLU post-op, a vector max
// with 0, turns NaN into 0, where relu() keeps NaN. Fused behind a check that the operands are
// finite it gained nothing measurable: docs/performance.md.)
//
// accumulate: c += a·b, c's values added last (c = c + a·b, the bits of add_into(c, a·b)), with no
// bias or add: the engine's gradient accumulation done by the product (autograd::Grads::accumulate_into).
// On oneDNN it is the kernel's sum post-op, for products whose K is from kAccumulateMinK to
// kAccumulateMaxK, where it was checked to give those bits (tests/backend/test_onednn_epilogue.cpp):
// a longer sum is split into blocks by the kernel, and the old c may join the first block's partial sum
// rather than the whole sum, and below 16 gemm:jit's sum gave other bits. The others compute the
// product, then add it, one pass each.
struct Epilogue {
  Tensor bias;
  Tensor add;
  bool accumulate = false;
  static Epilogue with_bias(const Tensor& bias) { return {bias, Tensor()}; }
  static Epilogue accumulating() { return {Tensor(), Tensor(), true}; }
};
inline constexpr std::int64_t kAccumulateMinK = 16, kAccumulateMaxK = 128;
void matmul(const Tensor& a, const Tensor& b, Tensor& c, const Epilogue& epilogue);

// attograd's own loops: float64 always, float32 when the reference path is forced. Under
// MatmulPrecision::BFloat16 float32 operands are rounded to bfloat16 first, as oneDNN's bf16 path
// rounds them: the sums stay float32 (a product of two bfloat16 is exact in float32).
void matmul_reference(const Tensor& a, const Tensor& b, Tensor& c);

// The float32 operands the bf16 mode has rounded to bfloat16 values for a strict oneDNN product (a
// CPU without a bf16 kernel; kept copies reused are not counted), and their elements, since the
// process started: for tests and measurements.
struct Bf16Roundings {
  std::uint64_t operands = 0, elements = 0;
};
Bf16Roundings bf16_roundings();

// x rounded to the nearest bfloat16 (float32's upper 16 bits), ties to even, returned as a float32.
// NaN stays NaN; values beyond bfloat16's largest round to infinity, as in hardware.
inline float round_to_bfloat16(float x) {
  const auto bits = std::bit_cast<std::uint32_t>(x);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return x;  // NaN: the rounding would carry into the sign
  const std::uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
  return std::bit_cast<float>(rounded & 0xFFFF0000u);
}

}  // namespace attograd::backend
