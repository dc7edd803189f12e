/// \file
/// Named tensors to and from files in the safetensors layout, plain data
/// that other tools (Python's safetensors, PyTorch, NumPy with a few lines) read too.
///
/// \code
/// save_tensors("weights.safetensors", {{"w", w}, {"b", b}}, {{"note", "after epoch 3"}});
/// SafetensorsFile f = load_tensors("weights.safetensors");
/// Tensor w2 = f.at("w");                       // same shape, dtype and values as w
/// fmt::print("{}\n", f.metadata.at("note"));   // after epoch 3
/// \endcode
///
/// The layout:
/// \code
/// 8 bytes       N, the header length, an unsigned little-endian integer
/// N bytes       UTF-8 JSON: {"__metadata__": {"key": "value", ...},
///                            "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
///               padded with spaces so that the data starts at a multiple of 8 bytes
/// the rest      the data buffer: each tensor's elements, row-major, little-endian, at
///               [begin, end) of data_offsets (counted from the start of this buffer)
/// \endcode
/// dtypes: F32, F64, I64 and BOOL (one byte, 0 or 1), and the 16-bit floats most shared checkpoints
/// use, F16 (IEEE half) and BF16 (bfloat16), which load_tensors reads into float32 tensors: exactly, as
/// every 16-bit value is a float32 one (LoadLimits::refuse_half refuses them instead). save_tensors
/// writes float32 tensors as F16 or BF16 on request (SaveOptions). It writes the tensors sorted by name,
/// each right after the previous one, and the file atomically (io/atomic_file.hpp).
///
/// load_tensors trusts nothing in the file. It refuses, without opening it, a path that is not a regular
/// file (a named pipe would block the open until a writer came; a device could have side effects), and
/// checks again on the opened file. It checks, before it allocates any tensor: the header length against
/// the file and against max_header_bytes; that the header is UTF-8, JSON and an object, and does not start
/// with a byte-order mark (the reference reader refuses one too); that each entry has exactly dtype, shape
/// and data_offsets; known dtypes; unique, non-empty names without NUL bytes; shapes of at most kMaxRank
/// sizes below 2^63 whose byte count, computed with overflow checks, equals end - begin; at most
/// max_tensors entries; and that the tensors, sorted by begin, tile the data buffer from 0 to the end of
/// the file with no gap, overlap or trailing byte (the order of the entries in the JSON does not matter,
/// as JSON objects have none). BOOL bytes must be 0 or 1. A tensor with no elements may have other sizes
/// up to 2^63 - 1 as long as their product stays below 2^63 (attograd's strides must fit in int64).
///
/// Every failure names the file, the tensor and the values, and has a type telling what kind of failure
/// it is (io/errors.hpp, all derived from IoError): FileAccessError (cannot open or read, not a regular
/// file), MalformedFileError (damaged or hostile bytes), UnsupportedFileError (valid in the format but not
/// read by attograd: another dtype, a rank above kMaxRank, the names below), LimitExceededError (past a
/// cap of LoadLimits), MismatchError (at() of a name the file lacks).
///
/// Names: the format allows any string, but attograd refuses, on save (ValueError) and load
/// (UnsupportedFileError), an empty name and one holding a NUL byte. An empty name cannot be a module's
/// parameter path and reads as a missing name in messages; a NUL cuts the name short for every C string
/// API, so "w\0x" would show as, and could be taken for, "w".
///
/// Memory: the header is read into memory once (parse_tensors parses the caller's bytes in place), then
/// the tensors are allocated; runs of whitespace (the format pads with spaces) cost nothing more. So memory
/// stays bounded by the file size plus the per-entry bookkeeping, bounded by the caps below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attograd/core/tensor.hpp"
#include "attograd/io/errors.hpp"

