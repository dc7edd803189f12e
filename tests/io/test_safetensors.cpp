// save_tensors / load_tensors: round trips of every dtype and rank, the exact bytes of a small file,
// and bad arguments to save.
#include "support/test.hpp"

#include <bit>
#include <cmath>
#include <limits>

#include <attograd/io/safetensors.hpp>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

// A tensor of dtype with distinct values (0, 1, 2, ... as the dtype allows; alternating for bool).
Tensor sample(const Shape& shape, DType dtype) {
  std::vector<double> values(static_cast<std::size_t>(shape.numel()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = dtype == kBool ? static_cast<double>(i % 3 == 0) : static_cast<double>(i) * 1.5 - 4.0;
  }
  if (dtype == kInt64) {
    for (double& v : values) v = std::round(v * 1000.0);
  }
  return tensor(values, shape, {.dtype = kFloat64}).to(dtype);
}

void check_same(const Tensor& actual, const Tensor& expected, const std::string& name) {
  BOOST_TEST_CONTEXT(name) {
    BOOST_TEST(actual.dtype() == expected.dtype());
    BOOST_TEST_REQUIRE(actual.shape() == expected.shape(), fmt::format("{} vs {}", actual.shape(), expected.shape()));
    BOOST_TEST(actual.to_vector<double>() == expected.to_vector<double>(), boost::test_tools::per_element());
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(every_dtype_and_rank_0_to_4_round_trips) {
  TempDir dir;
  const std::vector<Shape> shapes{{}, {5}, {0}, {2, 3}, {3, 0}, {2, 1, 3}, {0, 2, 2}, {2, 3, 1, 2}, {1, 0, 2, 3}};
  NamedTensors saved;
  for (DType dtype : {kFloat32, kFloat64, kInt64, kBool}) {
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      saved.emplace_back(fmt::format("{}.rank{}.{}", dtype, shapes[i].rank(), i), sample(shapes[i], dtype));
    }
  }
  const Metadata metadata{{"epoch", "3"}, {"note", "é ✓"}};
  save_tensors(dir / "all.safetensors", saved, metadata);
  const SafetensorsFile file = load_tensors(dir / "all.safetensors");
  BOOST_TEST(file.tensors.size() == saved.size());
  BOOST_TEST(file.metadata == metadata);
  for (const auto& [name, t] : saved) {
    BOOST_TEST_REQUIRE(file.contains(name), name);
    check_same(file.at(name), t, name);
    BOOST_TEST(!file.at(name).requires_grad());
  }
  // Written and read back in name order.
  for (std::size_t i = 1; i < file.tensors.size(); ++i) {
    // (A plain bool: Boost.Test's own comparison of two strings with < is not std::string's.)
    const bool in_order = file.tensors[i - 1].first < file.tensors[i].first;
    BOOST_TEST(in_order,
               fmt::format("{} before {}", file.tensors[i - 1].first, file.tensors[i].first));
  }
}

BOOST_AUTO_TEST_CASE(a_small_file_has_exactly_the_reference_layout) {
  // Two tensors given out of name order, and one metadata entry. Expected: the length 136 (0x88)
  // little-endian; compact JSON with the metadata first and the tensors sorted by name, padded with 4
  // spaces to a multiple of 8; then a's int64 7 and b's float32 1 and -2 (0x3F800000, 0xC0000000), all
  // little-endian.
  const NamedTensors tensors{{"b", tensor({1.0, -2.0})}, {"a", tensor_of<std::int64_t>({7}, {})}};
  const std::string header =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"
      "    ";
  BOOST_TEST_REQUIRE(header.size() == 136u);
  const std::string expected = std::string("\x88\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x07\0\0\0\0\0\0\0", 8) + std::string("\0\0\x80\x3f\0\0\0\xc0", 8);
  BOOST_TEST(serialize_tensors(tensors, {{"k", "v"}}) == expected);

  TempDir dir;
  save_tensors(dir / "two.safetensors", tensors, {{"k", "v"}});
  BOOST_TEST(read_bytes(dir / "two.safetensors") == expected);
}

BOOST_AUTO_TEST_CASE(a_file_without_metadata_or_tensors) {
  // {} padded to 8 bytes: the smallest valid file.
  const std::string empty = serialize_tensors({});
  BOOST_TEST(empty == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  const SafetensorsFile file = parse_tensors(empty);
  BOOST_TEST(file.tensors.empty());
  BOOST_TEST(file.metadata.empty());
}

BOOST_AUTO_TEST_CASE(special_float_values_keep_their_bits) {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor t64 = tensor({-0.0, inf, -inf, std::numeric_limits<double>::denorm_min(), 1e308}, {.dtype = kFloat64});
  const Tensor nan32 = full({2}, std::nan(""));
  const SafetensorsFile file = parse_tensors(serialize_tensors({{"d", t64}, {"n", nan32}}));
  const std::vector<double> back = file.at("d").to_vector<double>();
  const std::vector<double> want = t64.to_vector<double>();
  for (std::size_t i = 0; i < want.size(); ++i) {
    BOOST_TEST(std::bit_cast<std::uint64_t>(back[i]) == std::bit_cast<std::uint64_t>(want[i]));
  }
  for (float v : file.at("n").to_vector<float>()) BOOST_TEST(std::isnan(v));
}

BOOST_AUTO_TEST_CASE(views_are_saved_in_row_major_order_of_their_shape) {
  // x = [[0, 1, 2], [3, 4, 5]]; its transpose is [[0, 3], [1, 4], [2, 5]], and an expand() repeats rows.
  const Tensor x = arange(6.0).reshape({2, 3});
  const SafetensorsFile file = parse_tensors(serialize_tensors({{"t", x.mT()}, {"e", tensor({1.0, 2.0}).expand({3, 2})}}));
  check_values(file.at("t"), {0, 3, 1, 4, 2, 5});
  BOOST_TEST(file.at("t").shape() == (Shape{3, 2}));
  check_values(file.at("e"), {1, 2, 1, 2, 1, 2});
}

BOOST_AUTO_TEST_CASE(a_tensor_that_requires_grad_is_saved_without_recording_a_graph) {
  const Tensor w = randn({3, 2}, {.requires_grad = true});
  const SafetensorsFile file = parse_tensors(serialize_tensors({{"w", w.mT()}}));
  check_close(file.at("w"), w.mT(), 0.0);
}

BOOST_AUTO_TEST_CASE(tensors_bigger_than_the_write_buffer_round_trip) {
  TempDir dir;
  Generator gen(7);
  const Tensor big = randn({700, 1000}, gen);  // 2.8 MB of float32
  const Tensor small = randn({3}, gen);
  save_tensors(dir / "big.safetensors", {{"big", big}, {"small", small}});
  const SafetensorsFile file = load_tensors(dir / "big.safetensors");
  check_close(file.at("big"), big, 0.0);
  check_close(file.at("small"), small, 0.0);
  BOOST_TEST(std::filesystem::file_size(dir / "big.safetensors") > 2'800'000u);
}

BOOST_AUTO_TEST_CASE(unicode_and_escaped_names_round_trip) {
  const NamedTensors tensors{{"température", ones({1})}, {"名前", zeros({1})}, {"quote\"back\\slash\nnew", ones({2})}};
  const SafetensorsFile file = parse_tensors(serialize_tensors(tensors));
  for (const auto& [name, t] : tensors) {
    BOOST_TEST_REQUIRE(file.contains(name), name);
    check_same(file.at(name), t, name);
  }
}

BOOST_AUTO_TEST_CASE(the_json_order_of_entries_does_not_matter) {
  // Another writer may list the tensors in any order and pad differently: only the offsets count.
  const std::string header =
      R"( { "y" : {"shape":[1], "data_offsets":[4,8], "dtype":"F32"}, "x": {"dtype":"F32","shape":[1],"data_offsets":[0,4]} })";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(header.size());
  bytes += header + std::string("\0\0\x80\x3f\0\0\0\x40", 8);
  const SafetensorsFile file = parse_tensors(bytes);
  BOOST_TEST(file.tensors[0].first == "x");  // in the order of the data
  check_values(file.at("x"), {1.0});
  check_values(file.at("y"), {2.0});
}

BOOST_AUTO_TEST_CASE(bad_arguments_to_save_are_value_errors) {
  TempDir dir;
  const auto path = dir / "bad.safetensors";
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"w", ones({1})}, {"w", zeros({2})}}), ValueError,
                        has_message("save_tensors: tensor name 'w' is given twice"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"__metadata__", ones({1})}}), ValueError,
                        has_message("save_tensors: '__metadata__' is reserved and cannot name a tensor"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"u", Tensor()}}), ValueError,
                        has_message("save_tensors: tensor 'u' is undefined"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"bad\xff", ones({1})}}), ValueError,
                        has_message("save_tensors: tensor name 'bad\xff' is not valid UTF-8"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {}, {{"k", "\xc0\xaf"}}), ValueError,
                        has_message("save_tensors: metadata value"));
  BOOST_CHECK_EXCEPTION(serialize_tensors({{"a", ones({1})}, {"a", ones({1})}}), ValueError,
                        has_message("serialize_tensors: tensor name 'a' is given twice"));
  BOOST_TEST(dir.names().empty());
}

BOOST_AUTO_TEST_CASE(failing_to_write_is_an_io_error_naming_the_path) {
  TempDir dir;
  const auto path = dir / "missing" / "w.safetensors";
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"w", ones({1})}}), IoError,
                        has_message(fmt::format("save_tensors: cannot write '{}'", path.string())));
}

BOOST_AUTO_TEST_CASE(at_names_the_missing_tensor_and_those_present) {
  const SafetensorsFile file = parse_tensors(serialize_tensors({{"a", ones({1})}, {"b", ones({1})}}));
  BOOST_CHECK_EXCEPTION(file.at("c"), IoError,
                        has_message("SafetensorsFile::at: no tensor 'c'; the file has 2 tensors: 'a', 'b'"));
}

BOOST_AUTO_TEST_SUITE_END()
