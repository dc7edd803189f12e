/// \file
/// The lecture's two reference models, a sequence classifier and a causal
/// language model (the generator), built from token and position embeddings and transformer blocks.
///
/// \code
/// Classifier clf(/*vocab*/ 1000, /*emb*/ 64, /*heads*/ 4, /*depth*/ 2, /*max_len*/ 128, /*classes*/ 2);
/// Tensor loss = cross_entropy(clf(ids), labels);     // ids [B, T] int64 -> logits [B, 2]
/// LanguageModel lm(/*vocab*/ 27, /*emb*/ 64, /*heads*/ 4, /*depth*/ 3, /*max_len*/ 32);
/// Tensor logits = lm(ids);                           // [B, T, 27]: position t predicts token t + 1
/// Tensor next = cross_entropy(logits, targets);      // targets [B, T]: ids shifted left by one
/// \endcode
///
/// Both return logits: the softmax belongs to the loss (cross_entropy) or to sampling
/// (attograd/nn/sampling.hpp). Parameter paths read `blocks.0.attn.query.weight`.
/// Lecture 10: Transformers, MLVU: the classifier and generator slides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/nn/container.hpp"
#include "attograd/nn/dropout.hpp"
#include "attograd/nn/embedding.hpp"
#include "attograd/nn/feedforward.hpp"
#include "attograd/nn/linear.hpp"
#include "attograd/nn/module.hpp"
#include "attograd/nn/norm.hpp"
#include "attograd/nn/transformer.hpp"

namespace attograd::nn {

/// How a classifier turns T output vectors into one.
enum class Pool {
  Mean,  ///< the average over time (the lecture's classifier slide)
  Max,   ///< the elementwise maximum over time (an earlier slide and the companion code's default)
};

/// Options of Classifier.
struct ClassifierOptions {
  Pool pool = Pool::Mean;  ///< how the sequence is pooled into one vector
  bool position_embeddings = true;  ///< off: the model sees its input as a bag of tokens
  /// With position_embeddings: the fixed sines and cosines of SinusoidalPositionEncoding instead of a
  /// learned table (examples/06_word_order.cpp compares the two).
  bool sinusoidal_positions = false;
  NormOrder order = NormOrder::PostNorm;  ///< where the layer norms sit
  bool causal = false;  ///< blocks see only earlier tokens
  std::int64_t hidden_mult = 4;  ///< the feed-forward width, in multiples of emb
  FeedForwardActivation activation = FeedForwardActivation::ReLU;  ///< the feed-forward nonlinearity
  double dropout = 0.0;             ///< on the embeddings and in every block (training only)
  Generator* generator = nullptr;   ///< initial values and dropout masks; nullptr: the default generator
};

/// ids [B, T] int64 -> logits [B, classes]:
/// \code
/// X = tokens(ids) (+ positions)      [B, T, C]
/// X = blocks[depth-1](..blocks[0](dropout(X)))
/// X = norm(X)                        pre-norm only: its blocks leave the residual stream unnormalised
/// Z = mean or max of X over T        [B, C]
/// logits = head(Z)                   [B, classes]
/// \endcode
/// Without position embeddings, the blocks are permutation-equivariant and the pool is
/// permutation-invariant, so the logits do not change when the tokens are shuffled: the model cannot
/// see word order. With them, T may not exceed max_len (a ShapeError from PositionEmbedding).
class Classifier : public Module {
 public:
  /// A vocabulary of `vocab` tokens, embeddings of size emb, `depth` blocks of `heads` heads, sequences up to
  /// max_len, `classes` outputs.
  Classifier(std::int64_t vocab, std::int64_t emb, std::int64_t heads, std::int64_t depth, std::int64_t max_len,
             std::int64_t classes, ClassifierOptions options = {});

  Tensor forward(const Tensor& ids) const;  ///< ids [B, T] int64 to logits [B, classes]
  Tensor operator()(const Tensor& ids) const { return forward(ids); }  ///< forward(ids)
  std::string describe() const override;

  std::int64_t vocab_size() const { return tokens.vocab_size(); }  ///< V
  std::int64_t max_len() const { return max_len_; }  ///< the longest sequence it takes
  Pool pool() const { return pool_; }  ///< how it pools
  /// The block at index i of `blocks`.
  TransformerBlock& block(std::size_t i) { return blocks.at<TransformerBlock>(i); }
  /// \overload
  const TransformerBlock& block(std::size_t i) const { return blocks.at<TransformerBlock>(i); }

  Embedding tokens;                             ///< [V, C]
  std::optional<PositionEmbedding> positions;   ///< [max_len, C]; empty without learned position embeddings
  std::optional<SinusoidalPositionEncoding> encoding;  ///< [max_len, C]; with sinusoidal_positions
  Dropout dropout;                              ///< on the summed embeddings
  ModuleList blocks;                            ///< depth TransformerBlocks
  std::optional<LayerNorm> norm;                ///< pre-norm only
  Linear head;                                  ///< C -> classes

 private:
  std::int64_t max_len_;
  Pool pool_;
};

/// Options of LanguageModel.
struct LanguageModelOptions {
  NormOrder order = NormOrder::PostNorm;  ///< where the layer norms sit
  std::int64_t hidden_mult = 4;  ///< the feed-forward width, in multiples of emb
  FeedForwardActivation activation = FeedForwardActivation::ReLU;  ///< the feed-forward nonlinearity
  double dropout = 0.0;            ///< on the embeddings and in every block (training only)
  Generator* generator = nullptr;  ///< initial values and dropout masks; nullptr: the default generator
};

/// The generator: ids [B, T] int64 -> logits [B, T, V], where row t scores the token that follows
/// ids[:, t]. Every block is causal, so the logits at t depend on ids[:, 0..t] only, and one forward
/// trains all T next-token predictions of a sequence at once.
/// \code
/// X = dropout(tokens(ids) + positions)   [B, T, C]     (T <= max_len)
/// X = blocks[depth-1](..blocks[0](X))     causal
/// X = norm(X)                             pre-norm only
/// logits = head(X)                        [B, T, V]
/// \endcode
class LanguageModel : public Module {
 public:
  /// A vocabulary of `vocab` tokens, embeddings of size emb, `depth` causal blocks of `heads` heads, contexts
  /// up to max_len tokens.
  LanguageModel(std::int64_t vocab, std::int64_t emb, std::int64_t heads, std::int64_t depth, std::int64_t max_len,
                LanguageModelOptions options = {});

  Tensor forward(const Tensor& ids) const;  ///< ids [B, T] int64 to logits [B, T, V]
  Tensor operator()(const Tensor& ids) const { return forward(ids); }  ///< forward(ids)
  std::string describe() const override;

  std::int64_t vocab_size() const { return tokens.vocab_size(); }  ///< V
  std::int64_t max_len() const { return positions.max_len(); }  ///< the longest context it takes
  /// the block at index i of `blocks`
  TransformerBlock& block(std::size_t i) { return blocks.at<TransformerBlock>(i); }
  /// \overload
  const TransformerBlock& block(std::size_t i) const { return blocks.at<TransformerBlock>(i); }

  Embedding tokens;               ///< [V, C]
  PositionEmbedding positions;    ///< [max_len, C]
  Dropout dropout;                ///< on the summed embeddings
  ModuleList blocks;              ///< depth causal TransformerBlocks
  std::optional<LayerNorm> norm;  ///< pre-norm only
  Linear head;                    ///< C -> V
};

/// The pool's name: "mean" or "max".
std::string to_string(Pool pool);

}  // namespace attograd::nn
