#include "attograd/train/split.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/core/random.hpp"
#include "attograd/io/atomic_file.hpp"
#include "attograd/ops/index.hpp"

namespace attograd::train {

namespace {

// floor(x + 0.5): the rounding the header documents, the same in any language with float64.
std::int64_t round_half_up(double x) { return static_cast<std::int64_t>(std::floor(x + 0.5)); }

std::vector<std::int64_t> labels_of(const Tensor& labels, const char* who) {
  if (labels.dtype() != kInt64) {
    throw DTypeError(fmt::format("{}: labels must be int64 class labels, got {} (convert with .to(kInt64))", who,
                                 labels.dtype()));
  }
  if (labels.dim() != 1) throw ShapeError(fmt::format("{}: labels must be [N], got {}", who, labels.shape()));
  return labels.to_vector<std::int64_t>();
}

}  // namespace

Split stratified_split(const Tensor& labels, std::uint64_t seed, const SplitFractions& fractions) {
  const auto y = labels_of(labels, "stratified_split");
  // `!(a >= 0)` rather than `a < 0`, so that NaN is refused too.
  if (!(fractions.validation >= 0) || !(fractions.test >= 0) || !(fractions.validation + fractions.test < 1)) {
    throw ValueError(fmt::format("stratified_split: fractions must be >= 0 with validation + test < 1 (train "
                                 "gets the rest), got validation {} and test {}", fractions.validation,
                                 fractions.test));
  }
  // Step 2: the rows of each class, by increasing label (std::map is ordered), each in increasing order.
  std::map<std::int64_t, std::vector<std::int64_t>> by_class;
  for (std::size_t i = 0; i < y.size(); ++i) by_class[y[i]].push_back(static_cast<std::int64_t>(i));

  Generator gen(seed);
  Split split;
  for (auto& [label, rows] : by_class) {
    for (std::size_t i = rows.size() - 1; i >= 1; --i) {  // Fisher-Yates from the back
      std::swap(rows[i], rows[gen.below(i + 1)]);
    }
    // Step 3: test first, then validation, then train.
    const auto n = static_cast<double>(rows.size());
    const auto n_test = static_cast<std::size_t>(round_half_up(n * fractions.test));
    const auto n_validation =
        std::min(rows.size() - n_test, static_cast<std::size_t>(round_half_up(n * fractions.validation)));
    split.test.insert(split.test.end(), rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n_test));
    split.validation.insert(split.validation.end(), rows.begin() + static_cast<std::ptrdiff_t>(n_test),
                            rows.begin() + static_cast<std::ptrdiff_t>(n_test + n_validation));
    split.train.insert(split.train.end(), rows.begin() + static_cast<std::ptrdiff_t>(n_test + n_validation),
                       rows.end());
  }
  // Step 4.
  for (auto* part : {&split.train, &split.validation, &split.test}) std::sort(part->begin(), part->end());
  return split;
}

Tensor rows_of(const Tensor& data, const std::vector<std::int64_t>& indices) {
  return index_select(data, 0, tensor_of<std::int64_t>(indices, {static_cast<std::int64_t>(indices.size())}));
}

void write_split(const std::filesystem::path& path, const Split& split, const Tensor& labels) {
  const auto y = labels_of(labels, "write_split");
  std::vector<const char*> part(y.size(), nullptr);
  for (const auto& [name, indices] : {std::pair{"train", &split.train}, std::pair{"validation", &split.validation},
                                      std::pair{"test", &split.test}}) {
    for (const std::int64_t i : *indices) {
      if (i < 0 || i >= static_cast<std::int64_t>(y.size())) {
        throw ValueError(fmt::format("write_split: {} holds row {}, outside the {} labels", name, i, y.size()));
      }
      if (part[static_cast<std::size_t>(i)] != nullptr) {
        throw ValueError(fmt::format("write_split: row {} is in {} and in {}", i, part[static_cast<std::size_t>(i)],
                                     name));
      }
      part[static_cast<std::size_t>(i)] = name;
    }
  }
  std::string text = "index,label,part\n";
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (part[i] == nullptr) throw ValueError(fmt::format("write_split: row {} is in no part of the split", i));
    text += fmt::format("{},{},{}\n", i, y[i], part[i]);
  }
  io::write_file_atomically(path, text);
}

}  // namespace attograd::train
