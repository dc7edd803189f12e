// Internal: what scaled_dot_product_attention checks, shared by its composite (attention.cpp) and its
// fused form (attention_fused.cpp), so that bad input gets the same message on either path.
#pragma once

#include <cstdint>
#include <optional>

#include "attograd/core/tensor.hpp"

namespace attograd {

// Checks q, k, v, the mask and the scale as scaled_dot_product_attention does (its errors name it) and
// returns the scale c: the one given or 1/sqrt(D).
double check_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                       std::optional<double> scale);

// Where scaled_dot_product_attention runs fused_attention: at least this many keys (Tk), and at least
// kFusedAttentionKeysPerDim per dimension of a query (D). Shorter sequences take the composite, which
// is faster there (attention_fused.cpp says what was measured); fused_attention itself runs at any length.
inline constexpr std::int64_t kFusedAttentionMinKeys = 128;
inline constexpr std::int64_t kFusedAttentionKeysPerDim = 6;

// True when q, k and v are defined and of one dtype, float64, or float32 outside the bf16 matmul mode,
// and the keys reach the length above: what scaled_dot_product_attention runs the fused kernel for.
// Anything else takes the composite path, whose errors say what is wrong.
bool fused_attention_applies(const Tensor& q, const Tensor& k, const Tensor& v);

}  // namespace attograd
