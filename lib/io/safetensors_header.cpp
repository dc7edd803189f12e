#include "io/safetensors_header.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attograd/io/errors.hpp"
#include "io/header_reader.hpp"
#include "io/json_input.hpp"
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

std::string_view dtype_code(DType dtype, Stored stored) {
  return stored == Stored::F16 ? "F16" : stored == Stored::BF16 ? "BF16" : dtype_code(dtype);
}

bool parse_dtype_code(std::string_view code, DType& dtype, Stored& stored) {
  for (Stored half : {Stored::F16, Stored::BF16}) {
    if (code == dtype_code(DType::Float32, half)) {
      dtype = DType::Float32;
      stored = half;
      return true;
    }
  }
  for (DType t : {DType::Float32, DType::Float64, DType::Int64, DType::Bool}) {
    if (code == dtype_code(t)) {
      dtype = t;
      stored = Stored::AsDType;
      return true;
    }
  }
  return false;
}

std::size_t stored_size(DType dtype, Stored stored) { return stored == Stored::AsDType ? element_size(dtype) : 2; }

std::uint64_t read_header_length(const unsigned char* first8, std::uint64_t file_bytes, std::string_view source,
                                 const LoadLimits& limits) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | first8[i];
  // A length past the end is damage, whatever the cap, so it is checked first. file_bytes >= 8 here, and
  // comparing with file_bytes - 8 cannot overflow where 8 + n could.
  if (n > file_bytes - 8) {
    throw MalformedFileError(fmt::format("{}: header length {} does not fit in the file of {} bytes (at most {} "
                                         "after the 8-byte length)",
                                         source, n, file_bytes, file_bytes - 8));
  }
  if (n > limits.max_header_bytes) {
    throw LimitExceededError(fmt::format("{}: header length {} exceeds the limit of {} bytes", source, n,
                                         limits.max_header_bytes));
  }
  return n;
}

namespace {

using json = nlohmann::json;

// Moves the entries into the order of their data (entries[i] becomes what entries[order[i]] was), in
// place, one cycle of the permutation at a time: a copy of a million entries would cost hundreds of MB.
// The name index follows them.
void put_in_data_order(Header& header, const std::vector<std::size_t>& order) {
  std::vector<HeaderEntry>& entries = header.entries;
  std::vector<std::size_t> position(order.size());  // where each entry goes
  for (std::size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  for (std::size_t& k : header.by_name) k = position[k];
  std::vector<bool> placed(order.size(), false);
  for (std::size_t start = 0; start < order.size(); ++start) {
    if (placed[start]) continue;
    HeaderEntry first = std::move(entries[start]);
    std::size_t i = start;
    for (; order[i] != start; i = order[i]) {
      entries[i] = std::move(entries[order[i]]);
      placed[i] = true;
    }
    entries[i] = std::move(first);
    placed[i] = true;
  }
}

}  // namespace

Header parse_header(std::string_view text, std::uint64_t data_bytes, std::string_view source,
                    const LoadLimits& limits) {
  auto fail = [&](const std::string& what) { throw MalformedFileError(fmt::format("{}: {}", source, what)); };
  // nlohmann's lexer skips a byte-order mark; the reference reader (serde_json) refuses one, and a file
  // one reader takes must not be refused by the other.
  if (text.starts_with("\xef\xbb\xbf")) {
    fail("the header starts with a UTF-8 byte-order mark (bytes ef bb bf), which the format does not allow: it "
         "must start with the JSON text");
  }
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
  json::sax_parse(SqueezedJson(text, reader.progress(text.data())), SqueezedJson::end(text), &reader);
  Header& header = reader.header();
  std::vector<HeaderEntry>& entries = header.entries;

  // Names: sort a list of indices by name, so that duplicates are neighbours. The list becomes the
  // file's index for lookups by name (SafetensorsFile::at).
  std::vector<std::size_t>& by_name = header.by_name;
  by_name.resize(entries.size());
  std::iota(by_name.begin(), by_name.end(), std::size_t{0});
  std::sort(by_name.begin(), by_name.end(), [&](auto a, auto b) { return entries[a].name < entries[b].name; });
  for (std::size_t i = 1; i < by_name.size(); ++i) {
    if (entries[by_name[i]].name == entries[by_name[i - 1]].name) {
      fail(fmt::format("tensor '{}' appears twice in the header", printable(entries[by_name[i]].name)));
    }
  }

  // Sizes, with every product checked. The element count must fit in int64: more elements than that
  // need 2^63 bytes or more, which no file holds. A tensor with no elements needs no bytes, whatever its
  // other sizes; but the product of those (its first contiguous stride) must fit in int64 too.
  constexpr auto kMaxInt64 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  for (const HeaderEntry& e : entries) {
    const std::string name = printable(e.name);
    std::uint64_t span = 1;  // the product of the sizes, with zeros counted as 1
    bool overflow = false, empty = false;
    for (std::int64_t d : e.shape) {
      const auto size = static_cast<std::uint64_t>(d);
      empty = empty || size == 0;
      overflow = overflow || __builtin_mul_overflow(span, std::max<std::uint64_t>(size, 1), &span) || span > kMaxInt64;
    }
    if (overflow && !empty) {
      fail(fmt::format("tensor '{}': shape {} has more elements than int64 can count (2^63 - 1), so no file can hold "
                       "its data",
                       name, e.shape));
    }
    if (overflow) {
      throw UnsupportedFileError(fmt::format("{}: tensor '{}': shape {} has no elements, but its other sizes multiply "
                                             "to more than 2^63 - 1, which attograd's strides cannot hold",
                                             source, name, e.shape));
    }
    const std::uint64_t numel = empty ? 0 : span;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(numel, stored_size(e.dtype, e.stored), &bytes)) {
      fail(fmt::format("tensor '{}': shape {} of {} needs more than 2^64 bytes", name, e.shape,
                       dtype_code(e.dtype, e.stored)));
    }
    if (e.begin > e.end) {
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] begin after they end", name, e.begin, e.end));
    }
    if (e.end - e.begin != bytes) {
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {}", name, e.begin,
                       e.end, e.end - e.begin, e.shape, dtype_code(e.dtype, e.stored), bytes));
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
  std::vector<std::size_t> by_offset(entries.size());
  std::iota(by_offset.begin(), by_offset.end(), std::size_t{0});
  std::stable_sort(by_offset.begin(), by_offset.end(), [&](auto a, auto b) {
    return std::tie(entries[a].begin, entries[a].end) < std::tie(entries[b].begin, entries[b].end);
  });
  std::uint64_t expected = 0;
  const HeaderEntry* previous = nullptr;
  for (std::size_t i : by_offset) {
    const HeaderEntry& e = entries[i];
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
  put_in_data_order(header, by_offset);
  return std::move(header);
}

}  // namespace attograd::io::detail
