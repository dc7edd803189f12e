// Pointwise functions of one tensor: exp, log, sqrt, abs, sin, cos, tanh, sigmoid, relu, gelu, clamp. Each saves
// what its derivative needs: the input, or the output when the derivative is cheaper from it
// (exp, sqrt, tanh, sigmoid).
#include <cmath>
#include <numbers>
#include <string>

#include "attograd/autograd/node.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/elementwise.hpp"
#include "backend/fast_math.hpp"
#include "backend/threads.hpp"
#include "ops/pointwise.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

constexpr std::string_view kDerivation = "elementwise.md#functions-of-one-tensor";
using pointwise::unary;

namespace {

// Does x take a vectorised float32 loop of backend/fast_math.hpp?
bool fast_f32(const Tensor& x) { return x.dtype() == kFloat32 && x.is_contiguous(); }

// y = kernel(x) for such an x, the elements split over the threads when there are enough of them.
Tensor map_f32(const Tensor& x, void (*kernel)(const float*, float*, std::int64_t)) {
  Tensor y = empty(x.shape(), kFloat32);
  const float* px = x.data<float>();
  float* py = y.data<float>();
  backend::parallel_for(x.numel(), x.numel(), [&](std::int64_t begin, std::int64_t end) {
    kernel(px + begin, py + begin, end - begin);
  });
  return y;
}

}  // namespace

// Y = e^X    dX = dY * Y
const Op exp_op({.name = "exp", .rule = "dX = dY * Y", .derivation = kDerivation});
Tensor exp(const Tensor& x) {
  pointwise::require_floating("exp", x);
  Tensor y = fast_f32(x) ? map_f32(x, backend::exp_f32) : unary("exp", x, [](auto v) { return std::exp(v); });
  if (Node* node = record(exp_op, y, {x})) {
    node->backward = [Y = node->save(y)](const Tensor& dY, Grads& d) { d[0] = dY * Y; };
  }
  return y;
}

// Y = ln X    dX = dY / X
const Op log_op({.name = "log", .rule = "dX = dY / X", .derivation = kDerivation});
Tensor log(const Tensor& x) {
  Tensor y = unary("log", x, [](auto v) { return std::log(v); });
  if (Node* node = record(log_op, y, {x})) {
    node->backward = [X = node->save(x)](const Tensor& dY, Grads& d) { d[0] = dY / X; };
  }
  return y;
}

// Y = sqrt(X)    dX = dY / (2 Y)
const Op sqrt_op({.name = "sqrt", .rule = "dX = dY / (2 Y)", .derivation = kDerivation});
Tensor sqrt(const Tensor& x) {
  Tensor y = unary("sqrt", x, [](auto v) { return std::sqrt(v); });
  if (Node* node = record(sqrt_op, y, {x})) {
    node->backward = [Y = node->save(y)](const Tensor& dY, Grads& d) { d[0] = dY / (Y * 2.0); };
  }
  return y;
}

// Y = |X|    dX = dY * sign(X)    (sign(0) = 0)
const Op abs_op({.name = "abs", .rule = "dX = dY * sign(X)   (sign(0) = 0)", .derivation = kDerivation});
Tensor abs(const Tensor& x) {
  Tensor y = unary("abs", x, [](auto v) { return std::abs(v); });
  if (Node* node = record(abs_op, y, {x})) {
    node->backward = [X = node->save(x)](const Tensor& dY, Grads& d) {
      d[0] = where(X > 0.0, dY, where(X < 0.0, -dY, 0.0));
    };
  }
  return y;
}

// Y = sin X    dX = dY * cos X
const Op sin_op({.name = "sin", .rule = "dX = dY * cos X", .derivation = kDerivation});
Tensor sin(const Tensor& x) {
  Tensor y = unary("sin", x, [](auto v) { return std::sin(v); });
  if (Node* node = record(sin_op, y, {x})) {
    // One pass over dY and X, as tanh's: cos X is not saved, it is computed where it is needed.
    node->backward = [X = node->save(x)](const Tensor& dY, Grads& d) {
      d[0] = pointwise::binary("sin", dY, X, [](auto g, auto v) { return g * std::cos(v); });
    };
  }
  return y;
}

