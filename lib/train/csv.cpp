#include "attograd/train/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <new>
#include <string_view>
#include <system_error>

#include <fmt/format.h>
#include <zlib.h>

#include "attograd/core/factories.hpp"
#include "io/text.hpp"  // io::detail::printable: a field from an untrusted file, shown safely

namespace attograd::train {

CsvError::CsvError(std::filesystem::path file, std::int64_t line, std::int64_t column, const std::string& problem)
    : io::MalformedFileError(fmt::format("read_csv: '{}' line {}, column {}: {}", file.string(), line, column, problem)),
      file_(std::move(file)),
      line_(line),
      column_(column) {}

namespace {

// Where a text of `size` bytes stops: the line of its last byte and the column (field) in that line.
// A truncated file is reported there, which is where a reader would look for the damage.
std::pair<std::int64_t, std::int64_t> end_position(std::string_view text, char delimiter) {
  std::int64_t line = 1, column = 1;
  for (const char c : text) {
    if (c == '\n') {
      ++line;
      column = 1;
    } else if (c == delimiter) {
      ++column;
    }
  }
  return {line, column};
}

std::string read_bytes(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    throw io::FileAccessError(fmt::format("read_csv: cannot open '{}': no such file", path.string()));
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw io::FileAccessError(fmt::format("read_csv: '{}' is not a regular file (a directory, pipe or device)",
                                          path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io::FileAccessError(fmt::format("read_csv: cannot open '{}' for reading", path.string()));
  std::string bytes;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    bytes.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > max_bytes) {
      throw io::LimitExceededError(fmt::format("read_csv: '{}' is larger than max_bytes = {}; raise the limit if "
                                               "the file is trusted", path.string(), max_bytes));
    }
  }
  if (in.bad()) throw io::FileAccessError(fmt::format("read_csv: reading '{}' failed", path.string()));
  return bytes;
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// zlib's inflate state, ended on every path out (RAII).
struct Inflater {
  z_stream zs{};
  Inflater() {
    // 16 + MAX_WBITS: a gzip stream (header and CRC-32 trailer), not a raw zlib one.
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  ~Inflater() { inflateEnd(&zs); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
};

std::string gunzip(const std::filesystem::path& path, std::string_view bytes, std::size_t max_bytes, char delimiter) {
  std::string text;
  Inflater inflater;
  z_stream& zs = inflater.zs;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));  // zlib reads, never writes, it
  zs.avail_in = static_cast<uInt>(bytes.size());  // read_bytes keeps files below 4 GB only if max_bytes does
  if (bytes.size() > std::numeric_limits<uInt>::max()) {
    throw io::LimitExceededError(fmt::format("read_csv: '{}': a gzip file over 4 GB is not read", path.string()));
  }
  auto fail = [&](const std::string& problem) {
    const auto [line, column] = end_position(text, delimiter);
    throw CsvError(path, line, column, problem);
  };
  char chunk[1 << 16];
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    const int status = inflate(&zs, Z_NO_FLUSH);
    text.append(chunk, sizeof chunk - zs.avail_out);
    if (text.size() > max_bytes) {
      throw io::LimitExceededError(fmt::format("read_csv: '{}' decompresses to more than max_bytes = {}; raise the "
                                               "limit if the file is trusted", path.string(), max_bytes));
    }
    if (status == Z_STREAM_END) {
      if (zs.avail_in == 0) return text;
      // Another gzip member may follow (gzip concatenates them so); anything else is not part of the file.
      const std::string_view rest(reinterpret_cast<const char*>(zs.next_in), zs.avail_in);
      if (!is_gzip(rest)) {
        fail(fmt::format("{} bytes after the end of the gzip stream that are not another gzip member (the file "
                         "was appended to or damaged)", zs.avail_in));
      }
      inflateReset(&zs);
    } else if (status == Z_DATA_ERROR) {
      fail(fmt::format("the gzip data is corrupt ({}) after {} bytes of text; the file is damaged",
                       zs.msg ? zs.msg : "no detail", text.size()));
    } else if (status == Z_MEM_ERROR) {
      throw std::bad_alloc();
    } else if (status == Z_BUF_ERROR || (status == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)) {
      // No input left before the stream's end: the file was cut short (a partial download or copy).
      fail(fmt::format("the gzip stream ends early: its {} bytes gave {} bytes of text and no end of stream "
                       "(with its checksum); the file is truncated", bytes.size(), text.size()));
    } else if (status != Z_OK) {
      fail(fmt::format("zlib's inflate failed with status {}", status));
    }
  }
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

std::string_view trim(std::string_view field) {
  const auto first = field.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return field.substr(first, field.find_last_not_of(" \t") - first + 1);
}

// One field as a number of the table's dtype; a reason in `problem` when it is not one.
double parse_number(std::string_view field, DType dtype, std::string& problem) {
  const std::string shown = fmt::format("'{}'", io::detail::printable(field));
  if (field.empty()) {
    problem = "an empty field where a number belongs";
    return 0;
  }
  std::string_view digits = field;
  if (digits.size() > 1 && digits[0] == '+' && digits[1] != '-' && digits[1] != '+') digits.remove_prefix(1);
  const char* end = digits.data() + digits.size();
  double value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (ec == std::errc::invalid_argument || (ec == std::errc() && ptr != end) ||
      (ec == std::errc::result_out_of_range && ptr != end)) {
    problem = fmt::format("{} is not a number", shown);
  } else if (ec == std::errc::result_out_of_range) {
    problem = fmt::format("{} is outside float64's range (its magnitude is above 1.8e308 or below 4.9e-324)", shown);
  } else if (!std::isfinite(value)) {
    problem = fmt::format("{} is not finite: NaN and infinity are refused (a missing value has no number to stand "
                          "for it; fill or drop it first)", shown);
  } else if (dtype == kFloat32 && std::abs(value) > std::numeric_limits<float>::max()) {
    problem = fmt::format("{} is too large for float32 (above 3.4e38); read the file as float64", shown);
  } else if (dtype == kFloat32) {
    // Straight from the text to float32, correctly rounded (through a double, 1 value in ~1e9 would be
    // rounded twice); below float32's smallest value it rounds to 0, as numpy does.
    float single = 0;
    const auto parsed = std::from_chars(digits.data(), end, single);
    return parsed.ec == std::errc() ? single : static_cast<float>(value);
  }
  return value;
}

// Splits a line at the delimiter. A "\r" left before the "\n" (Windows line ends) is dropped by the caller.
std::vector<std::string_view> fields_of(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const auto at = line.find(delimiter, start);
    fields.push_back(trim(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start)));
    if (at == std::string_view::npos) return fields;
    start = at + 1;
  }
}

std::string read_text_with(const std::filesystem::path& path, std::size_t max_bytes, char delimiter) {
  std::string bytes = read_bytes(path, max_bytes);
  if (!is_gzip(bytes)) return bytes;
  return gunzip(path, bytes, max_bytes, delimiter);
}

}  // namespace

