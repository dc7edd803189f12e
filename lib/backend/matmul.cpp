#include "backend/matmul.hpp"

#include <atomic>
#include <mutex>

#include "attograd/backend/settings.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "backend/basic.hpp"
#include "backend/kept_copies.hpp"
#include "backend/onednn.hpp"

namespace attograd::backend {

namespace {

// x's values rounded to bfloat16, as a float32 tensor: a parameter's block (kept_copies.hpp) rounded
// in memory order and viewed with x's strides, kept while its version holds, so that W and Wᵀ share
// it; anything else copied and rounded now.
std::atomic<std::uint64_t> roundings{0}, rounded_elements{0};

Tensor rounded_to_bfloat16(const Tensor& x) {
  static std::mutex mutex;
  static KeptCopies<Tensor>* const kept = new KeptCopies<Tensor>;  // never destroyed, as onednn.cpp's cache
  const std::lock_guard lock(mutex);
  bool current = false;
  Tensor* block = covers_a_block(x) ? kept->find(x.impl()->storage, x.offset(), x.numel(), current) : nullptr;
  if (block == nullptr) {
    ++roundings;
    rounded_elements += static_cast<std::uint64_t>(x.numel());
    Tensor r = copy(x, kFloat32);
    float* v = r.data<float>();
    for (std::int64_t i = 0; i < r.numel(); ++i) v[i] = round_to_bfloat16(v[i]);
    return r;
  }
  if (!current) {
    ++roundings;
    rounded_elements += static_cast<std::uint64_t>(x.numel());
    *block = empty({x.numel()});
    const float* from = x.data<float>();  // the block's first element: x's lowest address
    float* to = block->data<float>();
    for (std::int64_t i = 0; i < x.numel(); ++i) to[i] = round_to_bfloat16(from[i]);
    kept->set_current(x.impl()->storage, x.offset(), x.numel());
  }
  auto view = std::make_shared<TensorImpl>();
  view->storage = block->impl()->storage;
  view->shape = x.shape();
  view->strides = x.strides();
  return Tensor(std::move(view));
}

// On oneDNN: as asked, or, for the bf16 mode where oneDNN has no bf16 kernel (a CPU without AVX-512),
// the operands rounded to bfloat16 values and multiplied in strict float32. That is the mode's
// arithmetic exactly: a product of two bfloat16 is exact in float32, and the sums are float32's.
bool on_onednn(const Tensor& a, const Tensor& b, Tensor& c, const Epilogue& epilogue) {
  if (c.dtype() != kFloat32 || matmul_backend() != MatmulBackend::Auto) return false;
  if (onednn::matmul(a, b, c, epilogue)) return true;
  if (matmul_precision() != MatmulPrecision::BFloat16 || onednn::native_bf16()) return false;
  const Tensor ra = rounded_to_bfloat16(a), rb = rounded_to_bfloat16(b);
  const MatmulPrecisionGuard strict(MatmulPrecision::Strict);
  return onednn::matmul(ra, rb, c, epilogue);
}

// The reference kernel, which writes a contiguous c: into a contiguous block first when c is not.
void reference_into(const Tensor& a, const Tensor& b, Tensor& c) {
  if (c.is_contiguous()) return matmul_reference(a, b, c);
  Tensor block = empty(c.shape(), c.dtype());
  matmul_reference(a, b, block);
  copy_into(c, block);
}

}  // namespace

Bf16Roundings bf16_roundings() { return {roundings.load(), rounded_elements.load()}; }

// float32 on oneDNN unless the reference path is forced or oneDNN declines the product (an empty dim,
// no implementation); everything else on the reference kernel. float64 always: oneDNN has no float64
// matmul on the CPU.
void matmul(const Tensor& a, const Tensor& b, Tensor& c) {
  if (on_onednn(a, b, c, {})) return;
  reference_into(a, b, c);
}

void matmul_bias(const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& c) { matmul(a, b, c, Epilogue::with_bias(bias)); }

// On oneDNN with the whole epilogue as post-ops; else the product (on oneDNN when it takes the product
// with its bias alone: an added tensor laid out unlike c), then what it declined, one pass each.
void matmul(const Tensor& a, const Tensor& b, Tensor& c, const Epilogue& epilogue) {
  if (epilogue.accumulate) {
    if (epilogue.bias.defined() || epilogue.add.defined()) {
      throw Error("matmul: an accumulating product takes no bias or added tensor (internal)");
    }
    if (on_onednn(a, b, c, epilogue)) return;
    Tensor product = empty(c.shape(), c.dtype());
    matmul(a, b, product);
    add_into(c, product);
    return;
  }
  if (on_onednn(a, b, c, epilogue)) return;
  if (!epilogue.add.defined() || !on_onednn(a, b, c, Epilogue::with_bias(epilogue.bias))) {
    reference_into(a, b, c);
    if (epilogue.bias.defined()) add_into(c, epilogue.bias);
  }
  if (epilogue.add.defined()) add_into(c, epilogue.add);
}

}  // namespace attograd::backend
