#include "io/safetensors_header.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attograd/core/errors.hpp"
#include "io/text.hpp"

namespace attograd::io::detail {

std::string_view dtype_code(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

bool parse_dtype_code(std::string_view code, DType& dtype) {
  for (DType t : {DType::Float32, DType::Float64, DType::Int64, DType::Bool}) {
    if (code == dtype_code(t)) {
      dtype = t;
      return true;
    }
  }
  return false;
}

std::uint64_t read_header_length(const unsigned char* first8, std::uint64_t file_bytes, std::string_view source,
                                 const LoadLimits& limits) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | first8[i];
  if (n > limits.max_header_bytes) {
    throw IoError(fmt::format("{}: header length {} exceeds the limit of {} bytes", source, n,
                              limits.max_header_bytes));
  }
  // file_bytes >= 8 here, and comparing with file_bytes - 8 cannot overflow where 8 + n could.
  if (n > file_bytes - 8) {
    throw IoError(fmt::format("{}: header length {} does not fit in the file of {} bytes (at most {} after the "
                              "8-byte length)",
                              source, n, file_bytes, file_bytes - 8));
  }
  return n;
}

namespace {

using json = nlohmann::json;

// The SAX events of a header, checked as they come: anything out of place throws at once, so a hostile
// header costs at most one pass over its bytes and memory for the entries it may hold.
class HeaderReader {
 public:
  HeaderReader(std::string_view source, const LoadLimits& limits) : source_(source), limits_(limits) {}

  Header& header() { return header_; }

  bool start_object(std::size_t) {
    if (where_ == Where::Start) {
      where_ = Where::Top;
    } else if (where_ == Where::TopValue && key_ == "__metadata__") {
      where_ = Where::Metadata;
    } else if (where_ == Where::TopValue) {
      where_ = Where::Entry;
      entry_ = HeaderEntry{};
      entry_.name = std::move(key_);
      seen_ = 0;
    } else {
      unexpected("an object");
    }
    return true;
  }

  bool key(std::string& key) {
    if (where_ == Where::Top) {
      if (key == "__metadata__") {
        if (has_metadata_) fail("'__metadata__' appears twice");
        has_metadata_ = true;
      } else if (header_.entries.size() >= limits_.max_tensors) {
        fail(fmt::format("the header declares more than {} tensors (the limit)", limits_.max_tensors));
      }
      key_ = std::move(key);
      where_ = Where::TopValue;
    } else if (where_ == Where::Entry) {
      field_ = key == "dtype" ? Field::Dtype : key == "shape" ? Field::Shape
             : key == "data_offsets" ? Field::Offsets : Field::None;
      if (field_ == Field::None) {
        fail(fmt::format("tensor '{}': unknown key '{}' (expected dtype, shape, data_offsets)",
                         printable(entry_.name), printable(key)));
      }
      const unsigned bit = 1u << static_cast<int>(field_);
      if ((seen_ & bit) != 0) fail(fmt::format("tensor '{}': key '{}' appears twice", printable(entry_.name), key));
      seen_ |= bit;
    } else if (where_ == Where::Metadata) {
      if (header_.metadata.contains(key)) fail(fmt::format("metadata key '{}' appears twice", printable(key)));
      if (header_.metadata.size() >= limits_.max_metadata_entries) {
        fail(fmt::format("the header has more than {} metadata entries (the limit)", limits_.max_metadata_entries));
      }
      key_ = std::move(key);
    }
    return true;
  }

  bool end_object() {
    if (where_ == Where::Entry) {
      for (Field f : {Field::Dtype, Field::Shape, Field::Offsets}) {
        if ((seen_ & (1u << static_cast<int>(f))) == 0) {
          fail(fmt::format("tensor '{}': the entry has no '{}'", printable(entry_.name), field_name(f)));
        }
      }
      header_.entries.push_back(std::move(entry_));
      where_ = Where::Top;
    } else if (where_ == Where::Metadata) {
      where_ = Where::Top;
    } else {
      where_ = Where::Done;  // the top-level object: nlohmann only ends objects it started
    }
    return true;
  }

  bool start_array(std::size_t) {
    if (where_ == Where::Entry && field_ == Field::Shape) {
      where_ = Where::Shape;
    } else if (where_ == Where::Entry && field_ == Field::Offsets) {
      where_ = Where::Offsets;
      offsets_ = 0;
    } else {
      unexpected("an array");
    }
    return true;
  }