std::string read_text(const std::filesystem::path& path, std::size_t max_bytes) {
  return read_text_with(path, max_bytes, ',');
}

CsvTable read_csv(const std::filesystem::path& path, const CsvOptions& options) {
  if (options.dtype != kFloat32 && options.dtype != kFloat64) {
    throw DTypeError(fmt::format("read_csv: dtype must be float32 or float64, got {}", options.dtype));
  }
  if (options.delimiter == '\n' || options.delimiter == '\r' || options.delimiter == ' ' || options.delimiter == '\t' ||
      options.delimiter == '.' || options.delimiter == '-' || options.delimiter == '+' ||
      (options.delimiter >= '0' && options.delimiter <= '9')) {
    throw ValueError(fmt::format("read_csv: the delimiter cannot be '{}': it is part of a number or of the "
                                 "spacing around one", io::detail::printable(std::string_view(&options.delimiter, 1))));
  }
  const std::string text = read_text_with(path, options.max_bytes, options.delimiter);
  std::string_view rest = text;
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);  // UTF-8 byte-order mark

  CsvTable table;
  std::vector<double> values;
  std::int64_t columns = 0, rows = 0, line_number = 0, first_row_line = 0;
  bool header_pending = options.header;
  std::string problem;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (blank(line)) continue;
    const auto fields = fields_of(line, options.delimiter);
    const auto count = static_cast<std::int64_t>(fields.size());
    if (header_pending) {
      for (const auto name : fields) table.names.emplace_back(name);
      columns = count;
      first_row_line = line_number;
      header_pending = false;
      continue;
    }
    if (columns == 0) {
      columns = count;
      first_row_line = line_number;
    }
    if (count != columns) {
      throw CsvError(path, line_number, std::min(count, columns) + 1,
                     fmt::format("this row has {} field{} but line {} has {}{}", count, count == 1 ? "" : "s",
                                 first_row_line, columns,
                                 count < columns ? " (a short row: a value is missing)" : " (a long row)"));
    }
    for (std::int64_t c = 0; c < count; ++c) {
      const double value = parse_number(fields[static_cast<std::size_t>(c)], options.dtype, problem);
      if (!problem.empty()) {
        if (rows == 0 && !options.header && problem.ends_with("is not a number")) {
          problem += " (if the first line names the columns, set header = true)";
        }
        throw CsvError(path, line_number, c + 1, problem);
      }
      values.push_back(value);
    }
    ++rows;
  }
  if (rows == 0) {
    throw CsvError(path, line_number + 1, 1,
                   text.empty() ? "the file is empty: there are no rows"
                                : "there are no rows of numbers (only blank lines or a header)");
  }
  if (options.dtype == kFloat64) {
    table.values = tensor_of<double>(values, {rows, columns});
  } else {
    table.values = tensor_of<float>(std::vector<float>(values.begin(), values.end()), {rows, columns});
  }
  return table;
}

}  // namespace attograd::train
