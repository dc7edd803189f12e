#include "backend/reduce.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "core/dispatch.hpp"
#include "core/strided.hpp"

namespace attograd::backend {

namespace {

// A contiguous tensor seen as [outer, n, inner] around dim.
struct AroundDim {
  std::int64_t outer = 1, n = 1, inner = 1;
  AroundDim(const Shape& s, int dim) {
    for (int d = 0; d < s.rank(); ++d) {
      if (d < dim) outer *= s[d];
      else if (d > dim) inner *= s[d];
    }
    n = s.rank() == 0 ? 1 : s[dim];
  }
};

Tensor contiguous_values(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = empty(x.shape(), x.dtype());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    std::int64_t i = 0;
    for_each_run<1>(x.shape(), {x.strides()}, [&](auto off, std::int64_t n, auto step) {
      for (std::int64_t k = 0; k < n; ++k) dst[i++] = src[off[0] + k * step[0]];
    });
  });
  return out;
}

}  // namespace

void sum_into(const Tensor& x, Tensor& out) {
  dispatch_numeric("sum", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // int64 sums wrap modulo 2^64 as in PyTorch: accumulated in uint64_t, where that is defined.
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::uint64_t>;
    std::vector<Acc> acc(static_cast<std::size_t>(out.numel()), Acc{0});
    const T* src = x.data<T>();
    // Read out's (contiguous) offsets through broadcast strides: 0 along the summed dims.
    const Strides so = broadcast_strides(out.shape(), contiguous_strides(out.shape()), x.shape());
    for_each_run<2>(x.shape(), {so, x.strides()}, [&](auto off, std::int64_t n, auto step) {
      if (step[0] == 0) {
        Acc s{0};
        for (std::int64_t i = 0; i < n; ++i) s += static_cast<Acc>(src[off[1] + i * step[1]]);
        acc[static_cast<std::size_t>(off[0])] += s;
      } else {
        for (std::int64_t i = 0; i < n; ++i) {
          acc[static_cast<std::size_t>(off[0] + i * step[0])] += static_cast<Acc>(src[off[1] + i * step[1]]);
        }
      }
    });
    T* dst = out.data<T>();
    for (std::size_t i = 0; i < acc.size(); ++i) dst[i] = static_cast<T>(acc[i]);
  });
}

void arg_reduce(const Tensor& x_in, int dim, bool is_max, Tensor* values, Tensor& indices) {
  const Tensor x = contiguous_values(x_in);
  const AroundDim g(x.shape(), dim);
  dispatch_numeric(is_max ? "max" : "min", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    std::int64_t* idx = indices.data<std::int64_t>();
    T* val = values ? values->data<T>() : nullptr;
    auto better = [is_max](T v, T best) {
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(v)) return !std::isnan(best);
        if (std::isnan(best)) return false;
      }
      return is_max ? v > best : v < best;
    };
    for (std::int64_t o = 0; o < g.outer; ++o) {
      for (std::int64_t i = 0; i < g.inner; ++i) {
        const T* p = src + o * g.n * g.inner + i;
        std::int64_t best_r = 0;
        T best = p[0];
        for (std::int64_t r = 1; r < g.n; ++r) {
          if (better(p[r * g.inner], best)) {
            best = p[r * g.inner];
            best_r = r;
          }
        }
        idx[o * g.inner + i] = best_r;
        if (val) val[o * g.inner + i] = best;
      }
    }
  });
}

void softmax(const Tensor& x_in, int dim, bool log, Tensor& out) {
  const Tensor x = contiguous_values(x_in);
  const AroundDim g(x.shape(), dim);
  dispatch_float(log ? "log_softmax" : "softmax", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    constexpr T kInf = std::numeric_limits<T>::infinity();
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    for (std::int64_t o = 0; o < g.outer; ++o) {
      for (std::int64_t i = 0; i < g.inner; ++i) {
        const T* p = src + o * g.n * g.inner + i;
        T* q = dst + o * g.n * g.inner + i;
        const std::int64_t s = g.inner;
        // The row maximum, NaN winning: std::max would skip a NaN, and a row such as [NaN, -inf] would
        // then pass for fully masked and give 0 instead of NaN.
        T m = -kInf;
        for (std::int64_t r = 0; r < g.n; ++r) {
          if (p[r * s] > m || std::isnan(p[r * s])) m = p[r * s];
          if (std::isnan(m)) break;
        }
        if (m == -kInf) {  // every entry masked: weights 0 (log: -inf), documented, never NaN
          for (std::int64_t r = 0; r < g.n; ++r) q[r * s] = log ? -kInf : T(0);
          continue;
        }
        if (m == kInf) {  // +inf entries share the weight equally
          std::int64_t count = 0;
          for (std::int64_t r = 0; r < g.n; ++r) count += p[r * s] == kInf;
          const T w = T(1) / static_cast<T>(count);
          for (std::int64_t r = 0; r < g.n; ++r) {
            const bool top = p[r * s] == kInf;
            q[r * s] = log ? (top ? std::log(w) : -kInf) : (top ? w : T(0));
          }
          continue;
        }
        double total = 0.0;  // exp(x - max) <= 1 for every entry: no overflow
        for (std::int64_t r = 0; r < g.n; ++r) total += static_cast<double>(std::exp(p[r * s] - m));
        if (log) {
          const T log_total = static_cast<T>(std::log(total));
          for (std::int64_t r = 0; r < g.n; ++r) q[r * s] = p[r * s] - m - log_total;
        } else {
          const T inv = static_cast<T>(1.0 / total);
          for (std::int64_t r = 0; r < g.n; ++r) q[r * s] = std::exp(p[r * s] - m) * inv;
        }
      }
    }
  });
}

}  // namespace attograd::backend