  bool end_array() {
    if (where_ == Where::Offsets && offsets_ != 2) {
      fail(fmt::format("tensor '{}': data_offsets has {} value{}, expected 2 (begin and end)", printable(entry_.name),
                       offsets_, offsets_ == 1 ? "" : "s"));
    }
    where_ = Where::Entry;
    return true;
  }

  bool number_unsigned(std::uint64_t value) {
    const std::string name = where_ == Where::Shape || where_ == Where::Offsets ? printable(entry_.name) : "";
    if (where_ == Where::Shape) {
      if (entry_.shape.rank() == kMaxRank) {
        fail(fmt::format("tensor '{}': shape has more than {} dims (attograd's maximum rank)", name, kMaxRank));
      }
      if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        fail(fmt::format("tensor '{}': shape size {} is larger than 2^63 - 1", name, value));
      }
      entry_.shape.push_back(static_cast<std::int64_t>(value));
    } else if (where_ == Where::Offsets) {
      if (offsets_ == 2) fail(fmt::format("tensor '{}': data_offsets has more than 2 values", name));
      (offsets_++ == 0 ? entry_.begin : entry_.end) = value;
    } else {
      unexpected(fmt::format("the number {}", value));
    }
    return true;
  }

  bool number_integer(std::int64_t value) {
    if (value >= 0) return number_unsigned(static_cast<std::uint64_t>(value));
    if (where_ == Where::Shape || where_ == Where::Offsets) {
      fail(fmt::format("tensor '{}': {} has a negative value {}", printable(entry_.name),
                       where_ == Where::Shape ? "shape" : "data_offsets", value));
    }
    unexpected(fmt::format("the number {}", value));
    return true;
  }

  bool number_float(double, const std::string& text) {
    if (where_ == Where::Shape || where_ == Where::Offsets) {
      fail(fmt::format("tensor '{}': {} must hold non-negative integers below 2^64, got {}", printable(entry_.name),
                       where_ == Where::Shape ? "shape" : "data_offsets", printable(text)));
    }
    unexpected(fmt::format("the number {}", printable(text)));
    return true;
  }

  bool string(std::string& value) {
    if (where_ == Where::Entry && field_ == Field::Dtype) {
      if (!parse_dtype_code(value, entry_.dtype)) {
        fail(fmt::format("tensor '{}': dtype '{}' is not supported (attograd reads F32, F64, I64 and BOOL)",
                         printable(entry_.name), printable(value)));
      }
    } else if (where_ == Where::Metadata) {
      header_.metadata.emplace(std::move(key_), std::move(value));
    } else {
      unexpected(fmt::format("the string '{}'", printable(value)));
    }
    return true;
  }

  bool null() { return unexpected("null"); }
  bool boolean(bool value) { return unexpected(value ? "true" : "false"); }
  bool binary(json::binary_t&) { return unexpected("binary data"); }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    fail(fmt::format("the header is not valid JSON: {}", e.what()));
    return false;
  }

 private:
  enum class Where { Start, Top, TopValue, Entry, Shape, Offsets, Metadata, Done };
  enum class Field { Dtype, Shape, Offsets, None };

  static std::string_view field_name(Field f) {
    return f == Field::Dtype ? "dtype" : f == Field::Shape ? "shape" : "data_offsets";
  }

  [[noreturn]] void fail(const std::string& what) const { throw IoError(fmt::format("{}: {}", source_, what)); }

  // A value of the wrong kind: says what was expected where.
  [[noreturn]] bool unexpected(const std::string& got) const {
    switch (where_) {
      case Where::Start: fail(fmt::format("the header must be a JSON object, got {}", got));
      case Where::TopValue:
        if (key_ == "__metadata__") fail(fmt::format("'__metadata__' must be an object, got {}", got));
        fail(fmt::format("tensor '{}': the entry must be an object, got {}", printable(key_), got));
      case Where::Entry:
        fail(fmt::format("tensor '{}': '{}' must be {}, got {}", printable(entry_.name), field_name(field_),
                         field_ == Field::Dtype ? "a string" : "an array of integers", got));
      case Where::Shape:
      case Where::Offsets:
        fail(fmt::format("tensor '{}': {} must hold non-negative integers, got {}", printable(entry_.name),
                         where_ == Where::Shape ? "shape" : "data_offsets", got));
      case Where::Metadata:
        fail(fmt::format("metadata '{}' must be a string, got {}", printable(key_), got));
      default: fail(fmt::format("unexpected {} in the header", got));
    }
  }

