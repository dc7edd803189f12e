// fused_attention's block products (issue 20: "on oneDNN or a kernel of our own, whichever measures
// faster"): the whole fused forward and backward, once with attograd's own product loops (the default)
// and once with every block product on a oneDNN matmul primitive, everything else the same code.
//
//   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DATTOGRAD_BUILD_BENCH=ON
//   cmake --build build/bench --target flash_block_products
//   build/bench/bench/flash_block_products [--reps 7] [--threads 1,2] [--dims 16,32,64]
//                                          [--lengths 64,128,256,512,1024] [--mask causal|none]
//
// The kernel (lib/backend/flash_attention.cpp) takes its float32 products through one function
// (backend::FlashProductF32): C = (accumulate ? C : 0) + op(A)·B for the block shapes it works on,
// Q_blk·K_blkᵀ and P·V forward, Pᵀ·dO, dO·V_blkᵀ, dS·K and dSᵀ·Q backward. Here that function is
// oneDNN's: a matmul primitive per shape and layout (leading dims, whether A is read transposed,
// whether the product adds into C: a sum post-op), strict float32, built on first use and kept per
// thread with its memory objects and stream, each call pointing them at the block and running
// dnnl_primitive_execute on the calling thread (a one-thread primitive: the kernel's threads already
// split the blocks). That is as little as a caller of oneDNN can pay per product.
//
// q, k, v and dy are [N, T, D] with N·T = 8192 tokens (ctrans' 32 x 4 heads at T = 64, gpt's 16 x 4
// at T = 128). For each configuration the two versions run by turns, A B A B, --reps times each, in
// this one process; each rep is one forward plus one backward. The table gives the median time of each
// and the ratio oneDNN / ours of each pair: median, and min .. max over the pairs (the spread a loaded
// machine puts on it). The outputs of the two are compared too (largest difference relative to the
// largest value), so that a fast-but-wrong product would show.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <attograd/attograd.hpp>

#include "common/step_program.hpp"
#include "common/sweep.hpp"

#include "backend/flash_attention.hpp"
#include "backend/threads.hpp"

using namespace attograd;
using Clock = std::chrono::steady_clock;

namespace {

// --- the block products on oneDNN --------------------------------------------------------------

using Key = std::tuple<bool, bool, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                          std::int64_t>;

struct Product {
  dnnl::matmul primitive;
  dnnl::memory a, b, c;
};

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

std::set<std::string> implementations;  // oneDNN's names for the kernels it chose, printed at the end

// One thread's primitives, by (ta, accumulate, m, n, kk, lda, ldb, ldc), and its stream.
struct PerThread {
  dnnl::stream stream{engine()};
  std::map<Key, std::unique_ptr<Product>> products;
};

Product& product_for(PerThread& t, bool ta, bool acc, std::int64_t m, std::int64_t n, std::int64_t kk,
                     std::int64_t lda, std::int64_t ldb, std::int64_t ldc) {
  const Key key{ta, acc, m, n, kk, lda, ldb, ldc};
  auto it = t.products.find(key);
  if (it != t.products.end()) return *it->second;
  using dnnl::memory;
  const memory::desc a({m, kk}, memory::data_type::f32, ta ? memory::dims{1, lda} : memory::dims{lda, 1});
  const memory::desc b({kk, n}, memory::data_type::f32, memory::dims{ldb, 1});
  const memory::desc c({m, n}, memory::data_type::f32, memory::dims{ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_fpmath_mode(dnnl::fpmath_mode::strict);
  if (acc) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);  // C = A·B + C
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine());
  {
    static std::mutex mutex;
    const std::lock_guard lock(mutex);
    implementations.insert(pd.impl_info_str());
  }
  auto p = std::make_unique<Product>();
  p->primitive = dnnl::matmul(pd);
  p->a = memory(a, engine(), DNNL_MEMORY_NONE);
  p->b = memory(b, engine(), DNNL_MEMORY_NONE);
  p->c = memory(c, engine(), DNNL_MEMORY_NONE);
  return *t.products.emplace(key, std::move(p)).first->second;
}

void onednn_product(bool ta, bool acc, std::int64_t m, std::int64_t n, std::int64_t kk, const float* a,
                    std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
  thread_local PerThread t;
  // One thread inside the product, as on every thread of the kernel's own split (outside a parallel
  // region OpenMP's setting would let gemm:jit start a team of its own).
  const backend::OmpThreads one(1);
  Product& p = product_for(t, ta, acc, m, n, kk, lda, ldb, ldc);
  p.a.set_data_handle(const_cast<float*>(a));
  p.b.set_data_handle(const_cast<float*>(b));
  p.c.set_data_handle(c);
  const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, p.a.get()}, {DNNL_ARG_WEIGHTS, p.b.get()}, {DNNL_ARG_DST, p.c.get()}};
  if (dnnl_primitive_execute(p.primitive.get(), t.stream.get(), 3, args) != dnnl_success ||
      dnnl_stream_wait(t.stream.get()) != dnnl_success) {
    throw std::runtime_error("oneDNN could not execute a block product");
  }
}

