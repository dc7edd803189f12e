#include "attograd/nn/init.hpp"

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"

namespace attograd::nn::init {

namespace {

// Parameters require grad, and an in-place write to one is only allowed outside the graph.
Tensor overwrite(Tensor t, const Tensor& values) {
  NoGradGuard no_grad;
  t.copy_(values);
  return t;
}

void check_floating(const char* op, const Tensor& t) {
  if (!t.is_floating_point()) {
    throw DTypeError(fmt::format("init::{}: expected a floating-point tensor, got {}; convert with .to(kFloat32)", op, t.dtype()));
  }
}

}  // namespace

Tensor uniform_(Tensor t, double low, double high, Generator& gen) {
  check_floating("uniform_", t);
  return overwrite(t, uniform(t.shape(), low, high, gen, {.dtype = t.dtype()}));
}

Tensor normal_(Tensor t, double mean, double std, Generator& gen) {
  check_floating("normal_", t);
  return overwrite(t, normal(t.shape(), mean, std, gen, {.dtype = t.dtype()}));
}

Tensor constant_(Tensor t, double value) {
  NoGradGuard no_grad;
  t.fill_(value);
  return t;
}

Tensor zeros_(Tensor t) { return constant_(t, 0.0); }
Tensor ones_(Tensor t) { return constant_(t, 1.0); }

}  // namespace attograd::nn::init
