// The safetensors header, checked: the JSON read by a streaming (SAX) parser that rejects anything
// unexpected as soon as it appears (header_reader.hpp), then the names, sizes and offsets checked
// against the data buffer. Internal to lib/io; io/safetensors.hpp documents what is checked, and each
// refusal throws the type io/errors.hpp gives its kind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "attograd/core/dtype.hpp"
#include "attograd/core/shape.hpp"
#include "attograd/io/safetensors.hpp"

namespace attograd::io::detail {

// How a tensor's elements are stored in the file: as its dtype, or as 16-bit floats read into float32.
enum class Stored { AsDType, F16, BF16 };

struct HeaderEntry {
  std::string name;
  DType dtype = DType::Float32;      // the tensor's dtype once loaded
  Stored stored = Stored::AsDType;  // F16 and BF16 load as float32
  Shape shape;
  std::uint64_t begin = 0;  // data_offsets, from the start of the data buffer
  std::uint64_t end = 0;
};

struct Header {
  std::vector<HeaderEntry> entries;  // sorted by data_offsets: the order of the data in the file
  Metadata metadata;
  std::vector<std::size_t> by_name;  // positions in entries, sorted by name: SafetensorsFile's index
};

// The safetensors name of a dtype ("F32") and back (false for a name attograd does not read); "F16" and
// "BF16" give Float32 stored as 16 bits.
std::string_view dtype_code(DType dtype);
std::string_view dtype_code(DType dtype, Stored stored);
bool parse_dtype_code(std::string_view code, DType& dtype, Stored& stored);
// Bytes per element in the file.
std::size_t stored_size(DType dtype, Stored stored);

// Reads the 8-byte little-endian length N at the start of a file of file_bytes bytes and checks that
// 8 + N fits in the file and N in the limit. `source` starts every message ("load_tensors: 'a.st'").
std::uint64_t read_header_length(const unsigned char* first8, std::uint64_t file_bytes, std::string_view source,
                                 const LoadLimits& limits);

// Parses and checks the N header bytes against a data buffer of data_bytes bytes. Memory: the entries,
// and nlohmann's buffers for one token (json_input.hpp keeps whitespace out of them).
Header parse_header(std::string_view json, std::uint64_t data_bytes, std::string_view source,
                    const LoadLimits& limits);

// save_tensors and load_tensors with the op that error messages start with ("save_checkpoint").
void save_tensors_as(std::string_view op, const std::filesystem::path& path, const NamedTensors& tensors,
                     const Metadata& metadata, const SaveOptions& options = {});
SafetensorsFile load_tensors_as(std::string_view op, const std::filesystem::path& path, const LoadLimits& limits);

}  // namespace attograd::io::detail
