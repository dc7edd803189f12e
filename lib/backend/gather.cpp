#include "backend/gather.hpp"

#include "core/dispatch.hpp"
#include "core/strided.hpp"

namespace attograd::backend {

std::int64_t first_out_of_range(const Tensor& indices, std::int64_t n, std::optional<std::int64_t> skip) {
  const std::int64_t* base = indices.data<std::int64_t>();
  std::int64_t position = 0;
  std::int64_t found = -1;
  // for_each_run walks in row-major order, so `position` counts elements exactly as a flat index does.
  for_each_run<1>(indices.shape(), {indices.strides()}, [&](auto off, std::int64_t count, auto step) {
    for (std::int64_t i = 0; i < count && found < 0; ++i, ++position) {
      const std::int64_t id = base[off[0] + i * step[0]];
      if ((id < 0 || id >= n) && !(skip && id == *skip)) found = position;
    }
  });
  return found;
}

Shape unravel_index(std::int64_t flat, const Shape& shape) {
  Shape index = shape;
  for (int d = shape.rank() - 1; d >= 0; --d) {
    index[d] = shape[d] == 0 ? 0 : flat % shape[d];
    flat = shape[d] == 0 ? 0 : flat / shape[d];
  }
  return index;
}

void gather_rows(const Tensor& table, const Tensor& ids, Tensor& out) {
  const std::int64_t N = ids.numel(), D = table.shape()[1];
  const std::int64_t t_row = table.strides()[0], t_col = table.strides()[1];
  const std::int64_t id_step = ids.dim() == 0 ? 0 : ids.strides()[0];
  const std::int64_t* id = ids.data<std::int64_t>();
  dispatch_float("gather_rows", table.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = table.data<T>();
    T* dst = out.data<T>();
    for (std::int64_t i = 0; i < N; ++i) {
      const T* row = src + id[i * id_step] * t_row;
      T* o = dst + i * D;
      if (t_col == 1) {
        for (std::int64_t j = 0; j < D; ++j) o[j] = row[j];
      } else {
        for (std::int64_t j = 0; j < D; ++j) o[j] = row[j * t_col];
      }
    }
  });
}

void scatter_add_rows(const Tensor& src, const Tensor& ids, Tensor& table) {
  const std::int64_t N = ids.numel(), D = table.shape()[1];
  const std::int64_t s_row = src.strides()[0], s_col = src.strides()[1];
  const std::int64_t t_row = table.strides()[0];
  const std::int64_t id_step = ids.dim() == 0 ? 0 : ids.strides()[0];
  const std::int64_t* id = ids.data<std::int64_t>();
  dispatch_float("scatter_add_rows", table.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = src.data<T>();
    T* dst = table.data<T>();
    for (std::int64_t i = 0; i < N; ++i) {
      T* row = dst + id[i * id_step] * t_row;
      const T* r = in + i * s_row;
      for (std::int64_t j = 0; j < D; ++j) row[j] += r[j * s_col];
    }
  });
}

void pick_columns(const Tensor& x, const Tensor& targets, std::int64_t skip, Tensor& out) {
  const std::int64_t N = targets.numel();
  const std::int64_t x_row = x.strides()[0], x_col = x.strides()[1];
  const std::int64_t t_step = targets.dim() == 0 ? 0 : targets.strides()[0];
  const std::int64_t* t = targets.data<std::int64_t>();
  dispatch_float("pick_columns", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* o = out.data<T>();
    for (std::int64_t i = 0; i < N; ++i) {
      const std::int64_t c = t[i * t_step];
      o[i] = c == skip ? T(0) : in[i * x_row + c * x_col];
    }
  });
}

void add_at_columns(const Tensor& g, const Tensor& targets, std::int64_t skip, Tensor& dx) {
  const std::int64_t N = targets.numel();
  const std::int64_t d_row = dx.strides()[0], d_col = dx.strides()[1];
  const std::int64_t g_step = g.dim() == 0 ? 0 : g.strides()[0];
  const std::int64_t t_step = targets.dim() == 0 ? 0 : targets.strides()[0];
  const std::int64_t* t = targets.data<std::int64_t>();
  dispatch_float("add_at_columns", dx.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = g.data<T>();
    T* out = dx.data<T>();
    for (std::int64_t i = 0; i < N; ++i) {
      const std::int64_t c = t[i * t_step];
      if (c != skip) out[i * d_row + c * d_col] += in[i * g_step];
    }
  });
}

}  // namespace attograd::backend
