// The bf16 mode's converted operands that are kept between products (issue 13, part 3).
//
// A training step multiplies each weight at least twice (forward: x·Wᵀ, backward: dY·W), and a
// micro-batched step more often, while the weight changes only when the optimiser writes it. So the
// converted copy of an operand whose storage holds a leaf that requires grad (a parameter, usually) is
// kept, keyed by the storage and the block of it the operand covers; it is used again while the
// storage is alive and its version is unchanged. The copy is the block converted element by element
// in memory order, so W and its transpose Wᵀ share one. Every in-place op bumps the version (the
// optimisers' updates, copy_, fill_, load_state_dict, DataParallel's broadcast), so a kept copy is
// never stale; a write through Tensor::data<T>() is not counted, as it is not by autograd's own check.
// Activations are converted on every use, as before: keeping them would hold a copy of everything
// saved for backward. The conversion is elementwise, so a kept copy has the same bits as a fresh one,
// at any thread count.
//
// Not thread-safe: the caller holds its own lock.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>

#include "attograd/core/tensor.hpp"
#include "backend/word_key.hpp"

namespace attograd::backend {

template <class Copy>
class KeptCopies {
 public:
  // At most this many copies; past it no new one is kept (nor is a live one dropped, as the copy of
  // the other operand of the same product may be in use).
  static constexpr std::size_t kCapacity = 1024;

  // The kept copy of elements [offset, offset + count) of `storage`, or nullptr when none is kept
  // (the storage holds no leaf requiring grad, or the copies are full). `current` says whether the
  // copy still holds their values; when false the caller converts into it, then calls set_current().
  Copy* find(const std::shared_ptr<Storage>& storage, std::int64_t offset, std::int64_t count, bool& current) {
    current = false;
    if (!storage || !storage->holds_leaf_requiring_grad()) return nullptr;
    const Key key = make_key(storage, offset, count);
    auto it = kept_.find(key);
    if (it != kept_.end()) {
      Kept& k = it->second;
      // The same address may be a new storage now: the weak pointer tells.
      if (k.storage.lock() == storage && k.version == storage->version()) {
        current = true;
        return &k.copy;
      }
      k.storage = storage;
      k.version = kStale;
      return &k.copy;
    }
    if (kept_.size() >= next_sweep_) drop_dead();
    if (kept_.size() >= kCapacity) return nullptr;
    Kept& k = kept_[key];
    k.storage = storage;
    return &k.copy;
  }

  // Records that the copy find() returned now holds the block's values.
  void set_current(const std::shared_ptr<Storage>& storage, std::int64_t offset, std::int64_t count) {
    kept_.at(make_key(storage, offset, count)).version = storage->version();
  }

  void clear() { kept_.clear(); }
  std::size_t size() const { return kept_.size(); }

 private:
  static constexpr std::uint64_t kStale = ~std::uint64_t{0};

  using Key = WordKey<3>;

  struct Kept {
    std::weak_ptr<Storage> storage;
    std::uint64_t version = kStale;
    Copy copy{};
  };

  static Key make_key(const std::shared_ptr<Storage>& storage, std::int64_t offset, std::int64_t count) {
    return Key{{static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(storage.get())), offset, count}};
  }

  // Drops the copies of storages that are gone, each time the count has doubled since the last
  // sweep: a program that keeps making models holds at most about as many dead copies as live ones.
  void drop_dead() {
    std::erase_if(kept_, [](const auto& entry) { return entry.second.storage.expired(); });
    next_sweep_ = std::min(kCapacity, std::max<std::size_t>(64, 2 * kept_.size()));
  }

  std::unordered_map<Key, Kept, WordKeyHash> kept_;
  std::size_t next_sweep_ = 64;
};

// Whether t's elements fill the block [t.offset(), t.offset() + t.numel()) of its storage, in some
// order of its dims (a contiguous tensor, its transpose, any permutation of one): then its converted
// copy can be that block converted in memory order, viewed with t's strides.
inline bool covers_a_block(const Tensor& t) {
  std::array<std::pair<std::int64_t, std::int64_t>, kMaxRank> dims{};  // (stride, size), sizes above 1
  std::size_t n = 0;
  for (std::int64_t d = 0; d < t.dim(); ++d) {
    if (t.shape()[d] > 1) dims[n++] = {t.strides()[d], t.shape()[d]};
  }
  for (std::size_t i = 1; i < n; ++i) {  // by stride, smallest first (insertion: at most kMaxRank)
    for (std::size_t j = i; j > 0 && dims[j] < dims[j - 1]; --j) std::swap(dims[j], dims[j - 1]);
  }
  std::int64_t expected = 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (dims[i].first != expected) return false;
    expected *= dims[i].second;
  }
  return true;
}

}  // namespace attograd::backend
