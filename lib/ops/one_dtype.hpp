// Internal: the dtype rule for ops that combine several floating tensors without promoting them
// (docs/conventions.md, "Dtypes"): matmul, linear, linear_relu, layer_norm, the attention ops, the
// losses, and the modules whose parameters meet their input. Every operand must be floating point and
// all of one dtype. A mix is refused, as PyTorch refuses it ("expected scalar type Double but found
// Float"), rather than computed in the wider dtype: the message names the op, every operand's dtype and
// the conversion that fixes the call.
//
//   require_one_dtype("linear", {{"input", x}, {"weight", w}, {"bias", b}}, Holds::InputAndParameters);
//   // linear: expected floating-point tensors of one dtype, got input float64, weight float32 and bias
//   // float32; mixed dtypes are not promoted here: convert the model with model.to(kFloat64) or the
//   // input with x.to(kFloat32)
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd {

struct Operand {
  std::string_view name;
  const Tensor& tensor;  // undefined = absent (an optional bias), skipped
};

// What the operands are, for the fix the message suggests: the first operand is the input and the
// others a module's parameters (convert the model or the input), or all are inputs (convert one).
enum class Holds { Inputs, InputAndParameters };

inline std::string_view dtype_constant(DType t) { return t == kFloat64 ? "kFloat64" : "kFloat32"; }

inline void require_one_dtype(std::string_view op, std::initializer_list<Operand> operands, Holds holds) {
  const Operand* first = nullptr;      // the first defined operand
  const Operand* odd = nullptr;        // the first whose dtype differs from it
  const Operand* integral = nullptr;   // the first that is not floating point
  bool parameters_agree = true;        // all operands after the first share one dtype
  const Tensor* first_parameter = nullptr;
  std::string got;
  std::size_t count = 0, defined = 0;
  for (const Operand& o : operands) defined += o.tensor.defined() ? 1 : 0;
  for (const Operand& o : operands) {
    if (!o.tensor.defined()) continue;
    got += fmt::format("{}{} {}", count == 0 ? "" : (count + 1 == defined ? " and " : ", "), o.name, o.tensor.dtype());
    ++count;
    if (!o.tensor.is_floating_point() && integral == nullptr) integral = &o;
    if (first == nullptr) {
      first = &o;
      continue;
    }
    if (odd == nullptr && o.tensor.dtype() != first->tensor.dtype()) odd = &o;
    if (first_parameter == nullptr) first_parameter = &o.tensor;
    parameters_agree = parameters_agree && o.tensor.dtype() == first_parameter->dtype();
  }
  if (integral == nullptr && odd == nullptr) return;
  std::string fix;
  if (integral != nullptr) {
    fix = fmt::format("convert {} with .to(kFloat32)", integral->name);
  } else if (holds == Holds::InputAndParameters && parameters_agree) {
    fix = fmt::format("mixed dtypes are not promoted here: convert the model with model.to({}) or the input with "
                      "x.to({})",
                      dtype_constant(first->tensor.dtype()), dtype_constant(first_parameter->dtype()));
  } else if (holds == Holds::InputAndParameters) {
    fix = fmt::format("mixed dtypes are not promoted here: the parameters differ; convert the model with model.to({})",
                      dtype_constant(first->tensor.dtype()));
  } else {
    fix = fmt::format("mixed dtypes are not promoted here: convert {} with .to({}), or {} with .to({})", odd->name,
                      dtype_constant(first->tensor.dtype()), defined == 2 ? first->name : "the others",
                      dtype_constant(odd->tensor.dtype()));
  }
  throw DTypeError(fmt::format("{}: expected floating-point tensors of one dtype, got {}; {}", op, got, fix));
}

}  // namespace attograd
