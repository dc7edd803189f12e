#include "backend/reduce.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "backend/fast_math.hpp"
#include "backend/row_sum.hpp"
#include "backend/softmax_rows.hpp"
#include "backend/threads.hpp"
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
    auto add_run = [&](auto off, std::int64_t n, auto step) {
      if (step[0] == 0) {
        Acc s{0};
        for (std::int64_t i = 0; i < n; ++i) s += static_cast<Acc>(src[off[1] + i * step[1]]);
        acc[static_cast<std::size_t>(off[0])] += s;
      } else if (step[0] == 1 && step[1] == 1) {  // rows into rows (a bias's gradient): a loop that vectorises
        Acc* a = acc.data() + off[0];
        const T* x = src + off[1];
        for (std::int64_t i = 0; i < n; ++i) a[i] += static_cast<Acc>(x[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) {
          acc[static_cast<std::size_t>(off[0] + i * step[0])] += static_cast<Acc>(src[off[1] + i * step[1]]);
        }
      }
    };
    // Split along a kept dim: each output's terms are then all added by one thread, in the same order
    // as on one thread. A sum to a single value stays on one thread.
    const Loop<2> loop = coalesce<2>(x.shape(), {so, x.strides()});
    int kept = 0;
    while (kept < loop.shape.rank() && loop.strides[0][kept] == 0) ++kept;
    if (kept < loop.shape.rank()) {
      parallel_for_each_run<2>(loop, kept, add_run);
    } else {
      for_each_run<2>(loop, add_run);
    }
    T* dst = out.data<T>();
    for (std::size_t i = 0; i < acc.size(); ++i) dst[i] = static_cast<T>(acc[i]);
  });
}

void relu_mask_and_column_sums(const Tensor& dY, const Tensor& Y, Tensor& dZ, Tensor& db) {
  const std::int64_t n = db.numel(), rows = n == 0 ? 0 : dY.numel() / n;
  dispatch_float("linear_relu", dY.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    const T* const g_base = dY.data<T>();
    const T* const y_base = Y.data<T>();
    T* const z_base = dZ.data<T>();  // may be dY's memory: each element is read before it is written
    T* const out = db.data<T>();
    // Blocks of 128 columns, a run of them per thread; one thread takes whole rows.
    constexpr std::int64_t kBlock = 128;
    parallel_for((n + kBlock - 1) / kBlock, dY.numel(), [&](std::int64_t first, std::int64_t last) {
      const std::int64_t begin = first * kBlock, end = std::min(n, last * kBlock), width = end - begin;
      std::vector<double> acc(static_cast<std::size_t>(width), 0.0);
      double* __restrict a = acc.data();
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* g = g_base + r * n + begin;
        const T* y = y_base + r * n + begin;
        T* z = z_base + r * n + begin;
        // dY's bits under a mask of Y > 0 (all ones or none): the value of `y > 0 ? g : 0`, +0 included,
        // as a select the compiler vectorises (the ?: with the sum beside it stayed a branch, which
        // mispredicted on half the elements and made the pass ten times slower).
        for (std::int64_t j = 0; j < width; ++j) {
          const Bits keep = Bits{0} - static_cast<Bits>(y[j] > 0);
          const T v = std::bit_cast<T>(static_cast<Bits>(std::bit_cast<Bits>(g[j]) & keep));
          z[j] = v;
          a[j] += static_cast<double>(v);
        }
      }
      for (std::int64_t j = 0; j < width; ++j) out[begin + j] = static_cast<T>(a[j]);
    });
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
    parallel_for(g.outer, x.numel(), [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t o = first; o < last; ++o) {
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
  });
}

