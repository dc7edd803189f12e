// Classifier and LanguageModel: embeddings, a stack of TransformerBlocks and a linear head.
#include "attograd/nn/models.hpp"

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/ops/reduction.hpp"

namespace attograd::nn {

namespace {

Generator& generator_of(Generator* gen) { return gen != nullptr ? *gen : default_generator(); }

// The model's width, checked before any submodule is made so that the errors name the model.
std::int64_t checked_emb(const char* model, std::int64_t emb, std::int64_t depth, std::int64_t max_len,
                         double dropout) {
  if (depth < 0) throw ValueError(fmt::format("{}: depth must be at least 0, got {}", model, depth));
  if (max_len < 1) throw ValueError(fmt::format("{}: max_len must be at least 1, got {}", model, max_len));
  if (!(dropout >= 0.0 && dropout <= 1.0)) {
    throw ValueError(fmt::format("{}: dropout must be between 0 and 1, got {}", model, dropout));
  }
  return emb;
}

// Token ids [B, T]; their dtype and range are the embedding's to check.
void check_ids(const char* model, const Tensor& ids) {
  if (ids.dim() != 2) {
    throw ShapeError(fmt::format("{}: expected token ids [B, T], got shape {}", model, ids.shape()));
  }
}

// Both models' stack: depth TransformerBlocks made from the model's options (Classifier's and
// LanguageModel's options share these fields).
template <class ModelOptions>
void add_blocks(ModuleList& blocks, std::int64_t depth, std::int64_t emb, std::int64_t heads,
                const ModelOptions& options, bool causal) {
  for (std::int64_t i = 0; i < depth; ++i) {
    blocks.add<TransformerBlock>(emb, heads,
                                 TransformerBlockOptions{.order = options.order,
                                                         .causal = causal,
                                                         .hidden_mult = options.hidden_mult,
                                                         .activation = options.activation,
                                                         .dropout = options.dropout,
                                                         .generator = options.generator});
  }
}

}  // namespace

std::string to_string(Pool pool) { return pool == Pool::Max ? "max" : "mean"; }

// --- Classifier ----------------------------------------------------------------------------------

Classifier::Classifier(std::int64_t vocab, std::int64_t emb, std::int64_t heads, std::int64_t depth,
                       std::int64_t max_len, std::int64_t classes, ClassifierOptions options)
    : Module("Classifier"),
      tokens(vocab, checked_emb("Classifier", emb, depth, max_len, options.dropout), {.generator = options.generator}),
      dropout(options.dropout, generator_of(options.generator)),
      head(emb, classes, {.generator = options.generator}),
      max_len_(max_len),
      pool_(options.pool) {
  register_module("tokens", tokens);
  if (options.position_embeddings && options.sinusoidal_positions) {
    register_module("encoding", encoding.emplace(max_len, emb));
  } else if (options.position_embeddings) {
    positions.emplace(max_len, emb, EmbeddingOptions{.generator = options.generator});
    register_module("positions", *positions);
  }
  register_module("dropout", dropout);
  add_blocks(blocks, depth, emb, heads, options, options.causal);
  register_module("blocks", blocks);
  if (options.order == NormOrder::PreNorm) register_module("norm", norm.emplace(emb));
  register_module("head", head);
}

Tensor Classifier::forward(const Tensor& ids) const {
  check_ids("Classifier", ids);
  if (ids.size(1) == 0) {
    throw ShapeError(fmt::format("Classifier: cannot pool an empty sequence: token ids of shape {}", ids.shape()));
  }
  Tensor x = tokens(ids);  // [B, T, C]
  if (positions) x = (*positions)(x);
  if (encoding) x = (*encoding)(x);
  x = dropout(x);
  for (std::size_t i = 0; i < blocks.size(); ++i) x = block(i)(x);
  if (norm) x = (*norm)(x);
  // One vector per sequence; mean and max treat the positions alike, so the order of X's rows is lost
  // here if the position embeddings did not put it into the vectors themselves.
  const Tensor pooled = pool_ == Pool::Max ? max(x, {1}) : mean(x, {1});  // [B, C]
  return head(pooled);                                                     // [B, classes]
}

std::string Classifier::describe() const {
  return fmt::format("vocab={}, emb={}, depth={}, max_len={}, classes={}, pool={}, positions={}{}", vocab_size(),
                     tokens.dim(), blocks.size(), max_len_, head.out_features(), to_string(pool_),
                     positions.has_value(), encoding ? ", sinusoidal positions" : "");
}

// --- LanguageModel -------------------------------------------------------------------------------

LanguageModel::LanguageModel(std::int64_t vocab, std::int64_t emb, std::int64_t heads, std::int64_t depth,
                             std::int64_t max_len, LanguageModelOptions options)
    : Module("LanguageModel"),
      tokens(vocab, checked_emb("LanguageModel", emb, depth, max_len, options.dropout), {.generator = options.generator}),
      positions(max_len, emb, {.generator = options.generator}),
      dropout(options.dropout, generator_of(options.generator)),
      head(emb, vocab, {.generator = options.generator}) {
  register_module("tokens", tokens);
  register_module("positions", positions);
  register_module("dropout", dropout);
  add_blocks(blocks, depth, emb, heads, options, true);
  register_module("blocks", blocks);
  if (options.order == NormOrder::PreNorm) register_module("norm", norm.emplace(emb));
  register_module("head", head);
}

Tensor LanguageModel::forward(const Tensor& ids) const {
  check_ids("LanguageModel", ids);
  Tensor x = dropout(positions(tokens(ids)));  // [B, T, C]
  for (std::size_t i = 0; i < blocks.size(); ++i) x = block(i)(x);
  if (norm) x = (*norm)(x);
  return head(x);  // [B, T, V]
}

std::string LanguageModel::describe() const {
  return fmt::format("vocab={}, emb={}, depth={}, max_len={}", vocab_size(), tokens.dim(), blocks.size(), max_len());
}

}  // namespace attograd::nn
