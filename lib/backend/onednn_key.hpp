// Internal to onednn.cpp: what a cached product is keyed by, and which products oneDNN takes as they
// are laid out (onednn.hpp, "Layouts"). No oneDNN types: the key is plain words.
#pragma once

#include <algorithm>
#include <cstdint>

#include "attograd/core/tensor.hpp"
#include "backend/kept_copies.hpp"
#include "backend/matmul.hpp"
#include "backend/word_key.hpp"

namespace attograd::backend::onednn {

// --- the cache key ------------------------------------------------------------------------------
// Everything a cached product depends on: both operands' ranks, shapes and strides, c's strides (its
// shape follows from theirs), the epilogue (whether a bias is added, always contiguous; whether a
// tensor laid out as c is added) and the precision. Not the thread count: every primitive runs
// on one thread, and the pieces (onednn_problem.hpp) are the same at any count.
using Key = WordKey<4 + 5 * kMaxRank>;

// What a cached product does besides the product (Epilogue in matmul.hpp): the parts of its key.
struct Post {
  bool bias = false, add = false, sum = false;  // sum: c's old values added (Epilogue::accumulate)
};

inline Key make_key(const Tensor& a, const Tensor& b, const Tensor& c, Post post, bool bf16) {
  Key key;
  std::int64_t* w = key.words.data();
  *w++ = a.dim();
  *w++ = b.dim();
  *w++ = post.bias + 2 * post.add + 4 * post.sum;
  *w++ = bf16;
  for (const Shape* s : {&a.shape(), &a.strides(), &b.shape(), &b.strides(), &c.strides()}) {
    std::copy(s->begin(), s->end(), w);
    w += kMaxRank;
  }
  return key;
}

// 2·M·N·K of a product c [.., M, N] = a [.., M, K]·b: what sets its number of pieces.
inline std::int64_t product_flops(const Tensor& a, const Tensor& c) {
  const double flops = 2.0 * static_cast<double>(c.numel()) * static_cast<double>(a.shape()[-1]);
  return static_cast<std::int64_t>(std::min(flops, 9e18));
}

// c contiguous, or rows of unit stride laid out in any order of its dims (onednn_problem.hpp); the
// added tensor, if any, laid out as c.
inline bool usable(const Tensor& a, const Tensor& b, const Tensor& c, const Epilogue& e) {
  const bool c_layout = c.is_contiguous() || (c.strides()[-1] == 1 && covers_a_block(c));
  const bool add_layout = !e.add.defined() || (e.add.dtype() == kFloat32 && e.add.shape() == c.shape() &&
                                               e.add.strides() == c.strides());
  const bool sum_ok = !e.accumulate || (!e.bias.defined() && !e.add.defined() && a.shape()[-1] >= kAccumulateMinK &&
                                             a.shape()[-1] <= kAccumulateMaxK);
  return a.dtype() == kFloat32 && b.dtype() == kFloat32 && c.dtype() == kFloat32 && c.numel() > 0 &&
         a.shape()[-1] > 0 && c_layout && add_layout && sum_ok && (!e.bias.defined() || e.bias.dtype() == kFloat32);
}

inline Post post_of(const Epilogue& e) { return {e.bias.defined(), e.add.defined(), e.accumulate}; }

}  // namespace attograd::backend::onednn
