// The tensor canaries: deliberate bad reads of a tensor's storage, which the sanitizers must report.
// They prove that storage reaches the sanitizers as it is (lib/core/storage_cache.hpp): each block
// exactly the tensor's size, and freed at once instead of kept in the cache. With every block rounded
// up to 64 bytes, a read up to 63 bytes past a tensor's end went unseen.
//
//   canary_tensor past-end     reads element 3 of a 3-element float32 tensor: heap-buffer-overflow
//   canary_tensor after-free   reads element 0 of a freed tensor: heap-use-after-free
//
// Registered only in the sanitized build (tests/CMakeLists.txt); never run on its own as a test.
#include <cstdio>
#include <cstring>

#include <attograd/attograd.hpp>

int main(int argc, char** argv) {
  using namespace attograd;
  if (argc == 2 && std::strcmp(argv[1], "past-end") == 0) {
    const Tensor t = zeros({3});
    volatile int index = 3;  // one past the end, opaque to the optimiser
    std::printf("read %g\n", static_cast<double>(t.data<float>()[index]));
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "after-free") == 0) {
    const float* p = nullptr;
    {
      const Tensor t = zeros({3});
      p = t.data<float>();
    }
    volatile int index = 0;
    std::printf("read %g\n", static_cast<double>(p[index]));
    return 0;
  }
  std::fprintf(stderr, "usage: canary_tensor past-end|after-free\n");
  return 2;
}
