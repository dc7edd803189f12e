// F16 and BF16 tensors, the 16-bit floats of most shared checkpoints: read into float32 exactly, refused
// on request, written on request, and checked as strictly as every other dtype when the file is hostile.
#include "support/test.hpp"

#include <cmath>
#include <limits>

#include <attograd/io/safetensors.hpp>

#include "io/bytes.hpp"

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

// 16-bit patterns as the file holds them: little-endian.
std::string bytes16(std::initializer_list<std::uint16_t> values) {
  std::string out;
  for (std::uint16_t v : values) {
    out += static_cast<char>(v & 0xFF);
    out += static_cast<char>(v >> 8);
  }
  return out;
}

const float inf = std::numeric_limits<float>::infinity();

}  // namespace

BOOST_AUTO_TEST_CASE(f16_and_bf16_load_as_float32_with_their_exact_values) {
  // As PyTorch's safetensors writes them: 1, -2, 65504 (F16's largest), 2^-24 (its smallest subnormal),
  // infinity, and a NaN; then BF16's 1, 3.140625 (pi in 8 bits), -2^-126 and its largest, 3.3895e38.
  const std::string header = R"({"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[12,20]},)"
                             R"("h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]}})";
  const std::string data = bytes16({0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x7E00}) +
                           bytes16({0x3F80, 0x4049, 0x8080, 0x7F7F});
  const SafetensorsFile f = parse_tensors(file_with(header, data));
  const Tensor h = f.at("h"), b = f.at("b");
  BOOST_TEST((h.dtype() == kFloat32 && b.dtype() == kFloat32));
  BOOST_TEST((b.shape() == Shape{2, 2}));
  const std::vector<float> hv = h.to_vector<float>(), bv = b.to_vector<float>();
  BOOST_TEST(hv[0] == 1.0f);
  BOOST_TEST(hv[1] == -2.0f);
  BOOST_TEST(hv[2] == 65504.0f);
  BOOST_TEST(hv[3] == 0x1p-24f);
  BOOST_TEST(hv[4] == inf);
  BOOST_TEST(std::isnan(hv[5]));
  BOOST_TEST(bv[0] == 1.0f);
  BOOST_TEST(bv[1] == 3.140625f);
  BOOST_TEST(bv[2] == -0x1p-126f);
  BOOST_TEST(bv[3] == 0x1.FEp127f);
}

BOOST_AUTO_TEST_CASE(a_load_can_refuse_half_precision) {
  const std::string file = file_with(R"({"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", bytes16({0x3F80}));
  BOOST_CHECK_EXCEPTION(parse_tensors(file, "shared", {.refuse_half = true}), UnsupportedFileError,
                        has_message("tensor 'w' is BF16, half precision, which this load refuses "
                                    "(LoadLimits::refuse_half); without it, attograd reads it as float32, exactly"));
  BOOST_TEST(parse_tensors(file).at("w").item<float>() == 1.0f);
}

BOOST_AUTO_TEST_CASE(float32_tensors_are_written_as_f16_on_request_in_the_exact_bytes) {
  const Tensor w = tensor({1.0f, -2.0f, 65520.0f, 1.0f + 0x1p-11f}, {4});
  const std::string bytes = serialize_tensors({{"w", w}}, {}, {.float32_as = HalfFormat::F16});
  const std::string header = R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})";
  // Padded with spaces to a multiple of 8, as for every file; 65520 rounds to infinity, 1 + 2^-11 to 1.
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  BOOST_TEST(bytes == file_with(padded, bytes16({0x3C00, 0xC000, 0x7C00, 0x3C00})));
}

BOOST_AUTO_TEST_CASE(a_half_round_trip_keeps_the_rounded_values_and_leaves_other_dtypes_alone) {
  TempDir dir;
  Generator gen(7);
  const Tensor w = randn({3, 5}, gen) * 100.0;
  const Tensor d = randn({4}, gen, {.dtype = kFloat64});
  const Tensor i = tensor({3.0, -1.0}, {2}, {.dtype = kInt64});
  for (HalfFormat format : {HalfFormat::F16, HalfFormat::BF16}) {
    const auto path = dir.path() / "half.safetensors";
    save_tensors(path, {{"w", w}, {"d", d}, {"i", i}}, {{"note", "shared"}}, {.float32_as = format});
    const SafetensorsFile f = load_tensors(path);
    const std::vector<float> loaded = f.at("w").to_vector<float>(), original = w.to_vector<float>();
    // Rounded to nearest: within half a unit in the last place of 11 (F16) or 8 (BF16) bits.
    const float half_ulp = format == HalfFormat::F16 ? 0x1p-11f : 0x1p-8f;
    for (std::size_t k = 0; k < loaded.size(); ++k) {
      BOOST_TEST(std::abs(loaded[k] - original[k]) <= half_ulp * std::abs(original[k]));
    }
    // Saved again as halves, the loaded values give the same file: the rounding is done once.
    BOOST_TEST(serialize_tensors({{"w", f.at("w")}}, {}, {.float32_as = format}) ==
               serialize_tensors({{"w", w}}, {}, {.float32_as = format}));
    BOOST_TEST(f.at("d").to_vector<double>() == d.to_vector<double>(), boost::test_tools::per_element());
    BOOST_TEST((f.at("d").dtype() == kFloat64 && f.at("i").dtype() == kInt64));
    BOOST_TEST(f.metadata.at("note") == "shared");
  }
}

BOOST_AUTO_TEST_CASE(hostile_half_files_are_refused_like_any_other) {
  // Two bytes an element, checked against the offsets before anything is allocated.
  BOOST_CHECK_EXCEPTION(parse_tensors(file_with(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,3]}})", "\0\0\0"),
                                      "hostile"),
                        MalformedFileError,
                        has_message("tensor 'w': data_offsets [0, 3] hold 3 bytes but shape [2] of F16 needs 4"));
  BOOST_CHECK_EXCEPTION(parse_tensors(file_with(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})",
                                                bytes16({1, 2})),
                                      "hostile"),
                        MalformedFileError, has_message("reach past the data buffer of 4 bytes"));
  // A huge shape is compared in 64 bits without overflow: 2^62 elements of two bytes.
  BOOST_CHECK_EXCEPTION(
      parse_tensors(file_with(R"({"w":{"dtype":"F16","shape":[4611686018427387904],"data_offsets":[0,8]}})",
                              std::string(8, '\0')),
                    "hostile"),
      MalformedFileError, has_message("hold 8 bytes but shape [4611686018427387904] of F16 needs 9223372036854775808"));
  // The dtype codes are exact, as the format's: no lower case, no other spelling.
  BOOST_CHECK_EXCEPTION(parse_tensors(file_with(R"({"w":{"dtype":"bf16","shape":[1],"data_offsets":[0,2]}})", "\0\0"),
                                      "hostile"),
                        UnsupportedFileError, has_message("dtype 'bf16' is not supported"));
}
