// JSON text as nlohmann's SAX parser should read it: byte by byte, with each run of whitespace outside
// strings shortened to its first byte. Internal to lib/io.
//
// Why: nlohmann's lexer keeps every byte it reads between two tokens (for its error messages) in a
// buffer that it empties only at the next string, number or literal. A header padded with 50 MB of
// spaces (the format pads headers with spaces, and nothing limits how many) filled that buffer with
// 50 MB more, and up to twice that while the buffer grew: the parse peaked at 2.3 times the header.
// One whitespace byte in place of a run is the same JSON, and the buffer stays small.
//
//   const char* furthest = text.data();
//   json::sax_parse(SqueezedJson(text, &furthest), SqueezedJson::end(text), &reader);
//   // furthest - text.data(): how many bytes of the real text the parser has read, for error messages
#pragma once

#include <cstddef>
#include <iterator>
#include <string_view>

namespace attograd::io::detail {

class SqueezedJson {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  // The first byte of text; `furthest`, if given, follows how far the parser has read.
  SqueezedJson(std::string_view text, const char** furthest)
      : at_(text.data()), end_(text.data() + text.size()), furthest_(furthest) {}
  // Past the last byte: compares equal to an iterator that has read everything.
  static SqueezedJson end(std::string_view text) { return {text.substr(text.size()), nullptr}; }

  reference operator*() const { return *at_; }

  SqueezedJson& operator++() {
    const char c = *at_++;
    // Inside a string every byte counts; a quote ends it unless a backslash escapes it.
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
    } else if (c == '"') {
      in_string_ = true;
    } else if (is_space(c)) {
      while (at_ != end_ && is_space(*at_)) ++at_;
    }
    if (furthest_ != nullptr) *furthest_ = at_;
    return *this;
  }
  SqueezedJson operator++(int) {
    SqueezedJson before = *this;
    ++*this;
    return before;
  }

  friend bool operator==(const SqueezedJson& a, const SqueezedJson& b) { return a.at_ == b.at_; }

 private:
  // JSON's whitespace (RFC 8259, section 2).
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  const char* at_;
  const char* end_;
  const char** furthest_;
  bool in_string_ = false;
  bool escaped_ = false;
};

}  // namespace attograd::io::detail
