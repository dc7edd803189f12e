/// \file
/// Making tensors.
///
/// \code
/// Tensor a = zeros({2, 3});                                   // float32 zeros
/// Tensor b = ones({3}, {.dtype = kFloat64, .requires_grad = true});
/// Tensor c = tensor({{1.0, 2.0}, {3.0, 4.0}});                // from nested braces
/// Tensor d = tensor(std::vector<double>{1, 2, 3, 4}, {2, 2});  // from values and a shape
/// Tensor e = randn({4, 4}, gen);                              // seeded: same numbers everywhere
/// \endcode
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd {

/// all zeros: zeros({2, 3}), zeros({3}, {.dtype = kFloat64})
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});  ///< all ones
Tensor full(const Shape& shape, double value, TensorOptions options = {});  ///< every element `value`
Tensor zeros_like(const Tensor& t);  ///< zeros of t's shape and dtype
Tensor ones_like(const Tensor& t);  ///< ones of t's shape and dtype
Tensor full_like(const Tensor& t, double value);  ///< `value` everywhere, of t's shape and dtype
/// A rank-0 tensor holding one value.
Tensor scalar_tensor(double value, TensorOptions options = {});

/// [start, end) with the given step, as in Python's range. end is exclusive.
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
Tensor arange(double end, TensorOptions options = {});  ///< [0, end) with step 1
/// n points from start to end inclusive.
Tensor linspace(double start, double end, std::int64_t steps, TensorOptions options = {});
/// The n x m identity (m defaults to n).
Tensor eye(std::int64_t n, std::int64_t m = -1, TensorOptions options = {});

/// From values: a flat list and a shape, or nested braces (rank 1 or 2).
Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions options = {});
/// a rank-1 tensor: tensor({1.0, 2.0})
/// (A template only so that a column of one-value rows, tensor({{1.0}, {2.0}}), is not ambiguous: both
/// overloads take it, and the rank-2 one below wins the tie. T is never deduced: the values are doubles.)
template <class T = double>
  requires std::same_as<T, double>
Tensor tensor(std::initializer_list<std::type_identity_t<T>> values, TensorOptions options = {}) {
  return tensor(std::vector<double>(values), Shape{static_cast<std::int64_t>(values.size())}, options);
}
/// a rank-2 tensor, one brace list per row: tensor({{1, 2}, {3, 4}}), a column tensor({{1}, {2}}) [2, 1].
/// No rows, tensor({}), is the rank-1 tensor of no elements [0], as in PyTorch.
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options = {});
/// Exact values of a C++ type (int64 ids, bool masks): tensor_of<std::int64_t>({3, 1, 2}, {3}).
/// T is float, double, std::int64_t, bool, or int (stored as int64: std::vector<int> labels work).
template <ElementValue T>
Tensor tensor_of(const std::vector<T>& values, const Shape& shape);

/// Random tensors, from gen or from the default generator.
Tensor rand(const Shape& shape, Generator& gen, TensorOptions options = {});   ///< uniform [0, 1)
Tensor rand(const Shape& shape, TensorOptions options = {});  ///< uniform [0, 1), from the default generator
Tensor randn(const Shape& shape, Generator& gen, TensorOptions options = {});  ///< standard normal
/// standard normal, from the default generator
Tensor randn(const Shape& shape, TensorOptions options = {});
/// uniform in [low, high)
Tensor uniform(const Shape& shape, double low, double high, Generator& gen, TensorOptions options = {});
/// normal with this mean and standard deviation
Tensor normal(const Shape& shape, double mean, double std, Generator& gen, TensorOptions options = {});
/// Integers uniform in [low, high), int64.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen);
/// A random permutation of 0..n-1, int64.
Tensor randperm(std::int64_t n, Generator& gen);

}  // namespace attograd
