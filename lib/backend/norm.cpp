#include "backend/norm.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "backend/fast_math.hpp"
#include "backend/row_sum.hpp"
#include "backend/threads.hpp"
#include "core/dispatch.hpp"

namespace attograd::backend {

// float32 rows in vectors (four doubles for the sums: lane k adds the terms 4j + k, as row_sum's chain k
// does), each compiled for AVX-512, AVX2 and the baseline. The same operations on each element, in the
// same order, as the general loops below: the same bits (tests/backend/test_norm.cpp). Layer norm was
// a tenth of what a transformer step spent outside its products (docs/performance.md).
namespace f32 {

using Floats4 = float __attribute__((vector_size(16)));
using Doubles4 = double __attribute__((vector_size(32)));

// Forced inline, so that each clone below has them in its own instructions.
[[gnu::always_inline]] inline Floats4 load4(const float* p) {
  Floats4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline double total(const Doubles4& a) { return (a[0] + a[1]) + (a[2] + a[3]); }

// R rows at once: their sums are independent chains, and R of them in one loop keep the adder busy
// where one row would wait on each addition. Each row's terms are added in its own order.
template <int R>
[[gnu::always_inline]] inline void layer_norm_rows(const float* x, const float* w, const float* b, double eps,
                                                   std::int64_t n, float* y, float* mean, float* rstd) {
  Doubles4 s[R] = {}, v[R] = {};
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < R; ++k) s[k] += __builtin_convertvector(load4(x + k * n + i), Doubles4);
  }
  for (; i < n; ++i) {
    for (int k = 0; k < R; ++k) s[k][0] += static_cast<double>(x[k * n + i]);
  }
  float mu[R];
  for (int k = 0; k < R; ++k) mu[k] = static_cast<float>(total(s[k]) / static_cast<double>(n));
  for (i = 0; i + 4 <= n; i += 4) {
    for (int k = 0; k < R; ++k) {
      const Floats4 d = load4(x + k * n + i) - mu[k];
      v[k] += __builtin_convertvector(d * d, Doubles4);
    }
  }
  for (; i < n; ++i) {
    for (int k = 0; k < R; ++k) v[k][0] += static_cast<double>((x[k * n + i] - mu[k]) * (x[k * n + i] - mu[k]));
  }
  for (int k = 0; k < R; ++k) {
    const float var = static_cast<float>(total(v[k]) / static_cast<double>(n));
    const float rs = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var) + eps));
    const float m = mu[k];
    mean[k] = m;
    rstd[k] = rs;
    const float* xr = x + k * n;
    float* yr = y + k * n;
    if (w && b) {
      for (i = 0; i < n; ++i) yr[i] = (xr[i] - m) * rs * w[i] + b[i];
    } else {
      for (i = 0; i < n; ++i) yr[i] = (xr[i] - m) * rs;
      for (i = 0; w && i < n; ++i) yr[i] *= w[i];
      for (i = 0; b && i < n; ++i) yr[i] += b[i];
    }
  }
}

// `rows` contiguous rows of n: two at a time, an odd last one alone.
ATTOGRAD_WIDEST_SIMD void layer_norm_rows(const float* x, const float* w, const float* b, double eps, std::int64_t n,
                                          std::int64_t rows, float* y, float* mean, float* rstd) {
  std::int64_t r = 0;
  for (; r + 2 <= rows; r += 2) layer_norm_rows<2>(x + r * n, w, b, eps, n, y + r * n, mean + r, rstd + r);
  if (r < rows) layer_norm_rows<1>(x + r * n, w, b, eps, n, y + r * n, mean + r, rstd + r);
}

// dx of one row: xhat and g are computed twice, for the sums and for dx, instead of kept. The two
// sums run in one loop: two independent chains of additions, where one would wait on each addition.
ATTOGRAD_WIDEST_SIMD void layer_norm_backward_row(const float* x, const float* dy, const float* w, float mu, float rs,
                                                  std::int64_t n, float* dx) {
  Doubles4 sg = {}, sgx = {};
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const Floats4 g = w ? load4(dy + i) * load4(w + i) : load4(dy + i);
    sg += __builtin_convertvector(g, Doubles4);
    sgx += __builtin_convertvector(g * ((load4(x + i) - mu) * rs), Doubles4);
  }
  for (; i < n; ++i) {
    const float g = w ? dy[i] * w[i] : dy[i];
    sg[0] += static_cast<double>(g);
    sgx[0] += static_cast<double>(g * ((x[i] - mu) * rs));
  }
  const float mg = static_cast<float>(total(sg) / static_cast<double>(n));
  const float mgx = static_cast<float>(total(sgx) / static_cast<double>(n));
  if (w) {
    for (i = 0; i < n; ++i) dx[i] = rs * (dy[i] * w[i] - mg - ((x[i] - mu) * rs) * mgx);
  } else {
    for (i = 0; i < n; ++i) dx[i] = rs * (dy[i] - mg - ((x[i] - mu) * rs) * mgx);
  }
}

// One row's terms of dw and db, columns [first, last), added into sum_w and sum_b (either may be null).
ATTOGRAD_WIDEST_SIMD void layer_norm_param_row(const float* x, const float* dy, float mu, float rs, std::int64_t first,
                                               std::int64_t last, double* sum_w, double* sum_b) {
  if (sum_w) {
    for (std::int64_t i = first; i < last; ++i) sum_w[i - first] += static_cast<double>(dy[i] * ((x[i] - mu) * rs));
  }
  if (sum_b) {
    for (std::int64_t i = first; i < last; ++i) sum_b[i - first] += static_cast<double>(dy[i]);
  }
}

}  // namespace f32

