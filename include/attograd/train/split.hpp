/// \file
/// A fixed, seeded, stratified split of a data set into train, validation and
/// test, the same in any tool that follows the steps below, and written out so that none need to.
///
/// \code
/// Split split = stratified_split(labels, /*seed=*/0, {.validation = 0.2, .test = 0.2});
/// Tensor x_train = rows_of(x, split.train), y_train = rows_of(labels, split.train);
/// write_split("runs/digits/split.csv", split, labels);   // index,label,part for every row
/// \endcode
///
/// Stratified: each class is split in the same proportions, so a rare class is in every part.
///
/// The algorithm, exactly (docs/data.md has it in 25 lines of Python that give the same indices):
/// 1. One attograd::Generator seeded with `seed` (xoshiro256**, its state filled by SplitMix64 from the
/// \code
/// seed: core/random.hpp). below(n) draws next_u64() until it is under 2^64 - (2^64 mod n), then
/// takes it mod n.
/// \endcode
/// 2. For each class c, in increasing order of label: the rows of class c in increasing order of index,
/// \code
/// shuffled by Fisher-Yates from the back: for i = n_c - 1 down to 1, swap items i and below(i + 1).
/// The one generator goes on from class to class.
/// \endcode
/// 3. Of the shuffled rows of class c, the first round(n_c * test) go to test, the next
/// \code
/// round(n_c * validation) to validation, the rest to train; round(x) = floor(x + 0.5) in float64.
/// \endcode
/// 4. Each part's indices sorted in increasing order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "attograd/core/tensor.hpp"

namespace attograd::train {

/// The shares of a stratified split (each in [0, 1), together below 1).
struct SplitFractions {
  double validation = 0.2;  ///< of each class; train gets what test and validation leave
  double test = 0.2;  ///< of each class
};

/// Row indices of the three parts.
struct Split {
  std::vector<std::int64_t> train;       ///< row indices, sorted
  std::vector<std::int64_t> validation;  ///< row indices, sorted
  std::vector<std::int64_t> test;        ///< row indices, sorted
};

/// labels: [N] int64 class labels (any values, negative ones included). ValueError unless 0 <= validation,
/// 0 <= test and validation + test < 1; ShapeError/DTypeError for labels of another rank or dtype.
Split stratified_split(const Tensor& labels, std::uint64_t seed, const SplitFractions& fractions = {});

/// The rows of data (dim 0) at indices, in their order: index_select(data, 0, indices as a tensor).
Tensor rows_of(const Tensor& data, const std::vector<std::int64_t>& indices);

/// Writes "index,label,part" and one line per row, by index, part being train, validation or test
/// (atomically: io/atomic_file.hpp). ValueError unless the split's parts cover 0..N-1 once each.
void write_split(const std::filesystem::path& path, const Split& split, const Tensor& labels);

}  // namespace attograd::train
