// Hostile headers: each malformed structure is its own test, with the message it must give and, where
// the kind of refusal is the point, its type (io/errors.hpp). Sizes, offsets and limits are in
// test_safetensors_offsets.cpp.
#include "support/test.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <attograd/io/safetensors.hpp>

#include "io/bytes.hpp"

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

// One valid entry for tensor `name`: float32 [1] at [0, 4].
std::string entry(const std::string& name) {
  return fmt::format(R"("{}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", name);
}

#define CHECK_REJECTED(bytes, part) \
  BOOST_CHECK_EXCEPTION(parse_tensors((bytes), "hostile"), IoError, has_message(part))
// The same, with the kind of refusal: a sibling type, or a plain IoError, escapes the check and fails it.
#define CHECK_REJECTED_AS(type, bytes, part) \
  BOOST_CHECK_EXCEPTION(parse_tensors((bytes), "hostile"), type, has_message(part))

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors_header)

BOOST_AUTO_TEST_CASE(a_file_shorter_than_8_bytes) {
  CHECK_REJECTED(std::string(), "parse_tensors: 'hostile': the file is 0 bytes long, shorter than the 8-byte header length");
  CHECK_REJECTED(std::string(5, '\0'), "the file is 5 bytes long, shorter than the 8-byte header length");
  TempDir dir;
  write_bytes(dir / "short", "1234567");
  BOOST_CHECK_EXCEPTION(load_tensors(dir / "short"), IoError,
                        has_message(fmt::format("load_tensors: '{}': the file is 7 bytes long", (dir / "short").string())));
}

BOOST_AUTO_TEST_CASE(a_header_length_above_the_cap) {
  // The format's reference reader refuses headers above 100,000,000 bytes (not 100 MiB): the two agree
  // on every file. Rejected from the 8 bytes and the file's size alone, before anything is allocated: a
  // sparse file of 8 + 100,000,001 bytes is never read.
  BOOST_TEST(kMaxHeaderBytes == 100'000'000u);
  TempDir dir;
  const auto path = dir / "big-header";
  write_bytes(path, le64(kMaxHeaderBytes + 1));
  BOOST_TEST_REQUIRE(::truncate(path.c_str(), static_cast<off_t>(8 + kMaxHeaderBytes + 1)) == 0);
  BOOST_CHECK_EXCEPTION(load_tensors(path), LimitExceededError,
                        has_message("header length 100000001 exceeds the limit of 100000000 bytes"));
  // A caller can lower the cap.
  BOOST_CHECK_EXCEPTION(parse_tensors(file_with("{}      "), "hostile", {.max_header_bytes = 7}), LimitExceededError,
                        has_message("header length 8 exceeds the limit of 7 bytes"));
  BOOST_TEST(parse_tensors(file_with("{}      "), "hostile", {.max_header_bytes = 8}).tensors.empty());
  // A length past the end of the file is damage, whatever the cap says.
  CHECK_REJECTED_AS(MalformedFileError, le64(~std::uint64_t{0}), "header length 18446744073709551615 does not fit");
}

BOOST_AUTO_TEST_CASE(a_header_length_larger_than_the_file) {
  CHECK_REJECTED(le64(100) + "{}", "header length 100 does not fit in the file of 10 bytes (at most 2 after the 8-byte length)");
  CHECK_REJECTED(le64(1), "header length 1 does not fit in the file of 8 bytes (at most 0");
}

BOOST_AUTO_TEST_CASE(a_header_length_where_8_plus_n_overflows) {
  // 8 + (2^64 - 8) wraps to 0, which would "fit" any file if the check added instead of subtracting.
  const LoadLimits no_cap{.max_header_bytes = ~std::uint64_t{0}};
  for (std::uint64_t n : {~std::uint64_t{0} - 7, ~std::uint64_t{0} - 5, ~std::uint64_t{0}}) {
    BOOST_CHECK_EXCEPTION(parse_tensors(le64(n) + "{}      ", "hostile", no_cap), IoError,
                          has_message(fmt::format("header length {} does not fit in the file of 16 bytes", n)));
  }
}

