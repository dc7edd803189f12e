#include "attograd/io/atomic_file.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "attograd/io/errors.hpp"

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

// The pid in the rest of a temporary file's name after ".<target>.tmp-", which must be exactly
// "<pid>-<counter>-<attempt>" in decimal (what temporary_name makes), or -1.
long writer_pid(std::string_view rest) {
  long numbers[3] = {-1, -1, -1};
  const char* p = rest.data();
  const char* end = rest.data() + rest.size();
  for (int i = 0; i < 3; ++i) {
    if (i > 0 && (p == end || *p++ != '-')) return -1;
    const auto [next, error] = std::from_chars(p, end, numbers[i]);
    if (error != std::errc() || next == p || numbers[i] < 0) return -1;
    p = next;
  }
  return p == end ? numbers[0] : -1;
}

// Removes what earlier saves of this target left behind when they were killed before their rename (a
// crash, SIGKILL, a power cut), the rule AtomicFile's header documents: a file whose name is exactly one
// temporary_name makes for this target, whose pid is not this process's and names no live process, and
// which no process holds a lock on (each writer holds one on its file from creation until commit()
// closes it, just before the rename; the kernel drops it when the writer dies). The pid alone would condemn the file of a live writer in another pid
// namespace (a container sharing the directory); the lock alone, that of a writer between its open()
// and its flock(). Best effort: whatever fails here leaves a file, never fails the save.
void remove_stale_temporaries(const std::filesystem::path& target) noexcept {
  const std::string prefix = fmt::format(".{}.tmp-", target.filename().string());
  DIR* dir = ::opendir(directory_of(target).c_str());
  if (dir == nullptr) return;
  const int dir_fd = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (!name.starts_with(prefix)) continue;
    const long pid = writer_pid(name.substr(prefix.size()));
    if (pid <= 0 || pid > std::numeric_limits<pid_t>::max() || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, perhaps another user's
    const int fd = ::openat(dir_fd, entry->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat opened {}, named {};
    // Still the file at that name (names are created with O_EXCL, so it cannot have been replaced, but
    // checking costs nothing) and a regular file.
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &opened) == 0 && S_ISREG(opened.st_mode) &&
        ::fstatat(dir_fd, entry->d_name, &named, AT_SYMLINK_NOFOLLOW) == 0 && opened.st_dev == named.st_dev &&
        opened.st_ino == named.st_ino) {
      ::unlinkat(dir_fd, entry->d_name, 0);
    }
    ::close(fd);
  }
  ::closedir(dir);
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  if (!target_.has_filename()) {
    throw FileAccessError(fmt::format("cannot write '{}': the path names a directory, not a file", target_.string()));
  }
  remove_stale_temporaries(target_);
  for (unsigned attempt = 0;; ++attempt) {
    temporary_ = temporary_name(target_, attempt);
    // 0666 minus the umask: the permissions any newly created file gets.
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) break;
    const int error = errno;
    if (error == EEXIST && attempt < 100) continue;
    throw FileAccessError(fmt::format("cannot write '{}': cannot create the temporary file '{}': {}",
                                      target_.string(), temporary_.string(), os_error(error)));
  }
  // Held until the file is closed (at commit, or when this process dies): tells the next save of the
  // target that this file is not stale. A file system without locks leaves only the pid to tell.
  ::flock(fd_, LOCK_EX | LOCK_NB);
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
      throw FileAccessError(message);
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
    throw FileAccessError(message);
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
    throw FileAccessError(fmt::format("wrote '{}' but cannot open its directory '{}' to fsync it: {}",
                                      target_.string(), dir.string(), os_error(errno)));
  }
  // Some file systems cannot fsync a directory and say EINVAL; the rename is then as durable as they
  // make it, and that is not an error of ours.
  const int synced = ::fsync(dir_fd);
  const int error = errno;
  ::close(dir_fd);
  if (synced != 0 && error != EINVAL) {
    throw FileAccessError(fmt::format("wrote '{}' but fsync of its directory '{}' failed: {}", target_.string(),
                                      dir.string(), os_error(error)));
  }
}

void write_file_atomically(const std::filesystem::path& target, std::string_view bytes) {
  AtomicFile file(target);
  file.write(bytes);
  file.commit();
}

}  // namespace attograd::io