// Y = cos X    dX = -dY * sin X
const Op cos_op({.name = "cos", .rule = "dX = -dY * sin X", .derivation = kDerivation});
Tensor cos(const Tensor& x) {
  Tensor y = unary("cos", x, [](auto v) { return std::cos(v); });
  if (Node* node = record(cos_op, y, {x})) {
    node->backward = [X = node->save(x)](const Tensor& dY, Grads& d) {
      d[0] = pointwise::binary("cos", dY, X, [](auto g, auto v) { return -g * std::sin(v); });
    };
  }
  return y;
}

// Y = tanh(X)    dX = dY * (1 - Y^2)
const Op tanh_op({.name = "tanh", .rule = "dX = dY * (1 - Y²)", .derivation = kDerivation});
Tensor tanh(const Tensor& x) {
  pointwise::require_floating("tanh", x);
  Tensor y = fast_f32(x) ? map_f32(x, backend::tanh_f32) : unary("tanh", x, [](auto v) { return std::tanh(v); });
  if (Node* node = record(tanh_op, y, {x})) {
    // One pass (dY * (1.0 - Y * Y) would be three ops, each with its allocation).
    node->backward = [Y = node->save(y)](const Tensor& dY, Grads& d) {
      d[0] = pointwise::binary("tanh", dY, Y, [](auto g, auto v) { return g * (decltype(v)(1) - v * v); });
    };
  }
  return y;
}

// Y = 1 / (1 + e^-X)    dX = dY * Y * (1 - Y)
const Op sigmoid_op({.name = "sigmoid", .rule = "dX = dY * Y * (1 - Y)", .derivation = kDerivation});
Tensor sigmoid(const Tensor& x) {
  // Written so that neither branch overflows: e^-|x| <= 1.
  Tensor y = unary("sigmoid", x, [](auto v) {
    using T = decltype(v);
    const T e = std::exp(-std::abs(v));
    return v >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
  });
  if (Node* node = record(sigmoid_op, y, {x})) {
    node->backward = [Y = node->save(y)](const Tensor& dY, Grads& d) { d[0] = dY * Y * (1.0 - Y); };
  }
  return y;
}

// Y = max(X, 0)    dX = dY where X > 0, else 0
const Op relu_op({.name = "relu", .rule = "dX = dY where X > 0, else 0", .derivation = kDerivation});
Tensor relu(const Tensor& x) {
  // v < 0 rather than v > 0 as the test: NaN is neither, and must come out as NaN, not 0, so that a
  // diverging run shows (as in PyTorch).
  Tensor y = unary("relu", x, [](auto v) { return v < 0 ? decltype(v)(0) : v; });
  if (Node* node = record(relu_op, y, {x})) {
    // One pass over dY and Y: where(Y > 0, dY, 0) would first build a bool mask of Y > 0 and then walk
    // three tensors (about 10% of a transformer step, docs/performance.md). NaN in Y gives 0, as
    // where() did.
    node->backward = [Y = node->save(y)](const Tensor& dY, Grads& d) { d[0] = pointwise::relu_mask("relu", dY, Y, d); };
  }
  return y;
}

// Y = X * Phi(X)    dX = dY * (Phi(X) + X * phi(X))      Phi, phi: the standard normal CDF and density
// Phi(X) = erfc(-X / sqrt 2) / 2, not (1 + erf(X / sqrt 2)) / 2: for X << 0 the latter subtracts two
// numbers near 1 and is already 0 at X = -10, where gelu is -7.6e-23.
// Tanh approximation: Y = X/2 * (1 + tanh(u)), u = sqrt(2/pi) (X + 0.044715 X^3)
//                     dX = dY * (1/2 (1 + tanh u) + X/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 X^2))
const Op gelu_op({.name = "gelu",
                  .rule = "dX = dY * (Φ(X) + X φ(X))   (tanh form: see the page)",
                  .derivation = "elementwise.md#gelu"});
