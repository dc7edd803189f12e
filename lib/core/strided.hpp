// Internal: walking the elements of N strided operands in row-major order of a common shape.
//
// An elementwise kernel is "for each element, out = f(a, b)": with broadcasting and views the operands
// have different strides (0 on a broadcast dim). for_each_run() hands the kernel one run along the
// last dim at a time, with each operand's offset and stride, so the inner loop is a plain counted loop
// the compiler can vectorise when the strides are 1.
#pragma once

#include <array>
#include <cstdint>

#include "attograd/core/shape.hpp"

namespace attograd {

template <int N>
struct Loop {
  Shape shape;
  std::array<Strides, N> strides;
};

// Drops size-1 dims and merges neighbouring dims that are contiguous in every operand, so that a loop
// over contiguous data becomes one flat run.
template <int N>
Loop<N> coalesce(const Shape& shape, const std::array<Strides, N>& strides) {
  Loop<N> out;
  for (int d = 0; d < shape.rank(); ++d) {
    if (shape[d] == 1) continue;
    const int last = out.shape.rank() - 1;
    bool mergeable = last >= 0;
    for (int k = 0; k < N && mergeable; ++k) {
      mergeable = out.strides[k].data()[last] == strides[k][d] * shape[d];
    }
    if (mergeable) {
      out.shape.data()[last] *= shape[d];
      for (int k = 0; k < N; ++k) out.strides[k].data()[last] = strides[k][d];
    } else {
      out.shape.push_back(shape[d]);
      for (int k = 0; k < N; ++k) out.strides[k].push_back(strides[k][d]);
    }
  }
  return out;
}

// Calls run(offsets, count, steps) for every run along the last dim of loop.shape, in row-major
// order. offsets[k] is operand k's offset (elements) of the run's first element, steps[k] its stride
// along the run. Offsets count from base (a part of a larger loop starts where the part does).
template <int N, class Run>
void for_each_run(const Loop<N>& loop, Run&& run, const std::array<std::int64_t, N>& base = {}) {
  const int rank = loop.shape.rank();
  std::array<std::int64_t, N> offsets = base;
  std::array<std::int64_t, N> steps{};
  if (rank == 0) {  // a single element
    run(offsets, std::int64_t{1}, steps);
    return;
  }
  for (int d = 0; d < rank; ++d) {
    if (loop.shape[d] == 0) return;
  }
  const std::int64_t count = loop.shape.data()[rank - 1];
  for (int k = 0; k < N; ++k) steps[k] = loop.strides[k].data()[rank - 1];
  std::array<std::int64_t, kMaxRank> counter{};
  while (true) {
    run(offsets, count, steps);
    int d = rank - 2;
    for (; d >= 0; --d) {
      ++counter[d];
      for (int k = 0; k < N; ++k) offsets[k] += loop.strides[k].data()[d];
      if (counter[d] < loop.shape.data()[d]) break;
      for (int k = 0; k < N; ++k) offsets[k] -= loop.strides[k].data()[d] * loop.shape.data()[d];
      counter[d] = 0;
    }
    if (d < 0) return;
  }
}

// The common case: coalesce, then walk.
template <int N, class Run>
void for_each_run(const Shape& shape, const std::array<Strides, N>& strides, Run&& run) {
  for_each_run<N>(coalesce<N>(shape, strides), static_cast<Run&&>(run));
}

// Strides of a tensor of shape `from` read as if broadcast to `to` (0 on dims it is broadcast along).
inline Strides broadcast_strides(const Shape& from, const Strides& from_strides, const Shape& to) {
  Strides out;
  out.resize(to.rank(), 0);
  const int shift = to.rank() - from.rank();
  for (int d = 0; d < from.rank(); ++d) {
    out[d + shift] = from[d] == 1 ? 0 : from_strides[d];
  }
  return out;
}

}  // namespace attograd