  std::string_view source_;
  const LoadLimits& limits_;
  Header header_;
  Where where_ = Where::Start;
  Field field_ = Field::None;
  std::string key_;        // the top-level key or metadata key whose value comes next
  HeaderEntry entry_;      // the entry being read
  unsigned seen_ = 0;      // which of its fields have appeared, a bit per Field
  int offsets_ = 0;        // how many data_offsets values have appeared
  bool has_metadata_ = false;
};

}  // namespace

Header parse_header(std::string_view text, std::uint64_t data_bytes, std::string_view source,
                    const LoadLimits& limits) {
  auto fail = [&](const std::string& what) { throw IoError(fmt::format("{}: {}", source, what)); };
  std::size_t bad = 0;
  if (!is_utf8(text, &bad)) {
    fail(fmt::format("the header is not valid UTF-8 (byte 0x{:02x} at offset {} of the header)",
                     static_cast<unsigned char>(text[bad]), bad));
  }
  // nlohmann's lexer stops at a NUL byte as if the input ended there, so "{}\0<anything>" would pass.
  // No JSON text holds a raw NUL (inside a string it must be written \u0000).
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    fail(fmt::format("the header is not valid JSON: a NUL byte at offset {} of the header", nul));
  }
  HeaderReader reader(source, limits);
  json::sax_parse(text.begin(), text.end(), &reader);
  Header& header = reader.header();
  std::vector<HeaderEntry>& entries = header.entries;

  // Names: sort a list of indices by name, so that duplicates are neighbours.
  std::vector<std::size_t> by_name(entries.size());
  std::iota(by_name.begin(), by_name.end(), std::size_t{0});
  std::sort(by_name.begin(), by_name.end(), [&](auto a, auto b) { return entries[a].name < entries[b].name; });
  for (std::size_t i = 1; i < by_name.size(); ++i) {
    if (entries[by_name[i]].name == entries[by_name[i - 1]].name) {
      fail(fmt::format("tensor '{}' appears twice in the header", printable(entries[by_name[i]].name)));
    }
  }

  // Sizes, with every product checked: the element count must fit in int64 (with zero sizes counted
  // as 1, so that the strides of an empty tensor fit too), the byte count in uint64.
  constexpr auto kMaxInt64 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  for (const HeaderEntry& e : entries) {
    const std::string name = printable(e.name);
    std::uint64_t numel = 1, span = 1;
    for (std::int64_t d : e.shape) {
      const auto size = static_cast<std::uint64_t>(d);
      if (__builtin_mul_overflow(span, std::max<std::uint64_t>(size, 1), &span) || span > kMaxInt64) {
        fail(fmt::format("tensor '{}': shape {} has more elements than fit in 64 bits", name, e.shape));
      }
      numel *= size;  // <= span, so no overflow
    }
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(numel, element_size(e.dtype), &bytes)) {
      fail(fmt::format("tensor '{}': shape {} of {} needs more than 2^64 bytes", name, e.shape, dtype_code(e.dtype)));
    }
    if (e.begin > e.end) {
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] begin after they end", name, e.begin, e.end));
    }
    if (e.end - e.begin != bytes) {
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {}", name, e.begin,
                       e.end, e.end - e.begin, e.shape, dtype_code(e.dtype), bytes));
    }
    if (e.end > data_bytes) {
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] reach past the data buffer of {} bytes (the file is "
                       "truncated or the offsets are wrong)",
                       name, e.begin, e.end, data_bytes));
    }
  }

  // Sorted by begin (then end, so that an empty tensor comes before a full one at the same offset; empty
  // tensors at one offset stay in header order), the tensors must tile [0, data_bytes): each begins
  // where the previous one ended.
  std::stable_sort(entries.begin(), entries.end(),
            [](const HeaderEntry& a, const HeaderEntry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  std::uint64_t expected = 0;
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry& e : entries) {
    if (e.begin < expected) {
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] overlap tensor '{}' at [{}, {}]", printable(e.name), e.begin,
                       e.end, printable(previous->name), previous->begin, previous->end));
    }
    if (e.begin > expected) {
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] leave a gap of {} unused bytes [{}, {}) before it",
                       printable(e.name), e.begin, e.end, e.begin - expected, expected, e.begin));
    }
    expected = e.end;
    previous = &e;
  }
  if (expected != data_bytes) {
    fail(fmt::format("the tensors end at byte {} of the data buffer but the file has {} more bytes after it "
                     "(trailing bytes)",
                     expected, data_bytes - expected));
  }
  return std::move(header);
}

}  // namespace attograd::io::detail
