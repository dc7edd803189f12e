// float32 matmuls on oneDNN: the primitive cache and the call. See onednn.hpp for what is folded,
// what is copied and why, and for the bfloat16 mode; onednn_problem.hpp for the layouts and the pieces.
#include "backend/onednn.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "attograd/backend/settings.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "backend/basic.hpp"
#include "backend/kept_copies.hpp"
#include "backend/malloc_cache.hpp"
#include "backend/onednn_key.hpp"
#include "backend/onednn_problem.hpp"
#include "backend/threads.hpp"

namespace attograd::backend::onednn {

namespace {

using dnnl::memory;

// --- the cache ----------------------------------------------------------------------------------
// The primitive of every piece of one shape (all pieces but the last, and the last), and memory
// objects for each thread that runs such a piece: a call only points them at the data.
struct PieceKind {
  dnnl::matmul primitive;
  memory::desc lhs, rhs, out, bias;  // as the primitive reads them (bf16 operands in the bf16 mode)
  memory::desc scratchpad;           // the primitive's working memory, given by us: see make_kind
  struct Slot {
    memory lhs, rhs, out, bias, scratchpad, add;  // add: laid out as out
  };
  std::vector<Slot> slots;  // one per thread, made on first use
};

struct Entry {
  bool on_onednn = false;
  std::vector<Piece> pieces;     // where each piece's data starts (one piece: the whole product)
  std::array<PieceKind, 2> kinds;  // [0]: every piece but a shorter last one, [1]: that one
  Post post;
  // MatmulPrecision::BFloat16: reorders convert the whole of lhs and rhs into the context's scratch
  // buffers, which the pieces read.
  bool bf16 = false;
  std::array<bool, 2> in_order{};  // lhs, rhs: converting it is a pass in memory order, so kept copies serve
  dnnl::reorder to_bf16_lhs, to_bf16_rhs;
  memory lhs, rhs, lhs_bf16, rhs_bf16;  // the whole operands, for the conversions
  bool copies_lhs = false;
  bool copies_rhs = false;
  std::string implementation;
  int rank = 0;
  std::int64_t rows = 0;
  std::int64_t flops = 0;  // of the whole product
  bool strict_math = false;

