#include "attograd/core/shape.hpp"

#include <limits>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"

namespace attograd {

namespace {
void check_rank(std::size_t rank) {
  if (rank > static_cast<std::size_t>(kMaxRank)) {
    throw ShapeError(fmt::format("shape: rank {} exceeds the maximum rank {}", rank, kMaxRank));
  }
}
}  // namespace

void Shape::assign(const std::int64_t* p, std::size_t n) {
  check_rank(n);
  std::copy(p, p + n, dims_.begin());
  rank_ = static_cast<int>(n);
}

void Shape::push_back(std::int64_t d) {
  check_rank(size() + 1);
  dims_[rank_++] = d;
}

void Shape::insert(int pos, std::int64_t d) {
  check_rank(size() + 1);
  for (int i = rank_; i > pos; --i) dims_[i] = dims_[i - 1];
  dims_[pos] = d;
  ++rank_;
}

void Shape::erase(int pos) {
  for (int i = pos; i + 1 < rank_; ++i) dims_[i] = dims_[i + 1];
  --rank_;
}

void Shape::resize(int rank, std::int64_t fill) {
  check_rank(static_cast<std::size_t>(rank));
  for (int i = rank_; i < rank; ++i) dims_[i] = fill;
  rank_ = rank;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides = shape;
  std::int64_t step = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    strides[i] = step;
    step *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

std::int64_t checked_numel(std::string_view op, const Shape& shape) {
  // A zero anywhere makes the product 0, however large the other sizes are.
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (n > std::numeric_limits<std::int64_t>::max() / d) {
      throw ShapeError(fmt::format("{}: shape {} has more elements than int64 can count", op, shape));
    }
    n *= d;
  }
  return n;
}

int normalize_dim(std::string_view op, std::int64_t dim, int rank) {
  // A rank-0 tensor accepts dim 0 and -1, as in PyTorch.
  const int r = std::max(rank, 1);
  if (dim < -r || dim >= r) {
    throw IndexError(fmt::format("{}: dim {} is out of range for a tensor of rank {} (expected {}..{})",
                                 op, dim, rank, -r, r - 1));
  }
  return static_cast<int>(dim < 0 ? dim + r : dim);
}

Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b) {
  if (a == b) return a;
  const int rank = std::max(a.rank(), b.rank());
  Shape out;
  out.resize(rank);
  for (int i = 1; i <= rank; ++i) {
    const std::int64_t da = i <= a.rank() ? a[-i] : 1;
    const std::int64_t db = i <= b.rank() ? b[-i] : 1;
    if (da != db && da != 1 && db != 1) {
      throw ShapeError(fmt::format("{}: shapes {} and {} cannot be broadcast: dim -{} is {} vs {}",
                                   op, a, b, i, da, db));
    }
    out[-i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace attograd
