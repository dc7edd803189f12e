// A run killed with SIGKILL in the middle of saving its training state leaves the previous checkpoint
// whole, resuming from it continues exactly as a run that was never killed, and the next save removes
// the killed save's temporary file.
//
// The kill must land mid-write every time, without timings. The child lowers its file-size limit below
// the checkpoint's size, so its save stops at that limit: the kernel then sends SIGXFSZ, whose handler
// tells the parent through a pipe and waits. The parent sees the temporary file cut at the limit, kills
// the child with SIGKILL, and loads the checkpoint.
#include "support/test.hpp"

#include <csignal>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <attograd/train/resume.hpp>

#include "io/temp_dir.hpp"
#include "train/run_support.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

int g_inside_save = -1;  // the pipe's write end, for the signal handler

// Runs inside write(): says so (write is async-signal-safe) and waits for the SIGKILL.
extern "C" void on_file_too_large(int) {
  const char byte = 's';
  [[maybe_unused]] const ssize_t n = ::write(g_inside_save, &byte, 1);
  for (;;) ::pause();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resume_kill)

BOOST_AUTO_TEST_CASE(sigkill_during_a_save_keeps_the_previous_checkpoint) {
  constexpr std::int64_t kSteps = 12, kSaved = 4;
  TempDir dir;
  const auto path = dir / "ckpt.safetensors";

  // The reference: kSteps steps without stopping.
  SmallRun reference(OptimizerKind::Adam);
  for (std::int64_t step = 1; step <= kSteps; ++step) reference.step(step);

  // The run to kill: a checkpoint after step kSaved, then one more step whose save is killed. The child
  // only saves (no training: OpenMP's threads do not survive a fork).
  SmallRun run(OptimizerKind::Adam);
  for (std::int64_t step = 1; step <= kSaved; ++step) run.step(step);
  train::save_training_state(path, run.state(), kSaved);
  const std::string previous = read_bytes(path);
  run.step(kSaved + 1);

  int inside_save[2];
  BOOST_TEST_REQUIRE(::pipe(inside_save) == 0);
  const auto limit = static_cast<rlim_t>(previous.size() / 2);
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    ::close(inside_save[0]);
    g_inside_save = inside_save[1];
    std::signal(SIGXFSZ, on_file_too_large);
    const rlimit lowered{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &lowered) != 0) ::_exit(2);
    try {
      train::save_training_state(path, run.state(), kSaved + 1);
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(4);  // the save finished: the limit did not stop it
  }
  ::close(inside_save[1]);
  char byte = 0;
  const ssize_t got = ::read(inside_save[0], &byte, 1);
  ::close(inside_save[0]);

  // The child is now blocked inside its save: the new checkpoint is a temporary file cut at the limit.
  // Look, then kill it before any check can end the test and leave it waiting.
  const std::vector<std::string> names = dir.names();
  const auto temporary_size = names.size() == 2 ? std::filesystem::file_size(dir / names[0]) : 0;
  ::kill(child, SIGKILL);
  int status = 0;
  BOOST_TEST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST_INFO("the child's exit status if it was not killed: " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  BOOST_TEST_REQUIRE(got == 1);
  BOOST_TEST(WIFSIGNALED(status));
  BOOST_TEST(WTERMSIG(status) == SIGKILL);
  BOOST_TEST_REQUIRE(names.size() == 2u);
  BOOST_TEST(names[0].starts_with(".ckpt.safetensors.tmp-"));
  BOOST_TEST(temporary_size == limit);

  // The checkpoint is the previous one, byte for byte, and loads.
  BOOST_TEST((read_bytes(path) == previous));
  SmallRun resumed(OptimizerKind::Adam);
  BOOST_TEST(train::load_training_state(path, resumed.state()) == kSaved);
  for (std::int64_t step = kSaved + 1; step <= kSteps; ++step) resumed.step(step);
  BOOST_TEST(loss_bits(resumed.curve) == loss_bits(reference.curve), boost::test_tools::per_element());
  BOOST_TEST(resumed.parameter_bits() == reference.parameter_bits(), boost::test_tools::per_element());

  // The next save of the checkpoint removes the temporary file the killed save left behind.
  train::save_training_state(path, resumed.state(), kSteps);
  BOOST_TEST(dir.names() == std::vector<std::string>{"ckpt.safetensors"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
