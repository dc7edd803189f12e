// The sanitizer canary: a deliberate out-of-bounds read. In a sanitized build AddressSanitizer must stop
// it with a report; the test `reliability.sanitizer_canary` passes only if that happens, proving the
// sanitizers are really active in that build. Never run on its own as a test of attograd.
#include <cstdio>
#include <vector>

int main(int argc, char**) {
  std::vector<int> v(4, 1);
  volatile int index = 4 + argc - 1;  // 4: one past the end, opaque to the optimiser
  const int* p = v.data();
  std::printf("read %d\n", p[index]);
  return 0;
}
