/// \file
/// Shuffled mini-batches of data held in memory.
///
/// \code
/// Generator gen(seed);
/// Batches batches({inputs, targets}, 64, gen);   // inputs [N, ...], targets [N, ...]
/// for (int step = 0; step < steps; ++step) {
///   auto [x, y] = batches.next2();               // 64 rows of each, the same rows
///   ...
/// }
/// \endcode
///
/// Each epoch visits every row once in a fresh order drawn from the generator, so a fixed seed gives
/// the same batches on every run. The last, smaller batch of an epoch is kept unless drop_last.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd::train {

/// Options of Batches.
struct BatchOptions {
  bool shuffle = true;  ///< a new random order of the rows each epoch (from the generator)
  bool drop_last = false;  ///< leave out the last batch of an epoch when it is short
};

/// Mini-batches of a data set held in tensors: the same rows of every tensor, in a random order per epoch,
/// epoch after epoch.
class Batches {
 public:
  /// Every tensor in data must have the same size N >= 1 in dim 0. The generator must outlive this.
  Batches(std::vector<Tensor> data, std::int64_t batch_size, Generator& gen, BatchOptions options = {});

  /// The next batch: the same rows of every tensor, in the order given to the constructor.
  std::vector<Tensor> next();
  /// For the common pair (inputs, targets).
  std::pair<Tensor, Tensor> next2();

  std::int64_t rows() const { return rows_; }  ///< N, the rows of each tensor
  std::int64_t batches_per_epoch() const;  ///< batches in one epoch
  std::int64_t epoch() const { return epoch_; }  ///< completed epochs

  /// Where the stream is, for checkpoints (train/resume.hpp): this epoch's order of the rows and how
  /// many of them were served.
  const std::vector<std::int64_t>& order() const { return order_; }
  std::int64_t position() const { return position_; }  ///< how many rows of this epoch were served
  /// Continues from a place that epoch(), order() and position() gave, on a Batches over the same
  /// number of rows. ValueError, changing nothing, unless epoch >= 0, order is a permutation of
  /// 0..rows-1 and 0 <= position <= rows.
  void restore(std::int64_t epoch, std::vector<std::int64_t> order, std::int64_t position);

 private:
  void start_epoch();

  std::vector<Tensor> data_;
  std::int64_t batch_size_;
  Generator& gen_;
  BatchOptions options_;
  std::int64_t rows_ = 0;
  std::vector<std::int64_t> order_;
  std::int64_t position_ = 0;
  std::int64_t epoch_ = 0;
};

}  // namespace attograd::train
