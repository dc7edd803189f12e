// run_or_abort in a world of one (tests/dist/CMakeLists.txt): it returns what the program returns, and
// for an exception prints the message and returns 1 (with more ranks it would call MPI_Abort, which
// tests/dist/expect_abort.cmake checks on 3 ranks).
#include <attograd/dist/dist.hpp>

#include "support/test.hpp"

using namespace attograd;

BOOST_AUTO_TEST_CASE(returns_what_the_program_returns) {
  BOOST_TEST(dist::run_or_abort([] { return 7; }) == 7);
}

BOOST_AUTO_TEST_CASE(an_exception_in_a_world_of_one_returns_1) {
  dist::Communicator comm;
  BOOST_TEST(comm.size() == 1);
  BOOST_TEST(dist::run_or_abort([]() -> int { throw ValueError("bad input on this rank"); }) == 1);
  BOOST_TEST(dist::run_or_abort([]() -> int { throw 42; }) == 1);
}
