#include "attograd/autograd/gradcheck.hpp"

#include <cmath>

#include <fmt/format.h>

#include "attograd/autograd/engine.hpp"
#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "backend/basic.hpp"
#include "backend/gather.hpp"  // unravel_index

namespace attograd {

namespace {

double dot(const Tensor& a, const std::vector<double>& v) {
  const std::vector<double> x = a.to_vector<double>();
  double s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * v[i];
  return s;
}

// Gradients of sum(f(inputs) * upstream) for each input (zeros where no gradient arrived).
std::vector<std::vector<double>> analytic(const GradcheckFn& f, std::vector<Tensor>& inputs,
                                          const Tensor& upstream) {
  EnableGradGuard grad_on;  // the caller may be inside a NoGradGuard; this needs the graph
  for (Tensor& x : inputs) {
    if (x.requires_grad()) x.zero_grad();
  }
  Tensor out = f(inputs);
  if (out.requires_grad()) out.backward(upstream);
  std::vector<std::vector<double>> grads;
  for (const Tensor& x : inputs) {
    if (!x.requires_grad()) {
      grads.emplace_back();
    } else if (x.grad().defined()) {
      grads.push_back(x.grad().to_vector<double>());
    } else {
      grads.emplace_back(static_cast<std::size_t>(x.numel()), 0.0);
    }
  }
  return grads;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  // Work on fresh leaves, so that the caller's tensors and their .grad are left as they were (or, in
  // place, on the caller's tensors, whose gradients are saved here and restored at the end).
  std::vector<Tensor> work;
  std::vector<Tensor> saved_grads;
  bool any = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) throw ValueError(fmt::format("gradcheck: input {} is undefined", i));
    if (x.requires_grad() && x.dtype() != kFloat64) {
      throw DTypeError(fmt::format("gradcheck: input {} is {}; finite differences need float64 (pass "
                                   "x.to(kFloat64), then requires_grad_())",
                                   i, x.dtype()));
    }
    if (x.requires_grad() && options.in_place) {
      if (!x.is_leaf() || !x.is_contiguous()) {
        throw ValueError(fmt::format("gradcheck: input {} must be a contiguous leaf to be checked in place", i));
      }
      any = true;
      work.push_back(x);
      saved_grads.push_back(x.grad());
    } else if (x.requires_grad()) {
      any = true;
      work.push_back(backend::copy(x, kFloat64).requires_grad_());
    } else {
      work.push_back(x);
    }
  }
  if (!any) throw ValueError("gradcheck: no input requires grad, so there is nothing to check");

  Tensor probe;
  {
    NoGradGuard no_grad;
    probe = f(work);
  }
  if (!probe.defined() || probe.dtype() != kFloat64) {
    throw DTypeError(fmt::format("gradcheck: the function must return a float64 tensor, got {}",
                                 probe.defined() ? fmt::format("{}", probe.dtype()) : std::string("undefined")));
  }
  Generator gen(options.seed);
  const Tensor upstream = randn(probe.shape(), gen, {.dtype = kFloat64});
  const std::vector<double> v = upstream.to_vector<double>();

  GradcheckResult result;
  auto fail = [&result](std::string message) {
    if (result.ok) result.message = std::move(message);
    result.ok = false;
  };

  const auto grads = analytic(f, work, upstream);
  if (options.check_repeat) {
    const auto again = analytic(f, work, upstream);
    for (std::size_t i = 0; i < work.size(); ++i) {
      for (std::size_t j = 0; j < grads[i].size(); ++j) {
        if (grads[i][j] != again[i][j] && !(std::isnan(grads[i][j]) && std::isnan(again[i][j]))) {
          fail(fmt::format("gradcheck: backward is not repeatable: input {}, element {}: {} then {}", i,
                           backend::unravel_index(static_cast<std::int64_t>(j), work[i].shape()), grads[i][j],
                           again[i][j]));
          break;
        }
      }
    }
  }
  if (options.check_zero_grad) {
    const auto zero = analytic(f, work, zeros(probe.shape(), {.dtype = kFloat64}));
    for (std::size_t i = 0; i < work.size(); ++i) {
      for (std::size_t j = 0; j < zero[i].size(); ++j) {
        if (zero[i][j] != 0.0) {
          fail(fmt::format("gradcheck: a zero upstream gradient gave a non-zero gradient: input {}, element {}: {}",
                           i, backend::unravel_index(static_cast<std::int64_t>(j), work[i].shape()), zero[i][j]));
          break;
        }
      }
    }
  }
  for (Tensor& x : work) {
    if (x.requires_grad()) x.zero_grad();
  }

  NoGradGuard no_grad;
  for (std::size_t i = 0; i < work.size(); ++i) {
    if (!work[i].requires_grad()) continue;
    double* p = work[i].data<double>();  // contiguous (a fresh copy, or checked): element j is p[j]
    bool all_zero = true;
    for (std::int64_t j = 0; j < work[i].numel(); ++j) {
      const double original = p[j];
      p[j] = original + options.eps;
      const double plus = dot(f(work), v);
      p[j] = original - options.eps;
      const double minus = dot(f(work), v);
      p[j] = original;
      const double numeric = (plus - minus) / (2.0 * options.eps);
      const double a = grads[i][static_cast<std::size_t>(j)];
      all_zero = all_zero && a == 0.0 && numeric == 0.0;
      const double diff = std::abs(a - numeric);
      ++result.checked;
      if (!std::isnan(diff)) result.max_abs_diff = std::max(result.max_abs_diff, diff);
      if (!(diff <= options.atol + options.rtol * std::abs(numeric))) {
        ++result.failed;
        fail(fmt::format("gradcheck: input {} (shape {}), element {}: analytic {:.10g} vs numeric {:.10g} "
                         "(|diff| {:.3g} > atol {:g} + rtol {:g} * |numeric|)",
                         i, work[i].shape(), backend::unravel_index(j, work[i].shape()), a, numeric, diff, options.atol,
                         options.rtol));
      }
    }
    if (all_zero && work[i].numel() > 0) result.unused_inputs.push_back(i);
  }
  if (options.in_place) {
    std::size_t k = 0;
    for (Tensor& x : work) {
      if (x.requires_grad()) x.set_grad(saved_grads[k++]);
    }
  }
  if (result.failed > 0) {
    result.message += fmt::format("; {} of {} elements outside the tolerance", result.failed, result.checked);
  }
  return result;
}

}  // namespace attograd
