#include "attograd/nn/embedding.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/embedding.hpp"
#include "ops/one_dtype.hpp"

namespace attograd::nn {

namespace {

void check_sizes(const char* module, const char* rows, std::int64_t n, std::int64_t dim, DType dtype) {
  if (n < 1 || dim < 1) {
    throw ValueError(fmt::format("{}: {} and dim must be at least 1, got {}={}, dim={}", module, rows, rows, n, dim));
  }
  if (!is_floating(dtype)) {
    throw DTypeError(fmt::format("{}: the table must be floating point, got dtype {}", module, dtype));
  }
}

Generator& generator_of(const EmbeddingOptions& options) {
  return options.generator != nullptr ? *options.generator : default_generator();
}

// The rows P[:T] of a position table for an input X [.., T, C], after checking that X fits the table.
Tensor positions_for(const char* module, const Tensor& x, const Tensor& table) {
  const std::int64_t max_len = table.size(0), C = table.size(1);
  if (x.dim() < 2 || x.size(-1) != C) {
    throw ShapeError(fmt::format("{}: expected an input [.., T, {}], got {}", module, C, x.shape()));
  }
  const std::int64_t T = x.size(-2);
  if (T > max_len) {
    throw ShapeError(fmt::format("{}: sequence length {} exceeds the {} positions it has", module, T, max_len));
  }
  return table.narrow(0, 0, T);  // [T, C], broadcast over the leading dims by the add
}

}  // namespace

Embedding::Embedding(std::int64_t vocab, std::int64_t dim, EmbeddingOptions options) : Module("Embedding") {
  check_sizes("Embedding", "vocab", vocab, dim, options.dtype);
  weight = register_parameter("weight", randn({vocab, dim}, generator_of(options), {.dtype = options.dtype}));
}

Tensor Embedding::forward(const Tensor& ids) const { return embedding(weight, ids); }

std::string Embedding::describe() const { return fmt::format("vocab={}, dim={}", vocab_size(), dim()); }

PositionEmbedding::PositionEmbedding(std::int64_t max_len, std::int64_t dim, EmbeddingOptions options)
    : Module("PositionEmbedding") {
  check_sizes("PositionEmbedding", "max_len", max_len, dim, options.dtype);
  weight = register_parameter("weight", randn({max_len, dim}, generator_of(options), {.dtype = options.dtype}));
}

// A learned table is a parameter: it meets the input under the rule of linear and layer_norm (one
// dtype, no promotion), where the fixed sinusoidal table below is a constant, converted like a scalar.
Tensor PositionEmbedding::forward(const Tensor& x) const {
  const Tensor p = positions_for("PositionEmbedding", x, weight);
  require_one_dtype("PositionEmbedding", {{"input", x}, {"weight", weight}}, Holds::InputAndParameters);
  return x + p;
}

std::string PositionEmbedding::describe() const { return fmt::format("max_len={}, dim={}", max_len(), dim()); }

SinusoidalPositionEncoding::SinusoidalPositionEncoding(std::int64_t max_len, std::int64_t dim, DType dtype)
    : Module("SinusoidalPositionEncoding") {
  check_sizes("SinusoidalPositionEncoding", "max_len", max_len, dim, dtype);
  // Channel pair (2i, 2i+1) turns at the frequency 1/10000^(2i/C): from one turn per 2π positions for
  // the first pair down to one per 2π·10000 for the last, so nearby and distant offsets both show.
  std::vector<double> pe(static_cast<std::size_t>(max_len * dim));
  for (std::int64_t t = 0; t < max_len; ++t) {
    for (std::int64_t c = 0; c < dim; ++c) {
      const double two_i = static_cast<double>(c - c % 2);
      const double angle = static_cast<double>(t) / std::pow(10000.0, two_i / static_cast<double>(dim));
      pe[static_cast<std::size_t>(t * dim + c)] = c % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  }
  table = register_buffer("table", tensor(pe, {max_len, dim}, {.dtype = dtype}));
}

Tensor SinusoidalPositionEncoding::forward(const Tensor& x) const {
  Tensor pe = positions_for("SinusoidalPositionEncoding", x, table);
  return x + (x.is_floating_point() ? pe.to(x.dtype()) : pe);
}

std::string SinusoidalPositionEncoding::describe() const {
  return fmt::format("max_len={}, dim={}", max_len(), dim());
}

}  // namespace attograd::nn
