// A data-parallel run in which rank 1 alone gets a bad class target (7, with 3 classes): its
// cross_entropy throws, while ranks 0 and 2 wait for it in the gradient all-reduce. run_or_abort must
// end all three with rank 1's message and a non-zero exit (tests/dist/expect_abort.cmake).
#include <attograd/attograd.hpp>
#include <attograd/dist/dist.hpp>

using namespace attograd;

int main() {
  return dist::run_or_abort([] {
    dist::Communicator comm;
    Generator gen(1);
    nn::Linear model(4, 3, nn::LinearOptions{.generator = &gen});
    dist::broadcast(comm, model);
    dist::DataParallel ddp(comm, model);
    const Tensor x = randn({6, 4}, gen);
    Tensor y = tensor_of<std::int64_t>({0, 1, 2, 0, 1, 2}, {6});
    auto [xr, yr] = ddp.shard2(x, y);
    if (comm.rank() == 1) yr = tensor_of<std::int64_t>({7, 1}, {2});
    cross_entropy(model(xr), yr).backward();
    return 0;
  });
}
