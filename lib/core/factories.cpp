#include "attograd/core/factories.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "core/dispatch.hpp"

namespace attograd {

namespace {

// Applies the options' requires_grad flag (which checks the dtype).
Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad) t.requires_grad_(true);
  return t;
}

// Fills a fresh contiguous tensor with value_at(i) for i = 0..numel-1.
// An int64 tensor refuses a value it cannot hold, naming the op.
template <class F>
Tensor generate(std::string_view op, const Shape& shape, const TensorOptions& options, F value_at) {
  Tensor t = empty(shape, options.dtype);
  dispatch_all(options.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    const std::int64_t n = t.numel();
    for (std::int64_t i = 0; i < n; ++i) p[i] = checked_cast<T>(op, value_at(i));
  });
  return finish(std::move(t), options);
}

void check_random_dtype(std::string_view op, DType dtype) {
  if (!is_floating(dtype)) {
    throw DTypeError(fmt::format("{}: random values need a floating-point dtype, got {}", op, dtype));
  }
}

}  // namespace

Tensor zeros(const Shape& shape, TensorOptions options) {
  Tensor t = empty(shape, options.dtype);
  if (t.nbytes() > 0) std::memset(t.impl()->storage->data(), 0, t.nbytes());
  return finish(std::move(t), options);
}

Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }

Tensor full(const Shape& shape, double value, TensorOptions options) {
  return generate("full", shape, options, [value](std::int64_t) { return value; });
}

Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {.dtype = t.dtype()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {.dtype = t.dtype()}); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, {.dtype = t.dtype()}); }

Tensor scalar_tensor(double value, TensorOptions options) { return full(Shape{}, value, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  if (step == 0.0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(end)) {
    throw ValueError(fmt::format("arange: start {}, end {} and step {} must be finite, step non-zero", start,
                                 end, step));
  }
  if ((end - start) / step < 0) {
    throw ValueError(fmt::format("arange: step {} goes away from end {} when starting at {}", step, end, start));
  }
  const double count = std::ceil((end - start) / step);
  // Converting a count no int64 can hold is undefined behaviour; such a tensor could not be allocated anyway.
  if (count >= 0x1.0p62) {
    throw ValueError(fmt::format("arange: from {} to {} in steps of {} is too many elements ({:g})", start, end,
                                 step, count));
  }
  const auto n = static_cast<std::int64_t>(count);
  return generate("arange", Shape{n}, options, [=](std::int64_t i) { return start + static_cast<double>(i) * step; });
}

Tensor arange(double end, TensorOptions options) { return arange(0.0, end, 1.0, options); }

Tensor linspace(double start, double end, std::int64_t steps, TensorOptions options) {
  if (steps < 0) throw ValueError(fmt::format("linspace: steps must be >= 0, got {}", steps));
  const double delta = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // The last point is end exactly (not start + (steps - 1) * delta, which may round); one point is start.
  return generate("linspace", Shape{steps}, options, [=](std::int64_t i) {
    return i > 0 && i == steps - 1 ? end : start + static_cast<double>(i) * delta;
  });
}

Tensor eye(std::int64_t n, std::int64_t m, TensorOptions options) {
  if (n < 0) throw ValueError(fmt::format("eye: n must be >= 0, got {}", n));
  if (m == -1) m = n;
  if (m < 0) throw ValueError(fmt::format("eye: m must be >= 0 (or -1 for m = n), got {}", m));
  return generate("eye", Shape{n, m}, options, [m](std::int64_t i) { return i / m == i % m ? 1.0 : 0.0; });
}

Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions options) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
    throw ShapeError(fmt::format("tensor: {} values cannot fill shape {} ({} elements)", values.size(), shape,
                                 shape.numel()));
  }
  return generate("tensor", shape, options, [&](std::int64_t i) { return values[static_cast<std::size_t>(i)]; });
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options) {
  if (rows.size() == 0) return tensor(std::vector<double>{}, Shape{0}, options);  // tensor({}): [0]
  std::vector<double> values;
  const std::size_t width = rows.size() > 0 ? rows.begin()->size() : 0;
  std::size_t r = 0;
  for (const auto& row : rows) {
    if (row.size() != width) {
      throw ShapeError(fmt::format("tensor: row {} has {} values but row 0 has {}", r, row.size(), width));
    }
    values.insert(values.end(), row.begin(), row.end());
    ++r;
  }
  return tensor(values, Shape{static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(width)}, options);
}

