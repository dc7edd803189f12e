// Fused attention's float32 block products on oneDNN (flash_onednn.hpp says what and why). Written
// like onednn.cpp: strict float32, one-thread primitives, working memory given by us, the C call to
// execute; but every thread keeps its own primitives, so the kernel's threads never wait on a lock.
#include "backend/flash_onednn.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "attograd/backend/settings.hpp"
#include "attograd/core/errors.hpp"
#include "backend/flash_products.hpp"
#include "backend/malloc_cache.hpp"
#include "backend/threads.hpp"
#include "backend/word_key.hpp"

namespace attograd::backend {

namespace {

using dnnl::memory;

// (a_transposed, accumulate, m, n, kk, lda, ldb, ldc): everything a block product's primitive depends on.
using Key = WordKey<8>;

std::atomic<std::uint64_t> executions{0};

// One engine for every thread's primitives, created on first use and never destroyed (as onednn.cpp's:
// no oneDNN object is released while the OpenMP runtime shuts down at exit).
dnnl::engine& engine() {
  static dnnl::engine* const instance = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *instance;
}

struct Product {
  bool on_onednn = false;  // false: oneDNN would run its reference implementation; ours run instead
  dnnl::matmul primitive;
  memory a, b, c, scratchpad;
  std::string implementation;
  bool strict_math = false;
};

// One thread's products, its stream and its working memory (each grows to the largest a primitive of
// this thread asked for). A thread runs one product at a time, so one buffer serves them all.
struct PerThread {
  dnnl::stream stream{engine()};
  std::vector<std::byte> scratchpad;
  std::unordered_map<Key, std::unique_ptr<Product>, WordKeyHash> products;
};

// A fused call makes a few shapes per head size (full blocks, the last partial ones): this bounds a
// thread's primitives when a program's shapes keep changing.
constexpr std::size_t kProductsPerThread = 256;

PerThread& this_thread() {
  thread_local PerThread t;
  return t;
}

std::unique_ptr<Product> build(PerThread& t, bool ta, bool acc, std::int64_t m, std::int64_t n, std::int64_t kk,
                               std::int64_t lda, std::int64_t ldb, std::int64_t ldc) {
  auto p = std::make_unique<Product>();
  try {
    // op(A) [m, kk]: rows lda apart, or (transposed) stored [kk, m] with its rows lda apart.
    const memory::desc a({m, kk}, memory::data_type::f32, ta ? memory::dims{1, lda} : memory::dims{lda, 1});
    const memory::desc b({kk, n}, memory::data_type::f32, memory::dims{ldb, 1});
    const memory::desc c({m, n}, memory::data_type::f32, memory::dims{ldc, 1});
    dnnl::primitive_attr attr;
    attr.set_fpmath_mode(dnnl::fpmath_mode::strict);  // never bf16, whatever ONEDNN_DEFAULT_FPMATH_MODE says
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (acc) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);  // C = op(A)·B + C
      attr.set_post_ops(ops);
    }
    const OmpThreads one(1);  // a primitive fixes its thread count when created: one, as it will run
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine());
    p->implementation = pd.impl_info_str();
    p->strict_math = pd.get_primitive_attr().get_fpmath_mode() == dnnl::fpmath_mode::strict;
    if (p->implementation.find("ref") != std::string::npos || !p->strict_math) return p;  // ours, faster
    p->primitive = dnnl::matmul(pd);
    p->a = memory(a, engine(), DNNL_MEMORY_NONE);
    p->b = memory(b, engine(), DNNL_MEMORY_NONE);
    p->c = memory(c, engine(), DNNL_MEMORY_NONE);
    p->scratchpad = memory(pd.scratchpad_desc(), engine(), DNNL_MEMORY_NONE);
    t.scratchpad.resize(std::max(t.scratchpad.size(), pd.scratchpad_desc().get_size()));
    p->on_onednn = true;
  } catch (const dnnl::error&) {
    p->on_onednn = false;  // no primitive for this layout: ours compute it
  }
  return p;
}

Product& product_for(PerThread& t, bool ta, bool acc, std::int64_t m, std::int64_t n, std::int64_t kk,
                     std::int64_t lda, std::int64_t ldb, std::int64_t ldc) {
  const Key key{{ta, acc, m, n, kk, lda, ldb, ldc}};
  if (auto it = t.products.find(key); it != t.products.end()) return *it->second;
  if (t.products.size() >= kProductsPerThread) t.products.clear();
  return *t.products.emplace(key, build(t, ta, acc, m, n, kk, lda, ldb, ldc)).first->second;
}

}  // namespace

void flash_product_onednn(bool ta, bool acc, std::int64_t m, std::int64_t n, std::int64_t kk, const float* a,
                          std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  // No terms (oneDNN 2.6 divides by zero making such a primitive): ours give C or zeros.
  if (kk <= 0) return flash_product_ours(ta, acc, m, n, kk, a, lda, b, ldb, c, ldc);
  prime_malloc_cache();  // once per thread, before gemm:jit's first packing buffers (malloc_cache.hpp)
  PerThread& t = this_thread();
  Product& p = product_for(t, ta, acc, m, n, kk, lda, ldb, ldc);
  if (!p.on_onednn) return flash_product_ours(ta, acc, m, n, kk, a, lda, b, ldb, c, ldc);
  // oneDNN takes non-const pointers but writes only DNNL_ARG_DST.
  p.a.set_data_handle(const_cast<float*>(a));
  p.b.set_data_handle(const_cast<float*>(b));
  p.c.set_data_handle(c);
  p.scratchpad.set_data_handle(t.scratchpad.data());
  const std::array<dnnl_exec_arg_t, 4> args{{{DNNL_ARG_SRC, p.a.get()},
                                             {DNNL_ARG_WEIGHTS, p.b.get()},
                                             {DNNL_ARG_DST, p.c.get()},
                                             {DNNL_ARG_SCRATCHPAD, p.scratchpad.get()}}};
  // One thread inside the product, on every thread of the kernel's split: outside a parallel region
  // (the kernel on one thread) OpenMP's setting would let gemm:jit start a team of its own.
  const OmpThreads one(1);
  dnnl_status_t status = dnnl_primitive_execute(p.primitive.get(), t.stream.get(), 4, args.data());
  if (status == dnnl_success) status = dnnl_stream_wait(t.stream.get());
  executions.fetch_add(1, std::memory_order_relaxed);
  if (status != dnnl_success) {
    throw Error(fmt::format("fused_attention: oneDNN could not execute a block product [{}, {}]·[{}, {}] ({}, "
                            "status {})",
                            m, kk, kk, n, p.implementation, static_cast<int>(status)));
  }
}

FlashProductF32 flash_product_for(std::int64_t D, std::int64_t Dv) {
  if (matmul_backend() == MatmulBackend::Reference) return flash_product_ours;
  return std::min(D, Dv) >= kFlashOnednnMinHead ? flash_product_onednn : flash_product_ours;
}

std::uint64_t flash_onednn_executions() { return executions.load(std::memory_order_relaxed); }

FlashOnednnPlan flash_onednn_plan(bool ta, bool acc, std::int64_t m, std::int64_t n, std::int64_t kk,
                                  std::int64_t lda, std::int64_t ldb, std::int64_t ldc) {
  const Product& p = product_for(this_thread(), ta, acc, m, n, kk, lda, ldb, ldc);
  return {p.on_onednn, p.implementation, p.strict_math};
}

}  // namespace attograd::backend
