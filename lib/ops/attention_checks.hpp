// Internal: what scaled_dot_product_attention checks, shared by its composite (attention.cpp) and its
// fused form (attention_fused.cpp), so that bad input gets the same message on either path.
#pragma once

#include <optional>

#include "attograd/core/tensor.hpp"

namespace attograd {

// Checks q, k, v, the mask and the scale as scaled_dot_product_attention does (its errors name it) and
// returns the scale c: the one given or 1/sqrt(D).
double check_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                       std::optional<double> scale);

// True when q, k and v are defined and of one dtype, float64, or float32 outside the bf16 matmul mode:
// what the fused kernel runs. Anything else takes the composite path, whose errors say what is wrong.
bool fused_attention_applies(const Tensor& q, const Tensor& k, const Tensor& v);

}  // namespace attograd
