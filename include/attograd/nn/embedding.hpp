/// \file
/// Token embeddings and the two ways of telling a transformer where each
/// token is.
///
/// \code
/// Embedding tokens{V, C};                      // a learned vector per token id
/// PositionEmbedding positions{64, C};          // a learned vector per position 0..63
/// Tensor x = positions(tokens(ids));           // ids [B, T] int64 -> [B, T, C], T <= 64
/// SinusoidalPositionEncoding fixed{64, C};     // or fixed sines and cosines, nothing to learn
/// Tensor z = fixed(tokens(ids));
/// \endcode
///
/// Self-attention treats its inputs as a set (permuting them permutes its outputs): adding a vector that
/// depends on the position is what lets a transformer use word order.
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/dtype.hpp"
#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::nn {

/// Options of Embedding and PositionEmbedding.
struct EmbeddingOptions {
  DType dtype = kFloat32;  ///< of the table
  Generator* generator = nullptr;  ///< for the initial values; nullptr: the default generator
};

/// Y[.., :] = W[ids[..], :]    W [V, C]  ids [..] int64  Y [.., C]
/// W starts as N(0, 1), as in PyTorch. The gradient reaches only the rows of the ids that occur.
class Embedding : public Module {
 public:
  /// a [vocab, dim] table of learned vectors
  Embedding(std::int64_t vocab, std::int64_t dim, EmbeddingOptions options = {});

  /// ids (int64, any shape) to vectors [..., dim]: row ids[i] of the table
  Tensor forward(const Tensor& ids) const;
  Tensor operator()(const Tensor& ids) const { return forward(ids); }  ///< forward(ids)
  std::string describe() const override;

  std::int64_t vocab_size() const { return weight.size(0); }  ///< V, the number of rows
  std::int64_t dim() const { return weight.size(1); }  ///< C, the size of each vector

  Tensor weight;  ///< [V, C]
};

/// Y = X + P[:T]    X [.., T, C]  P [max_len, C]  Y [.., T, C]   (P broadcast over the leading dims)
/// P is learned and starts as N(0, 1). A sequence longer than max_len is a ShapeError: there is no
/// vector for its later positions.
class PositionEmbedding : public Module {
 public:
  /// a [max_len, dim] table, one learned vector per position
  PositionEmbedding(std::int64_t max_len, std::int64_t dim, EmbeddingOptions options = {});

  /// x [B, T, C] or [T, C] plus the vectors of positions 0..T-1 (T <= max_len)
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  std::string describe() const override;

  std::int64_t max_len() const { return weight.size(0); }  ///< the longest sequence it has positions for
  std::int64_t dim() const { return weight.size(1); }  ///< C

  Tensor weight;  ///< [max_len, C]
};

/// Y = X + PE[:T], as PositionEmbedding, with the fixed table of "Attention is all you need":
/// \code
/// PE[t, 2i] = sin(t / 10000^(2i/C))    PE[t, 2i+1] = cos(t / 10000^(2i/C))
/// \endcode
/// (for an odd C the last channel is a sine). The table is a buffer: saved and converted with the
/// module, never trained. It is added in the input's dtype.
class SinusoidalPositionEncoding : public Module {
 public:
  /// the [max_len, dim] table of sines and cosines (fixed, a buffer)
  SinusoidalPositionEncoding(std::int64_t max_len, std::int64_t dim, DType dtype = kFloat32);

  /// x [B, T, C] or [T, C] plus the encodings of positions 0..T-1 (T <= max_len)
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  std::string describe() const override;

  std::int64_t max_len() const { return table.size(0); }  ///< the longest sequence it has encodings for
  std::int64_t dim() const { return table.size(1); }  ///< C

  Tensor table;  ///< [max_len, C]
};

}  // namespace attograd::nn
