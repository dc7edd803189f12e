#include "backend/norm.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/row_sum.hpp"
#include "backend/threads.hpp"
#include "core/dispatch.hpp"

namespace attograd::backend {

void layer_norm_forward(const Tensor& x, const Tensor& w, const Tensor& b, double eps, Tensor& y, Tensor& mean,
                        Tensor& rstd) {
  const std::int64_t rows = mean.numel();
  const std::int64_t n = rows == 0 ? 0 : x.numel() / rows;
  dispatch_float("layer_norm", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const T* pb = b.defined() ? b.data<T>() : nullptr;
    parallel_for(rows, rows * n, [&](std::int64_t first, std::int64_t last) {
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
