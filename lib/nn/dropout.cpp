#include "attograd/nn/dropout.hpp"

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/ops/dropout.hpp"

namespace attograd::nn {

namespace {

double checked_p(double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw ValueError(fmt::format("Dropout: p must be between 0 and 1, got {}", p));
  return p;
}

}  // namespace

Dropout::Dropout(double p) : Dropout(p, default_generator()) {}

Dropout::Dropout(double p, Generator& gen) : Module("Dropout"), p_(checked_p(p)), gen_(&gen) {}

Dropout::Dropout(double p, std::uint64_t seed) : Module("Dropout"), p_(checked_p(p)), own_(seed), gen_(&own_) {}

Tensor Dropout::forward(const Tensor& x) const { return dropout(x, p_, is_training(), *gen_); }

std::string Dropout::describe() const { return fmt::format("p={}", p_); }

}  // namespace attograd::nn
