// The safetensors header's JSON, read by a streaming (SAX) parser that checks each event as it comes:
// the structure (an object of entries and one '__metadata__' object), the keys of each entry, the kinds
// of their values, the dtypes, ranks and sizes, the names, and the caps on entries. Internal to lib/io;
// parse_header (safetensors_header.cpp) feeds it and checks what it collects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attograd/io/errors.hpp"
#include "io/safetensors_header.hpp"
#include "io/text.hpp"

namespace attograd::io::detail {

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
        over_limit(fmt::format("the header declares more than {} tensors (the limit)", limits_.max_tensors));
      } else {
        check_name(key);
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
        over_limit(fmt::format("the header has more than {} metadata entries (the limit)",
                               limits_.max_metadata_entries));
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
        unsupported(fmt::format("tensor '{}': shape has more than {} dims (attograd's maximum rank)", name, kMaxRank));
      }
      if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        unsupported(fmt::format("tensor '{}': shape size {} is larger than 2^63 - 1", name, value));
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
      if (!parse_dtype_code(value, entry_.dtype, entry_.stored)) {
        unsupported(fmt::format("tensor '{}': dtype '{}' is not supported (attograd reads F32, F64, I64 and BOOL, "
                                "and F16 and BF16 as float32)",
                                printable(entry_.name), printable(value)));
      } else if (entry_.stored != Stored::AsDType && limits_.refuse_half) {
        unsupported(fmt::format("tensor '{}' is {}, half precision, which this load refuses (LoadLimits::refuse_half); "
                                "without it, attograd reads it as float32, exactly",
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
  bool binary(nlohmann::json::binary_t&) { return unexpected("binary data"); }

  // nlohmann says where it stopped as a line and column of what it read, which the squeezed whitespace
  // (json_input.hpp) shifts: the byte offset in the real text replaces them.
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    std::string what = e.what();
    if (const auto at = what.find(" at line "); at != std::string::npos) {
      if (const auto colon = what.find(": ", at); colon != std::string::npos) what.erase(at, colon - at);
    }
    const std::ptrdiff_t read = furthest_ - start_;
    fail(fmt::format("the header is not valid JSON: {} (at byte {} of the header)", what, read > 0 ? read - 1 : 0));
    return false;
  }

  // How many bytes of the header the parser has read, kept up to date by the input (json_input.hpp).
  const char** progress(const char* start) {
    start_ = start;
    furthest_ = start;
    return &furthest_;
  }

 private:
  enum class Where { Start, Top, TopValue, Entry, Shape, Offsets, Metadata, Done };
  enum class Field { Dtype, Shape, Offsets, None };

  static std::string_view field_name(Field f) {
    return f == Field::Dtype ? "dtype" : f == Field::Shape ? "shape" : "data_offsets";
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw MalformedFileError(fmt::format("{}: {}", source_, what));
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw UnsupportedFileError(fmt::format("{}: {}", source_, what));
  }
  [[noreturn]] void over_limit(const std::string& what) const {
    throw LimitExceededError(fmt::format("{}: {}", source_, what));
  }

  // The format allows any name; attograd refuses two kinds (io/safetensors.hpp says why).
  void check_name(const std::string& name) const {
    if (name.empty()) unsupported("a tensor has an empty name, which attograd does not accept");
    if (const std::size_t nul = name.find('\0'); nul != std::string::npos) {
      unsupported(fmt::format("tensor '{}': the name holds a NUL byte (at offset {}), which attograd does not accept",
                              printable(name), nul));
    }
  }

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
  const char* start_ = nullptr;     // the header's first byte
  const char* furthest_ = nullptr;  // one past the last byte the parser has read
};

}  // namespace attograd::io::detail
