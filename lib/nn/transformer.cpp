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

Tensor TransformerBlock::forward(const Tensor& x) const {
  if (order_ == NormOrder::PostNorm) {
    // Each sublayer sees the previous output as it is; the sum is normalised afterwards.
    const Tensor h = norm1(x + dropout(attn(x)));  // [B, T, C]
    return norm2(h + ff(h));
  }
  // Each sublayer sees a normalised copy; the residual path from input to output is a plain sum, so the
  // gradient reaches early blocks undiminished (why deep pre-norm stacks train without warm-up).
  const Tensor h = x + dropout(attn(norm1(x)));
  return h + ff(norm2(h));
}

std::string TransformerBlock::describe() const {
  return fmt::format("emb={}, heads={}, {}, causal={}", emb(), attn.heads(), to_string(order_), attn.causal());
}

}  // namespace attograd::nn
