// The block products of fused attention (lib/backend/flash_products.cpp): every path through the loops
// (groups of four vectors, the narrow paths of two vectors by four rows and one by eight, the scalar
// last columns, the odd last rows), A as stored or transposed, float32 and float64, gives exactly the
// bits of the plain loop that adds each element's terms in the order p = 0, 1, ..
#include "support/test.hpp"

#include <vector>

#include "backend/flash_products.hpp"

using namespace attograd;

namespace {

// C += op(A)·B the plain way: a product rounded, then added (volatile keeps the compiler from fusing
// the two into an FMA, which the library never does).
template <class T>
void plain(bool ta, std::int64_t m, std::int64_t n, std::int64_t kk, const std::vector<T>& a, std::int64_t lda,
           const std::vector<T>& b, std::int64_t ldb, std::vector<T>& c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      T sum = c[static_cast<std::size_t>(i * ldc + j)];
      for (std::int64_t p = 0; p < kk; ++p) {
        const T x = ta ? a[static_cast<std::size_t>(p * lda + i)] : a[static_cast<std::size_t>(i * lda + p)];
        volatile T product = x * b[static_cast<std::size_t>(p * ldb + j)];
        sum = sum + product;
      }
      c[static_cast<std::size_t>(i * ldc + j)] = sum;
    }
  }
}

template <class T>
std::vector<T> values(std::size_t count, std::uint64_t seed) {
  std::vector<T> v(count);
  for (std::size_t i = 0; i < count; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = static_cast<T>(static_cast<double>(seed >> 11) / 9007199254740992.0 * 2 - 1);  // [-1, 1)
  }
  return v;
}

template <class T>
void check_all() {
  for (bool ta : {false, true}) {
    for (std::int64_t m : {1, 3, 9, 64}) {
      for (std::int64_t n : {1, 5, 8, 16, 24, 31, 32, 40, 64, 70}) {
        for (std::int64_t kk : {1, 7, 64}) {
          // Leading dims wider than the matrices, as the kernel's blocks of a longer row are.
          const std::int64_t lda = (ta ? m : kk) + 3, ldb = n + 2, ldc = n + 1;
          const auto a = values<T>(static_cast<std::size_t>((ta ? kk : m) * lda), 1);
          const auto b = values<T>(static_cast<std::size_t>(kk * ldb), 2);
          std::vector<T> c = values<T>(static_cast<std::size_t>(m * ldc), 3), expected = c;
          plain(ta, m, n, kk, a, lda, b, ldb, expected, ldc);
          if (ta) {
            backend::gemm_acc_ta(m, n, kk, a.data(), lda, b.data(), ldb, c.data(), ldc);
          } else {
            backend::gemm_acc(m, n, kk, a.data(), lda, b.data(), ldb, c.data(), ldc);
          }
          BOOST_TEST((c == expected), "ta " << ta << " m " << m << " n " << n << " kk " << kk);
        }
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flash_products)

BOOST_AUTO_TEST_CASE(every_path_gives_the_plain_loops_bits_in_float32) { check_all<float>(); }

BOOST_AUTO_TEST_CASE(every_path_gives_the_plain_loops_bits_in_float64) { check_all<double>(); }

BOOST_AUTO_TEST_SUITE_END()