namespace attograd::io {

namespace detail {
struct FileIndex;
}  // namespace detail

/// Tensors with their names, in order: what a file holds.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
/// A file's string metadata (the header's "__metadata__").
using Metadata = std::map<std::string, std::string>;

/// The documented limits of load_tensors. A real model's header is a few hundred kilobytes for
/// thousands of tensors; these leave room for far bigger ones while keeping a hostile header from
/// making the loader use unbounded time or memory. The header cap is the format's reference reader's
/// (100,000,000 bytes, not 100 MiB), so that the two accept the same files.
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
/// Each entry costs some bookkeeping (a few hundred bytes per tensor, about a hundred per metadata
/// key), so the entry counts are capped too: a 100 MiB header of tiny entries cannot take gigabytes.
inline constexpr std::size_t kMaxTensors = 1'000'000;
inline constexpr std::size_t kMaxMetadataEntries = 100'000;  ///< (see kMaxTensors)

/// Caps on what a file's header may claim, checked before anything is allocated for it: a file past one is
/// LimitExceededError. Raise them for a trusted file.
struct LoadLimits {
  std::uint64_t max_header_bytes = kMaxHeaderBytes;  ///< header length in bytes
  std::size_t max_tensors = kMaxTensors;  ///< number of tensors
  std::size_t max_metadata_entries = kMaxMetadataEntries;  ///< number of metadata entries
  /// Refuse F16 and BF16 tensors (UnsupportedFileError) instead of reading them as float32, for a
  /// program that must not train from weights that lost precision.
  bool refuse_half = false;
};

/// The 16-bit float formats save_tensors can store float32 tensors in.
enum class HalfFormat {
  F16,   ///< IEEE half: 11 significant bits, largest 65504 (larger values are stored as infinity)
  BF16,  ///< bfloat16: 8 significant bits, float32's range
};

/// How save_tensors stores the tensors.
struct SaveOptions {
  /// Store every float32 tensor in this format (rounded to nearest, ties to even; NaN stays NaN), in half
  /// the bytes: for sharing weights, as PyTorch users share .half() or .bfloat16() state dicts. Loading
  /// gives float32 tensors of the rounded values. float64, int64 and bool tensors are stored as they are.
  std::optional<HalfFormat> float32_as;
};

/// What a file holds: the tensors in the order of their data in the file, and the metadata.
struct SafetensorsFile {
  NamedTensors tensors;  ///< in the order of their data in the file
  Metadata metadata;  ///< the header's "__metadata__"

  /// Lookups by name take O(log n) through an index of `tensors` sorted by name, built when the file is
  /// loaded. After a change to `tensors` they still answer from what it holds, more slowly (a lookup the
  /// index cannot answer searches the whole vector) until reindex() builds the index again.
  bool contains(std::string_view name) const;
  /// The tensor called name, or MismatchError listing the names there are.
  const Tensor& at(std::string_view name) const;
  void reindex();  ///< rebuilds the index of `tensors` by name after a change to it

 private:
  friend struct detail::FileIndex;  // lets the loader hand over the index it built while checking names
  const Tensor* find(std::string_view name) const;
  std::vector<std::size_t> by_name_;  // positions in `tensors`, sorted by name
};

/// Writes the tensors (any dtype, any strides; each name once, not empty, without NUL bytes, not
/// "__metadata__", valid UTF-8) and the metadata atomically. Bad arguments are ValueError; failures to
/// write are FileAccessError.
void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata = {},
                  const SaveOptions& options = {});
/// Reads and validates a whole file (see above). The tensors are new, contiguous, and require no grad.
SafetensorsFile load_tensors(const std::filesystem::path& path, const LoadLimits& limits = {});

/// The same two in memory: the exact bytes save_tensors writes, and a parser of bytes from anywhere
/// (a network, a fuzzer). `source` names the bytes in error messages.
std::string serialize_tensors(const NamedTensors& tensors, const Metadata& metadata = {},
                              const SaveOptions& options = {});
/// Reads and validates the bytes of a whole file, as load_tensors() does a file; `source` names them
/// in error messages.
SafetensorsFile parse_tensors(std::string_view bytes, std::string_view source = "<memory>",
                              const LoadLimits& limits = {});

}  // namespace attograd::io
