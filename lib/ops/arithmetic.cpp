// add, sub, mul, div (tensor-tensor and tensor-scalar), neg and pow: the four operations with their
// derivatives. A broadcast input gets its gradient summed back to its own shape (sum_to).
#include <cmath>

#include "attograd/autograd/node.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/reduction.hpp"
#include "core/wrapping.hpp"
#include "ops/pointwise.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;
using pointwise::binary;
using pointwise::with_scalar;

// The sections of docs/derivations/elementwise.md that derive these backwards.
constexpr std::string_view kFourOperations = "elementwise.md#the-four-operations";
constexpr std::string_view kScalarForms = "elementwise.md#scalar-forms";
constexpr std::string_view kFunctions = "elementwise.md#functions-of-one-tensor";

namespace {

// Both operands in the dtype of the result. Bool operands count as int64 for arithmetic.
std::pair<Tensor, Tensor> promoted(std::string_view op, const Tensor& a, const Tensor& b, bool floating) {
  pointwise::require_defined(op, a, "lhs");
  pointwise::require_defined(op, b, "rhs");
  DType t = pointwise::result_dtype(a, b);
  if (t == kBool) t = kInt64;
  if (floating && !is_floating(t)) t = kFloat32;
  return {to(a, t), to(b, t)};
}

// A tensor ready to meet a scalar: bool becomes int64, and an integer tensor meeting a scalar that is
// not an int64 (a fraction, inf, NaN, or a whole number beyond int64's range) or a division becomes
// float32, so that 3 * 0.5 is 1.5 and not 0, and 1e20 is never squeezed into an int64.
Tensor scalar_operand(std::string_view op, const Tensor& x, double s, bool floating) {
  pointwise::require_defined(op, x);
  if (x.is_floating_point()) return x;
  constexpr double kTwo63 = 9223372036854775808.0;  // 2^63: int64 holds [-2^63, 2^63)
  const bool fits_int64 = s == std::floor(s) && s >= -kTwo63 && s < kTwo63;  // false for inf and NaN
  if (floating || !fits_int64) return to(x, kFloat32);
  return x.dtype() == kBool ? to(x, kInt64) : x;
}

}  // namespace

// C = A + B    dA = dC    dB = dC
const Op add_op({.name = "add",
                 .form = "A + B",
                 .rule = "dA = dC   dB = dC   (each summed to its input's shape)",
                 .derivation = kFourOperations});
Tensor add(const Tensor& a_in, const Tensor& b_in) {
  auto [a, b] = promoted("add", a_in, b_in, false);
  Tensor c = binary("add", a, b, [](auto x, auto y) { return wrapping::add(x, y); });
  if (Node* node = record(add_op, c, {a, b})) {
    node->backward = [sa = a.shape(), sb = b.shape()](const Tensor& dC, Grads& d) {
      if (d.wanted(0)) d[0] = sum_to(dC, sa);
      if (d.wanted(1)) d[1] = sum_to(dC, sb);
    };
  }
  return c;
}

// C = A - B    dA = dC    dB = -dC
const Op sub_op({.name = "sub",
                 .form = "A - B",
                 .rule = "dA = dC   dB = -dC   (each summed to its input's shape)",
                 .derivation = kFourOperations});
Tensor sub(const Tensor& a_in, const Tensor& b_in) {
  auto [a, b] = promoted("sub", a_in, b_in, false);
  Tensor c = binary("sub", a, b, [](auto x, auto y) { return wrapping::sub(x, y); });
  if (Node* node = record(sub_op, c, {a, b})) {
    node->backward = [sa = a.shape(), sb = b.shape()](const Tensor& dC, Grads& d) {
      if (d.wanted(0)) d[0] = sum_to(dC, sa);
      if (d.wanted(1)) d[1] = sum_to(-dC, sb);
    };
  }
  return c;
}

