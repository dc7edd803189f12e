/// \file
/// The kinds of failure the io functions report, so that a program can react to
/// each without matching message text. Every one derives from attograd::IoError (core/errors.hpp), so
/// `catch (const IoError&)` still catches them all, and each message still names the file and values.
///
/// \code
/// try { io::load_checkpoint("ckpt.safetensors", model); }
/// catch (const io::FileAccessError& e) { /* no such file, a directory or a pipe, no permission */ }
/// catch (const io::UnsupportedFileError& e) { /* a valid file attograd does not read: an I8 tensor */ }
/// catch (const io::MalformedFileError& e) { /* truncated, corrupted or hostile: use another copy */ }
/// catch (const io::MismatchError& e) { /* a good file, but for another model */ }
/// \endcode
#pragma once

#include "attograd/core/errors.hpp"

namespace attograd::io {

/// The operating system could not give us the file, or take it: it does not exist, is not a regular file
/// (a directory, a named pipe, a device, a socket), permission is denied, a read or write failed, the disk
/// is full, the file shrank while it was read. The bytes were never judged.
class FileAccessError : public IoError { using IoError::IoError; };

/// The bytes are not a valid safetensors file: shorter than 8 bytes, a header length past the end, a
/// header that is not UTF-8 JSON, starts with a byte-order mark or breaks the format's structure, sizes that
/// disagree with shape and dtype, offsets that overlap, leave gaps or reach outside the file, BOOL bytes
/// other than 0 and 1. A damaged or hostile file; another copy of it may be good.
class MalformedFileError : public IoError { using IoError::IoError; };

/// A file the format allows that attograd does not read: a dtype other than F32, F64, I64 and BOOL (and
/// F16 and BF16, read as float32, unless LoadLimits::refuse_half refuses them), a rank
/// above kMaxRank, a size above 2^63 - 1, an empty tensor whose other sizes multiply past 2^63 - 1 (its
/// strides would not fit), an empty tensor name or one holding a NUL byte (attograd refuses both, see
/// io/safetensors.hpp). Converting the file (with Python's safetensors, say) is the way forward.
class UnsupportedFileError : public IoError { using IoError::IoError; };

/// The file goes past a cap of LoadLimits (io/safetensors.hpp): the header length, the number of tensors
/// or of metadata entries. Raise the limit if the file is trusted.
class LimitExceededError : public IoError { using IoError::IoError; };

/// The file is valid but does not hold what was asked for: SafetensorsFile::at() of a name it lacks, a
/// checkpoint whose tensors do not match the model (missing, unexpected, of another shape or dtype).
class MismatchError : public IoError { using IoError::IoError; };

}  // namespace attograd::io