Tensor gelu(const Tensor& x, GeluApproximation approximation) {
  constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
  constexpr double kCubic = 0.044715;
  constexpr double kInvSqrt2 = 0.7071067811865476;  // 1 / sqrt(2)
  const bool exact = approximation == GeluApproximation::None;
  Tensor y = unary("gelu", x, [exact](auto v) {
    using T = decltype(v);
    if (exact) return static_cast<T>(0.5 * v * std::erfc(-v * kInvSqrt2));
    const T u = static_cast<T>(kSqrt2OverPi * (v + kCubic * v * v * v));
    return static_cast<T>(0.5 * v * (1.0 + std::tanh(u)));
  });
  if (Node* node = record(gelu_op, y, {x})) {
    node->backward = [X = node->save(x), exact](const Tensor& dY, Grads& d) {
      const Tensor slope = unary("gelu", X, [exact](auto v) {
        using T = decltype(v);
        const double w = static_cast<double>(v);
        if (exact) {
          const double cdf = 0.5 * std::erfc(-w * kInvSqrt2);
          const double pdf = std::exp(-0.5 * w * w) * std::numbers::inv_sqrtpi * kInvSqrt2;
          return static_cast<T>(cdf + w * pdf);
        }
        const double t = std::tanh(kSqrt2OverPi * (w + kCubic * w * w * w));
        return static_cast<T>(0.5 * (1.0 + t) + 0.5 * w * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3.0 * kCubic * w * w));
      });
      d[0] = dY * slope;
    };
  }
  return y;
}

// Y = min(max(X, lo), hi)    dX = dY where lo <= X <= hi, else 0
const Op clamp_op({.name = "clamp", .rule = "dX = dY where lo ≤ X ≤ hi, else 0", .derivation = kDerivation});
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  if ((lo && std::isnan(*lo)) || (hi && std::isnan(*hi))) {
    auto text = [](std::optional<double> bound) { return bound ? fmt::format("{}", *bound) : std::string("none"); };
    throw ValueError(fmt::format("clamp: bounds must not be NaN, got lo {} and hi {}", text(lo), text(hi)));
  }
  // The bounds as the tensor's dtype rounds them, so that backward's mask agrees with forward on which
  // elements sit on a bound (0.7 is 0.699999988 in float32).
  pointwise::require_floating("clamp", x);
  const bool f32 = x.dtype() == kFloat32;
  auto rounded = [f32](double b) { return f32 ? static_cast<double>(static_cast<float>(b)) : b; };
  const double l = rounded(lo.value_or(-INFINITY));
  const double h = rounded(hi.value_or(INFINITY));
  Tensor y = unary("clamp", x, [l, h](auto v) {
    using T = decltype(v);
    return std::min(std::max(v, static_cast<T>(l)), static_cast<T>(h));
  });
  if (Node* node = record(clamp_op, y, {x})) {
    node->backward = [X = node->save(x), l, h](const Tensor& dY, Grads& d) {
      d[0] = where(logical_and(X >= l, X <= h), dY, 0.0);
    };
  }
  return y;
}

Tensor Tensor::exp() const { return attograd::exp(*this); }
Tensor Tensor::log() const { return attograd::log(*this); }
Tensor Tensor::sqrt() const { return attograd::sqrt(*this); }
Tensor Tensor::abs() const { return attograd::abs(*this); }
Tensor Tensor::tanh() const { return attograd::tanh(*this); }
Tensor Tensor::sigmoid() const { return attograd::sigmoid(*this); }
Tensor Tensor::relu() const { return attograd::relu(*this); }

}  // namespace attograd
