// float32 matmuls on oneDNN: the layout rules, the primitive cache and the call. See onednn.hpp for
// what is folded, what is copied and why, and for the bfloat16 mode.
#include "backend/onednn.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "attograd/core/errors.hpp"
#include "attograd/backend/settings.hpp"
#include "backend/basic.hpp"
#include "backend/threads.hpp"

namespace attograd::backend::onednn {

namespace {

using dnnl::memory;

// --- the cache key ------------------------------------------------------------------------------
// Everything a primitive depends on: both operands' ranks, shapes and strides (c is contiguous, its
// shape follows from theirs), whether a bias is added (always contiguous), the thread count and the
// precision.
// Fixed size and zero-filled, so that building, hashing and comparing one is a few dozen word
// operations: far below oneDNN's own cache lookup.
struct Key {
  std::array<std::int64_t, 5 + 4 * kMaxRank> words{};
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::size_t operator()(const Key& key) const {
    std::uint64_t h = 0;
    for (std::int64_t w : key.words) {
      h = (h ^ static_cast<std::uint64_t>(w)) * 0x9E3779B97F4A7C15ull;
      h ^= h >> 29;
    }
    return h;
  }
};

Key make_key(const Tensor& a, const Tensor& b, bool bias, int threads, bool bf16) {
  Key key;
  std::int64_t* w = key.words.data();
  *w++ = a.dim();
  *w++ = b.dim();
  *w++ = bias;
  *w++ = threads;
  *w++ = bf16;
  for (const Shape* s : {&a.shape(), &a.strides(), &b.shape(), &b.strides()}) {
    std::copy(s->begin(), s->end(), w);
    w += kMaxRank;
  }
  return key;
}

// --- layouts ------------------------------------------------------------------------------------
// A matrix operand [.., R, C] as oneDNN will see it: batch dims aligned to c's, a broadcast batch dim
// (size 1 or stride 0) as size 1.
struct Operand {
  std::vector<std::int64_t> batch, batch_strides;
  std::int64_t rows = 0, cols = 0, row_stride = 0, col_stride = 0;
};

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

// The product oneDNN computes: descriptors of one rank.
struct Problem {
  memory::desc lhs, rhs, out;
  memory::desc bias;                // [1, .., 1, N]
  memory::desc lhs_bf16, rhs_bf16;  // the operands converted, for MatmulPrecision::BFloat16
  int rank = 0;
  std::int64_t rows = 0;
};

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
// (a transposing conversion of a [2048, 128] matrix took 0.25-0.37 ms, a straight one 0.02-0.04 ms),
// and oneDNN's bf16 kernel is as fast on a transposed operand as on a plain one.
memory::desc to_dense_bf16(Operand op) {
  const bool column_major = op.col_stride != 1;
  op.row_stride = column_major ? 1 : op.cols;
  op.col_stride = column_major ? op.rows : 1;
  std::int64_t stride = op.rows * op.cols;
  for (std::size_t d = op.batch.size(); d-- > 0;) {
    op.batch_strides[d] = stride;
    stride *= op.batch[d];
  }
  return to_desc(op, memory::data_type::bf16);
}

Problem make_problem(const Shape& a_shape, const Strides& a_strides, const Shape& b_shape, const Strides& b_strides,
                     const Shape& c_shape) {
  const int batch_rank = c_shape.rank() - 2;
  Operand a = describe(a_shape, a_strides, batch_rank);
  Operand b = describe(b_shape, b_strides, batch_rank);
  std::vector<std::int64_t> batch(c_shape.begin(), c_shape.end() - 2);

  // Batch dims of size 1 in c are size 1 in both operands: they do not exist for the product.
  for (int d = batch_rank - 1; d >= 0; --d) {
    if (batch[d] == 1) {
      for (auto* v : {&batch, &a.batch, &a.batch_strides, &b.batch, &b.batch_strides}) v->erase(v->begin() + d);
    }
  }
  // Innermost batch dims that b broadcasts along and whose a rows continue the previous dim's rows
  // become more rows: [B, T, C]·[C, N] is one [B·T, C]·[C, N] product.
  while (!batch.empty()) {
    const std::size_t d = batch.size() - 1;
    const bool rows_continue = a.rows == 1 ? a.col_stride == 1 : a.batch_strides[d] == a.rows * a.row_stride;
    if (b.batch[d] != 1 || a.batch[d] == 1 || !rows_continue) break;
    if (a.rows == 1) a.row_stride = a.batch_strides[d];
    a.rows *= a.batch[d];
    // describe() gave a single column the old row count as stride; oneDNN refuses a column-major
    // matrix whose leading dimension is below its rows ([2, 2, 1]·[1, 3] failed with status 2).
    if (a.cols == 1 && a.row_stride == 1) a.col_stride = a.rows;
    for (auto* v : {&batch, &a.batch, &a.batch_strides, &b.batch, &b.batch_strides}) v->pop_back();
  }

  Operand c;
  c.batch = batch;
  c.rows = a.rows;
  c.cols = b.cols;
  c.col_stride = 1;
  c.row_stride = c.cols;
  c.batch_strides.assign(batch.size(), 0);
  std::int64_t stride = c.rows * c.cols;
  for (std::size_t d = batch.size(); d-- > 0;) {
    c.batch_strides[d] = stride;
    stride *= batch[d];
  }
  Operand bias;
  bias.batch.assign(batch.size(), 1);
  bias.batch_strides.assign(batch.size(), 0);
  bias.rows = 1;
  bias.cols = c.cols;
  bias.row_stride = c.cols;
  bias.col_stride = 1;
  return {to_desc(a),        to_desc(b),        to_desc(c), to_desc(bias),
          to_dense_bf16(a), to_dense_bf16(b), static_cast<int>(batch.size()) + 2, a.rows};
}

// --- the cache ----------------------------------------------------------------------------------
struct Entry {
  bool on_onednn = false;
  dnnl::matmul primitive;
  memory lhs, rhs, out, bias;  // reused by every call: only their data pointers change
  bool has_bias = false;
  // MatmulPrecision::BFloat16: reorders convert lhs and rhs into lhs_bf16 and rhs_bf16, which the
  // product reads (their data: the context's scratch buffers).
  bool bf16 = false;
  dnnl::reorder to_bf16_lhs, to_bf16_rhs;
  memory lhs_bf16, rhs_bf16;
  bool copies_lhs = false;
  bool copies_rhs = false;
  std::string implementation;
  int rank = 0;
  std::int64_t rows = 0;
  int threads = 0;
  bool strict_math = false;
};

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mutex;  // guards everything below and the memory objects of the entries
  std::unordered_map<Key, std::unique_ptr<Entry>, KeyHash> cache;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t products = 0;
  // The converted operands of the current product, kept between calls: each grows to the largest
  // operand converted so far (bf16 bits, two bytes per element).
  std::vector<std::uint16_t> lhs_bf16, rhs_bf16;
};

// Created on first use and never destroyed: a matmul from another static object's destructor still
// works, and no oneDNN object is released while the OpenMP runtime shuts down at exit.
Context& context() {
  static Context* const instance = new Context;
  return *instance;
}

// Builds the primitive for one choice of copies, or nothing when oneDNN offers only its reference
// implementation (hundreds of times slower than ours would be worth) or none at all.
std::optional<Entry> try_build(Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c, bool bias,
                               bool copy_lhs, bool copy_rhs, int threads, bool bf16) {
  const Strides a_strides = copy_lhs ? contiguous_strides(a.shape()) : a.strides();
  const Strides b_strides = copy_rhs ? contiguous_strides(b.shape()) : b.strides();
  try {
    const Problem p = make_problem(a.shape(), a_strides, b.shape(), b_strides, c.shape());
    dnnl::primitive_attr attr;
    // Strict float32: oneDNN 2.6 may otherwise compute in bf16 when ONEDNN_DEFAULT_FPMATH_MODE says so.
    attr.set_fpmath_mode(dnnl::fpmath_mode::strict);
    // BFloat16: a bf16·bf16 -> f32 product of the converted operands. (fpmath_mode::bf16 on the f32
    // primitive would say the same, but oneDNN 2.6 ignores it without AMX: same kernel, same results.)
    const memory::desc& lhs = bf16 ? p.lhs_bf16 : p.lhs;
    const memory::desc& rhs = bf16 ? p.rhs_bf16 : p.rhs;
    const dnnl::matmul::desc desc =
        bias ? dnnl::matmul::desc(lhs, rhs, p.bias, p.out) : dnnl::matmul::desc(lhs, rhs, p.out);
    const dnnl::matmul::primitive_desc pd(desc, attr, ctx.engine);
    Entry e;
    e.implementation = pd.impl_info_str();
    if (e.implementation.find("ref") != std::string::npos) return std::nullopt;
    e.on_onednn = true;
    e.primitive = dnnl::matmul(pd);
    e.lhs = memory(p.lhs, ctx.engine, DNNL_MEMORY_NONE);
    e.rhs = memory(p.rhs, ctx.engine, DNNL_MEMORY_NONE);
    if (bf16) {
      e.bf16 = true;
      e.to_bf16_lhs = dnnl::reorder(dnnl::reorder::primitive_desc(ctx.engine, p.lhs, ctx.engine, p.lhs_bf16));
      e.to_bf16_rhs = dnnl::reorder(dnnl::reorder::primitive_desc(ctx.engine, p.rhs, ctx.engine, p.rhs_bf16));
      e.lhs_bf16 = memory(p.lhs_bf16, ctx.engine, DNNL_MEMORY_NONE);
      e.rhs_bf16 = memory(p.rhs_bf16, ctx.engine, DNNL_MEMORY_NONE);
    }
    e.out = memory(p.out, ctx.engine, DNNL_MEMORY_NONE);
    if (bias) e.bias = memory(p.bias, ctx.engine, DNNL_MEMORY_NONE);
    e.has_bias = bias;
    e.copies_lhs = copy_lhs;
    e.copies_rhs = copy_rhs;
    e.rank = p.rank;
    e.rows = p.rows;
    e.threads = threads;
    e.strict_math = !bf16 && pd.get_primitive_attr().get_fpmath_mode() == dnnl::fpmath_mode::strict;
    return e;
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
}

std::unique_ptr<Entry> build(Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c, bool bias, int threads,
                             bool bf16) {
  const int batch_rank = c.dim() - 2;
  const bool a_unit = has_unit_stride(describe(a.shape(), a.strides(), batch_rank));
  const bool b_unit = has_unit_stride(describe(b.shape(), b.strides(), batch_rank));
  // As given; then copying the operands without a unit stride; then copying both.
  const std::array<std::array<bool, 2>, 3> attempts{{{false, false}, {!a_unit, !b_unit}, {true, true}}};
  for (const auto& [copy_lhs, copy_rhs] : attempts) {
    if (std::optional<Entry> e = try_build(ctx, a, b, c, bias, copy_lhs, copy_rhs, threads, bf16)) {
      return std::make_unique<Entry>(std::move(*e));
    }
  }
  auto declined = std::make_unique<Entry>();
  declined->threads = threads;
  return declined;
}

// The entry for these operands, built on a miss. Call with ctx.mutex held.
const Entry& lookup(Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c, bool bias, int threads,
                    bool bf16) {
  const Key key = make_key(a, b, bias, threads, bf16);
  if (auto it = ctx.cache.find(key); it != ctx.cache.end()) {
    ++ctx.hits;
    return *it->second;
  }
  ++ctx.misses;
  if (ctx.cache.size() >= kCacheCapacity) ctx.cache.clear();
  return *ctx.cache.emplace(key, build(ctx, a, b, c, bias, threads, bf16)).first->second;
}

bool usable(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& bias) {
  return a.dtype() == kFloat32 && b.dtype() == kFloat32 && c.dtype() == kFloat32 && c.numel() > 0 &&
         a.shape()[-1] > 0 && c.is_contiguous() && (!bias.defined() || bias.dtype() == kFloat32);
}

void check(dnnl_status_t status, const Entry& e, std::string_view what) {
  if (status != dnnl_success) {
    throw Error(fmt::format("matmul: oneDNN could not {} ({}, status {})", what, e.implementation,
                            static_cast<int>(status)));
  }
}

bool bf16_chosen() { return matmul_precision() == MatmulPrecision::BFloat16; }

// Converts the operand `from` points at into `scratch` (grown as needed) and points `to` there.
void convert(Context& ctx, const Entry& e, const dnnl::reorder& reorder, const memory& from, const memory& to,
             std::vector<std::uint16_t>& scratch) {
  scratch.resize(std::max(scratch.size(), to.get_desc().get_size() / sizeof(std::uint16_t)));
  to.set_data_handle(scratch.data());
  std::array<dnnl_exec_arg_t, 2> args{{{DNNL_ARG_FROM, from.get()}, {DNNL_ARG_TO, to.get()}}};
  check(dnnl_primitive_execute(reorder.get(), ctx.stream.get(), 2, args.data()), e, "convert to bf16");
}

}  // namespace

bool matmul(const Tensor& a, const Tensor& b, Tensor& c, const Tensor& bias) {
  if (!usable(a, b, c, bias)) return false;
  Context& ctx = context();
  const int threads = apply_num_threads();
  std::lock_guard lock(ctx.mutex);
  const Entry& e = lookup(ctx, a, b, c, bias.defined(), threads, bf16_chosen());
  if (!e.on_onednn) return false;
  const Tensor lhs = e.copies_lhs ? copy(a, kFloat32) : a;
  const Tensor rhs = e.copies_rhs ? copy(b, kFloat32) : b;
  // oneDNN takes non-const pointers but only writes DNNL_ARG_DST.
  e.lhs.set_data_handle(const_cast<float*>(lhs.data<float>()));
  e.rhs.set_data_handle(const_cast<float*>(rhs.data<float>()));
  e.out.set_data_handle(c.data<float>());
  if (e.bf16) {
    convert(ctx, e, e.to_bf16_lhs, e.lhs, e.lhs_bf16, ctx.lhs_bf16);
    convert(ctx, e, e.to_bf16_rhs, e.rhs, e.rhs_bf16, ctx.rhs_bf16);
  }
  // The C call takes the arguments as an array; the C++ one would build a std::unordered_map per call.
  std::array<dnnl_exec_arg_t, 4> args{{{DNNL_ARG_SRC, (e.bf16 ? e.lhs_bf16 : e.lhs).get()},
                                       {DNNL_ARG_WEIGHTS, (e.bf16 ? e.rhs_bf16 : e.rhs).get()},
                                       {DNNL_ARG_DST, e.out.get()},
                                       {DNNL_ARG_BIAS, e.bias.get(/*allow_empty=*/true)}}};
  Tensor bias_data;  // [N], contiguous: a strided bias (rare, N elements) is copied
  if (e.has_bias) {
    bias_data = bias.is_contiguous() ? bias : copy(bias, kFloat32);
    e.bias.set_data_handle(const_cast<float*>(bias_data.data<float>()));
  }
  const int nargs = e.has_bias ? 4 : 3;
  check(dnnl_primitive_execute(e.primitive.get(), ctx.stream.get(), nargs, args.data()), e, "execute");
  check(dnnl_stream_wait(ctx.stream.get()), e, "wait for");
  ++ctx.products;
  return true;
}

MatmulPlan plan(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& bias) {
  if (!usable(a, b, c, bias)) return {};
  Context& ctx = context();
  const int threads = apply_num_threads();
  std::lock_guard lock(ctx.mutex);
  const Entry& e = lookup(ctx, a, b, c, bias.defined(), threads, bf16_chosen());
  return {e.on_onednn, e.implementation, e.copies_lhs, e.copies_rhs, e.rank, e.rows, e.threads, e.strict_math, e.bf16};
}

CacheStats cache_stats() {
  Context& ctx = context();
  std::lock_guard lock(ctx.mutex);
  return {ctx.cache.size(), ctx.hits, ctx.misses, ctx.products};
}

void clear_cache() {
  Context& ctx = context();
  std::lock_guard lock(ctx.mutex);
  ctx.cache.clear();
}

}  // namespace attograd::backend::onednn
