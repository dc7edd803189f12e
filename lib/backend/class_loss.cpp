// cross_entropy's rows (class_loss.hpp). Each row is worked on in a buffer of one row (the forward) or
// in its row of dx (the backward), which stay in the core's cache: the composite wrote and read four
// [N, C] tensors more (log_softmax's output, nll's one-hot gradient, exp(Y), and exp(Y) times the sum).
#include "backend/class_loss.hpp"

#include <cmath>
#include <type_traits>
#include <vector>

#include "backend/basic.hpp"
#include "backend/fast_math.hpp"
#include "backend/reduce.hpp"
#include "backend/threads.hpp"
#include "core/dispatch.hpp"

namespace attograd::backend {

void cross_entropy_rows(const Tensor& x, const Tensor& targets, std::int64_t ignore_index, Tensor& losses,
                        Tensor& shifts) {
  const std::int64_t N = targets.numel(), C = x.shape()[-1];
  const std::int64_t* t = targets.data<std::int64_t>();
  dispatch_float("cross_entropy", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* loss = losses.data<T>();
    T* shift = shifts.data<T>();  // [N, 2]: each row's max, then its log-total
    parallel_for(N, N * C, [&](std::int64_t first, std::int64_t last) {
      std::vector<T> y(static_cast<std::size_t>(C));
      for (std::int64_t i = first; i < last; ++i) {
        const RowShift<T> s = log_softmax_row(px + i * C, y.data(), C);
        shift[2 * i] = s.max;
        shift[2 * i + 1] = s.log_total;
        loss[i] = t[i] == ignore_index ? T(0) : y[static_cast<std::size_t>(t[i])];  // nll_loss's pick
      }
    });
  });
  scale_into(losses, -1.0);  // as nll_loss negates them (a product: a NaN keeps its sign)
}

void cross_entropy_backward(const Tensor& x, const Tensor& targets, std::int64_t ignore_index, const Tensor& shifts,
                            const Tensor& dlosses, Tensor& dx) {
  const std::int64_t N = targets.numel(), C = x.shape()[-1];
  const std::int64_t* t = targets.data<std::int64_t>();
  dispatch_float("cross_entropy", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* dl = dlosses.data<T>();
    const T* shift = shifts.data<T>();
    T* pd = dx.data<T>();
    parallel_for(N, N * C, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t i = first; i < last; ++i) {
        const T* p = px + i * C;
        T* d = pd + i * C;
        // y = log_softmax(x) rebuilt from the row's max and log-total, as it was computed; a row with an
        // infinite max follows log_softmax's own rules again.
        const T max = shift[2 * i], log_total = shift[2 * i + 1];
        if (std::isinf(max)) {
          log_softmax_row(p, d, C);
        } else {
          for (std::int64_t j = 0; j < C; ++j) d[j] = p[j] - max - log_total;
        }
        if constexpr (std::is_same_v<T, float>) {
          exp_f32(d, d, C);
        } else {
          for (std::int64_t j = 0; j < C; ++j) d[j] = std::exp(d[j]);
        }
        // log_softmax's backward of nll's gradient g (a at the target, 0 elsewhere; 0 + -dL as nll adds
        // it into zeros): g - e^y sum(g), where sum(g) = a.
        const bool ignored = t[i] == ignore_index;
        const T a = ignored ? T(0) : T(0) + -dl[i];
        const T e_target = ignored ? T(0) : d[t[i]];
        for (std::int64_t j = 0; j < C; ++j) d[j] = T(0) - d[j] * a;
        if (!ignored) d[t[i]] = a - e_target * a;
      }
    });
  });
}

}  // namespace attograd::backend