  const PieceKind& kind_of(std::size_t i) const {
    return kinds[i + 1 == pieces.size() && kinds[1].primitive ? 1 : 0];
  }
};

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::vector<dnnl::stream> streams;  // one per thread running pieces, [0] the caller's
  // Each thread's working memory for the primitive it runs, shared by every entry: each grows to the
  // largest one so far (one per entry and thread added 5-10 MB to a transformer step's peak).
  std::vector<std::vector<std::byte>> scratchpads;
  std::mutex mutex;  // guards everything below and the memory objects of the entries
  std::unordered_map<Key, std::unique_ptr<Entry>, WordKeyHash> cache;
  std::uint64_t hits = 0, misses = 0, products = 0, executions = 0;
  // The converted operands of the current product, kept between calls: each grows to the largest
  // operand converted so far (bf16 bits, two bytes per element).
  std::vector<std::uint16_t> lhs_bf16, rhs_bf16;
  // Parameters' converted operands, kept while their version holds (kept_copies.hpp).
  KeptCopies<std::vector<std::uint16_t>> kept;
  Context() { streams.emplace_back(engine); }
};

// Created on first use and never destroyed: a matmul from another static object's destructor still
// works, and no oneDNN object is released while the OpenMP runtime shuts down at exit.
Context& context() {
  static Context* const instance = new Context;
  return *instance;
}

struct Built {
  PieceKind kind;
  std::string implementation;
  bool strict_math = false;
};

Built make_kind(Context& ctx, const Piece& piece, Post post, bool bf16) {
  dnnl::primitive_attr attr;
  // Strict float32: oneDNN 2.6 may otherwise compute in bf16 when ONEDNN_DEFAULT_FPMATH_MODE says so.
  attr.set_fpmath_mode(dnnl::fpmath_mode::strict);
  // Pieces of one product run at once on several threads: each thread gets its own working memory,
  // rather than one that oneDNN may share between the executions of a primitive.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  // The epilogue, applied by the kernel to each block of c it has just computed, after the bias: the
  // added tensor (a residual), one pass over c fewer.
  dnnl::post_ops ops;
  if (post.add) ops.append_binary(dnnl::algorithm::binary_add, piece.out);
  if (post.sum) ops.append_sum(1.0f);  // c = c + a·b: the kernel reads c's old values, no pass of its own
  attr.set_post_ops(ops);
  // BFloat16: a bf16·bf16 -> f32 product of the converted operands. (fpmath_mode::bf16 on the f32
  // primitive would say the same, but oneDNN 2.6 ignores it without AMX: same kernel, same results.)
  Built built;
  PieceKind& k = built.kind;
  k.lhs = bf16 ? piece.lhs_bf16 : piece.lhs;
  k.rhs = bf16 ? piece.rhs_bf16 : piece.rhs;
  k.out = piece.out;
  k.bias = piece.bias;
  const dnnl::matmul::desc desc =
      post.bias ? dnnl::matmul::desc(k.lhs, k.rhs, k.bias, k.out) : dnnl::matmul::desc(k.lhs, k.rhs, k.out);
  const dnnl::matmul::primitive_desc pd(desc, attr, ctx.engine);
  built.implementation = pd.impl_info_str();
  built.strict_math = !bf16 && pd.get_primitive_attr().get_fpmath_mode() == dnnl::fpmath_mode::strict;
  k.scratchpad = pd.scratchpad_desc();
  k.primitive = dnnl::matmul(pd);
  return built;
}

// Builds the pieces' primitives for one choice of copies, or nothing when oneDNN offers only its
// reference implementation (hundreds of times slower than ours would be worth) or none at all.
std::optional<Entry> try_build(Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c, Post post,
                               bool copy_lhs, bool copy_rhs, bool bf16) {
  const Strides a_strides = copy_lhs ? contiguous_strides(a.shape()) : a.strides();
  const Strides b_strides = copy_rhs ? contiguous_strides(b.shape()) : b.strides();
  try {
    const OmpThreads one(1);  // a primitive fixes its thread count when created: one, as it will run
    const Problem p =
        make_problem(a.shape(), a_strides, b.shape(), b_strides, c.shape(), c.strides(), product_flops(a, c));
    Entry e;
    e.flops = product_flops(a, c);
    for (std::int64_t i = 0; i < p.split.count; ++i) e.pieces.push_back(p.piece(i));
    Built first = make_kind(ctx, e.pieces.front(), post, bf16);
    if (first.implementation.find("ref") != std::string::npos) return std::nullopt;
    e.kinds[0] = std::move(first.kind);
    if (p.split.count > 1 && p.split.length(p.split.count - 1) != p.split.size) {
      Built last = make_kind(ctx, e.pieces.back(), post, bf16);
      if (last.implementation.find("ref") != std::string::npos) return std::nullopt;
      e.kinds[1] = std::move(last.kind);
    }
    e.implementation = first.implementation;
    e.strict_math = first.strict_math;
    e.on_onednn = true;
    e.lhs = memory(p.lhs_desc(), ctx.engine, DNNL_MEMORY_NONE);
    e.rhs = memory(p.rhs_desc(), ctx.engine, DNNL_MEMORY_NONE);
    if (bf16) {
      e.bf16 = true;
      e.in_order = {p.a == p.a_bf16, p.b == p.b_bf16};
      e.to_bf16_lhs = dnnl::reorder(dnnl::reorder::primitive_desc(ctx.engine, p.lhs_desc(), ctx.engine, p.lhs_bf16_desc()));
      e.to_bf16_rhs = dnnl::reorder(dnnl::reorder::primitive_desc(ctx.engine, p.rhs_desc(), ctx.engine, p.rhs_bf16_desc()));
      e.lhs_bf16 = memory(p.lhs_bf16_desc(), ctx.engine, DNNL_MEMORY_NONE);
      e.rhs_bf16 = memory(p.rhs_bf16_desc(), ctx.engine, DNNL_MEMORY_NONE);
    }
    e.post = post;
    e.copies_lhs = copy_lhs;
    e.copies_rhs = copy_rhs;
    e.rank = p.rank;
    e.rows = p.rows;
    return e;
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
}

std::unique_ptr<Entry> build(Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c, Post post, bool bf16) {
  const int batch_rank = c.dim() - 2;
  const bool a_unit = has_unit_stride(describe(a.shape(), a.strides(), batch_rank));
  const bool b_unit = has_unit_stride(describe(b.shape(), b.strides(), batch_rank));
  // As given; then copying the operands without a unit stride; then copying both.
  const std::array<std::array<bool, 2>, 3> attempts{{{false, false}, {!a_unit, !b_unit}, {true, true}}};
  for (const auto& [copy_lhs, copy_rhs] : attempts) {
    if (std::optional<Entry> e = try_build(ctx, a, b, c, post, copy_lhs, copy_rhs, bf16)) {
      return std::make_unique<Entry>(std::move(*e));
    }
  }
  return std::make_unique<Entry>();  // declined: the reference kernel computes it
}

// The entry for these operands, built on a miss. Call with ctx.mutex held.
Entry& lookup(Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c, Post post, bool bf16) {
  const Key key = make_key(a, b, c, post, bf16);
  if (auto it = ctx.cache.find(key); it != ctx.cache.end()) {
    ++ctx.hits;
    return *it->second;
  }
  ++ctx.misses;
  if (ctx.cache.size() >= kCacheCapacity) ctx.cache.clear();
  return *ctx.cache.emplace(key, build(ctx, a, b, c, post, bf16)).first->second;
}


void check(dnnl_status_t status, const Entry& e, std::string_view what) {
  if (status != dnnl_success) {
    throw Error(fmt::format("matmul: oneDNN could not {} ({}, status {})", what, e.implementation,
                            static_cast<int>(status)));
  }
}

bool bf16_chosen() { return matmul_precision() == MatmulPrecision::BFloat16; }

// The threads a product runs on: one below kMatmulThreadFlops, else as many as its pieces, at most
// those allowed now (threads.hpp). Below that its pieces run one after another on the calling thread.
int threads_for_pieces(const Entry& e) {
  const auto pieces = static_cast<int>(e.pieces.size());
  return pieces > 1 && e.flops >= kMatmulThreadFlops ? std::min(pieces, threads_allowed()) : 1;
}

// Makes the streams and memory objects `threads` threads need. Call with ctx.mutex held.
void prepare_threads(Context& ctx, Entry& e, int threads) {
  while (static_cast<int>(ctx.streams.size()) < threads) ctx.streams.emplace_back(ctx.engine);
  if (static_cast<int>(ctx.scratchpads.size()) < threads) ctx.scratchpads.resize(static_cast<std::size_t>(threads));
  for (const PieceKind& k : e.kinds) {
    if (!k.primitive) continue;
    for (int t = 0; t < threads; ++t) {
      std::vector<std::byte>& buffer = ctx.scratchpads[static_cast<std::size_t>(t)];
      buffer.resize(std::max(buffer.size(), k.scratchpad.get_size()));
    }
  }
  for (PieceKind& k : e.kinds) {
    if (!k.primitive) continue;
    while (static_cast<int>(k.slots.size()) < threads) {
      k.slots.push_back({memory(k.lhs, ctx.engine, DNNL_MEMORY_NONE), memory(k.rhs, ctx.engine, DNNL_MEMORY_NONE),
                         memory(k.out, ctx.engine, DNNL_MEMORY_NONE), memory(k.bias, ctx.engine, DNNL_MEMORY_NONE),
                         memory(k.scratchpad, ctx.engine, DNNL_MEMORY_NONE), memory(k.out, ctx.engine, DNNL_MEMORY_NONE)});
    }
  }
}

// The bf16 bits of operand `side` (0: lhs, 1: rhs) of data: the kept copy of its block while that
// holds its values, else converted now, into the kept copy or `scratch`.
const std::uint16_t* bf16_operand(Context& ctx, const Entry& e, int side, const Tensor& data,
                                  std::vector<std::uint16_t>& scratch) {
  const memory &from = side == 0 ? e.lhs : e.rhs, &to = side == 0 ? e.lhs_bf16 : e.rhs_bf16;
  const auto count = static_cast<std::int64_t>(to.get_desc().get_size() / sizeof(std::uint16_t));
  bool current = false;
  std::vector<std::uint16_t>* kept =
      e.in_order[static_cast<std::size_t>(side)] ? ctx.kept.find(data.impl()->storage, data.offset(), count, current) : nullptr;
  if (kept != nullptr && current) return kept->data();
  std::vector<std::uint16_t>& into = kept != nullptr ? *kept : scratch;
  into.resize(std::max(into.size(), static_cast<std::size_t>(count)));
  from.set_data_handle(const_cast<float*>(data.data<float>()));
  to.set_data_handle(into.data());
  std::array<dnnl_exec_arg_t, 2> args{{{DNNL_ARG_FROM, from.get()}, {DNNL_ARG_TO, to.get()}}};
  const dnnl::reorder& reorder = side == 0 ? e.to_bf16_lhs : e.to_bf16_rhs;
  check(dnnl_primitive_execute(reorder.get(), ctx.streams[0].get(), 2, args.data()), e, "convert to bf16");
  ++ctx.executions;
  if (kept != nullptr) ctx.kept.set_current(data.impl()->storage, data.offset(), count);
  return into.data();
}

// The data of one product's operands: float32, or bf16 (in scratch buffers or kept copies).
struct Data {
  const float *lhs, *rhs;
  float* out;
  const float *bias, *add;  // add: laid out as out
  const std::uint16_t *lhs_bf16, *rhs_bf16;
};

// Computes piece i with the memory objects of thread `slot`; returns oneDNN's status.
dnnl_status_t run_piece(Context& ctx, const Entry& e, std::size_t i, int slot, const Data& d) {
  const Piece& p = e.pieces[i];
  const PieceKind& k = e.kind_of(i);
  const PieceKind::Slot& s = k.slots[static_cast<std::size_t>(slot)];
  // oneDNN takes non-const pointers but only writes DNNL_ARG_DST.
  s.lhs.set_data_handle(e.bf16 ? static_cast<void*>(const_cast<std::uint16_t*>(d.lhs_bf16 + p.lhs_bf16_offset))
                               : static_cast<void*>(const_cast<float*>(d.lhs + p.lhs_offset)));
  s.rhs.set_data_handle(e.bf16 ? static_cast<void*>(const_cast<std::uint16_t*>(d.rhs_bf16 + p.rhs_bf16_offset))
                               : static_cast<void*>(const_cast<float*>(d.rhs + p.rhs_offset)));
  s.out.set_data_handle(d.out + p.out_offset);
  if (e.post.bias) s.bias.set_data_handle(const_cast<float*>(d.bias + p.bias_offset));
  if (e.post.add) s.add.set_data_handle(const_cast<float*>(d.add + p.out_offset));
  s.scratchpad.set_data_handle(ctx.scratchpads[static_cast<std::size_t>(slot)].data());
  // The C call takes the arguments as an array; the C++ one would build a std::unordered_map per call.
  std::array<dnnl_exec_arg_t, 6> args{{{DNNL_ARG_SRC, s.lhs.get()},
                                       {DNNL_ARG_WEIGHTS, s.rhs.get()},
                                       {DNNL_ARG_DST, s.out.get()},
                                       {DNNL_ARG_SCRATCHPAD, s.scratchpad.get()}}};
  int nargs = 4;
  if (e.post.bias) args[static_cast<std::size_t>(nargs++)] = {DNNL_ARG_BIAS, s.bias.get()};
  if (e.post.add) args[static_cast<std::size_t>(nargs++)] = {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, s.add.get()};
  const dnnl::stream& stream = ctx.streams[static_cast<std::size_t>(slot)];
  prime_malloc_cache();  // once per thread, before gemm:jit's first packing buffers (malloc_cache.hpp)
  const dnnl_status_t status = dnnl_primitive_execute(k.primitive.get(), stream.get(), nargs, args.data());
  return status == dnnl_success ? dnnl_stream_wait(stream.get()) : status;
}

}  // namespace

bool matmul(const Tensor& a, const Tensor& b, Tensor& c, const Epilogue& epilogue) {
  if (!usable(a, b, c, epilogue)) return false;
  const Tensor& bias = epilogue.bias;
  Context& ctx = context();
  std::lock_guard lock(ctx.mutex);
  Entry& e = lookup(ctx, a, b, c, post_of(epilogue), bf16_chosen());
  if (!e.on_onednn) return false;
  const int threads = threads_for_pieces(e);
  prepare_threads(ctx, e, threads);
  const Tensor lhs = e.copies_lhs ? copy(a, kFloat32) : a;
  const Tensor rhs = e.copies_rhs ? copy(b, kFloat32) : b;
  const Tensor bias_data = e.post.bias && !bias.is_contiguous() ? copy(bias, kFloat32) : bias;  // [N], rarely strided
  const std::uint16_t *lhs_bf16 = nullptr, *rhs_bf16 = nullptr;
  if (e.bf16) {
    const OmpThreads team(threads);  // elementwise, so the same bits however oneDNN threads it
    lhs_bf16 = bf16_operand(ctx, e, 0, lhs, ctx.lhs_bf16);
    rhs_bf16 = bf16_operand(ctx, e, 1, rhs, ctx.rhs_bf16);
  }
  const Data d{lhs.data<float>(),
               rhs.data<float>(),
               c.data<float>(),
               e.post.bias ? bias_data.data<float>() : nullptr,
               e.post.add ? epilogue.add.data<float>() : nullptr,
               lhs_bf16,
               rhs_bf16};
  const auto pieces = static_cast<std::int64_t>(e.pieces.size());
  // Every piece on one thread: oneDNN reads OpenMP's setting when it runs a primitive (gemm:jit
  // threads itself by it); the pool's workers keep it at one.
  const OmpThreads one(1);
  if (threads <= 1) {
    for (std::int64_t i = 0; i < pieces; ++i) check(run_piece(ctx, e, static_cast<std::size_t>(i), 0, d), e, "execute");
  } else {
    // The threads take pieces one at a time (pool.hpp); slot is the thread's own memory objects.
    count_parallel_region();
    std::atomic<int> failed{dnnl_success};
    run_parts(threads, pieces, [&](std::int64_t i, int slot) {
      const dnnl_status_t status = run_piece(ctx, e, static_cast<std::size_t>(i), slot, d);
      if (status != dnnl_success) failed.store(status, std::memory_order_relaxed);
    });
    check(static_cast<dnnl_status_t>(failed.load()), e, "execute");
  }
  ++ctx.products;
  ctx.executions += static_cast<std::uint64_t>(pieces);  // and the conversions, counted as they ran
  return true;
}

MatmulPlan plan(const Tensor& a, const Tensor& b, const Tensor& c, const Epilogue& epilogue) {
  if (!usable(a, b, c, epilogue)) return {};
  Context& ctx = context();
  std::lock_guard lock(ctx.mutex);
  const Entry& e = lookup(ctx, a, b, c, post_of(epilogue), bf16_chosen());
  return {e.on_onednn,
          e.implementation,
          e.copies_lhs,
          e.copies_rhs,
          e.rank,
          e.rows,
          static_cast<int>(e.pieces.size()),
          e.on_onednn ? threads_for_pieces(e) : 1,
          e.strict_math,
          e.bf16};
}

bool native_bf16() {
  static const bool available = [] {
    const Tensor a = zeros({16, 16}), b = zeros({16, 16});
    Tensor c = zeros({16, 16});
    const MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
    return plan(a, b, c).on_onednn;
  }();
  return available;
}

CacheStats cache_stats() {
  Context& ctx = context();
  std::lock_guard lock(ctx.mutex);
  return {ctx.cache.size(), ctx.hits, ctx.misses, ctx.products, ctx.executions};
}

void clear_cache() {
  Context& ctx = context();
  std::lock_guard lock(ctx.mutex);
  ctx.cache.clear();
  ctx.kept.clear();
}

}  // namespace attograd::backend::onednn
