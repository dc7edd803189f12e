// Safetensors files built byte by byte, for the tests of hostile and hand-written files.
#pragma once

#include <cstdint>
#include <string>

namespace attograd::testing {

// n as the format's 8-byte little-endian header length.
inline std::string le64(std::uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i, n >>= 8) out[i] = static_cast<char>(n & 0xFF);
  return out;
}

// A file: the header's length, the header, the data.
inline std::string file_with(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

}  // namespace attograd::testing
