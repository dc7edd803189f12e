#include "attograd/train/data.hpp"

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/index.hpp"

namespace attograd::train {

Batches::Batches(std::vector<Tensor> data, std::int64_t batch_size, Generator& gen, BatchOptions options)
    : data_(std::move(data)), batch_size_(batch_size), gen_(gen), options_(options) {
  if (data_.empty()) throw ValueError("Batches: needs at least one tensor");
  if (batch_size < 1) throw ValueError(fmt::format("Batches: batch_size must be >= 1, got {}", batch_size));
  for (std::size_t i = 0; i < data_.size(); ++i) {
    if (data_[i].dim() == 0) throw ShapeError(fmt::format("Batches: tensor {} is rank 0; rows are dim 0", i));
    if (data_[i].shape()[0] != data_[0].shape()[0]) {
      throw ShapeError(fmt::format("Batches: tensor {} has {} rows (shape {}) but tensor 0 has {} (shape {})", i,
                                   data_[i].shape()[0], data_[i].shape(), data_[0].shape()[0], data_[0].shape()));
    }
  }
  rows_ = data_[0].shape()[0];
  if (rows_ < 1) throw ShapeError("Batches: the data has no rows");
  if (options_.drop_last && batch_size_ > rows_) {
    throw ValueError(fmt::format("Batches: batch_size {} is larger than the {} rows and drop_last is set", batch_size_,
                                 rows_));
  }
  start_epoch();
}

std::int64_t Batches::batches_per_epoch() const {
  return options_.drop_last ? rows_ / batch_size_ : (rows_ + batch_size_ - 1) / batch_size_;
}

void Batches::start_epoch() {
  if (options_.shuffle) {
    order_ = randperm(rows_, gen_).to_vector<std::int64_t>();
  } else {
    order_.resize(static_cast<std::size_t>(rows_));
    for (std::int64_t i = 0; i < rows_; ++i) order_[static_cast<std::size_t>(i)] = i;
  }
  position_ = 0;
}

std::vector<Tensor> Batches::next() {
  const std::int64_t left = rows_ - position_;
  if (left == 0 || (options_.drop_last && left < batch_size_)) {
    ++epoch_;
    start_epoch();
  }
  const std::int64_t n = std::min(batch_size_, rows_ - position_);
  const std::vector<std::int64_t> chosen(order_.begin() + position_, order_.begin() + position_ + n);
  position_ += n;
  const Tensor index = tensor_of<std::int64_t>(chosen, {n});
  std::vector<Tensor> batch;
  batch.reserve(data_.size());
  for (const Tensor& t : data_) batch.push_back(index_select(t, 0, index));
  return batch;
}

std::pair<Tensor, Tensor> Batches::next2() {
  if (data_.size() != 2) {
    throw ValueError(fmt::format("Batches: next2() needs exactly two tensors, this holds {}", data_.size()));
  }
  auto batch = next();
  return {batch[0], batch[1]};
}

}  // namespace attograd::train
