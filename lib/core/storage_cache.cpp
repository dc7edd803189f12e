#include "core/storage_cache.hpp"

#include <cstdlib>
#include <list>
#include <new>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>

namespace attograd::storage_cache {

namespace {

bool mapped(std::size_t size) { return size >= kMapBytes; }

std::size_t rounded(std::size_t bytes) {
  const std::size_t unit = mapped(bytes) ? kPageBytes : kAlign;
  return (bytes + unit - 1) / unit * unit;
}

// A block of `size` (rounded) bytes from the system: mapped pages from kMapBytes on (page-aligned, so
// kAlign-aligned too), malloc's below.
void* from_system(std::size_t size) {
  if (mapped(size)) {
    void* block = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) throw std::bad_alloc();
    return block;
  }
  void* block = std::aligned_alloc(kAlign, size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void to_system(void* block, std::size_t size) noexcept {
  if (mapped(size)) {
    munmap(block, size);
  } else {
    std::free(block);
  }
}

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
    stats_.traffic_bytes += size;
    auto it = bins_.find(size);
    void* block = nullptr;
    if (it != bins_.end()) {
      Bin& bin = it->second;
      touch(bin);
      if (!bin.blocks.empty()) {
        block = bin.blocks.back();
        bin.blocks.pop_back();
        bytes_ -= size;
      }
    }
    free_stale();
    ++(block ? stats_.hits : stats_.misses);
    return block;
  }

  // False when the block cannot be kept (larger than the whole cache, or no memory to record it):
  // the caller frees it. To make room, the bins of the least recently used other sizes are freed.
  bool keep(void* block, std::size_t size) noexcept {
    stats_.traffic_bytes += size;
    if (size > kLimitBytes) return false;
    try {
      Bin& bin = bin_for(size);
      while (bytes_ + size > kLimitBytes) {
        if (by_use_.back().size == size) return false;  // only this size is left: it stays as it is
        stats_.full_bytes += free_bin(by_use_.back().size);
      }
      bin.blocks.push_back(block);
    } catch (...) {  // std::bad_alloc from the bookkeeping: nothing was changed but the order of use
      return false;
    }
    bytes_ += size;
    free_stale();
    return true;
  }

  void trim() noexcept {
    for (auto& [size, bin] : bins_) {
      for (void* block : bin.blocks) to_system(block, size);
    }
    bins_.clear();
    by_use_.clear();
    bytes_ = 0;
  }

  Stats stats() const {
    Stats s = stats_;
    s.cached_bytes = bytes_;
    s.sizes = bins_.size();
    return s;
  }

  // Set once the thread's cache is destroyed: tensors freed later (a static Tensor at exit) bypass it.
  static thread_local bool gone;

 private:
  struct Use {
    std::size_t size;
    std::size_t when;  // stats_.traffic_bytes at the size's last use
  };
  struct Bin {
    std::vector<void*> blocks;
    std::list<Use>::iterator use;  // this size's place in by_use_
  };

  // Moves a bin's size to the front of the order of use (no allocation).
  void touch(Bin& bin) {
    by_use_.splice(by_use_.begin(), by_use_, bin.use);
    bin.use->when = stats_.traffic_bytes;
  }

  // Frees the bins unused for kStaleBytes of traffic: the oldest are at the back of the order of use.
  // The size just used is at the front, and so never freed here.
  void free_stale() noexcept {
    while (by_use_.size() > 1 && stats_.traffic_bytes - by_use_.back().when > kStaleBytes) {
      stats_.stale_bytes += free_bin(by_use_.back().size);
    }
  }

  // The bin of this size, made (and the least recently used one freed, past kMaxSizes) when new.
  Bin& bin_for(std::size_t size) {
    if (auto it = bins_.find(size); it != bins_.end()) {
      touch(it->second);
      return it->second;
    }
    if (bins_.size() >= kMaxSizes) stats_.full_bytes += free_bin(by_use_.back().size);
    by_use_.push_front({size, stats_.traffic_bytes});
    try {
      Bin& bin = bins_[size];
      bin.use = by_use_.begin();
      return bin;
    } catch (...) {
      by_use_.pop_front();
      throw;
    }
  }

  // Frees a bin and its blocks; returns their bytes.
  std::size_t free_bin(std::size_t size) noexcept {
    auto it = bins_.find(size);
    for (void* block : it->second.blocks) to_system(block, size);
    const std::size_t freed = it->second.blocks.size() * size;
    bytes_ -= freed;
    by_use_.erase(it->second.use);
    bins_.erase(it);
    return freed;
  }

  std::unordered_map<std::size_t, Bin> bins_;
  std::list<Use> by_use_;  // every bin's size, the most recently used first
  std::size_t bytes_ = 0;
  Stats stats_;
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
  return from_system(size);
}

void release(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  if constexpr (!kEnabled) {
    std::free(block);
    return;
  }
  const std::size_t size = rounded(bytes);
  Cache* c = cache();
  if (c == nullptr || !c->keep(block, size)) to_system(block, size);
}

std::size_t cached_bytes() {
  const Cache* c = cache();
  return c ? c->stats().cached_bytes : 0;
}

Stats stats() {
  const Cache* c = cache();
  return c ? c->stats() : Stats{};
}

void trim() {
  if (Cache* c = cache()) c->trim();
}

}  // namespace attograd::storage_cache
