#include "attograd/dist/communicator.hpp"

#include <bit>
#include <cstdint>

#include <fmt/format.h>

#include "dist/mpi_call.hpp"

namespace attograd::dist {

namespace detail {

void check(int code, std::string_view what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw DistError(fmt::format("{}: {}", what, std::string_view(text, static_cast<std::size_t>(length))));
}

}  // namespace detail

namespace {

// Stops MPI when the program ends, if attograd started it (a program that called MPI_Init itself
// also calls MPI_Finalize itself). A function-local static: destroyed after main returns.
struct MpiLifetime {
  bool started_here = false;
  ~MpiLifetime() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (started_here && !finalized) MPI_Finalize();
  }
};

void start_mpi() {
  static MpiLifetime lifetime;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  // FUNNELED: OpenMP threads compute inside ops, but only the main thread calls MPI.
  int provided = 0;
  detail::check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  lifetime.started_here = true;
  // MPI's default answer to an error is to abort every process; the library reports errors instead
  // and leaves ending the program to the program (dist::run_or_abort).
  detail::check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

}  // namespace

Communicator::Communicator() {
  start_mpi();
  detail::check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  detail::check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  // The processes that share this machine's memory: the same answer under mpirun, srun or any other
  // launcher (OMPI_COMM_WORLD_LOCAL_RANK would be Open MPI's mpirun only).
  MPI_Comm machine = MPI_COMM_NULL;
  detail::check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &machine),
                "MPI_Comm_split_type");
  MPI_Comm_rank(machine, &local_rank_);
  MPI_Comm_size(machine, &local_size_);
  MPI_Comm_free(&machine);
}

void Communicator::barrier() const { detail::check(MPI_Barrier(MPI_COMM_WORLD), "barrier: MPI_Barrier"); }

double Communicator::sum(double value) const {
  double total = 0.0;
  detail::check(MPI_Allreduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "sum: MPI_Allreduce");
  return total;
}

std::vector<std::string> Communicator::all_gather(const std::string& text) const {
  // First every rank's length, then the texts side by side at offsets made from the lengths.
  const int length = static_cast<int>(text.size());
  std::vector<int> lengths(static_cast<std::size_t>(size_));
  detail::check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD),
                "all_gather: MPI_Allgather");
  std::vector<int> offsets(lengths.size());
  std::int64_t total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    offsets[r] = static_cast<int>(total);
    total += lengths[r];
  }
  if (total > INT32_MAX) throw DistError(fmt::format("all_gather: {} bytes in all, more than MPI's int counts", total));
  std::string all(static_cast<std::size_t>(total), '\0');
  detail::check(MPI_Allgatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                               MPI_COMM_WORLD),
                "all_gather: MPI_Allgatherv");
  std::vector<std::string> texts;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    texts.push_back(all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
  }
  return texts;
}

std::vector<Generator::State> gather_generator_states(const Communicator& comm, const Generator& gen) {
  // A state as 6 words: the 4 of the stream, whether a spare normal is held, and its bits.
  constexpr int kWords = 6;
  const Generator::State mine = gen.state();
  const std::uint64_t words[kWords] = {mine.s[0], mine.s[1], mine.s[2], mine.s[3], mine.has_spare_normal ? 1u : 0u,
                                       std::bit_cast<std::uint64_t>(mine.spare_normal)};
  std::vector<std::uint64_t> all(static_cast<std::size_t>(comm.size()) * kWords);
  detail::check(MPI_Allgather(words, kWords, MPI_UINT64_T, all.data(), kWords, MPI_UINT64_T, MPI_COMM_WORLD),
                "gather_generator_states: MPI_Allgather");
  std::vector<Generator::State> states(static_cast<std::size_t>(comm.size()));
  for (std::size_t r = 0; r < states.size(); ++r) {
    const std::uint64_t* w = all.data() + r * kWords;
    states[r].s = {w[0], w[1], w[2], w[3]};
    states[r].has_spare_normal = w[4] == 1;
    states[r].spare_normal = std::bit_cast<double>(w[5]);
  }
  return states;
}

}  // namespace attograd::dist
