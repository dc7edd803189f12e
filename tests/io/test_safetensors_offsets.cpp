// Hostile sizes and offsets: shapes that overflow, sizes that disagree with shape x dtype, offsets out
// of order, overlapping, leaving gaps or reaching outside the file, trailing bytes, invalid bools, and
// the cap on the number of tensors.
#include "support/test.hpp"

#include <attograd/io/safetensors.hpp>

#include "io/bytes.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

// {"<name>": {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, ...}
struct Entry {
  std::string name, dtype, shape;
  std::uint64_t begin, end;
};
std::string header_of(const std::vector<Entry>& entries) {
  std::vector<std::string> parts;
  for (const Entry& e : entries) {
    parts.push_back(fmt::format(R"("{}":{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})", e.name, e.dtype,
                                e.shape, e.begin, e.end));
  }
  return fmt::format("{{{}}}", fmt::join(parts, ","));
}

#define CHECK_REJECTED(bytes, part) \
  BOOST_CHECK_EXCEPTION(parse_tensors((bytes), "hostile"), IoError, has_message(part))
#define CHECK_REJECTED_AS(type, bytes, part) \
  BOOST_CHECK_EXCEPTION(parse_tensors((bytes), "hostile"), type, has_message(part))

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors_offsets)

BOOST_AUTO_TEST_CASE(begin_after_end) {
  CHECK_REJECTED(file_with(header_of({{"w", "F32", "0", 8, 4}}), std::string(8, '\0')),
                 "parse_tensors: 'hostile': tensor 'w': data_offsets [8, 4] begin after they end");
}

BOOST_AUTO_TEST_CASE(a_size_that_disagrees_with_shape_and_dtype) {
  CHECK_REJECTED(file_with(header_of({{"w", "F32", "3", 0, 8}}), std::string(8, '\0')),
                 "tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12");
  CHECK_REJECTED(file_with(header_of({{"w", "F64", "2, 0", 0, 8}}), std::string(8, '\0')),
                 "tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [2, 0] of F64 needs 0");
  CHECK_REJECTED(file_with(header_of({{"m", "BOOL", "", 0, 8}}), std::string(8, '\0')),
                 "tensor 'm': data_offsets [0, 8] hold 8 bytes but shape [] of BOOL needs 1");
}

BOOST_AUTO_TEST_CASE(shape_products_that_overflow_64_bits) {
  // 2^64 and 2^63 elements: no file can hold their data, so the header is damaged.
  CHECK_REJECTED_AS(MalformedFileError, file_with(header_of({{"w", "F32", "4294967296, 4294967296", 0, 0}})),
                    "tensor 'w': shape [4294967296, 4294967296] has more elements than int64 can count (2^63 - 1), so "
                    "no file can hold its data");
  CHECK_REJECTED_AS(MalformedFileError, file_with(header_of({{"w", "BOOL", "4294967296, 2147483648", 0, 0}})),
                    "shape [4294967296, 2147483648] has more elements than int64 can count");
  // 2^62 elements fit in int64 but need 2^65 bytes as F64.
  CHECK_REJECTED_AS(MalformedFileError, file_with(header_of({{"w", "F64", "4611686018427387904", 0, 0}})),
                    "tensor 'w': shape [4611686018427387904] of F64 needs more than 2^64 bytes");
  // A size that does not fit in int64 is valid in the format (sizes are unsigned there), but not in a Shape.
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(header_of({{"w", "F32", "0, 9223372036854775808", 0, 0}})),
                    "tensor 'w': shape size 9223372036854775808 is larger than 2^63 - 1");
}