BOOST_AUTO_TEST_CASE(an_empty_header_is_not_json) {
  CHECK_REJECTED(le64(0), "the header is not valid JSON");
}

BOOST_AUTO_TEST_CASE(a_header_that_is_not_utf8) {
  CHECK_REJECTED(file_with("{\"\xff\":1}"), "the header is not valid UTF-8 (byte 0xff at offset 2 of the header)");
  // Overlong encoding of '/', a UTF-16 surrogate, a code point past U+10FFFF, a cut-off sequence.
  CHECK_REJECTED(file_with("{\"\xc0\xaf\":1}"), "byte 0xc0 at offset 2");
  CHECK_REJECTED(file_with("{\"a\xed\xa0\x80\":1}"), "byte 0xed at offset 3");
  CHECK_REJECTED(file_with("{\"\xf4\x90\x80\x80\":1}"), "byte 0xf4 at offset 2");
  CHECK_REJECTED(file_with("{\"\xe2\x82"), "byte 0xe2 at offset 2");
}

BOOST_AUTO_TEST_CASE(a_header_that_is_not_json) {
  CHECK_REJECTED(file_with("{\"a\": "), "parse_tensors: 'hostile': the header is not valid JSON");
  CHECK_REJECTED(file_with("{} x"), "the header is not valid JSON");
  CHECK_REJECTED(file_with("{'a': 1}"), "the header is not valid JSON");
  // A NUL ends nlohmann's input early: what follows it must not be ignored.
  CHECK_REJECTED(file_with(std::string("{}\0\0", 4)), "the header is not valid JSON: a NUL byte at offset 2 of the header");
  CHECK_REJECTED(file_with(std::string("{}\0{\"w\":1}", 9)), "a NUL byte at offset 2");
}

BOOST_AUTO_TEST_CASE(a_header_starting_with_a_byte_order_mark) {
  // nlohmann's lexer skips a UTF-8 BOM (EF BB BF) before the parser sees anything; the reference reader
  // (serde_json) refuses it, and so does attograd.
  CHECK_REJECTED_AS(MalformedFileError, file_with("\xef\xbb\xbf{}   "),
                    "parse_tensors: 'hostile': the header starts with a UTF-8 byte-order mark (bytes ef bb bf), which "
                    "the format does not allow: it must start with the JSON text");
  // Elsewhere the three bytes are an ordinary character, which JSON allows only inside strings.
  CHECK_REJECTED_AS(MalformedFileError, file_with("{}\xef\xbb\xbf"), "the header is not valid JSON");
  BOOST_TEST(parse_tensors(file_with("{\"__metadata__\":{\"k\":\"\xef\xbb\xbf\"}}")).metadata.at("k") == "\xef\xbb\xbf");
}

BOOST_AUTO_TEST_CASE(a_header_that_is_not_an_object) {
  CHECK_REJECTED(file_with("[]"), "the header must be a JSON object, got an array");
  CHECK_REJECTED(file_with("\"text\""), "the header must be a JSON object, got the string 'text'");
  CHECK_REJECTED(file_with("42"), "the header must be a JSON object, got the number 42");
  CHECK_REJECTED(file_with("null"), "the header must be a JSON object, got null");
}

BOOST_AUTO_TEST_CASE(an_entry_that_is_not_an_object) {
  CHECK_REJECTED(file_with(R"({"w": 3})"), "tensor 'w': the entry must be an object, got the number 3");
  CHECK_REJECTED(file_with(R"({"w": [1, 2]})"), "tensor 'w': the entry must be an object, got an array");
  CHECK_REJECTED(file_with(R"({"w": true})"), "tensor 'w': the entry must be an object, got true");
}

BOOST_AUTO_TEST_CASE(an_entry_with_an_unknown_key) {
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", std::string(4, '\0')),
                 "tensor 'w': unknown key 'extra' (expected dtype, shape, data_offsets)");
}

