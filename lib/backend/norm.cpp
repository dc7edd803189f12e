#include "backend/norm.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

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
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* xr = x.data<T>() + r * n;
      T* yr = y.data<T>() + r * n;
      double s = 0.0;  // double sums, as mean() accumulates
      for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(xr[i]);
      const T mu = static_cast<T>(s / static_cast<double>(n));
      double v = 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        const T d = xr[i] - mu;
        v += static_cast<double>(d * d);
      }
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
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                         Tensor* dx, Tensor* dw, Tensor* db) {
  const std::int64_t rows = mean.numel();
  const std::int64_t n = rows == 0 ? 0 : x.numel() / rows;
  dispatch_float("layer_norm", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    std::vector<double> sum_w(dw ? static_cast<std::size_t>(n) : 0, 0.0);
    std::vector<double> sum_b(db ? static_cast<std::size_t>(n) : 0, 0.0);
    std::vector<T> xhat(static_cast<std::size_t>(n));
    std::vector<T> g(static_cast<std::size_t>(n));
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* xr = x.data<T>() + r * n;
      const T* dyr = dy.data<T>() + r * n;
      const T mu = mean.data<T>()[r];
      const T rs = rstd.data<T>()[r];
      double sg = 0.0, sgx = 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        xhat[k] = (xr[i] - mu) * rs;
        g[k] = pw ? dyr[i] * pw[i] : dyr[i];
        sg += static_cast<double>(g[k]);
        sgx += static_cast<double>(g[k] * xhat[k]);
      }
      if (dx) {
        const T mg = static_cast<T>(sg / static_cast<double>(n));
        const T mgx = static_cast<T>(sgx / static_cast<double>(n));
        T* dxr = dx->data<T>() + r * n;
        for (std::int64_t i = 0; i < n; ++i) {
          const auto k = static_cast<std::size_t>(i);
          dxr[i] = rs * (g[k] - mg - xhat[k] * mgx);
        }
      }
      if (dw) {
        for (std::int64_t i = 0; i < n; ++i) sum_w[static_cast<std::size_t>(i)] += static_cast<double>(dyr[i] * xhat[static_cast<std::size_t>(i)]);
      }
      if (db) {
        for (std::int64_t i = 0; i < n; ++i) sum_b[static_cast<std::size_t>(i)] += static_cast<double>(dyr[i]);
      }
    }
    for (std::int64_t i = 0; i < n; ++i) {
      if (dw) dw->data<T>()[i] = static_cast<T>(sum_w[static_cast<std::size_t>(i)]);
      if (db) db->data<T>()[i] = static_cast<T>(sum_b[static_cast<std::size_t>(i)]);
    }
  });
}

}  // namespace attograd::backend