namespace {

// sum_r p[r] in double, for a contiguous row (backend/row_sum.hpp; float32 rows in vectors, the same bits).
template <class T>
double sum_of_row(const T* p, std::int64_t n) {
  if constexpr (std::is_same_v<T, float>) return row_sum_f32(p, n);
  return row_sum(n, [p](std::int64_t r) { return static_cast<double>(p[r]); });
}

// The row maximum, NaN winning: std::max would skip a NaN, and a row such as [NaN, -inf] would then
// pass for fully masked and give 0 instead of NaN. Contiguous float32 rows in vectors (row_max_f32).
template <class T>
T max_of_row(const T* p, std::int64_t n, std::int64_t s) {
  if constexpr (std::is_same_v<T, float>) {
    if (s == 1) return row_max_f32(p, n);
  }
  T m = -std::numeric_limits<T>::infinity();
  bool nan = false;
  for (std::int64_t r = 0; r < n; ++r) {  // branch-free: a select and an or per entry
    const T v = p[r * s];
    m = v > m ? v : m;
    nan |= v != v;
  }
  return nan ? std::numeric_limits<T>::quiet_NaN() : m;
}

// The softmax of the rows [outer, n, inner] of src with o in [first, last) into dst (which may be src).
// shift, when given (log, one row), receives that row's max and log-total (log_softmax_row).
template <class T, class Load>
void softmax_rows(const T* src, T* dst, const AroundDim& g, bool log, Load load, std::int64_t first,
                  std::int64_t last, RowShift<T>* shift = nullptr) {
  constexpr T kInf = std::numeric_limits<T>::infinity();
  for (std::int64_t o = first; o < last; ++o) {
    for (std::int64_t i = 0; i < g.inner; ++i) {
      const T* p = src + o * g.n * g.inner + i;
      T* q = dst + o * g.n * g.inner + i;
      const std::int64_t s = g.inner;
      if constexpr (!std::is_same_v<Load, std::nullptr_t>) {
        load(o, p, q);
        p = q;
      }
      const T m = max_of_row(p, g.n, s);
      if (shift != nullptr) *shift = {m, std::numeric_limits<T>::quiet_NaN()};
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
      if (log && std::is_same_v<T, float> && s == 1 && p != q) {  // float32 rows: exp vectorised in q
        for (std::int64_t r = 0; r < g.n; ++r) q[r] = p[r] - m;
        exp_f32(reinterpret_cast<float*>(q), reinterpret_cast<float*>(q), g.n);
        const T log_total = static_cast<T>(std::log(sum_of_row(q, g.n)));
        if (shift != nullptr) shift->log_total = log_total;
        for (std::int64_t r = 0; r < g.n; ++r) q[r] = p[r] - m - log_total;
      } else if (log) {
        for (std::int64_t r = 0; r < g.n; ++r) total += static_cast<double>(std::exp(p[r * s] - m));
        const T log_total = static_cast<T>(std::log(total));
        if (shift != nullptr) shift->log_total = log_total;
        for (std::int64_t r = 0; r < g.n; ++r) q[r * s] = p[r * s] - m - log_total;
      } else if (std::is_same_v<T, float> && s == 1) {  // rows of float32: exp vectorised (fast_math.hpp)
        for (std::int64_t r = 0; r < g.n; ++r) q[r] = p[r] - m;
        exp_f32(reinterpret_cast<float*>(q), reinterpret_cast<float*>(q), g.n);
        total = sum_of_row(q, g.n);
      } else {  // each exp once: kept in q, then scaled (q may be p: each entry is read before written)
        for (std::int64_t r = 0; r < g.n; ++r) {
          const T e = std::exp(p[r * s] - m);
          q[r * s] = e;
          total += static_cast<double>(e);
        }
      }
      if (!log) {
        const T inv = static_cast<T>(1.0 / total);
        for (std::int64_t r = 0; r < g.n; ++r) q[r * s] *= inv;
      }
    }
  }
}

// The softmax of each row [outer, n, inner] of src into dst (which may be src). When `load` is given,
// each row (inner == 1 only) is first written into dst as load(o, row_in, row_out), and the softmax
// then reads it there.
// Rows are split over the threads when there are enough of them.
template <class T, class Load>
void softmax_rows(const T* src, T* dst, const AroundDim& g, bool log, Load load) {
  parallel_for(g.outer, g.outer * g.n * g.inner, [&](std::int64_t first, std::int64_t last) {
    softmax_rows<T>(src, dst, g, log, load, first, last);
  });
}

}  // namespace

template <class T>
RowShift<T> log_softmax_row(const T* p, T* q, std::int64_t n) {
  RowShift<T> shift;
  softmax_rows<T>(p, q, AroundDim(Shape{n}, 0), true, nullptr, 0, 1, &shift);
  return shift;
}
template RowShift<float> log_softmax_row(const float*, float*, std::int64_t);
template RowShift<double> log_softmax_row(const double*, double*, std::int64_t);

void softmax(const Tensor& x_in, int dim, bool log, Tensor& out) {
  const Tensor x = contiguous_values(x_in);
  const AroundDim g(x.shape(), dim);
  dispatch_float(log ? "log_softmax" : "softmax", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    softmax_rows<T>(x.data<T>(), out.data<T>(), g, log, nullptr);
  });
}

