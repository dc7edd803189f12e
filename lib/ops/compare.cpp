// Comparisons (bool masks, no gradient), logical ops, where and masked_fill.
#include "attograd/ops/compare.hpp"

#include <cmath>

#include "attograd/autograd/node.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/reduction.hpp"
#include "ops/pointwise.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

namespace {

template <class Cmp>
Tensor compare(std::string_view op, const Tensor& a_in, const Tensor& b_in, Cmp cmp) {
  require_defined(op, a_in, "lhs");
  require_defined(op, b_in, "rhs");
  const DType t = pointwise::result_dtype(a_in, b_in);
  const Tensor a = to(a_in, t);
  const Tensor b = to(b_in, t);
  Tensor out = empty(broadcast_shapes(op, a.shape(), b.shape()), kBool);
  dispatch_all(t, [&](auto tag) {
    using T = decltype(tag);
    backend::map2<bool, T, T>(a, b, out, [&](T x, T y) { return cmp(x, y); });
  });
  return out;
}

// A floating tensor meets the scalar in its own dtype, as in PyTorch: tensor({0.1}) holds 0.1f, and
// eq(it, 0.1) must be true. Integers and bools compare as double, so that 2 < 2.5.
template <class Cmp>
Tensor compare_scalar(const Tensor& a, double s, Cmp cmp) {
  Tensor out = empty(a.shape(), kBool);
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      const T sv = static_cast<T>(s);
      backend::map<bool, T>(a, out, [&](T x) { return cmp(x, sv); });
    } else {
      backend::map<bool, T>(a, out, [&](T x) { return cmp(static_cast<double>(x), s); });
    }
  });
  return out;
}

void require_bool(std::string_view op, const Tensor& t, std::string_view what) {
  if (t.dtype() != kBool) {
    throw DTypeError(fmt::format("{}: {} must be a bool tensor (a mask), got {}; make it with a comparison (x > 0) or .to(kBool)", op, what, t.dtype()));
  }
}

}  // namespace

// Comparisons and logical ops give bool masks: a mask has no gradient, and none is recorded.
constexpr std::string_view kBoolOutput = "bool output (a mask)";
const Op eq_op({.name = "eq", .gradient = Gradient::None, .rule = kBoolOutput});
const Op ne_op({.name = "ne", .gradient = Gradient::None, .rule = kBoolOutput});
const Op lt_op({.name = "lt", .gradient = Gradient::None, .rule = kBoolOutput});
const Op le_op({.name = "le", .gradient = Gradient::None, .rule = kBoolOutput});
const Op gt_op({.name = "gt", .gradient = Gradient::None, .rule = kBoolOutput});
const Op ge_op({.name = "ge", .gradient = Gradient::None, .rule = kBoolOutput});

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", a, b, [](auto x, auto y) { return x == y; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", a, b, [](auto x, auto y) { return x != y; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", a, b, [](auto x, auto y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", a, b, [](auto x, auto y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", a, b, [](auto x, auto y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", a, b, [](auto x, auto y) { return x >= y; }); }
Tensor eq(const Tensor& a, double s) { return compare_scalar(a, s, [](double x, double y) { return x == y; }); }
Tensor ne(const Tensor& a, double s) { return compare_scalar(a, s, [](double x, double y) { return x != y; }); }
Tensor lt(const Tensor& a, double s) { return compare_scalar(a, s, [](double x, double y) { return x < y; }); }
Tensor le(const Tensor& a, double s) { return compare_scalar(a, s, [](double x, double y) { return x <= y; }); }
Tensor gt(const Tensor& a, double s) { return compare_scalar(a, s, [](double x, double y) { return x > y; }); }
Tensor ge(const Tensor& a, double s) { return compare_scalar(a, s, [](double x, double y) { return x >= y; }); }

Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator<(const Tensor& a, double s) { return lt(a, s); }
Tensor operator<=(const Tensor& a, double s) { return le(a, s); }
Tensor operator>(const Tensor& a, double s) { return gt(a, s); }
Tensor operator>=(const Tensor& a, double s) { return ge(a, s); }

const Op logical_and_op({.name = "logical_and", .gradient = Gradient::None, .rule = kBoolOutput});
Tensor logical_and(const Tensor& a, const Tensor& b) {
  require_bool("logical_and", a, "lhs");
  require_bool("logical_and", b, "rhs");
  return compare("logical_and", a, b, [](bool x, bool y) { return x && y; });
}

const Op logical_or_op({.name = "logical_or", .gradient = Gradient::None, .rule = kBoolOutput});
Tensor logical_or(const Tensor& a, const Tensor& b) {
  require_bool("logical_or", a, "lhs");
  require_bool("logical_or", b, "rhs");
  return compare("logical_or", a, b, [](bool x, bool y) { return x || y; });
}

