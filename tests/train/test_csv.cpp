// read_csv: plain and gzip files to tensors, and every malformed input an error naming file, line and
// column (short and long rows, non-numbers, NaN and inf, numbers out of range, truncated, corrupt or
// padded gzip, empty and missing files); CRLF, blank lines, a header, a byte-order mark; the real digits.
#include "support/test.hpp"

#include <cstdlib>
#include <limits>

#include <zlib.h>

#include <attograd/train/csv.hpp>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::train;
using namespace attograd::testing;

namespace {

// text as one gzip member, compressed by zlib (as gzip(1) would).
std::string gzip(const std::string& text) {
  z_stream zs{};
  BOOST_TEST_REQUIRE(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(text.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  BOOST_TEST_REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Writes bytes to dir/name and reads it back as CSV.
CsvTable read(const TempDir& dir, const std::string& name, const std::string& bytes, const CsvOptions& options = {}) {
  write_bytes(dir / name, bytes);
  return read_csv(dir / name, options);
}

// The error read_csv gives for bytes: its line and column, and that the message names them and the file.
void check_error(const std::string& bytes, std::int64_t line, std::int64_t column, const std::string& part,
                 const CsvOptions& options = {}) {
  TempDir dir;
  write_bytes(dir / "bad.csv", bytes);
  try {
    read_csv(dir / "bad.csv", options);
    BOOST_ERROR("no error for " << part);
  } catch (const CsvError& e) {
    BOOST_TEST(e.line() == line, part << ": " << e.what());
    BOOST_TEST(e.column() == column, part << ": " << e.what());
    const std::string where = fmt::format("bad.csv' line {}, column {}: ", line, column);
    BOOST_TEST(std::string(e.what()).find(where) != std::string::npos, e.what());
    BOOST_TEST(std::string(e.what()).find(part) != std::string::npos, e.what());
    BOOST_TEST(e.file() == dir / "bad.csv");
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(plain_and_gzip_give_the_same_tensor) {
  TempDir dir;
  const std::string text = "1,2.5,-3\n4e2, +5 ,.25\n";
  const CsvTable plain = read(dir, "a.csv", text);
  const CsvTable packed = read(dir, "a.csv.gz", gzip(text));
  BOOST_TEST(plain.values.dtype() == kFloat32);
  BOOST_TEST(plain.values.shape() == Shape({2, 3}));
  check_values(plain.values, {1, 2.5, -3, 400, 5, 0.25}, 0);
  check_values(packed.values, {1, 2.5, -3, 400, 5, 0.25}, 0);
  BOOST_TEST(plain.names.empty());
  // Recognised by its bytes, not its name: gzip data called .csv, and plain text called .gz.
  check_values(read(dir, "b.csv", gzip(text)).values, {1, 2.5, -3, 400, 5, 0.25}, 0);
  check_values(read(dir, "b.gz", text).values, {1, 2.5, -3, 400, 5, 0.25}, 0);
}

BOOST_AUTO_TEST_CASE(crlf_blank_lines_a_header_a_bom_and_concatenated_members) {
  TempDir dir;
  const CsvTable t = read(dir, "h.csv", "\xEF\xBB\xBFx, y\r\n\r\n1,2\r\n  \t\r\n3,4\r\n", {.header = true});
  BOOST_TEST((t.names == std::vector<std::string>{"x", "y"}));
  check_values(t.values, {1, 2, 3, 4}, 0);
  // No newline after the last row; a tab as delimiter is refused, a semicolon works.
  check_values(read(dir, "s.csv", "1;2\n3;4", {.delimiter = ';'}).values, {1, 2, 3, 4}, 0);
  BOOST_CHECK_EXCEPTION(read(dir, "t.csv", "1\t2\n", {.delimiter = '\t'}), ValueError,
                        has_message("read_csv: the delimiter cannot be '\\x09'"));
  // `cat a.gz b.gz` is one gzip file of two members: both are read.
  check_values(read(dir, "two.csv.gz", gzip("1,2\n") + gzip("3,4\n")).values, {1, 2, 3, 4}, 0);
}

BOOST_AUTO_TEST_CASE(float32_rounds_once_and_float64_keeps_every_digit) {
  TempDir dir;
  const std::string text = "0.1,16777217,1e-50\n";
  const CsvTable single = read(dir, "f.csv", text);
  BOOST_TEST(single.values.to_vector<float>()[0] == 0.1f);
  BOOST_TEST(single.values.to_vector<float>()[1] == 16777216.0f);  // 2^24 + 1 rounds to even
  BOOST_TEST(single.values.to_vector<float>()[2] == 0.0f);         // below float32's range: 0, as in numpy
  const CsvTable twice = read(dir, "f.csv", text, {.dtype = kFloat64});
  BOOST_TEST(twice.values.dtype() == kFloat64);
  BOOST_TEST((twice.values.to_vector<double>() == std::vector<double>{0.1, 16777217.0, 1e-50}));
  BOOST_CHECK_EXCEPTION(read(dir, "f.csv", text, {.dtype = kInt64}), DTypeError,
                        has_message("read_csv: dtype must be float32 or float64, got int64"));
}

BOOST_AUTO_TEST_CASE(ragged_rows_name_the_line_and_the_missing_column) {
  check_error("1,2,3\n4,5,6\n7,8\n", 3, 3, "this row has 2 fields but line 1 has 3 (a short row: a value is missing)");
  check_error("1,2\n3,4,5\n", 2, 3, "this row has 3 fields but line 1 has 2 (a long row)");
  check_error("1,2,3\n4,5,\n", 2, 3, "an empty field where a number belongs");  // a trailing comma
  check_error("a,b\n1,2\n1\n", 3, 2, "this row has 1 field but line 1 has 2", {.header = true});
}

BOOST_AUTO_TEST_CASE(text_that_is_not_a_number_is_refused_where_it_stands) {
  check_error("1,2\n3,x\n", 2, 2, "'x' is not a number");
  check_error("1,2\n3,4x\n", 2, 2, "'4x' is not a number");
  check_error("1,2\n0x1f,4\n", 2, 1, "'0x1f' is not a number");
  check_error("1,2\n3,\"4\"\n", 2, 2, "'\"4\"' is not a number");
  check_error("1,2\n3,1 2\n", 2, 2, "'1 2' is not a number");
  check_error("1,2\n3,++4\n", 2, 2, "'++4' is not a number");
  check_error("1,2\n3,4\r5\n", 2, 2, "'4\\x0d5' is not a number");  // a lone carriage return
  check_error("x,y\n1,2\n", 1, 1, "'x' is not a number (if the first line names the columns, set header = true)");
  check_error("1,nan\n", 1, 2, "'nan' is not finite: NaN and infinity are refused (a missing value has no number to "
                             "stand for it; fill or drop it first)");  // no header hint: a header is not the problem
}

BOOST_AUTO_TEST_CASE(nan_infinity_and_numbers_out_of_range_are_refused) {
  for (const std::string bad : {"nan", "NaN", "-inf", "inf", "Infinity"}) {
    check_error("1,2\n3," + bad + "\n", 2, 2, "'" + bad + "' is not finite: NaN and infinity are refused");
  }
  check_error("1,2\n3,1e400\n", 2, 2, "'1e400' is outside float64's range");
  check_error("1,2\n3,-1e-400\n", 2, 2, "'-1e-400' is outside float64's range", {.dtype = kFloat64});
  check_error("1,2\n3,1e39\n", 2, 2, "'1e39' is too large for float32 (above 3.4e38); read the file as float64");
  // 1e39 fits float64; 400 digits of 9 do not fit either.
  TempDir dir;
  BOOST_TEST(read(dir, "big.csv", "1e39\n", {.dtype = kFloat64}).values.to_vector<double>()[0] == 1e39);
  check_error("1\n" + std::string(400, '9') + "\n", 2, 1, "is outside float64's range", {.dtype = kFloat64});
}

BOOST_AUTO_TEST_CASE(truncated_corrupt_and_padded_gzip_are_errors_never_short_tensors) {
  std::string text;
  for (int row = 0; row < 400; ++row) text += fmt::format("{},{},{}\n", row, row * 7 % 13, row % 10);
  const std::string packed = gzip(text);
  TempDir dir;
  BOOST_TEST(read(dir, "whole.csv.gz", packed).values.shape() == Shape({400, 3}));

  // Cut anywhere, even inside the 8-byte trailer after every row has come out, it is an error: the
  // checksum and length that close the stream are missing.
  for (const std::size_t keep : {std::size_t{2}, std::size_t{10}, packed.size() / 2, packed.size() - 8,
                                 packed.size() - 1}) {
    write_bytes(dir / "cut.csv.gz", packed.substr(0, keep));
    BOOST_CHECK_EXCEPTION(read_csv(dir / "cut.csv.gz"), CsvError,
                          has_message("the file is truncated"));
  }
  // The line and column where the text stopped.
  write_bytes(dir / "cut.csv.gz", packed.substr(0, packed.size() - 1));
  try {
    read_csv(dir / "cut.csv.gz");
  } catch (const CsvError& e) {
    BOOST_TEST(e.line() == 401);  // all 400 lines came out; the stream's end did not
    BOOST_TEST(e.column() == 1);
  }
  // A flipped byte in the compressed data, and one in the CRC-32 trailer.
  std::string corrupt = packed;
  corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
  write_bytes(dir / "corrupt.csv.gz", corrupt);
  BOOST_CHECK_EXCEPTION(read_csv(dir / "corrupt.csv.gz"), CsvError, has_message("the gzip data is corrupt"));
  std::string bad_crc = packed;
  bad_crc[bad_crc.size() - 6] = static_cast<char>(bad_crc[bad_crc.size() - 6] ^ 1);
  write_bytes(dir / "crc.csv.gz", bad_crc);
  BOOST_CHECK_EXCEPTION(read_csv(dir / "crc.csv.gz"), CsvError, has_message("incorrect data check"));
  // Bytes after the stream that are not another member.
  write_bytes(dir / "padded.csv.gz", packed + "junk");
  BOOST_CHECK_EXCEPTION(read_csv(dir / "padded.csv.gz"), CsvError,
                        has_message("4 bytes after the end of the gzip stream that are not another gzip member"));
}

BOOST_AUTO_TEST_CASE(empty_missing_and_oversized_files) {
  check_error("", 1, 1, "the file is empty: there are no rows");
  check_error("\n\r\n  \n", 4, 1, "there are no rows of numbers (only blank lines or a header)");
  check_error("a,b\n", 2, 1, "there are no rows of numbers", {.header = true});
  TempDir dir;
  write_bytes(dir / "empty.csv.gz", gzip(""));
  BOOST_CHECK_EXCEPTION(read_csv(dir / "empty.csv.gz"), CsvError, has_message("the file is empty"));
  BOOST_CHECK_EXCEPTION(read_csv(dir / "no-such.csv"), io::FileAccessError,
                        has_message("read_csv: cannot open '" + (dir / "no-such.csv").string() + "': no such file"));
  BOOST_CHECK_EXCEPTION(read_csv(dir.path()), io::FileAccessError, has_message("is not a regular file"));
  // A small gzip file that unpacks past the limit (a "bomb"), and a plain file past it.
  write_bytes(dir / "bomb.csv.gz", gzip(std::string(1 << 20, '0')));
  BOOST_CHECK_EXCEPTION(read_csv(dir / "bomb.csv.gz", {.max_bytes = 100000}), io::LimitExceededError,
                        has_message("decompresses to more than max_bytes = 100000"));
  write_bytes(dir / "big.csv", std::string(70000, '1'));
  BOOST_CHECK_EXCEPTION(read_csv(dir / "big.csv", {.max_bytes = 1000}), io::LimitExceededError,
                        has_message("is larger than max_bytes = 1000"));
}

// The real data set, where ./dev puts it (docs/data.md); without it the test is skipped, saying how to
// get it. The environment variable ATTOGRAD_DATA_DIR overrides the folder CMake was given.
namespace {
std::filesystem::path digits_path() {
  const char* dir = std::getenv("ATTOGRAD_DATA_DIR");
  return std::filesystem::path(dir != nullptr && *dir != '\0' ? dir : ATTOGRAD_DATA_DIR) / "digits.csv.gz";
}
boost::test_tools::assertion_result digits_present(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result r(std::filesystem::exists(digits_path()));
  r.message() << "the digits data is not at " << digits_path().string()
              << ": `./dev data` fetches it (from Debian's python3-sklearn; docs/data.md)";
  return r;
}
}  // namespace

BOOST_AUTO_TEST_CASE(the_digits_data_set, *boost::unit_test::precondition(digits_present)) {
  const CsvTable digits = read_csv(digits_path());
  BOOST_TEST(digits.values.shape() == Shape({1797, 65}));  // 8 x 8 pixels and the label
  const Tensor pixels = digits.values.slice(1, 0, 64);
  BOOST_TEST(pixels.min().item() == 0.0);
  BOOST_TEST(pixels.max().item() == 16.0);  // 4 x 4 blocks of 32 x 32 binary pixels: counts 0..16
  std::vector<std::int64_t> per_class(10, 0);
  for (const std::int64_t label : digits.values.select(1, 64).to(kInt64).to_vector<std::int64_t>()) {
    BOOST_TEST_REQUIRE((label >= 0 && label <= 9));
    ++per_class[static_cast<std::size_t>(label)];
  }
  BOOST_TEST((per_class == std::vector<std::int64_t>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}));
}
