#include "backend/matmul.hpp"

#include "attograd/backend/settings.hpp"
#include "backend/basic.hpp"
#include "backend/onednn.hpp"

namespace attograd::backend {

// float32 on oneDNN unless the reference path is forced or oneDNN declines the product (an empty dim,
// no implementation); everything else on the reference kernel. float64 always: oneDNN has no float64
// matmul on the CPU.
void matmul(const Tensor& a, const Tensor& b, Tensor& c) {
  if (c.dtype() == kFloat32 && matmul_backend() == MatmulBackend::Auto && onednn::matmul(a, b, c)) return;
  matmul_reference(a, b, c);
}

void matmul_bias(const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& c) {
  if (c.dtype() == kFloat32 && matmul_backend() == MatmulBackend::Auto && onednn::matmul(a, b, c, bias)) return;
  matmul_reference(a, b, c);
  add_into(c, bias);
}

}  // namespace attograd::backend