const Op logical_not_op({.name = "logical_not", .gradient = Gradient::None, .rule = kBoolOutput});
Tensor logical_not(const Tensor& a) {
  require_bool("logical_not", a, "input");
  Tensor out = empty(a.shape(), kBool);
  backend::map<bool, bool>(a, out, [](bool x) { return !x; });
  return out;
}

// Y = A where cond, else B    dA = dY where cond, else 0    dB = dY where not cond, else 0
const Op where_op(
    {.name = "where",
     .rule = "dA = dY where cond, else 0   dB = dY where not cond, else 0   (each summed to its input's shape)",
     .derivation = "elementwise.md#choosing-by-mask"});
Tensor where(const Tensor& cond, const Tensor& a_in, const Tensor& b_in) {
  require_defined("where", cond, "cond");
  require_defined("where", a_in, "input");
  require_defined("where", b_in, "other");
  require_bool("where", cond, "cond");
  const DType t = pointwise::result_dtype(a_in, b_in);
  const Tensor a = to(a_in, t);
  const Tensor b = to(b_in, t);
  const Shape shape = broadcast_shapes("where", cond.shape(), broadcast_shapes("where", a.shape(), b.shape()));
  Tensor y = empty(shape, t);
  dispatch_all(t, [&](auto tag) {
    using T = decltype(tag);
    backend::map3<T, bool, T, T>(cond, a, b, y, [](bool c, T x, T z) { return c ? x : z; });
  });
  if (Node* node = record(where_op, y, {a, b})) {
    node->backward = [C = node->save(cond), sa = a.shape(), sb = b.shape()](const Tensor& dY, Grads& d) {
      const Tensor zero = zeros({}, {.dtype = dY.dtype()});
      if (d.wanted(0)) d[0] = sum_to(where(C, dY, zero), sa);
      if (d.wanted(1)) d[1] = sum_to(where(C, zero, dY), sb);
    };
  }
  return y;
}

Tensor where(const Tensor& cond, const Tensor& a, double b) {
  return where(cond, a, scalar_tensor(b, {.dtype = a.is_floating_point() ? a.dtype() : kFloat32}));
}

// Y = value where mask, else X    dX = dY where not mask
const Op masked_fill_op({.name = "masked_fill",
                         .gradient = Gradient::Composite,
                         .rule = "where(mask, value, X)",
                         .derivation = "elementwise.md#choosing-by-mask"});
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  require_defined("masked_fill", x);
  require_defined("masked_fill", mask, "mask");
  require_bool("masked_fill", mask, "mask");
  if (broadcast_shapes("masked_fill", mask.shape(), x.shape()) != x.shape()) {
    throw ShapeError(fmt::format("masked_fill: mask of shape {} does not broadcast to the input's shape {}",
                                 mask.shape(), x.shape()));
  }
  return where(mask, scalar_tensor(value, {.dtype = x.dtype()}), x);
}

const Op isnan_op({.name = "isnan", .gradient = Gradient::None, .rule = kBoolOutput});
Tensor isnan(const Tensor& x) {
  require_defined("isnan", x);
  return compare_scalar(x, 0.0, [](double v, double) { return std::isnan(v); });
}

const Op isinf_op({.name = "isinf", .gradient = Gradient::None, .rule = kBoolOutput});
Tensor isinf(const Tensor& x) {
  require_defined("isinf", x);
  return compare_scalar(x, 0.0, [](double v, double) { return std::isinf(v); });
}

bool all(const Tensor& mask) {
  require_bool("all", mask, "input");
  for (bool v : mask.to_vector<bool>()) {
    if (!v) return false;
  }
  return true;
}

bool any(const Tensor& mask) {
  require_bool("any", mask, "input");
  for (bool v : mask.to_vector<bool>()) {
    if (v) return true;
  }
  return false;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  require_defined("allclose", a, "a");
  require_defined("allclose", b, "b");
  // A negative or NaN tolerance would make every comparison false (or, with NaN, silently so).
  if (!(rtol >= 0.0) || !(atol >= 0.0) || std::isinf(rtol) || std::isinf(atol)) {
    throw ValueError(fmt::format("allclose: rtol and atol must be finite and >= 0, got rtol {} and atol {}", rtol,
                                 atol));
  }
  if (a.shape() != b.shape()) return false;
  const auto x = a.to_vector<double>();
  const auto y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i]) continue;  // equal infinities
    // An infinity is close only to itself: otherwise |x - y| = inf <= rtol * inf would pass.
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) return false;
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  }
  return true;
}

}  // namespace attograd
