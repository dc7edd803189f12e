// The communicator, run on 3 ranks (tests/dist/CMakeLists.txt): each rank checks what it sees against
// what every other rank sees.
#include <chrono>
#include <thread>

#include <attograd/dist/dist.hpp>

#include "support/test.hpp"

using namespace attograd;

BOOST_AUTO_TEST_CASE(ranks_are_numbered_once_each) {
  dist::Communicator comm;
  BOOST_TEST(comm.size() == 3);
  BOOST_TEST((0 <= comm.rank() && comm.rank() < comm.size()));
  BOOST_TEST(comm.is_root() == (comm.rank() == 0));
  // Every rank names itself: the gathered names are 0, 1, 2 in rank order.
  const std::vector<std::string> names = comm.all_gather(std::to_string(comm.rank()));
  BOOST_TEST((names == std::vector<std::string>{"0", "1", "2"}));
  // One machine: the local ranks are the ranks.
  BOOST_TEST(comm.local_size() == 3);
  BOOST_TEST(comm.local_rank() == comm.rank());
}

BOOST_AUTO_TEST_CASE(sum_gives_every_rank_the_total) {
  dist::Communicator comm;
  BOOST_TEST(comm.sum(comm.rank() + 0.5) == 0.5 + 1.5 + 2.5);
}

BOOST_AUTO_TEST_CASE(all_gather_keeps_texts_of_any_length) {
  dist::Communicator comm;
  const std::string mine(static_cast<std::size_t>(comm.rank()) * 3, static_cast<char>('a' + comm.rank()));
  const std::vector<std::string> all = comm.all_gather(mine);
  BOOST_TEST((all == std::vector<std::string>{"", "bbb", "cccccc"}));
}

BOOST_AUTO_TEST_CASE(barrier_waits_for_every_rank) {
  dist::Communicator comm;
  // Rank 2 is late; after the barrier every rank has seen the time at which rank 2 arrived.
  const auto start = std::chrono::steady_clock::now();
  if (comm.rank() == 2) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  comm.barrier();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(waited >= 0.19);
}

BOOST_AUTO_TEST_CASE(gather_generator_states_gives_every_rank_every_state) {
  dist::Communicator comm;
  Generator own(100 + static_cast<std::uint64_t>(comm.rank()));
  if (comm.rank() == 1) own.normal();  // rank 1's holds a spare normal
  const std::vector<Generator::State> all = dist::gather_generator_states(comm, own);
  BOOST_TEST(all.size() == 3u);
  for (int r = 0; r < 3; ++r) {
    Generator expected(100 + static_cast<std::uint64_t>(r));
    if (r == 1) expected.normal();
    BOOST_TEST((all[static_cast<std::size_t>(r)] == expected.state()), "rank " << r << "'s state");
  }
  BOOST_TEST(all[1].has_spare_normal);
}
