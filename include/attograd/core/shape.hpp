/// \file
/// Sizes (and strides) of an N-d tensor, rank 0 to kMaxRank.
///
/// \code
/// Shape s{2, 3, 4};
/// s.rank();        // 3
/// s.numel();       // 24
/// s[-1];           // 4 (negative indices count from the end)
/// fmt::print("{}", s);   // [2, 3, 4]
/// \endcode
///
/// Shapes live inline (no heap allocation): every op creates a few of them.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include <fmt/format.h>

namespace attograd {

/// The most dims a tensor may have: shapes live inline, so making one never allocates.
inline constexpr int kMaxRank = 8;

/// An integer naming one dim, as the one-dim overloads take it (`x.sum(-1)`); bool is not one. A template
/// parameter rather than std::int64_t, so that a braced list (`sum(x, {})`, `sum(x, {0, 1})`) still
/// means a list of dims.
template <class I>
concept DimIndex = std::integral<I> && !std::same_as<I, bool>;

/// A tensor's sizes, one per dim, held inline (at most kMaxRank): `Shape{2, 3}`. Also used for lists of dims
/// (`sum(x, {0, 1})`) and for strides.
class Shape {
 public:
  Shape() = default;
  /// the sizes in order: Shape{2, 3}
  Shape(std::initializer_list<std::int64_t> dims) { assign(dims.begin(), dims.size()); }
  /// from any contiguous sizes
  explicit Shape(std::span<const std::int64_t> dims) { assign(dims.data(), dims.size()); }

  int rank() const { return rank_; }  ///< the number of dims
  std::size_t size() const { return static_cast<std::size_t>(rank_); }  ///< the number of dims, as a size_t
  bool empty() const { return rank_ == 0; }  ///< rank 0 (a scalar's shape)

  /// Number of elements: the product of the sizes (1 for rank 0). Unchecked: a tensor's shape was
  /// checked when it was made (see checked_numel below).
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }

  /// i may be negative: -1 is the last dim. Checked against the rank only in debug builds; ops check
  /// user-supplied dims with normalize_dim().
  std::int64_t& operator[](int i) { return dims_[i < 0 ? i + rank_ : i]; }
  std::int64_t operator[](int i) const { return dims_[i < 0 ? i + rank_ : i]; }  ///< \overload

  const std::int64_t* begin() const { return dims_.data(); }  ///< iteration over the sizes
  const std::int64_t* end() const { return dims_.data() + rank_; }  ///< \overload
  std::int64_t* begin() { return dims_.data(); }  ///< \overload
  std::int64_t* end() { return dims_.data() + rank_; }  ///< \overload
  const std::int64_t* data() const { return dims_.data(); }  ///< the sizes as an array
  std::int64_t* data() { return dims_.data(); }  ///< \overload
  std::span<const std::int64_t> span() const { return {dims_.data(), size()}; }  ///< the sizes as a span

  void push_back(std::int64_t d);  ///< throws ShapeError past kMaxRank
  void insert(int pos, std::int64_t d);  ///< inserts size d before dim pos
  void erase(int pos);  ///< removes dim pos
  /// to `rank` dims: drops trailing dims, or appends sizes `fill`
  void resize(int rank, std::int64_t fill = 1);

  /// Same rank and the same sizes.
  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  void assign(const std::int64_t* p, std::size_t n);

  std::array<std::int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

/// Strides count elements, not bytes, and use the same inline container.
using Strides = Shape;

/// Row-major (C order) strides of a contiguous tensor of this shape.
Strides contiguous_strides(const Shape& shape);

/// The product of non-negative sizes, or ShapeError naming the op and the shape when it does not fit in
/// int64 (Shape::numel would overflow, which is undefined behaviour):
/// \code
/// empty: shape [4294967296, 4294967296] has more elements than int64 can count
/// \endcode
std::int64_t checked_numel(std::string_view op, const Shape& shape);

/// Turns a possibly negative dim into 0..rank-1, or throws IndexError naming the op:
/// \code
/// sum: dim 3 is out of range for a tensor of rank 2 (expected -2..1)
/// \endcode
int normalize_dim(std::string_view op, std::int64_t dim, int rank);

/// The shape two shapes broadcast to (NumPy rules: align trailing dims; each pair equal or one of
/// them 1), or ShapeError naming the op, both shapes and the first dim that clashes:
/// \code
/// add: shapes [2, 3] and [4] cannot be broadcast: dim -1 is 3 vs 4
/// \endcode
Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b);

}  // namespace attograd

/// \cond
// fmt's formatter, so that fmt::print("{}", x) works (hidden from the API reference: \cond).
template <>
struct fmt::formatter<attograd::Shape> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  auto format(const attograd::Shape& s, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "[{}]", fmt::join(s.begin(), s.end(), ", "));
  }
};
/// \endcond