template <ElementValue T>
Tensor tensor_of(const std::vector<T>& values, const Shape& shape) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
    throw ShapeError(fmt::format("tensor_of: {} values cannot fill shape {} ({} elements)", values.size(),
                                 shape, shape.numel()));
  }
  Tensor t = empty(shape, dtype_of_v<T>);
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}
template Tensor tensor_of<float>(const std::vector<float>&, const Shape&);
template Tensor tensor_of<double>(const std::vector<double>&, const Shape&);
template Tensor tensor_of<std::int64_t>(const std::vector<std::int64_t>&, const Shape&);
template <>
Tensor tensor_of<int>(const std::vector<int>& values, const Shape& shape) {
  return tensor_of(std::vector<std::int64_t>(values.begin(), values.end()), shape);
}
template <>
Tensor tensor_of<bool>(const std::vector<bool>& values, const Shape& shape) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
    throw ShapeError(fmt::format("tensor_of: {} values cannot fill shape {} ({} elements)", values.size(),
                                 shape, shape.numel()));
  }
  Tensor t = empty(shape, kBool);
  std::copy(values.begin(), values.end(), t.data<bool>());
  return t;
}

Tensor rand(const Shape& shape, Generator& gen, TensorOptions options) {
  check_random_dtype("rand", options.dtype);
  // uniform() is below 1, but a value within 2^-25 of 1 rounds up to 1.0f: keep float32 below 1 too.
  const double largest = options.dtype == kFloat32 ? 0x1.fffffep-1 : 1.0;
  return generate("rand", shape, options, [&](std::int64_t) { return std::min(gen.uniform(), largest); });
}
Tensor rand(const Shape& shape, TensorOptions options) { return rand(shape, default_generator(), options); }

Tensor randn(const Shape& shape, Generator& gen, TensorOptions options) {
  check_random_dtype("randn", options.dtype);
  return generate("randn", shape, options, [&](std::int64_t) { return gen.normal(); });
}
Tensor randn(const Shape& shape, TensorOptions options) { return randn(shape, default_generator(), options); }

Tensor uniform(const Shape& shape, double low, double high, Generator& gen, TensorOptions options) {
  check_random_dtype("uniform", options.dtype);
  if (!(low <= high) || !std::isfinite(low) || !std::isfinite(high)) {
    throw ValueError(fmt::format("uniform: needs finite low <= high, got low {} and high {}", low, high));
  }
  // low + (high - low) u rounds up to high (or, in float32, past it) for u near 1: cap it at the largest
  // value of the dtype below high, as rand() does for 1, so that every value is in [low, high).
  double below_high = high;
  if (low < high) {
    if (options.dtype == kFloat32) {
      const float h = static_cast<float>(high);  // the nearest float, which may lie above high
      below_high = h < high ? h : std::nextafter(h, -INFINITY);
    } else {
      below_high = std::nextafter(high, -INFINITY);
    }
    below_high = std::max(below_high, low);  // no value of the dtype in [low, high): low itself
  }
  return generate("uniform", shape, options,
                  [&](std::int64_t) { return std::min(low + (high - low) * gen.uniform(), below_high); });
}

Tensor normal(const Shape& shape, double mean, double std, Generator& gen, TensorOptions options) {
  check_random_dtype("normal", options.dtype);
  if (!(std >= 0.0) || !std::isfinite(std) || !std::isfinite(mean)) {
    throw ValueError(fmt::format("normal: needs a finite mean and std >= 0, got mean {} and std {}", mean, std));
  }
  return generate("normal", shape, options, [&](std::int64_t) { return mean + std * gen.normal(); });
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen) {
  if (high <= low) throw ValueError(fmt::format("randint: needs low < high, got low {} and high {}", low, high));
  const auto span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  Tensor t = empty(shape, kInt64);
  std::int64_t* p = t.data<std::int64_t>();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    p[i] = static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + gen.below(span));
  }
  return t;
}

Tensor randperm(std::int64_t n, Generator& gen) {
  if (n < 0) throw ValueError(fmt::format("randperm: n must be >= 0, got {}", n));
  Tensor t = empty(Shape{n}, kInt64);
  std::int64_t* p = t.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) p[i] = i;
  // Fisher-Yates: each position takes a uniformly chosen element of those not yet placed.
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  return t;
}

}  // namespace attograd