BOOST_AUTO_TEST_CASE(an_entry_missing_a_key) {
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})"), "tensor 'w': the entry has no 'shape'");
  CHECK_REJECTED(file_with(R"({"w":{"shape":[1],"data_offsets":[0,4]}})"), "tensor 'w': the entry has no 'dtype'");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1]}})"), "tensor 'w': the entry has no 'data_offsets'");
}

BOOST_AUTO_TEST_CASE(an_entry_with_a_key_twice) {
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})"),
                 "tensor 'w': key 'dtype' appears twice");
}

BOOST_AUTO_TEST_CASE(an_unknown_dtype) {
  // A dtype attograd does not read is not damage: another reader may take the file.
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", "\0"),
                    "tensor 'w': dtype 'F8_E4M3' is not supported (attograd reads F32, F64, I64 and BOOL, and F16 "
                    "and BF16 as float32)");
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})"),
                    "dtype 'f32' is not supported");
  CHECK_REJECTED_AS(MalformedFileError, file_with(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})"),
                    "tensor 'w': 'dtype' must be a string, got the number 4");
}

BOOST_AUTO_TEST_CASE(a_duplicate_tensor_name) {
  // nlohmann's DOM parser would keep the second silently; the streaming reader sees both.
  const std::string header = fmt::format("{{{},{},{}}}", entry("w"), entry("v"), entry("w"));
  CHECK_REJECTED(file_with(header, std::string(4, '\0')), "tensor 'w' appears twice in the header");
}

BOOST_AUTO_TEST_CASE(shape_and_offsets_must_be_arrays_of_integers) {
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":3,"data_offsets":[0,4]}})"),
                 "tensor 'w': 'shape' must be an array of integers, got the number 3");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})"),
                 "tensor 'w': shape must hold non-negative integers, got the string '2'");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})"),
                 "tensor 'w': shape must hold non-negative integers below 2^64, got 2.0");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,1e30]}})"),
                 "tensor 'w': data_offsets must hold non-negative integers below 2^64, got 1e30");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}})"),
                 "got 18446744073709551616");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,null]}})"),
                 "tensor 'w': data_offsets must hold non-negative integers, got null");
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_rejected_at_the_first_unexpected_bracket) {
  // A hundred thousand nested arrays: refused at the second one, without recursion or memory.
  const std::string deep = R"({"w":{"dtype":"F32","shape":)" + std::string(100000, '[');
  CHECK_REJECTED(file_with(deep), "tensor 'w': shape must hold non-negative integers, got an array");
  CHECK_REJECTED(file_with("{\"__metadata__\":{\"k\":" + std::string(100000, '{')),
                 "metadata 'k' must be a string, got an object");
}

BOOST_AUTO_TEST_CASE(negative_sizes_and_offsets) {
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})"),
                 "tensor 'w': shape has a negative value -1");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})"),
                 "tensor 'w': data_offsets has a negative value -4");
}

BOOST_AUTO_TEST_CASE(data_offsets_must_have_two_values) {
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}})"),
                 "tensor 'w': data_offsets has 1 value, expected 2 (begin and end)");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[]}})"), "data_offsets has 0 values");
  CHECK_REJECTED(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})"),
                 "tensor 'w': data_offsets has more than 2 values");
}

BOOST_AUTO_TEST_CASE(metadata_must_map_strings_to_strings) {
  CHECK_REJECTED(file_with(R"({"__metadata__":[]})"), "'__metadata__' must be an object, got an array");
  CHECK_REJECTED(file_with(R"({"__metadata__":{"step":3}})"), "metadata 'step' must be a string, got the number 3");
  CHECK_REJECTED(file_with(R"({"__metadata__":{"k":"a","k":"b"}})"), "metadata key 'k' appears twice");
  CHECK_REJECTED(file_with(R"({"__metadata__":{},"__metadata__":{}})"), "'__metadata__' appears twice");
}