// C = A * B    dA = dC * B    dB = dC * A
const Op mul_op({.name = "mul",
                 .form = "A * B",
                 .rule = "dA = dC * B   dB = dC * A   (each summed to its input's shape)",
                 .derivation = kFourOperations});
Tensor mul(const Tensor& a_in, const Tensor& b_in) {
  auto [a, b] = promoted("mul", a_in, b_in, false);
  Tensor c = binary("mul", a, b, [](auto x, auto y) { return wrapping::mul(x, y); });
  if (Node* node = record(mul_op, c, {a, b})) {
    node->backward = [A = node->save(a), B = node->save(b)](const Tensor& dC, Grads& d) {
      if (d.wanted(0)) d[0] = sum_to(dC * B, A.shape());
      if (d.wanted(1)) d[1] = sum_to(dC * A, B.shape());
    };
  }
  return c;
}

// C = A / B    dA = dC / B    dB = -dC * A / B^2 = -dC * C / B
// (C / B rather than A / B^2: B^2 under- or overflows long before the gradient does, e.g. for
// A = B = 1e-23 in float32 B^2 is 0 while dB = -1e23 fits.)
const Op div_op({.name = "div",
                 .form = "A / B",
                 .rule = "dA = dC / B   dB = -dC * C / B   (each summed to its input's shape)",
                 .derivation = kFourOperations});
Tensor div(const Tensor& a_in, const Tensor& b_in) {
  auto [a, b] = promoted("div", a_in, b_in, true);
  Tensor c = binary("div", a, b, [](auto x, auto y) { return x / y; });
  if (Node* node = record(div_op, c, {a, b})) {
    node->backward = [sa = a.shape(), B = node->save(b), C = node->save(c)](const Tensor& dC, Grads& d) {
      if (d.wanted(0)) d[0] = sum_to(dC / B, sa);
      if (d.wanted(1)) d[1] = sum_to(-dC * C / B, B.shape());
    };
  }
  return c;
}

// C = A + s    dA = dC
const Op add_scalar_op(
    {.name = "add", .form = "A + s", .rule = "dA = dC", .derivation = kScalarForms});
Tensor add(const Tensor& a_in, double s) {
  const Tensor a = scalar_operand("add", a_in, s, false);
  Tensor c = with_scalar("add", a, s, [](auto x, auto y) { return wrapping::add(x, y); });
  if (Node* node = record(add_scalar_op, c, {a})) {
    node->note_scalar('s', s);  // shown by graph pictures, traces and anomaly messages
    node->backward = [](const Tensor& dC, Grads& d) { d[0] = dC; };
  }
  return c;
}

// C = A - s    dA = dC
const Op sub_scalar_op(
    {.name = "sub", .form = "A - s", .rule = "dA = dC", .derivation = kScalarForms});
Tensor sub(const Tensor& a_in, double s) {
  const Tensor a = scalar_operand("sub", a_in, s, false);
  Tensor c = with_scalar("sub", a, s, [](auto x, auto y) { return wrapping::sub(x, y); });
  if (Node* node = record(sub_scalar_op, c, {a})) {
    node->note_scalar('s', s);
    node->backward = [](const Tensor& dC, Grads& d) { d[0] = dC; };
  }
  return c;
}

// C = s - A    dA = -dC
const Op rsub_op({.name = "rsub", .form = "s - A", .rule = "dA = -dC", .derivation = kScalarForms});
Tensor sub(double s, const Tensor& a_in) {
  const Tensor a = scalar_operand("sub", a_in, s, false);
  Tensor c = with_scalar("sub", a, s, [](auto x, auto y) { return wrapping::sub(y, x); });
  if (Node* node = record(rsub_op, c, {a})) {
    node->note_scalar('s', s);
    node->backward = [](const Tensor& dC, Grads& d) { d[0] = -dC; };
  }
  return c;
}

// C = A * s    dA = dC * s
const Op mul_scalar_op(
    {.name = "mul", .form = "A * s", .rule = "dA = dC * s", .derivation = kScalarForms});