BOOST_AUTO_TEST_CASE(empty_tensors_whose_other_sizes_are_huge) {
  // No elements, so no bytes: the element count is 0, whatever the other sizes. While the product of the
  // non-zero sizes fits in int64, attograd's strides fit too and the tensor loads.
  const SafetensorsFile file = parse_tensors(file_with(header_of(
      {{"a", "F32", "0, 4611686018427387904", 0, 0}, {"b", "F64", "2147483648, 0, 4294967295", 0, 0}})));
  BOOST_TEST(file.at("a").shape() == (Shape{0, std::int64_t{1} << 62}));
  BOOST_TEST(file.at("a").numel() == 0);
  BOOST_TEST(file.at("b").shape() == (Shape{std::int64_t{1} << 31, 0, 4294967295}));
  // Past that, an attograd tensor of the shape cannot have contiguous strides (the first would be 2^64):
  // refused, saying so, and not with a false claim about its element count.
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(header_of({{"w", "F32", "0, 4611686018427387904, 4", 0, 0}})),
                    "tensor 'w': shape [0, 4611686018427387904, 4] has no elements, but its other sizes multiply to "
                    "more than 2^63 - 1, which attograd's strides cannot hold");
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(header_of({{"w", "I64", "4294967296, 4294967296, 0", 0, 0}})),
                    "shape [4294967296, 4294967296, 0] has no elements, but its other sizes multiply to more than");
}

BOOST_AUTO_TEST_CASE(a_rank_above_the_maximum) {
  CHECK_REJECTED(file_with(header_of({{"w", "F32", "1, 1, 1, 1, 1, 1, 1, 1, 1", 0, 4}}), std::string(4, '\0')),
                 "tensor 'w': shape has more than 8 dims (attograd's maximum rank)");
}

BOOST_AUTO_TEST_CASE(overlapping_tensors) {
  CHECK_REJECTED_AS(MalformedFileError, file_with(header_of({{"a", "F32", "2", 0, 8}, {"b", "F32", "2", 4, 12}}), std::string(12, '\0')),
                 "tensor 'b': data_offsets [4, 12] overlap tensor 'a' at [0, 8]");
  // Two tensors on the same bytes.
  CHECK_REJECTED(file_with(header_of({{"a", "F32", "2", 0, 8}, {"b", "F32", "2", 0, 8}}), std::string(8, '\0')),
                 "data_offsets [0, 8] overlap tensor");
  // An empty tensor inside another one's bytes.
  CHECK_REJECTED(file_with(header_of({{"a", "F32", "2", 0, 8}, {"e", "F32", "0", 4, 4}}), std::string(8, '\0')),
                 "tensor 'e': data_offsets [4, 4] overlap tensor 'a' at [0, 8]");
}

BOOST_AUTO_TEST_CASE(a_gap_between_tensors_or_before_the_first) {
  CHECK_REJECTED(file_with(header_of({{"a", "F32", "1", 0, 4}, {"b", "F32", "1", 8, 12}}), std::string(12, '\0')),
                 "tensor 'b': data_offsets [8, 12] leave a gap of 4 unused bytes [4, 8) before it");
  CHECK_REJECTED(file_with(header_of({{"a", "F32", "1", 4, 8}}), std::string(8, '\0')),
                 "tensor 'a': data_offsets [4, 8] leave a gap of 4 unused bytes [0, 4) before it");
}

BOOST_AUTO_TEST_CASE(offsets_outside_the_file_or_missing_bytes) {
  CHECK_REJECTED(file_with(header_of({{"a", "F32", "2", 0, 8}}), std::string(5, '\0')),
                 "tensor 'a': data_offsets [0, 8] reach past the data buffer of 5 bytes (the file is truncated or the "
                 "offsets are wrong)");
  CHECK_REJECTED(file_with(header_of({{"a", "F32", "1", 18446744073709551611ull, 18446744073709551615ull}})),
                 "reach past the data buffer of 0 bytes");
}

BOOST_AUTO_TEST_CASE(trailing_bytes_after_the_last_tensor) {
  CHECK_REJECTED(file_with(header_of({{"a", "F32", "1", 0, 4}}), std::string(7, '\0')),
                 "the tensors end at byte 4 of the data buffer but the file has 3 more bytes after it (trailing bytes)");
  CHECK_REJECTED(file_with("{}", "x"), "the tensors end at byte 0 of the data buffer but the file has 1 more bytes");
}