void layer_norm_forward(const Tensor& x, const Tensor& w, const Tensor& b, double eps, Tensor& y, Tensor& mean,
                        Tensor& rstd) {
  const std::int64_t rows = mean.numel();
  const std::int64_t n = rows == 0 ? 0 : x.numel() / rows;
  dispatch_float("layer_norm", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const T* pb = b.defined() ? b.data<T>() : nullptr;
    parallel_for(rows, rows * n, [&](std::int64_t first, std::int64_t last) {
      if constexpr (std::is_same_v<T, float>) {
        f32::layer_norm_rows(x.data<T>() + first * n, pw, pb, eps, n, last - first, y.data<T>() + first * n,
                             mean.data<T>() + first, rstd.data<T>() + first);
        return;
      }
      for (std::int64_t r = first; r < last; ++r) {
        const T* xr = x.data<T>() + r * n;
        T* yr = y.data<T>() + r * n;
        // Double sums, as mean() accumulates.
        const double s = row_sum(n, [xr](std::int64_t i) { return static_cast<double>(xr[i]); });
        const T mu = static_cast<T>(s / static_cast<double>(n));
        const double v = row_sum(n, [xr, mu](std::int64_t i) {
          const T d = xr[i] - mu;
          return static_cast<double>(d * d);
        });
        const T rs = static_cast<T>(1.0 / std::sqrt(static_cast<double>(static_cast<T>(v / static_cast<double>(n))) + eps));
        mean.data<T>()[r] = mu;
        rstd.data<T>()[r] = rs;
        for (std::int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mu) * rs;
        if (pw) {
          for (std::int64_t i = 0; i < n; ++i) yr[i] *= pw[i];
        }
        if (pb) {
          for (std::int64_t i = 0; i < n; ++i) yr[i] += pb[i];
        }
      }
    });
  });
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                         Tensor* dx, Tensor* dw, Tensor* db) {
  const std::int64_t rows = mean.numel();
  const std::int64_t n = rows == 0 ? 0 : x.numel() / rows;
  dispatch_float("layer_norm", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const T* pmean = mean.data<T>();
    const T* prstd = rstd.data<T>();
    // dX, row by row: each row needs its own sums of g and g * xhat.
    if (dx) {
      parallel_for(rows, rows * n, [&](std::int64_t first, std::int64_t last) {
        if constexpr (std::is_same_v<T, float>) {
          for (std::int64_t r = first; r < last; ++r) {
            f32::layer_norm_backward_row(px + r * n, pdy + r * n, pw, pmean[r], prstd[r], n, dx->data<T>() + r * n);
          }
          return;
        }
        std::vector<T> xhat(static_cast<std::size_t>(n));
        std::vector<T> g(static_cast<std::size_t>(n));
        for (std::int64_t r = first; r < last; ++r) {
          const T* xr = px + r * n;
          const T* dyr = pdy + r * n;
          const T mu = pmean[r];
          const T rs = prstd[r];
          for (std::int64_t i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            xhat[k] = (xr[i] - mu) * rs;
            g[k] = pw ? dyr[i] * pw[i] : dyr[i];
          }
          const T* pg = g.data();
          const T* ph = xhat.data();
          const double sg = row_sum(n, [pg](std::int64_t i) { return static_cast<double>(pg[i]); });
          const double sgx = row_sum(n, [pg, ph](std::int64_t i) { return static_cast<double>(pg[i] * ph[i]); });
          const T mg = static_cast<T>(sg / static_cast<double>(n));
          const T mgx = static_cast<T>(sgx / static_cast<double>(n));
          T* dxr = dx->data<T>() + r * n;
          for (std::int64_t i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            dxr[i] = rs * (g[k] - mg - xhat[k] * mgx);
          }
        }
      });
    }
    // dW and dB, sums over the rows: split by columns, so that each column is summed by one thread in
    // row order.
    if (dw || db) {
      parallel_for(n, rows * n, [&](std::int64_t first, std::int64_t last) {
        const auto width = static_cast<std::size_t>(last - first);
        std::vector<double> sum_w(dw ? width : 0, 0.0);
        std::vector<double> sum_b(db ? width : 0, 0.0);
        for (std::int64_t r = 0; r < rows; ++r) {
          const T* xr = px + r * n;
          const T* dyr = pdy + r * n;
          const T mu = pmean[r];
          const T rs = prstd[r];
          if constexpr (std::is_same_v<T, float>) {
            f32::layer_norm_param_row(xr, dyr, mu, rs, first, last, dw ? sum_w.data() : nullptr,
                                      db ? sum_b.data() : nullptr);
            continue;
          }
          for (std::int64_t i = first; i < last; ++i) {
            const auto k = static_cast<std::size_t>(i - first);
            if (dw) sum_w[k] += static_cast<double>(dyr[i] * ((xr[i] - mu) * rs));
            if (db) sum_b[k] += static_cast<double>(dyr[i]);
          }
        }
        for (std::int64_t i = first; i < last; ++i) {
          const auto k = static_cast<std::size_t>(i - first);
          if (dw) dw->data<T>()[i] = static_cast<T>(sum_w[k]);
          if (db) db->data<T>()[i] = static_cast<T>(sum_b[k]);
        }
      });
    }
  });
}

}  // namespace attograd::backend