Tensor mul(const Tensor& a_in, double s) {
  const Tensor a = scalar_operand("mul", a_in, s, false);
  Tensor c = with_scalar("mul", a, s, [](auto x, auto y) { return wrapping::mul(x, y); });
  if (Node* node = record(mul_scalar_op, c, {a})) {
    node->note_scalar('s', s);
    node->backward = [s](const Tensor& dC, Grads& d) { d[0] = dC * s; };
  }
  return c;
}

// C = A / s    dA = dC / s
const Op div_scalar_op(
    {.name = "div", .form = "A / s", .rule = "dA = dC / s", .derivation = kScalarForms});
Tensor div(const Tensor& a_in, double s) {
  const Tensor a = scalar_operand("div", a_in, s, true);
  Tensor c = with_scalar("div", a, s, [](auto x, auto y) { return x / y; });
  if (Node* node = record(div_scalar_op, c, {a})) {
    node->note_scalar('s', s);
    node->backward = [s](const Tensor& dC, Grads& d) { d[0] = dC / s; };
  }
  return c;
}

// C = s / A    dA = -dC * s / A^2 = -dC * C / A
const Op rdiv_op(
    {.name = "rdiv", .form = "s / A", .rule = "dA = -dC * C / A", .derivation = kScalarForms});
Tensor div(double s, const Tensor& a_in) {
  const Tensor a = scalar_operand("div", a_in, s, true);
  Tensor c = with_scalar("rdiv", a, s, [](auto x, auto y) { return y / x; });
  if (Node* node = record(rdiv_op, c, {a})) {
    node->note_scalar('s', s);
    node->backward = [A = node->save(a), C = node->save(c)](const Tensor& dC, Grads& d) {
      d[0] = -dC * C / A;
    };
  }
  return c;
}

// Y = -X    dX = -dY
const Op neg_op({.name = "neg", .rule = "dX = -dY", .derivation = kFunctions});
Tensor neg(const Tensor& x_in) {
  pointwise::require_defined("neg", x_in);
  const Tensor x = x_in.dtype() == kBool ? to(x_in, kInt64) : x_in;
  Tensor y = with_scalar("neg", x, 0.0, [](auto v, auto) { return wrapping::neg(v); });
  if (Node* node = record(neg_op, y, {x})) {
    node->backward = [](const Tensor& dY, Grads& d) { d[0] = -dY; };
  }
  return y;
}

// Y = X^p    dX = dY * p * X^(p-1)
const Op pow_op({.name = "pow", .rule = "dX = dY * p * X^(p-1)", .derivation = kFunctions});
Tensor pow(const Tensor& x, double p) {
  Tensor y = pointwise::unary("pow", x, [p](auto v) {
    using T = decltype(v);
    if (p == 2.0) return v * v;  // exact, and the common case
    return static_cast<T>(std::pow(v, static_cast<T>(p)));
  });
  if (Node* node = record(pow_op, y, {x})) {
    node->note_scalar('p', p);
    node->backward = [X = node->save(x), p](const Tensor& dY, Grads& d) {
      if (p == 0.0) {
        d[0] = dY * 0.0;  // X^0 is constant 1 (and 0 * X^-1 would be NaN at X = 0)
      } else {
        d[0] = p == 2.0 ? dY * X * 2.0 : dY * pow(X, p - 1.0) * p;
      }
    };
  }
  return y;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double s) { return add(a, s); }
Tensor operator+(double s, const Tensor& a) { return add(a, s); }
Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
Tensor operator-(double s, const Tensor& a) { return sub(s, a); }
Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
Tensor operator/(const Tensor& a, double s) { return div(a, s); }
Tensor operator/(double s, const Tensor& a) { return div(s, a); }

Tensor Tensor::pow(double exponent) const { return attograd::pow(*this, exponent); }

}  // namespace attograd