BOOST_AUTO_TEST_CASE(bool_bytes_other_than_0_and_1) {
  const std::string header = header_of({{"m", "BOOL", "3", 0, 3}});
  CHECK_REJECTED_AS(MalformedFileError, file_with(header, std::string("\x01\x02\x00", 3)),
                    "tensor 'm': BOOL element 1 is the byte 2, not 0 or 1");
  const SafetensorsFile ok = parse_tensors(file_with(header, std::string("\x01\x00\x01", 3)));
  check_values(ok.at("m"), {1, 0, 1});
}

BOOST_AUTO_TEST_CASE(tensors_in_any_json_order_tile_by_offset) {
  // Listed c, a, e, b, d, z; their data is a, d, c. Empty tensors may sit at any boundary, and those at
  // one offset keep their header order.
  const std::string header = header_of({{"c", "I64", "1", 12, 20}, {"a", "F32", "1", 0, 4}, {"e", "F64", "0", 4, 4},
                                        {"b", "F64", "1, 0", 4, 4}, {"d", "F32", "2", 4, 12}, {"z", "BOOL", "0", 20, 20}});
  std::string data(20, '\0');
  data[12] = 9;
  const SafetensorsFile file = parse_tensors(file_with(header, data));
  std::vector<std::string> order;
  for (const auto& [name, t] : file.tensors) order.push_back(name);
  BOOST_TEST(order == (std::vector<std::string>{"a", "e", "b", "d", "c", "z"}), boost::test_tools::per_element());
  BOOST_TEST(file.at("c").to_vector<std::int64_t>() == std::vector<std::int64_t>{9}, boost::test_tools::per_element());
  BOOST_TEST(file.at("b").shape() == (Shape{1, 0}));
}

BOOST_AUTO_TEST_CASE(the_number_of_tensors_is_capped) {
  BOOST_TEST(kMaxTensors == 1'000'000u);
  BOOST_TEST(LoadLimits{}.max_tensors == kMaxTensors);
  // 20000 empty tensors: loads with a cap of 20000, and is refused as soon as the 20001st name appears
  // with a cap one lower, before any tensor is allocated.
  std::vector<Entry> entries;
  for (int i = 0; i < 20000; ++i) entries.push_back({fmt::format("t{}", i), "F32", "0", 0, 0});
  const std::string bytes = file_with(header_of(entries));
  BOOST_TEST(parse_tensors(bytes, "many", {.max_tensors = 20000}).tensors.size() == 20000u);
  BOOST_CHECK_EXCEPTION(parse_tensors(bytes, "many", {.max_tensors = 19999}), LimitExceededError,
                        has_message("parse_tensors: 'many': the header declares more than 19999 tensors (the limit)"));
}

BOOST_AUTO_TEST_CASE(a_header_declaring_a_million_tiny_tensors_is_refused_by_the_default_cap) {
  // kMaxTensors + 1 empty tensors in a 50 MB header, under the header cap: the default limits refuse
  // it at the name past the cap, before any tensor is allocated, so neither time nor memory grows with
  // what the header claims beyond that.
  fmt::memory_buffer header;
  header.push_back('{');
  for (std::size_t i = 0; i <= kMaxTensors; ++i) {
    fmt::format_to(std::back_inserter(header), R"({}"t{}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})",
                   i == 0 ? "" : ",", i);
  }
  header.push_back('}');
  BOOST_TEST_REQUIRE(header.size() < kMaxHeaderBytes);
  CHECK_REJECTED(file_with(fmt::to_string(header)),
                 "parse_tensors: 'hostile': the header declares more than 1000000 tensors (the limit)");
}

BOOST_AUTO_TEST_SUITE_END()
