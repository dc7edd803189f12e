#include "backend/matmul.hpp"

#include "attograd/backend/settings.hpp"
#include "backend/basic.hpp"
#include "backend/onednn.hpp"

namespace attograd::backend {

namespace {

// x's values rounded to bfloat16, as a new contiguous float32 tensor.
Tensor rounded_to_bfloat16(const Tensor& x) {
  Tensor r = copy(x, kFloat32);
  float* v = r.data<float>();
  for (std::int64_t i = 0; i < r.numel(); ++i) v[i] = round_to_bfloat16(v[i]);
  return r;
}

// On oneDNN: as asked, or, for the bf16 mode where oneDNN has no bf16 kernel (a CPU without AVX-512),
// the operands rounded to bfloat16 values and multiplied in strict float32. That is the mode's
// arithmetic exactly: a product of two bfloat16 is exact in float32, and the sums are float32's.
bool on_onednn(const Tensor& a, const Tensor& b, Tensor& c, const Tensor& bias) {
  if (c.dtype() != kFloat32 || matmul_backend() != MatmulBackend::Auto) return false;
  if (onednn::matmul(a, b, c, bias)) return true;
  if (matmul_precision() != MatmulPrecision::BFloat16 || onednn::native_bf16()) return false;
  const Tensor ra = rounded_to_bfloat16(a), rb = rounded_to_bfloat16(b);
  const MatmulPrecisionGuard strict(MatmulPrecision::Strict);
  return onednn::matmul(ra, rb, c, bias);
}

}  // namespace

// float32 on oneDNN unless the reference path is forced or oneDNN declines the product (an empty dim,
// no implementation); everything else on the reference kernel. float64 always: oneDNN has no float64
// matmul on the CPU.
void matmul(const Tensor& a, const Tensor& b, Tensor& c) {
  if (on_onednn(a, b, c, Tensor())) return;
  matmul_reference(a, b, c);
}

void matmul_bias(const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& c) {
  if (on_onednn(a, b, c, bias)) return;
  matmul_reference(a, b, c);
  add_into(c, bias);
}

}  // namespace attograd::backend
