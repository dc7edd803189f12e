/// \file
/// Writing a file so that readers see either the old file or the new one,
/// never a half-written mix, even if the program crashes or the machine loses power mid-write.
///
/// \code
/// AtomicFile out("model.safetensors");   // writes go to a temporary file beside it
/// out.write(header.data(), header.size());
/// out.write(data.data(), data.size());
/// out.commit();                          // flush, fsync, rename over the target, fsync the directory
/// // leaving scope without commit() (an exception) removes the temporary file; the old file stays
/// \endcode
///
/// How: the bytes go to a new file ".<name>.tmp-<pid>-<n>" in the target's directory (same directory, so
/// the same file system, so rename() is atomic). commit() flushes and fsyncs it, renames it over the
/// target (POSIX guarantees the target name then points to the old or the new file, nothing between),
/// and fsyncs the directory so the rename itself survives a power cut. A symlink at the target is
/// replaced, not followed. POSIX only.
///
/// A process killed mid-write leaves its temporary file behind (the target is intact). The next
/// AtomicFile for the same target removes such files, and only those a killed writer left: a file is
/// removed when its name is exactly one this class makes for the target, the pid in the name is not this
/// process's and names no live process, and no process holds a lock on it. Each writer holds an exclusive
/// flock() on its temporary file from creation until commit() closes it (the kernel drops the lock when
/// the process dies), so a live writer in another pid namespace sharing the directory (a container) keeps
/// its file even though its pid means nothing here. Other files, and what cannot be removed, are left.
///
/// Every failure (cannot create, disk full, short write, rename refused) is a FileAccessError
/// (io/errors.hpp) naming the target, the temporary file and the OS error; the temporary file is removed
/// and the target is untouched. Writing after commit() is a plain IoError.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

#include "attograd/io/errors.hpp"

namespace attograd::io {

/// A file written to a temporary beside its target and renamed over it on commit() (after fsync of the file
/// and of the folder): a reader sees the old file or the whole new one, never half of it.
class AtomicFile {
 public:
  /// Creates the temporary file (with the permissions a new file would get: 0666 minus the umask).
  explicit AtomicFile(std::filesystem::path target);
  /// Without commit(): removes the temporary file and leaves the target as it was.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends bytes (buffered; large writes go straight to the file).
  void write(const void* data, std::size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }  ///< \overload
  /// Makes the written bytes the content of the target. Call once; no writes after it.
  void commit();

  const std::filesystem::path& target() const { return target_; }  ///< the file it will replace
  const std::filesystem::path& temporary() const { return temporary_; }  ///< the temporary file being written

 private:
  void flush_buffer();
  void write_fully(const void* data, std::size_t size);
  void discard() noexcept;

  std::filesystem::path target_;
  std::filesystem::path temporary_;
  int fd_ = -1;
  bool committed_ = false;
  bool discarded_ = false;  // the temporary file is gone (removed after a failure)
  std::vector<char> buffer_;
};

/// The whole content at once: write_file_atomically("notes.txt", text).
void write_file_atomically(const std::filesystem::path& target, std::string_view bytes);

}  // namespace attograd::io
