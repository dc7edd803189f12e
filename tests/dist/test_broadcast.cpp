// broadcast, run on 2 ranks: rank 0's values reach every rank, and differing models are refused on
// every rank with the same message.
#include <bit>
#include <thread>

#include <attograd/dist/dist.hpp>

#include "support/test.hpp"

using namespace attograd;
using attograd::testing::has_message;

namespace {

// A model with a parameter, a frozen parameter and a buffer.
struct Small : nn::Module {
  Small(std::int64_t out, Generator& gen) : Module("Small"), fc(3, out, nn::LinearOptions{.generator = &gen}) {
    register_module("fc", fc);
    frozen = register_parameter("frozen", randn({2}, gen));
    frozen.requires_grad_(false);
    steps = register_buffer("steps", tensor_of<std::int64_t>({static_cast<std::int64_t>(gen.below(1000))}, {1}));
  }
  nn::Linear fc;
  Tensor frozen, steps;
};

// Every value of every parameter and buffer, as text, to compare across ranks bit for bit.
std::string bits_of(const nn::Module& m) {
  std::string text;
  for (auto& [name, p] : m.named_parameters()) {
    for (double v : p.to_vector<double>()) text += std::to_string(std::bit_cast<std::uint64_t>(v)) + " ";
  }
  for (auto& [name, b] : m.named_buffers()) {
    for (double v : b.to_vector<double>()) text += std::to_string(std::bit_cast<std::uint64_t>(v)) + " ";
  }
  return text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_rank_gets_rank_0s_values) {
  dist::Communicator comm;
  Generator gen(100 + comm.rank());  // each rank draws other initial values
  Small model(4, gen);
  std::vector<std::string> before = comm.all_gather(bits_of(model));
  BOOST_TEST(before[0] != before[1]);
  dist::broadcast(comm, model);
  std::vector<std::string> after = comm.all_gather(bits_of(model));
  BOOST_TEST(after[0] == before[0]);
  BOOST_TEST(after[1] == before[0]);
  BOOST_TEST(!model.frozen.requires_grad());  // still frozen, and broadcast all the same
}

BOOST_AUTO_TEST_CASE(models_that_differ_are_refused_naming_the_parameter) {
  dist::Communicator comm;
  Generator gen(5);
  Small model(comm.rank() == 0 ? 4 : 5, gen);  // rank 1's layer has 5 outputs
  const std::string before = bits_of(model);
  BOOST_CHECK_EXCEPTION(dist::broadcast(comm, model), dist::DistError,
                        has_message("broadcast: rank 1's model differs from rank 0's at entry 1: rank 0 has "
                                    "parameter 'fc.weight' [4, 3] float32, rank 1 has parameter 'fc.weight' "
                                    "[5, 3] float32"));
  BOOST_TEST(bits_of(model) == before);  // nothing overwritten
}

BOOST_AUTO_TEST_CASE(a_dtype_or_a_missing_entry_is_refused_too) {
  dist::Communicator comm;
  Generator gen(5);
  Small model(4, gen);
  if (comm.rank() == 1) model.to(kFloat64);
  BOOST_CHECK_EXCEPTION(dist::broadcast(comm, model), dist::DistError,
                        has_message("at entry 0: rank 0 has parameter 'frozen' [2] float32, rank 1 has "
                                    "parameter 'frozen' [2] float64"));
  nn::Sequential shorter;
  shorter.add<nn::Linear>(3, 4, nn::LinearOptions{.generator = &gen});
  if (comm.rank() == 0) shorter.add<nn::Linear>(4, 2, nn::LinearOptions{.generator = &gen});
  BOOST_CHECK_EXCEPTION(dist::broadcast(comm, shorter), dist::DistError,
                        has_message("at entry 2: rank 0 has parameter '1.weight' [2, 4] float32, rank 1 has "
                                    "nothing (its model ends there)"));
}
