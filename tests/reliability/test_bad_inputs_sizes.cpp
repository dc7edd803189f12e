// Bad-input table for sizes too large to exist: shapes whose element count does not fit in int64, or
// whose byte count does not fit in size_t. Each must be refused with a ShapeError naming the shape
// before anything is allocated or written (the op's name is not required: the check naturally lives in
// empty(), which every factory calls). Apart from the other tables because a failure here can be a
// crash (writes through a too small allocation), which must not take the others down with it.
//
// These once all failed: empty() multiplied the sizes and the byte count without overflow checks, so a
// huge shape got a tiny allocation that randperm then wrote through.
#include "support/test.hpp"

#include <cstdint>

#include "reliability/bad_inputs.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr std::int64_t k2to32 = std::int64_t{1} << 32;  // 4294967296
constexpr std::int64_t k2to62 = std::int64_t{1} << 62;  // 4611686018427387904

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_inputs_sizes)

BOOST_AUTO_TEST_CASE(element_counts_past_int64_are_refused) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("zeros of 2^64 elements", [] { zeros({k2to32, k2to32}); },
                      {"[4294967296, 4294967296]"}),
      bad<ShapeError>("empty of 2^64 elements", [] { empty({k2to32, k2to32, 2}, kBool); },
                      {"[4294967296, 4294967296, 2]"}),
      bad<ShapeError>("eye of 2^64 elements", [] { eye(k2to32); }, {"[4294967296, 4294967296]"}),
      bad<ShapeError>("expand to 2^64 elements", [] { zeros({1}).expand({k2to32, k2to32}); },
                      {"expand", "[4294967296, 4294967296]"}),
  }));
}

BOOST_AUTO_TEST_CASE(byte_counts_past_size_t_are_refused) {
  // 2^62 float32 elements fit in int64, but their 2^64 bytes do not fit in size_t.
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("zeros of 2^64 bytes", [] { zeros({k2to62}); }, {"[4611686018427387904]"}),
      bad<ShapeError>("zeros float64 of 2^65 bytes", [] { zeros({k2to62, 2}, {.dtype = kFloat64}); },
                      {"[4611686018427387904, 2]"}),
  }));
}

// This one used to write 2^62 int64 values into an empty allocation: a segmentation fault.
BOOST_AUTO_TEST_CASE(randperm_of_2_to_62_is_refused) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("randperm of 2^62", [] { Generator g(1); randperm(k2to62, g); }, {"[4611686018427387904]"}),
  }));
}

BOOST_AUTO_TEST_SUITE_END()
