// Attention's softmax rows in float32 (softmax_rows.hpp). The bits are those of backend/reduce.cpp's
// general loops: the same float operations on each element in the same order (no fused multiply-add:
// the library is built with -ffp-contract=off), sums on the same four chains.
#include "backend/softmax_rows.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "backend/fast_math.hpp"

namespace attograd::backend {

namespace {

using Floats8 = float __attribute__((vector_size(32)));
using Ints8 = std::int32_t __attribute__((vector_size(32)));
using Doubles4 = double __attribute__((vector_size(32)));
using Floats4 = float __attribute__((vector_size(16)));

}  // namespace

// One contiguous float32 row of attention's softmax: q = softmax(c p, -inf where masked), the mask
// read at mk[r * mstep] (null: none). Only the prefix of the row up to its last unmasked key is
// computed: the keys after it (a causal mask's upper triangle, half of each [T, T] block) get weight
// exactly 0, as exp(-inf) gives them, and the sum adds the prefix's exponentials in the same four
// chains as sum_of_row over the whole row (the zeros it skips add nothing). So the bits are those of
// softmax_rows. A row with a NaN or +inf score returns false (q then holds scratch) for softmax_rows to do.
ATTOGRAD_WIDEST_SIMD bool scaled_masked_row_f32(const float* p, const bool* mk, std::int64_t mstep, float c, float* q,
                                                std::int64_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::int64_t len = n;
  if (mk != nullptr && mstep == 1) {  // eight mask entries at a time while all eight are true
    constexpr std::uint64_t kAllTrue = 0x0101010101010101u;
    for (std::uint64_t word = 0; len >= 8; len -= 8) {
      std::memcpy(&word, mk + len - 8, sizeof word);
      if (word != kAllTrue) break;
    }
  }
  if (mk != nullptr) {
    while (len > 0 && mk[(len - 1) * mstep]) --len;
  }
  // q = c p, or -inf where masked: the select on the float's bits, which the compiler vectorises.
  const auto* b = reinterpret_cast<const unsigned char*>(mk);
  const auto select = [&](std::int64_t r, std::uint32_t masked) {
    const float v = p[r] * c;
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits = (masked & 0xff800000u) | (~masked & bits);  // 0xff800000: -inf
    std::memcpy(q + r, &bits, sizeof bits);
  };
  if (mk == nullptr) {
    for (std::int64_t r = 0; r < len; ++r) select(r, 0u);
  } else if (mstep == 1) {
    for (std::int64_t r = 0; r < len; ++r) select(r, 0u - static_cast<std::uint32_t>(b[r] != 0));
  } else {
    for (std::int64_t r = 0; r < len; ++r) select(r, 0u - static_cast<std::uint32_t>(b[r * mstep] != 0));
  }
  const float m = row_max_f32(q, len);
  if (m != m || m == kInf) return false;
  if (m == -kInf) {  // every entry masked: weights 0
    std::memset(q, 0, static_cast<std::size_t>(n) * sizeof(float));
    return true;
  }
  for (std::int64_t r = 0; r < len; ++r) q[r] -= m;
  exp_f32(q, q, len);
  const std::int64_t summed = std::min(n, (len + 3) / 4 * 4);
  std::memset(q + len, 0, static_cast<std::size_t>(n - len) * sizeof(float));
  const float inv = static_cast<float>(1.0 / row_sum_f32(q, summed));
  for (std::int64_t r = 0; r < len; ++r) q[r] *= inv;
  return true;
}

// The max in eight lanes (which of +0 and -0 wins a tie may differ from the scalar loop's; softmax
// never sees the difference: x - (+0) and x - (-0) differ only for x = -0, a tie with a log-total above 0)
// and NaN noted apart.
ATTOGRAD_WIDEST_SIMD float row_max_f32(const float* p, std::int64_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  Floats8 m8 = {-kInf, -kInf, -kInf, -kInf, -kInf, -kInf, -kInf, -kInf};
  Ints8 nan8 = {};
  std::int64_t r = 0;
  for (; r + 8 <= n; r += 8) {
    Floats8 v;
    std::memcpy(&v, p + r, sizeof v);
    m8 = v > m8 ? v : m8;
    nan8 |= v != v;
  }
  float m = -kInf;
  bool nan = false;
  for (int l = 0; l < 8; ++l) {
    m = m8[l] > m ? m8[l] : m;
    nan |= nan8[l] != 0;
  }
  for (; r < n; ++r) {
    m = p[r] > m ? p[r] : m;
    nan |= p[r] != p[r];
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// row_sum's four chains (chain k takes the entries 4j + k), one lane each of a vector of four doubles.
ATTOGRAD_WIDEST_SIMD double row_sum_f32(const float* q, std::int64_t n) {
  Doubles4 acc = {};
  std::int64_t r = 0;
  for (; r + 4 <= n; r += 4) {
    Floats4 v;
    std::memcpy(&v, q + r, sizeof v);
    acc += __builtin_convertvector(v, Doubles4);
  }
  for (; r < n; ++r) acc[0] += static_cast<double>(q[r]);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

// softmax's backward on one contiguous float32 row: dx = c y (dy - sum(dy y)), the sum in the four
// chains of row_sum (one lane each of a vector of doubles), so the bits are those of the loop in
// softmax_backward below.
ATTOGRAD_WIDEST_SIMD void softmax_backward_row_f32(const float* y, const float* dy, float c, float* dx,
                                                   std::int64_t n) {
  Doubles4 acc = {};
  std::int64_t r = 0;
  for (; r + 4 <= n; r += 4) {
    Floats4 g, v;
    std::memcpy(&g, dy + r, sizeof g);
    std::memcpy(&v, y + r, sizeof v);
    acc += __builtin_convertvector(g * v, Doubles4);
  }
  for (; r < n; ++r) acc[0] += static_cast<double>(dy[r] * y[r]);
  const float t = static_cast<float>((acc[0] + acc[1]) + (acc[2] + acc[3]));
  for (r = 0; r < n; ++r) dx[r] = y[r] * (dy[r] - t) * c;
}

}  // namespace attograd::backend
