#include "core/storage_cache.hpp"

#include <cstdlib>
#include <new>
#include <unordered_map>
#include <vector>

namespace attograd::storage_cache {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kEnabled = false;
#else
constexpr bool kEnabled = true;
#endif

std::size_t rounded(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// One thread's free blocks, by rounded size. A block freed by another thread than the one that
// allocated it simply joins that thread's cache: the bytes are the same.
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
    auto it = free_.find(size);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* block = it->second.back();
    it->second.pop_back();
    bytes_ -= size;
    return block;
  }

  // False when the cache is full: the caller frees the block.
  bool keep(void* block, std::size_t size) {
    if (bytes_ + size > kLimitBytes) return false;
    free_[size].push_back(block);
    bytes_ += size;
    return true;
  }

  void trim() {
    for (auto& [size, blocks] : free_) {
      for (void* block : blocks) std::free(block);
    }
    free_.clear();
    bytes_ = 0;
  }

  std::size_t bytes() const { return bytes_; }

  // Set once the thread's cache is destroyed: tensors freed later (a static Tensor at exit) bypass it.
  static thread_local bool gone;

 private:
  std::unordered_map<std::size_t, std::vector<void*>> free_;
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
  const std::size_t size = rounded(bytes);
  if (Cache* c = cache()) {
    if (void* block = c->take(size)) return block;
  }
  void* block = std::aligned_alloc(kAlign, size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void release(void* block, std::size_t bytes) {
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
