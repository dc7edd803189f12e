#include "attograd/io/atomic_file.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"

namespace attograd::io {

namespace {

// Writes smaller than this are collected first, so that a file of a million tiny tensors is not a
// million system calls.
constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

std::string os_error(int error) { return fmt::format("{} (errno {})", std::generic_category().message(error), error); }

std::filesystem::path directory_of(const std::filesystem::path& target) {
  std::filesystem::path dir = target.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

// A name no other writer uses: the pid tells processes apart, the counter tells this process's files
// apart, and O_EXCL catches what is left (a stale file from a crashed run with a recycled pid).
std::filesystem::path temporary_name(const std::filesystem::path& target, unsigned attempt) {
  static std::atomic<unsigned> counter{0};
  return target.parent_path() /
         fmt::format(".{}.tmp-{}-{}-{}", target.filename().string(), static_cast<long>(::getpid()), counter++, attempt);
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  if (!target_.has_filename()) {
    throw IoError(fmt::format("cannot write '{}': the path names a directory, not a file", target_.string()));
  }
  for (unsigned attempt = 0;; ++attempt) {
    temporary_ = temporary_name(target_, attempt);
    // 0666 minus the umask: the permissions any newly created file gets.
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) break;
    const int error = errno;
    if (error == EEXIST && attempt < 100) continue;
    throw IoError(fmt::format("cannot write '{}': cannot create the temporary file '{}': {}", target_.string(),
                              temporary_.string(), os_error(error)));
  }
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!discarded_) ::unlink(temporary_.c_str());
  discarded_ = true;
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (committed_ || fd_ < 0) {
    throw IoError(fmt::format("cannot write '{}': the file was already committed or failed", target_.string()));
  }
  if (buffer_.size() + size > kBufferBytes) flush_buffer();
  if (size >= kBufferBytes) {
    write_fully(data, size);
  } else {
    const char* bytes = static_cast<const char*>(data);
    buffer_.insert(buffer_.end(), bytes, bytes + size);
  }
}

void AtomicFile::flush_buffer() {
  if (buffer_.empty()) return;
  write_fully(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void AtomicFile::write_fully(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    // write() returning 0 for a non-empty request means nothing more fits: report it as a full disk.
    const int error = n < 0 ? errno : ENOSPC;
    if (n <= 0) {
      const std::string message = fmt::format("cannot write '{}': writing the temporary file '{}' failed: {}",
                                              target_.string(), temporary_.string(), os_error(error));
      discard();
      throw IoError(message);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  if (committed_ || fd_ < 0) {
    throw IoError(fmt::format("cannot write '{}': the file was already committed or failed", target_.string()));
  }
  flush_buffer();
  // step: what failed, with {} where the temporary file's name goes.
  auto fail = [this](fmt::format_string<std::string> step, int error) {
    const std::string message = fmt::format("cannot write '{}': {} failed: {}", target_.string(),
                                            fmt::format(step, temporary_.string()), os_error(error));
    discard();
    throw IoError(message);
  };
  // The data must be on disk before the rename makes it visible under the target's name; otherwise a
  // power cut could leave the new name pointing at an empty file.
  if (::fsync(fd_) != 0) fail("fsync of the temporary file '{}'", errno);
  const int fd = fd_;
  fd_ = -1;
  // close() can report a delayed write error (on NFS, for example).
  if (::close(fd) != 0) fail("closing the temporary file '{}'", errno);
  if (::rename(temporary_.c_str(), target_.c_str()) != 0) fail("renaming the temporary file '{}' over it", errno);
  committed_ = true;

  // The rename lives in the directory: fsync it too, so that the new name survives a power cut.
  const std::filesystem::path dir = directory_of(target_);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    throw IoError(fmt::format("wrote '{}' but cannot open its directory '{}' to fsync it: {}", target_.string(),
                              dir.string(), os_error(errno)));
  }
  // Some file systems cannot fsync a directory and say EINVAL; the rename is then as durable as they
  // make it, and that is not an error of ours.
  const int synced = ::fsync(dir_fd);
  const int error = errno;
  ::close(dir_fd);
  if (synced != 0 && error != EINVAL) {
    throw IoError(fmt::format("wrote '{}' but fsync of its directory '{}' failed: {}", target_.string(),
                              dir.string(), os_error(error)));
  }
}

void write_file_atomically(const std::filesystem::path& target, std::string_view bytes) {
  AtomicFile file(target);
  file.write(bytes);
  file.commit();
}

}  // namespace attograd::io
