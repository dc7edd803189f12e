// attograd/io/safetensors.hpp: named tensors to and from files in the safetensors layout, plain data
// that other tools (Python's safetensors, PyTorch, NumPy with a few lines) read too.
//
//   save_tensors("weights.safetensors", {{"w", w}, {"b", b}}, {{"note", "after epoch 3"}});
//   SafetensorsFile f = load_tensors("weights.safetensors");
//   Tensor w2 = f.at("w");                       // same shape, dtype and values as w
//   fmt::print("{}\n", f.metadata.at("note"));   // after epoch 3
//
// The layout:
//   8 bytes       N, the header length, an unsigned little-endian integer
//   N bytes       UTF-8 JSON: {"__metadata__": {"key": "value", ...},
//                              "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
//                 padded with spaces so that the data starts at a multiple of 8 bytes
//   the rest      the data buffer: each tensor's elements, row-major, little-endian, at
//                 [begin, end) of data_offsets (counted from the start of this buffer)
// dtypes: F32, F64, I64 and BOOL (one byte, 0 or 1). save_tensors writes the tensors sorted by name,
// each right after the previous one, and the file atomically (io/atomic_file.hpp).
//
// load_tensors trusts nothing in the file. It checks, before it allocates any tensor: the header
// length against the file and against max_header_bytes; that the header is UTF-8, JSON and an object;
// that each entry has exactly dtype, shape and data_offsets; known dtypes; unique names; shapes of at
// most kMaxRank non-negative sizes whose byte count, computed with overflow checks, equals
// end - begin; at most max_tensors entries; and that the tensors, sorted by begin, tile the data buffer
// from 0 to the end of the file with no gap, overlap or trailing byte (the order of the entries in the
// JSON does not matter, as JSON objects have none). BOOL bytes must be 0 or 1.
// Every failure is an IoError naming the file, the tensor and the values. Memory stays bounded by the
// file size plus the per-entry bookkeeping, bounded by the caps below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attograd/core/tensor.hpp"

namespace attograd::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

// The documented limits of load_tensors. A real model's header is a few hundred kilobytes for
// thousands of tensors; these leave room for far bigger ones while keeping a hostile header from
// making the loader use unbounded time or memory.
inline constexpr std::uint64_t kMaxHeaderBytes = std::uint64_t{100} << 20;  // 100 MiB
// Each entry costs some bookkeeping (a few hundred bytes per tensor, about a hundred per metadata
// key), so the entry counts are capped too: a 100 MiB header of tiny entries cannot take gigabytes.
inline constexpr std::size_t kMaxTensors = 1'000'000;
inline constexpr std::size_t kMaxMetadataEntries = 100'000;

struct LoadLimits {
  std::uint64_t max_header_bytes = kMaxHeaderBytes;
  std::size_t max_tensors = kMaxTensors;
  std::size_t max_metadata_entries = kMaxMetadataEntries;
};

// What a file holds: the tensors in the order of their data in the file, and the metadata.
struct SafetensorsFile {
  NamedTensors tensors;
  Metadata metadata;

  bool contains(std::string_view name) const;
  // The tensor called name, or IoError listing the names there are.
  const Tensor& at(std::string_view name) const;
};

// Writes the tensors (any dtype, any strides; each name once, not "__metadata__", valid UTF-8) and
// the metadata atomically. Bad arguments are ValueError; failures to write are IoError.
void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata = {});
// Reads and validates a whole file (see above). The tensors are new, contiguous, and require no grad.
SafetensorsFile load_tensors(const std::filesystem::path& path, const LoadLimits& limits = {});

// The same two in memory: the exact bytes save_tensors writes, and a parser of bytes from anywhere
// (a network, a fuzzer). `source` names the bytes in error messages.
std::string serialize_tensors(const NamedTensors& tensors, const Metadata& metadata = {});
SafetensorsFile parse_tensors(std::string_view bytes, std::string_view source = "<memory>",
                              const LoadLimits& limits = {});

}  // namespace attograd::io
