// AtomicFile: the content arrives whole or not at all; every failure keeps the old file, removes the
// temporary one, and says which path and which OS error.
#include "support/test.hpp"

#include <csignal>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <attograd/io/atomic_file.hpp>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

bool not_root() { return ::geteuid() != 0; }

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
    BOOST_CHECK_EXCEPTION(write_file_atomically(path, std::string(5000, 'n')), IoError,
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
  BOOST_CHECK_EXCEPTION(write_file_atomically(path, "x"), IoError,
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

// Root writes into read-only directories, so this only means something for other users.
BOOST_AUTO_TEST_CASE(a_read_only_directory_is_an_io_error, *boost::unit_test::precondition([](auto) { return not_root(); })) {
  TempDir dir;
  const auto path = dir / "ckpt";
  write_bytes(path, "previous");
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  BOOST_CHECK_EXCEPTION(write_file_atomically(path, "new"), IoError, has_message("Permission denied (errno 13)"));
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
  // The kill landed mid-write: the child's temporary file stays behind (nothing can remove it).
  BOOST_TEST_MESSAGE(fmt::format("after the kill: {}", fmt::join(dir.names(), ", ")));
  BOOST_TEST(content.find_first_not_of(content.front()) == std::string::npos);
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
