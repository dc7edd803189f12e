#include "backend/matmul.hpp"

namespace attograd::backend {

void matmul(const Tensor& a, const Tensor& b, Tensor& c) { matmul_reference(a, b, c); }

}  // namespace attograd::backend
