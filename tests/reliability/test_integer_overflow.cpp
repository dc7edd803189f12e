// int64 arithmetic that overflows: PyTorch wraps around (two's complement, modulo 2^64). In C++ a
// signed overflow is undefined behaviour, so attograd must compute such results without one (for
// example in uint64_t) to give the same answer on every compiler and under UndefinedBehaviorSanitizer.
//
// (attograd once computed `x + y` etc. on std::int64_t: an optimised build usually happened to wrap,
// and the sanitized build stopped at the first overflow. lib/core/wrapping.hpp now does it in uint64_t.)
#include "support/test.hpp"

#include <cstdint>
#include <limits>

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

Tensor i64(std::vector<std::int64_t> values) {
  const auto n = static_cast<std::int64_t>(values.size());
  return tensor_of<std::int64_t>(values, {n});
}

// What two's complement gives: the exact result modulo 2^64.
std::int64_t wrap(std::uint64_t bits) { return static_cast<std::int64_t>(bits); }

}  // namespace

BOOST_AUTO_TEST_SUITE(integer_overflow)

BOOST_AUTO_TEST_CASE(int64_arithmetic_wraps_as_in_pytorch) {
  const Tensor big = i64({kMax, kMin, kMax});
  const Tensor one = i64({1, -1, kMax});
  BOOST_TEST(add(big, one).to_vector<std::int64_t>() ==
                 (std::vector<std::int64_t>{kMin, kMax, wrap(std::uint64_t(kMax) * 2)}),
             boost::test_tools::per_element());
  BOOST_TEST(sub(big, i64({-1, 1, kMin})).to_vector<std::int64_t>() ==
                 (std::vector<std::int64_t>{kMin, kMax, -1}),
             boost::test_tools::per_element());
  BOOST_TEST(mul(big, i64({2, 2, 3})).to_vector<std::int64_t>() ==
                 (std::vector<std::int64_t>{-2, 0, wrap(std::uint64_t(kMax) * 3)}),
             boost::test_tools::per_element());
  BOOST_TEST(neg(i64({kMin})).item<std::int64_t>() == kMin);
  BOOST_TEST((i64({kMax}) + 1.0).item<std::int64_t>() == kMin);
}

BOOST_AUTO_TEST_CASE(int64_sums_wrap_as_in_pytorch) {
  BOOST_TEST(sum(i64({kMax, 1})).item<std::int64_t>() == kMin);
  BOOST_TEST(sum(i64({kMin, -1, 5})).item<std::int64_t>() == wrap(std::uint64_t(kMax) + 5));
}

BOOST_AUTO_TEST_SUITE_END()
