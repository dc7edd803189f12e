#include "core/storage_cache.hpp"

#include <cstdlib>
#include <list>
#include <new>
#include <unordered_map>
#include <vector>

namespace attograd::storage_cache {

namespace {

std::size_t rounded(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// One thread's free blocks, in bins by rounded size, with the sizes in order of their last use. A block
// freed by another thread than the one that allocated it simply joins this thread's cache: the bytes
// are the same.
class Cache {
 public:
  Cache() = default;
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;
  ~Cache() {
    trim();
    gone = true;
  }

  void* take(std::size_t size) {
    auto it = bins_.find(size);
    if (it == bins_.end()) return nullptr;
    Bin& bin = it->second;
    touch(bin);
    if (bin.blocks.empty()) return nullptr;
    void* block = bin.blocks.back();
    bin.blocks.pop_back();
    bytes_ -= size;
    return block;
  }

  // False when the block cannot be kept (larger than the whole cache, or no memory to record it):
  // the caller frees it. To make room, the bins of the least recently used other sizes are freed.
  bool keep(void* block, std::size_t size) noexcept {
    if (size > kLimitBytes) return false;
    try {
      Bin& bin = bin_for(size);
      while (bytes_ + size > kLimitBytes) {
        if (by_use_.back() == size) return false;  // only this size is left: it stays as it is
        free_bin(by_use_.back());
      }
      bin.blocks.push_back(block);
    } catch (...) {  // std::bad_alloc from the bookkeeping: nothing was changed but the order of use
      return false;
    }
    bytes_ += size;
    return true;
  }

  void trim() noexcept {
    for (auto& [size, bin] : bins_) {
      for (void* block : bin.blocks) std::free(block);
    }
    bins_.clear();
    by_use_.clear();
    bytes_ = 0;
  }

  std::size_t bytes() const { return bytes_; }

  // Set once the thread's cache is destroyed: tensors freed later (a static Tensor at exit) bypass it.
  static thread_local bool gone;

 private:
  struct Bin {
    std::vector<void*> blocks;
    std::list<std::size_t>::iterator use;  // this size's place in by_use_
  };

  // Moves a bin's size to the front of the order of use (no allocation).
  void touch(Bin& bin) { by_use_.splice(by_use_.begin(), by_use_, bin.use); }

  // The bin of this size, made (and the least recently used one freed, past kMaxSizes) when new.
  Bin& bin_for(std::size_t size) {
    if (auto it = bins_.find(size); it != bins_.end()) {
      touch(it->second);
      return it->second;
    }
    if (bins_.size() >= kMaxSizes) free_bin(by_use_.back());
    by_use_.push_front(size);
    try {
      Bin& bin = bins_[size];
      bin.use = by_use_.begin();
      return bin;
    } catch (...) {
      by_use_.pop_front();
      throw;
    }
  }

  void free_bin(std::size_t size) noexcept {
    auto it = bins_.find(size);
    for (void* block : it->second.blocks) std::free(block);
    bytes_ -= it->second.blocks.size() * size;
    by_use_.erase(it->second.use);
    bins_.erase(it);
  }

  std::unordered_map<std::size_t, Bin> bins_;
  std::list<std::size_t> by_use_;  // every bin's size, the most recently used first
  std::size_t bytes_ = 0;
};

thread_local bool Cache::gone = false;

Cache* cache() {
  if (!kEnabled || Cache::gone) return nullptr;
  thread_local Cache instance;
  return &instance;
}

}  // namespace

void* allocate(std::size_t bytes) {
  if constexpr (!kEnabled) {
    // Exactly `bytes`, so that the sanitizer sees the tensor's true end. Not std::aligned_alloc: a size
    // that is not a multiple of the alignment is an error there, which AddressSanitizer reports.
    void* block = nullptr;
    if (posix_memalign(&block, kAlign, bytes) != 0) throw std::bad_alloc();
    return block;
  }
  const std::size_t size = rounded(bytes);
  if (Cache* c = cache()) {
    if (void* block = c->take(size)) return block;
  }
  void* block = std::aligned_alloc(kAlign, size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void release(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  Cache* c = cache();
  if (c == nullptr || !c->keep(block, rounded(bytes))) std::free(block);
}

std::size_t cached_bytes() {
  const Cache* c = cache();
  return c ? c->bytes() : 0;
}

void trim() {
  if (Cache* c = cache()) c->trim();
}

}  // namespace attograd::storage_cache
