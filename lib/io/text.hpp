// Text checks for lib/io: is a string well-formed UTF-8 (safetensors headers and names must be), and
// how a name read from an untrusted file is shown in an error message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace attograd::io::detail {

// Is text well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF)? If not, the
// offset of the first bad byte.
bool is_utf8(std::string_view text, std::size_t* bad_offset = nullptr);

// A name as error messages show it: control characters escaped as \xNN, cut after 64 bytes (at a
// character boundary) with the full length noted, so that a hostile 100 MB name stays readable.
std::string printable(std::string_view name);

}  // namespace attograd::io::detail
