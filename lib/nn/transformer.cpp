// TransformerBlock: a composite of its submodules, with no backward of its own.
#include "attograd/nn/transformer.hpp"

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/ops/elementwise.hpp"

namespace attograd::nn {

namespace {

// Checked before the submodules are made, so that the error names the block.
const TransformerBlockOptions& checked(const TransformerBlockOptions& options) {
  if (!(options.dropout >= 0.0 && options.dropout <= 1.0)) {
    throw ValueError(fmt::format("TransformerBlock: dropout must be between 0 and 1, got {}", options.dropout));
  }
  return options;
}

Generator& generator_of(const TransformerBlockOptions& options) {
  return options.generator != nullptr ? *options.generator : default_generator();
}

}  // namespace

std::string to_string(NormOrder order) { return order == NormOrder::PreNorm ? "pre-norm" : "post-norm"; }

TransformerBlock::TransformerBlock(std::int64_t emb, std::int64_t heads, TransformerBlockOptions options)
    : Module("TransformerBlock"),
      attn(emb, heads,
           {.bias = checked(options).attention_bias,
            .out_bias = options.attention_out_bias,
            .causal = options.causal,
            .generator = options.generator}),
      norm1(emb),
      ff(emb, {.hidden_mult = options.hidden_mult,
               .activation = options.activation,
               .dropout = options.dropout,
               .generator = options.generator}),
      norm2(emb),
      dropout(options.dropout, generator_of(options)),
      order_(options.order) {
  register_module("attn", attn);
  register_module("norm1", norm1);
  register_module("ff", ff);
  register_module("norm2", norm2);
  register_module("dropout", dropout);
}

// R + d(a(X)): while dropout is inactive (evaluation, or p = 0) it passes a(X) through unchanged, and the
// residual is added by the attention's output product (forward_add: linear_add), the same bits as the sum.
Tensor TransformerBlock::attention_add(const Tensor& x, const Tensor& residual) const {
  if (!dropout.is_training() || dropout.p() == 0.0) return attn.forward_add(x, residual);
  return residual + dropout(attn(x));
}

Tensor TransformerBlock::forward(const Tensor& x) const {
  // Each residual add below is done by the product before it where that is exact (forward_add).
  if (order_ == NormOrder::PostNorm) {
    // Each sublayer sees the previous output as it is; the sum is normalised afterwards.
    const Tensor h = norm1(attention_add(x, x));  // X + d(a(X))   [B, T, C]
    return norm2(ff.forward_add(h, h));           // H + f(H)
  }
  // Each sublayer sees a normalised copy; the residual path from input to output is a plain sum, so the
  // gradient reaches early blocks undiminished (why deep pre-norm stacks train without warm-up).
  const Tensor h = attention_add(norm1(x), x);  // X + d(a(norm1(X)))
  return ff.forward_add(norm2(h), h);           // H + f(norm2(H))
}

std::string TransformerBlock::describe() const {
  return fmt::format("emb={}, heads={}, {}, causal={}", emb(), attn.heads(), to_string(order_), attn.causal());
}

}  // namespace attograd::nn
