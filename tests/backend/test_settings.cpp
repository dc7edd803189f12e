// Backend settings (lib/backend/settings.cpp): the thread count of the one OpenMP pool, its default
// from OMP_NUM_THREADS, and its reach into other threads. (The matmul backend switch is tested in
// test_matmul.cpp, beside the dispatch it controls.)
#include "support/test.hpp"

#include <cstdlib>
#include <thread>

#include "backend/threads.hpp"

using namespace attograd;
using namespace attograd::testing;
namespace utf = boost::unit_test;

BOOST_AUTO_TEST_SUITE(settings)

BOOST_AUTO_TEST_CASE(set_num_threads_sets_the_count) {
  const int original = num_threads();
  set_num_threads(1);
  BOOST_TEST(num_threads() == 1);
  BOOST_TEST(backend::apply_num_threads() == 1);
  set_num_threads(3);
  BOOST_TEST(num_threads() == 3);
  BOOST_TEST(backend::apply_num_threads() == 3);
  set_num_threads(original);
  BOOST_TEST(num_threads() == original);
}

BOOST_AUTO_TEST_CASE(fewer_than_one_thread_is_an_error) {
  const int original = num_threads();
  BOOST_CHECK_EXCEPTION(set_num_threads(0), ValueError,
                        has_message("set_num_threads: the number of threads must be at least 1, got 0"));
  BOOST_CHECK_EXCEPTION(set_num_threads(-3), ValueError, has_message("got -3"));
  BOOST_TEST(num_threads() == original);  // unchanged by the refused calls
}

BOOST_AUTO_TEST_CASE(the_count_reaches_threads_the_program_starts) {
  // OpenMP keeps the count per thread; attograd's setting is for the whole process.
  const int original = num_threads();
  for (int n : {1, 3}) {
    set_num_threads(n);
    int seen = 0, applied = 0;
    std::thread([&] {
      seen = num_threads();
      applied = backend::apply_num_threads();
    }).join();
    BOOST_TEST(seen == n);
    BOOST_TEST(applied == n);
  }
  set_num_threads(original);
}

// Runs only when named on the command line, as the next test does in a child process started with
// OMP_NUM_THREADS set: without set_num_threads() the count is OpenMP's default, read from it.
BOOST_AUTO_TEST_CASE(default_thread_count_probe, *utf::disabled()) {
  const char* expected = std::getenv("ATTOGRAD_EXPECTED_THREADS");
  BOOST_TEST_REQUIRE(expected != nullptr);
  BOOST_TEST(num_threads() == std::atoi(expected));
  BOOST_TEST(backend::apply_num_threads() == std::atoi(expected));
}

BOOST_AUTO_TEST_CASE(omp_num_threads_gives_the_default) {
  const std::string self = utf::framework::master_test_suite().argv[0];
  const auto probe = [&](int omp_num_threads, int expected) {
    const std::string command = fmt::format(
        "OMP_NUM_THREADS={} ATTOGRAD_EXPECTED_THREADS={} '{}' --run_test=settings/default_thread_count_probe "
        ">/dev/null 2>&1",
        omp_num_threads, expected, self);
    return std::system(command.c_str());
  };
  BOOST_TEST(probe(3, 3) == 0);
  BOOST_TEST(probe(1, 1) == 0);
  BOOST_TEST(probe(3, 4) != 0);  // the probe does check the count
}

BOOST_AUTO_TEST_SUITE_END()
