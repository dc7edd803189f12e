// Runs of the blocked attention kernels (lib/backend/flash_attention.cpp) on fixed random inputs, and
// their bytes for same-bits checks (shared by tests/backend/test_flash_attention.cpp and
// test_flash_onednn.cpp).
#pragma once

#include <cmath>
#include <cstring>
#include <vector>

#include "backend/flash_attention.hpp"
#include "support/test.hpp"

namespace attograd::testing {

inline std::vector<unsigned char> bytes(const Tensor& t) {
  std::vector<unsigned char> out(t.nbytes());
  const void* data = t.dtype() == kFloat32 ? static_cast<const void*>(t.data<float>())
                                           : static_cast<const void*>(t.data<double>());
  if (!out.empty()) std::memcpy(out.data(), data, out.size());
  return out;
}

// Y, L, dQ, dK, dV of [N = 4, T, D] inputs made from a fixed seed, scale 1/√D; float32 products by
// `product` when given, else the kernel's own choice.
inline std::vector<Tensor> flash_run(DType dtype, std::int64_t T, std::int64_t D, const Tensor& mask,
                                     backend::FlashProductF32 product = nullptr) {
  Generator gen(11);
  const Tensor q = randn({4, T, D}, gen, {.dtype = dtype}), k = randn({4, T, D}, gen, {.dtype = dtype});
  const Tensor v = randn({4, T, D}, gen, {.dtype = dtype}), dy = randn({4, T, D}, gen, {.dtype = dtype});
  const double c = 1.0 / std::sqrt(static_cast<double>(D));
  Tensor y = empty({4, T, D}, dtype), l = empty({4, T}, dtype);
  backend::flash_attention_forward(q, k, v, mask, c, y, l, product);
  Tensor dq = empty(q.shape(), dtype), dk = empty(k.shape(), dtype), dv = empty(v.shape(), dtype);
  backend::flash_attention_backward(q, k, v, mask, c, y, l, dy, dq, dk, dv, product);
  return {y, l, dq, dk, dv};
}

}  // namespace attograd::testing
