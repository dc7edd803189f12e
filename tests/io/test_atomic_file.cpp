// AtomicFile: the content arrives whole or not at all; every failure keeps the old file, removes the
// temporary one, and says which path and which OS error; temporary files of killed saves are removed by
// the next save of the same target, those of live ones are not.
#include "support/test.hpp"

#include <csignal>
#include <functional>

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <attograd/io/atomic_file.hpp>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

constexpr uid_t kNobody = 65534;  // the unprivileged user (and group) of Debian and most distributions

// Runs `check` in a child process that is not root, so that permissions mean something even when the
// tests run as root (as in CI's containers): root hands `dir` to nobody and drops to that user first.
// Returns `check`'s result (0 for a pass), or 100 and up when the child could not run it.
int run_unprivileged(const TempDir& dir, const std::function<int()>& check) {
  const bool root = ::geteuid() == 0;
  if (root && ::chown(dir.path().c_str(), kNobody, kNobody) != 0) return 100;
  const pid_t child = ::fork();
  if (child < 0) return 101;
  if (child == 0) {
    if (root && (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)) ::_exit(102);
    if (::geteuid() == 0) ::_exit(103);
    int result = 104;
    try {
      result = check();
    } catch (...) {
    }
    ::_exit(result);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child) return 105;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

// A process id that names no process: a child's, after it has exited and been reaped. (Until the system
// hands the number out again, which takes a full cycle of pids.)
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(atomic_file)

BOOST_AUTO_TEST_CASE(writes_the_content_and_leaves_no_temporary_file) {
  TempDir dir;
  const auto path = dir / "out.bin";
  {
    AtomicFile file(path);
    // The temporary file sits beside the target until commit.
    BOOST_TEST(file.temporary().parent_path() == path.parent_path());
    BOOST_TEST(file.temporary().filename().string().starts_with(".out.bin.tmp-"));
    BOOST_TEST(std::filesystem::exists(file.temporary()));
    BOOST_TEST(!std::filesystem::exists(path));
    file.write("hello ");
    file.write(std::string(3 << 20, 'x'));  // bigger than the buffer: goes straight to the file
    file.write("!");
    file.commit();
  }
  BOOST_TEST(read_bytes(path) == "hello " + std::string(3 << 20, 'x') + "!");
  BOOST_TEST(dir.names() == std::vector<std::string>{"out.bin"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(replaces_an_existing_file_with_new_file_permissions) {
  TempDir dir;
  const auto path = dir / "out.txt";
  write_bytes(path, "old content that is longer");
  write_file_atomically(path, "new");
  BOOST_TEST(read_bytes(path) == "new");
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat info {};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 0777) == (0666 & ~mask));
  BOOST_TEST(dir.names() == std::vector<std::string>{"out.txt"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_exception_before_commit_keeps_the_old_file) {
  TempDir dir;
  const auto path = dir / "ckpt";
  write_bytes(path, "previous");
  try {
    AtomicFile file(path);
    file.write(std::string(5000, 'n'));
    throw std::runtime_error("the program failed mid-save");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "the program failed mid-save");
  }
  BOOST_TEST(read_bytes(path) == "previous");
  BOOST_TEST(dir.names() == std::vector<std::string>{"ckpt"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_full_disk_is_an_io_error_and_keeps_the_old_file) {
  TempDir dir;
  const auto path = dir / "ckpt";
  write_bytes(path, "previous");
  {
    FileSizeLimit limit(1000);
    BOOST_CHECK_EXCEPTION(write_file_atomically(path, std::string(5000, 'n')), FileAccessError,
                          has_message(fmt::format("cannot write '{}': writing the temporary file '{}/.ckpt.tmp-",
                                                  path.string(), dir.path().string())));
    BOOST_CHECK_EXCEPTION(write_file_atomically(path, std::string(5000, 'n')), IoError,
                          has_message("failed: File too large (errno 27)"));
  }
  BOOST_TEST(read_bytes(path) == "previous");
  BOOST_TEST(dir.names() == std::vector<std::string>{"ckpt"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_missing_directory_is_an_io_error) {
  TempDir dir;
  const auto path = dir / "no-such-dir" / "ckpt";
  BOOST_CHECK_EXCEPTION(write_file_atomically(path, "x"), FileAccessError,
                        has_message(fmt::format("cannot write '{}': cannot create the temporary file", path.string())));
  BOOST_CHECK_EXCEPTION(write_file_atomically(path, "x"), IoError,
                        has_message("No such file or directory (errno 2)"));
  BOOST_TEST(dir.names().empty());
}

BOOST_AUTO_TEST_CASE(a_parent_that_is_a_file_is_an_io_error) {
  TempDir dir;
  write_bytes(dir / "plain", "not a directory");
  BOOST_CHECK_EXCEPTION(write_file_atomically(dir / "plain" / "ckpt", "x"), IoError,
                        has_message("Not a directory (errno 20)"));
  BOOST_TEST(read_bytes(dir / "plain") == "not a directory");
}

BOOST_AUTO_TEST_CASE(a_target_that_is_a_directory_is_refused_at_rename) {
  TempDir dir;
  std::filesystem::create_directory(dir / "taken");
  write_bytes(dir / "taken" / "inside", "kept");
  BOOST_CHECK_EXCEPTION(write_file_atomically(dir / "taken", "x"), IoError,
                        has_message(fmt::format("cannot write '{}': renaming the temporary file '{}/.taken.tmp-",
                                                (dir / "taken").string(), dir.path().string())));
  BOOST_CHECK_EXCEPTION(write_file_atomically(dir / "taken", "x"), IoError, has_message("Is a directory (errno 21)"));
  BOOST_TEST(read_bytes(dir / "taken" / "inside") == "kept");
  BOOST_TEST(dir.names() == std::vector<std::string>{"taken"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_path_ending_in_a_slash_is_refused) {
  TempDir dir;
  BOOST_CHECK_EXCEPTION(AtomicFile(dir.path().string() + "/"), IoError,
                        has_message("the path names a directory, not a file"));
}

BOOST_AUTO_TEST_CASE(a_read_only_directory_is_an_io_error) {
  // Root writes into read-only directories, so the write runs as an unprivileged user.
  TempDir dir;
  const auto path = dir / "ckpt";
  write_bytes(path, "previous");
  const int result = run_unprivileged(dir, [&] {
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    try {
      write_file_atomically(path, "new");
    } catch (const FileAccessError& e) {
      return std::string(e.what()).find("Permission denied (errno 13)") != std::string::npos ? 0 : 1;
    }
    return 2;
  });
  BOOST_TEST(result == 0, "the unprivileged write gave " << result
                                                          << " (1: another message, 2: no error, 100 and up: no child)");
  BOOST_TEST(read_bytes(path) == "previous");
  BOOST_TEST(dir.names() == std::vector<std::string>{"ckpt"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_writer_killed_mid_write_leaves_a_whole_file) {
  // A child process rewrites a 4 MiB file over and over, each time filled with one byte value, and says
  // so through a pipe after each write. Killed with SIGKILL during its fourth write (fsync makes each
  // write take a while), it leaves the file whole: 4 MiB of one value, never a mix or a short file.
  TempDir dir;
  const auto path = dir / "data";
  constexpr std::size_t kSize = 4 << 20;
  write_file_atomically(path, std::string(kSize, 'a'));
  int done[2];
  BOOST_TEST_REQUIRE(::pipe(done) == 0);
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    ::close(done[0]);
    for (char value = 'b';; value = value == 'z' ? 'b' : static_cast<char>(value + 1)) {
      write_file_atomically(path, std::string(kSize, value));
      if (::write(done[1], &value, 1) != 1) ::_exit(1);
    }
  }
  ::close(done[1]);
  char last = 0;
  for (int i = 0; i < 3; ++i) BOOST_TEST_REQUIRE(::read(done[0], &last, 1) == 1);
  // Kill it once its next temporary file exists, so that the kill lands mid-write.
  for (int scan = 0; scan < 100000 && dir.names().size() < 2; ++scan) {
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(done[0]);
  BOOST_TEST(WIFSIGNALED(status));
  const std::string content = read_bytes(path);
  BOOST_TEST_REQUIRE(content.size() == kSize);
  BOOST_TEST(content.front() >= last);  // the third write's value or a later one
  // The kill landed mid-write: the child's temporary file stays behind until the next save of the target.
  BOOST_TEST_MESSAGE(fmt::format("after the kill: {}", fmt::join(dir.names(), ", ")));
  BOOST_TEST(content.find_first_not_of(content.front()) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_next_save_removes_what_a_killed_save_left) {
  // A child starts a save and is killed before it commits: its temporary file stays. The next save of the
  // same target removes it, since no process holds it any more.
  TempDir dir;
  const auto path = dir / "ckpt";
  write_bytes(path, "previous");
  int started[2];
  BOOST_TEST_REQUIRE(::pipe(started) == 0);
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    AtomicFile file(path);
    file.write(std::string(3 << 20, 'k'));  // past the buffer: on disk
    if (::write(started[1], "s", 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  char byte = 0;
  const ssize_t got = ::read(started[0], &byte, 1);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(started[0]);
  ::close(started[1]);
  BOOST_TEST_REQUIRE(got == 1);
  const std::vector<std::string> left = dir.names();
  BOOST_TEST_REQUIRE(left.size() == 2u);
  BOOST_TEST(left[0].starts_with(fmt::format(".ckpt.tmp-{}-", child)));
  BOOST_TEST(read_bytes(path) == "previous");

  write_file_atomically(path, "new");
  BOOST_TEST(read_bytes(path) == "new");
  BOOST_TEST(dir.names() == std::vector<std::string>{"ckpt"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_concurrent_save_in_another_process_keeps_its_temporary_file) {
  // A child is mid-save (its temporary file written, not committed) when this process saves the same
  // target. The child's file must survive, and the child's commit then wins.
  TempDir dir;
  const auto path = dir / "ckpt";
  int started[2], go_on[2];
  BOOST_TEST_REQUIRE(::pipe(started) == 0);
  BOOST_TEST_REQUIRE(::pipe(go_on) == 0);
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    try {
      AtomicFile file(path);
      file.write(std::string(3 << 20, 'c'));
      char byte = 0;
      if (::write(started[1], "s", 1) != 1 || ::read(go_on[0], &byte, 1) != 1) ::_exit(1);
      file.commit();
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  char byte = 0;
  BOOST_TEST_REQUIRE(::read(started[0], &byte, 1) == 1);
  write_file_atomically(path, "parent");
  const std::vector<std::string> names = dir.names();
  const bool told = ::write(go_on[1], "g", 1) == 1;
  int status = 0;
  ::waitpid(child, &status, 0);
  for (int fd : {started[0], started[1], go_on[0], go_on[1]}) ::close(fd);
  BOOST_TEST(told);
  BOOST_TEST_REQUIRE(names.size() == 2u);
  BOOST_TEST(names[0].starts_with(fmt::format(".ckpt.tmp-{}-", child)));
  BOOST_TEST(names[1] == "ckpt");
  BOOST_TEST_REQUIRE(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "the child's save failed: " << WEXITSTATUS(status));
  BOOST_TEST(read_bytes(path) == std::string(3 << 20, 'c'));
  BOOST_TEST(dir.names() == std::vector<std::string>{"ckpt"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(only_unlocked_temporaries_of_dead_processes_and_of_this_target_are_removed) {
  TempDir dir;
  const auto path = dir / "ckpt";
  const pid_t dead = dead_pid();
  const std::string stale = fmt::format(".ckpt.tmp-{}-3-0", dead);
  const std::vector<std::string> kept{
      fmt::format(".ckpt.tmp-{}-0-0", ::getpid()),        // this process's: perhaps another thread's save
      fmt::format(".ckpt.tmp-{}-7-1", dead),              // a dead pid, but locked: a writer in another pid namespace
      fmt::format(".ckpt.tmp-{}-0-0x", dead),             // not a name AtomicFile makes
      fmt::format(".ckpt.tmp-5.tmp-{}-0-0", dead),        // a temporary of the target "ckpt.tmp-5"
      fmt::format(".other.tmp-{}-0-0", dead),             // another target's
      ".ckpt.tmp-0-0-0", ".ckpt.tmp--1-0-0", ".ckpt.tmp-99999999999999999999-0-0"};
  for (const std::string& name : kept) write_bytes(dir / name, "x");
  write_bytes(dir / stale, "x");
  const int locked = ::open((dir / kept[1]).c_str(), O_RDONLY);
  BOOST_TEST_REQUIRE(locked >= 0);
  BOOST_TEST_REQUIRE(::flock(locked, LOCK_EX) == 0);

  write_file_atomically(path, "new");
  std::vector<std::string> expected = kept;
  expected.push_back("ckpt");
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(dir.names() == expected, boost::test_tools::per_element());

  // Unlocked, the dead writer's file goes at the next save.
  ::close(locked);
  write_file_atomically(path, "newer");
  BOOST_TEST(!std::filesystem::exists(dir / kept[1]));
  BOOST_TEST(std::filesystem::exists(dir / kept[0]));
}

BOOST_AUTO_TEST_CASE(writing_after_commit_is_an_error) {
  TempDir dir;
  AtomicFile file(dir / "once");
  file.write("a");
  file.commit();
  BOOST_CHECK_EXCEPTION(file.write("b"), IoError, has_message("already committed"));
  BOOST_CHECK_EXCEPTION(file.commit(), IoError, has_message("already committed"));
  BOOST_TEST(read_bytes(dir / "once") == "a");
}

BOOST_AUTO_TEST_CASE(an_empty_file_can_be_written) {
  TempDir dir;
  write_file_atomically(dir / "empty", "");
  BOOST_TEST(std::filesystem::file_size(dir / "empty") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
