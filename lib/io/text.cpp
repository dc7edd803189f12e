#include "io/text.hpp"

#include <fmt/format.h>

namespace attograd::io::detail {

bool is_utf8(std::string_view text, std::size_t* bad_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  auto fail = [&] {
    if (bad_offset != nullptr) *bad_offset = i;
    return false;
  };
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The lead byte gives the length and the range the second byte may take (which excludes overlong
    // forms, UTF-16 surrogates and code points past U+10FFFF); later bytes are 0x80..0xBF.
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return fail();
    }
    if (n - i < length || s[i + 1] < low || s[i + 1] > high) return fail();
    for (std::size_t k = 2; k < length; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return fail();
    }
    i += length;
  }
  return true;
}

std::string printable(std::string_view name) {
  constexpr std::size_t kMax = 64;
  std::string out;
  std::size_t i = 0;
  for (; i < name.size() && out.size() < kMax; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < name.size()) {
    // Do not cut a UTF-8 character in half.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += fmt::format("... ({} bytes)", name.size());
  }
  return out;
}

}  // namespace attograd::io::detail