BOOST_AUTO_TEST_CASE(the_number_of_metadata_entries_is_capped) {
  BOOST_TEST(kMaxMetadataEntries == 100'000u);
  BOOST_TEST(LoadLimits{}.max_metadata_entries == kMaxMetadataEntries);
  const std::string bytes = file_with(R"({"__metadata__":{"a":"1","b":"2","c":"3"}})");
  BOOST_TEST(parse_tensors(bytes, "m", {.max_metadata_entries = 3}).metadata.size() == 3u);
  BOOST_CHECK_EXCEPTION(parse_tensors(bytes, "m", {.max_metadata_entries = 2}), IoError,
                        has_message("parse_tensors: 'm': the header has more than 2 metadata entries (the limit)"));
}

BOOST_AUTO_TEST_CASE(empty_names_and_names_with_nul_are_refused) {
  // The format allows both; attograd refuses them (io/safetensors.hpp says why), as save_tensors does.
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(fmt::format("{{{}}}", entry("")), std::string(4, '\0')),
                    "parse_tensors: 'hostile': a tensor has an empty name, which attograd does not accept");
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(fmt::format("{{{}}}", entry("a\\u0000b")), std::string(4, '\0')),
                    "tensor 'a\\x00b': the name holds a NUL byte (at offset 1), which attograd does not accept");
  // Refused as soon as the name is read, whatever follows.
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(R"({"\u0000":)"), "tensor '\\x00': the name holds a NUL byte");
  // Metadata keys and values are free text.
  BOOST_TEST(parse_tensors(file_with(R"({"__metadata__":{"":"a\u0000b"}})")).metadata.at("") == std::string("a\0b", 3));
}

BOOST_AUTO_TEST_CASE(each_refusal_has_its_kind) {
  // One case per kind (io/errors.hpp): a program can tell them apart without reading messages.
  CHECK_REJECTED_AS(MalformedFileError, std::string(5, '\0'), "shorter than the 8-byte header length");
  CHECK_REJECTED_AS(MalformedFileError, file_with("{\"\xff\":1}"), "not valid UTF-8");
  CHECK_REJECTED_AS(MalformedFileError, file_with("{\"a\": "), "not valid JSON");
  CHECK_REJECTED_AS(MalformedFileError, file_with(R"({"w":{"dtype":"F32","shape":[1]}})"), "the entry has no");
  CHECK_REJECTED_AS(MalformedFileError, file_with(fmt::format("{{{},{}}}", entry("w"), entry("w")), std::string(4, '\0')),
                    "appears twice");
  CHECK_REJECTED_AS(UnsupportedFileError, file_with(R"({"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],)"
                                                    R"("data_offsets":[0,4]}})", std::string(4, '\0')),
                    "more than 8 dims");
  BOOST_CHECK_EXCEPTION(parse_tensors(file_with(R"({"__metadata__":{"a":"1","b":"2"}})"), "m", {.max_metadata_entries = 1}),
                        LimitExceededError, has_message("metadata entries"));
  TempDir dir;
  BOOST_CHECK_EXCEPTION(load_tensors(dir / "absent"), FileAccessError, has_message("cannot open"));
  const SafetensorsFile file = parse_tensors(file_with(fmt::format("{{{}}}", entry("w")), std::string(4, '\0')));
  BOOST_CHECK_EXCEPTION(file.at("v"), MismatchError, has_message("no tensor 'v'"));
}

BOOST_AUTO_TEST_CASE(long_and_control_character_names_are_shortened_in_messages) {
  const std::string name(1000, 'n');
  CHECK_REJECTED(file_with("{\"" + name + "\": 1}"), "tensor '" + std::string(64, 'n') + "... (1000 bytes)'");
  CHECK_REJECTED(file_with("{\"a\\u0001b\": 1}"), "tensor 'a\\x01b'");
}

BOOST_AUTO_TEST_CASE(files_that_cannot_be_read) {
  TempDir dir;
  BOOST_CHECK_EXCEPTION(load_tensors(dir / "absent"), FileAccessError,
                        has_message(fmt::format("load_tensors: '{}': cannot open: No such file or directory (errno 2)",
                                                (dir / "absent").string())));
  BOOST_CHECK_EXCEPTION(load_tensors(dir.path()), FileAccessError,
                        has_message(fmt::format("load_tensors: '{}': not a regular file (a directory)", dir.path().string())));
}

BOOST_AUTO_TEST_SUITE_END()
