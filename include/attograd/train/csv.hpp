/// \file
/// A table of numbers from a CSV file, plain or gzip-compressed, as a tensor.
///
/// \code
/// CsvTable table = read_csv("data/digits.csv.gz");     // gzip is recognised by its first two bytes
/// Tensor pixels = table.values.slice(1, 0, 64);         // [1797, 64] float32
/// Tensor labels = table.values.select(1, 64).to(kInt64); // [1797]
/// catch (const CsvError& e) { fmt::print("{}\n", e.what()); }   // e.line(), e.column(): where
/// \endcode
///
/// What the reader takes, and nothing looser, so that a damaged file is an error and never a wrong tensor:
/// - rows end in "\n" or "\r\n"; lines that hold only spaces and tabs are skipped (so is a last newline);
/// - fields are separated by `delimiter` (a comma) and may have spaces or tabs around them; no quoting;
/// - a field is a decimal number as C++'s std::from_chars reads it ("12", "-0.5", "1e-3", ".5"), with an
/// \code
/// optional leading "+"; "nan", "inf", an empty field, a number with text after it ("3x", "0x1f") and a
/// number beyond the dtype's range are refused, naming the field. A magnitude too small for float32
/// rounds to 0 (as numpy does); for float64 it is refused, since a text that small is rarely data;
/// \endcode
/// - every row has as many fields as the first; with `header`, the first line names the columns;
/// - a UTF-8 byte-order mark at the start (spreadsheets write one) is skipped.
///
/// Errors (all attograd::IoError, see io/errors.hpp): a missing file, a directory, an unreadable file is an
/// io::FileAccessError; text past `max_bytes` (after decompression: a gzip "bomb" of a few kB can unpack
/// to gigabytes) is an io::LimitExceededError; anything malformed is a CsvError naming the file, the line
/// (1 = the first line of the text) and the column (1 = the first field of that line): a short or long
/// row, a field that is not a number, an empty file, a gzip stream that is truncated, corrupt or followed
/// by other bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "attograd/core/dtype.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/io/errors.hpp"

namespace attograd::train {

/// A malformed CSV file, and where: what() reads "read_csv: 'data.csv' line 3, column 2: ..."
class CsvError : public io::MalformedFileError {
 public:
  /// what() names the file, line, column and problem
  CsvError(std::filesystem::path file, std::int64_t line, std::int64_t column, const std::string& problem);
  const std::filesystem::path& file() const { return file_; }  ///< the file
  std::int64_t line() const { return line_; }  ///< the line, from 1
  /// the column, from 1 (0 when the problem is the whole line)
  std::int64_t column() const { return column_; }

 private:
  std::filesystem::path file_;
  std::int64_t line_;
  std::int64_t column_;
};

/// Options of read_csv.
struct CsvOptions {
  char delimiter = ',';  ///< between fields
  bool header = false;         ///< the first line names the columns (CsvTable::names)
  DType dtype = kFloat32;      ///< of CsvTable::values: kFloat32 or kFloat64
  std::size_t max_bytes = std::size_t{1} << 30;  ///< of text, after decompression (1 GiB)
};

/// A CSV file's numbers: the header's names and a [rows, columns] tensor.
struct CsvTable {
  std::vector<std::string> names;  ///< the header's column names (empty without `header`)
  Tensor values;                   ///< [rows, columns], rows in the file's order
};

/// Reads a CSV file of numbers (gzip-compressed or not): every row with the same number of fields, each a
/// number (NaN, inf allowed). Errors name the file, line and column: CsvError for bad content,
/// io::FileAccessError when it cannot be read.
CsvTable read_csv(const std::filesystem::path& path, const CsvOptions& options = {});

/// The whole text of a file, decompressed when it starts with gzip's magic bytes 1f 8b (a file of
/// several gzip members, as `cat a.gz b.gz` makes, is their texts one after the other). Errors as
/// read_csv's, with the line and column where the text stopped.
std::string read_text(const std::filesystem::path& path, std::size_t max_bytes = std::size_t{1} << 30);

}  // namespace attograd::train