void scaled_masked_softmax(const Tensor& x_in, const Tensor& mask, double scale, Tensor& out) {
  const Tensor x = contiguous_values(x_in);
  const int last = x.dim() - 1;
  const AroundDim g(x.shape(), last);
  // The mask's offset for each row: its broadcast strides over x's leading dims, walked in row order.
  std::vector<std::int64_t> mask_row;
  std::int64_t mask_step = 0;
  if (mask.defined()) {
    const Strides sm = broadcast_strides(mask.shape(), mask.strides(), x.shape());
    mask_step = sm[last];
    Shape rows_shape;
    Strides rows_strides;
    for (int d = 0; d < last; ++d) {
      rows_shape.push_back(x.shape()[d]);
      rows_strides.push_back(sm[d]);
    }
    mask_row.reserve(static_cast<std::size_t>(g.outer));
    for_each_run<1>(rows_shape, {rows_strides}, [&](auto off, std::int64_t n, auto step) {
      for (std::int64_t k = 0; k < n; ++k) mask_row.push_back(off[0] + k * step[0]);
    });
  }
  const bool* pm = mask.defined() ? mask.data<bool>() : nullptr;
  dispatch_float("softmax", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    constexpr T kInf = std::numeric_limits<T>::infinity();
    const T c = static_cast<T>(scale);
    const std::int64_t n = g.n;
    const auto load = [&](std::int64_t o, const T* p, T* q) {
      for (std::int64_t r = 0; r < n; ++r) q[r] = p[r] * c;
      if (pm == nullptr) return;
      const bool* m = pm + mask_row[static_cast<std::size_t>(o)];
      for (std::int64_t r = 0; r < n; ++r) q[r] = m[r * mask_step] ? -kInf : q[r];  // a select, no branch
    };
    if constexpr (std::is_same_v<T, float>) {  // rows of float32: scaled_masked_row_f32, or as below
      const float* px = x.data<float>();
      float* po = out.data<float>();
      parallel_for(g.outer, g.outer * n, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t o = first; o < last; ++o) {
          const bool* m = pm == nullptr ? nullptr : pm + mask_row[static_cast<std::size_t>(o)];
          if (!scaled_masked_row_f32(px + o * n, m, mask_step, c, po + o * n, n)) {
            softmax_rows<T>(px, po, g, false, load, o, o + 1);
          }
        }
      });
    } else {
      softmax_rows<T>(x.data<T>(), out.data<T>(), g, false, load);
    }
  });
}

void softmax_backward(const Tensor& y_in, const Tensor& dy_in, int dim, double scale, Tensor& dx) {
  const Tensor y = contiguous_values(y_in);
  const Tensor dy = contiguous_values(dy_in);
  const AroundDim g(y.shape(), dim);
  dispatch_float("softmax", y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T c = static_cast<T>(scale);
    const T* py = y.data<T>();
    const T* pg = dy.data<T>();
    T* pd = dx.data<T>();
    const std::int64_t s = g.inner;
    parallel_for(g.outer, y.numel(), [&](std::int64_t first, std::int64_t last) {
      if constexpr (std::is_same_v<T, float>) {
        if (s == 1) {  // rows of float32: the same sums in vectors (softmax_backward_row_f32)
          for (std::int64_t o = first; o < last; ++o) {
            softmax_backward_row_f32(py + o * g.n, pg + o * g.n, c, pd + o * g.n, g.n);
          }
          return;
        }
      }
      for (std::int64_t o = first; o < last; ++o) {
        for (std::int64_t i = 0; i < g.inner; ++i) {
          const std::int64_t base = o * g.n * g.inner + i;
          double total = 0.0;
          if (s == 1) {  // rows: four running sums
            total = row_sum(g.n, [&](std::int64_t r) { return static_cast<double>(pg[base + r] * py[base + r]); });
          } else {
            for (std::int64_t r = 0; r < g.n; ++r) total += static_cast<double>(pg[base + r * s] * py[base + r * s]);
          }
          const T t = static_cast<T>(total);
          for (std::int64_t r = 0; r < g.n; ++r) {
            const std::int64_t k = base + r * s;
            pd[k] = py[k] * (pg[k] - t) * c;
          }
        }
      }
    });
  });
}

}  // namespace attograd::backend