// --- the runs ------------------------------------------------------------------------------------

struct Inputs {
  Tensor q, k, v, dy, mask;
};

// One forward and one backward; returns their outputs (Y, dQ, dK, dV) for the comparison.
std::vector<Tensor> fused_step(const Inputs& in, backend::FlashProductF32 product) {
  const std::int64_t N = in.q.size(0), T = in.q.size(1), D = in.q.size(2);
  Tensor y = empty({N, T, D}), l = empty({N, T});
  const double c = 1.0 / std::sqrt(static_cast<double>(D));
  backend::flash_attention_forward(in.q, in.k, in.v, in.mask, c, y, l, product);
  Tensor dq = empty({N, T, D}), dk = empty({N, T, D}), dv = empty({N, T, D});
  backend::flash_attention_backward(in.q, in.k, in.v, in.mask, c, y, l, in.dy, dq, dk, dv, product);
  return {y, dq, dk, dv};
}

double seconds_of(const Inputs& in, backend::FlashProductF32 product) {
  const auto t0 = Clock::now();
  fused_step(in, product);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// max |a - b| / max |a| over all four outputs
double difference(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::vector<float> x = a[i].to_vector<float>(), y = b[i].to_vector<float>();
    for (std::size_t j = 0; j < x.size(); ++j) {
      diff = std::max(diff, static_cast<double>(std::abs(x[j] - y[j])));
      scale = std::max(scale, static_cast<double>(std::abs(x[j])));
    }
  }
  return diff / scale;
}

}  // namespace

int main(int argc, char** argv) {
  bench::SweepFlags flags{.threads = {1, 2}, .dims = {16, 32, 64}, .lengths = {64, 128, 256, 512, 1024}, .tokens = {}};
  if (!bench::parse_sweep_flags(argc, argv, flags, false)) return 2;
  const auto& [reps, threads, dims, lengths, tokens, causal] = flags;
  fmt::print("fused attention forward + backward, float32, N x T = 8192 tokens, {} mask, {} pairs A B per row; "
             "load average {} at the start\n",
             causal ? "causal" : "no", reps, bench::load_average());
  fmt::print("{:>3} {:>3} {:>5} {:>5} {:>10} {:>10} {:>8} {:>16} {:>9}\n", "thr", "D", "T", "N", "ours ms",
             "oneDNN ms", "dnnl/our", "min .. max", "rel diff");
  for (const std::int64_t thr : threads) {
    set_num_threads(static_cast<int>(thr));
    for (const std::int64_t D : dims) {
      for (const std::int64_t T : lengths) {
        const std::int64_t N = std::max<std::int64_t>(1, 8192 / T);
        Generator gen(7);
        const Inputs in{randn({N, T, D}, gen), randn({N, T, D}, gen), randn({N, T, D}, gen), randn({N, T, D}, gen),
                        causal ? causal_mask(T) : Tensor()};
        const double diff = difference(fused_step(in, nullptr), fused_step(in, onednn_product));  // and warm-up
        std::vector<double> ours, dnnl, ratio;
        for (int r = 0; r < reps; ++r) {
          ours.push_back(seconds_of(in, nullptr));
          dnnl.push_back(seconds_of(in, onednn_product));
          ratio.push_back(dnnl.back() / ours.back());
        }
        fmt::print("{:>3} {:>3} {:>5} {:>5} {:>10.2f} {:>10.2f} {:>8.3f} {:>7.3f} .. {:<6.3f} {:>9.1e}\n", thr, D, T, N,
                   1e3 * bench::median(ours), 1e3 * bench::median(dnnl), bench::median(ratio),
                   *std::min_element(ratio.begin(), ratio.end()), *std::max_element(ratio.begin(), ratio.end()), diff);
        std::fflush(stdout);
      }
    }
  }
  fmt::print("load average {} at the end; oneDNN's kernels: {}\n", bench::load_average(), fmt::join(implementations, ", "));
  return 0;
}
