#include "attograd/dist/broadcast.hpp"

#include <algorithm>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attograd/core/format.hpp"
#include "dist/mpi_call.hpp"

namespace attograd::dist {

namespace {

struct Entry {
  std::string kind;  // "parameter" or "buffer"
  std::string name;
  Tensor value;
};

std::vector<Entry> entries_of(const nn::Module& model) {
  std::vector<Entry> entries;
  for (auto& [name, p] : model.named_parameters()) entries.push_back({"parameter", name, p});
  for (auto& [name, b] : model.named_buffers()) entries.push_back({"buffer", name, b});
  return entries;
}

// One line per entry: "parameter 'head.weight' [2, 8] float64". Ranks compare these lines.
std::vector<std::string> describe(const std::vector<Entry>& entries) {
  std::vector<std::string> lines;
  for (const Entry& e : entries) {
    lines.push_back(fmt::format("{} '{}' {} {}", e.kind, e.name, e.value.shape(), e.value.dtype()));
  }
  return lines;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every rank gathers every rank's description and finds the same first difference, so that all of
// them throw the same error (a rank that went on alone would wait for the others forever).
void refuse_differing_models(const Communicator& comm, const std::vector<std::string>& mine) {
  std::string text;
  for (const std::string& line : mine) text += line + "\n";
  const std::vector<std::string> all = comm.all_gather(text);
  const std::vector<std::string> root = split_lines(all[0]);
  for (std::size_t r = 1; r < all.size(); ++r) {
    const std::vector<std::string> other = split_lines(all[r]);
    const std::size_t n = std::max(root.size(), other.size());
    for (std::size_t i = 0; i < n; ++i) {
      const std::string a = i < root.size() ? root[i] : "nothing (its model ends there)";
      const std::string b = i < other.size() ? other[i] : "nothing (its model ends there)";
      if (a == b) continue;
      throw DistError(fmt::format("broadcast: rank {}'s model differs from rank 0's at entry {}: rank 0 has {}, "
                                  "rank {} has {}; every rank must build the same model",
                                  r, i, a, r, b));
    }
  }
}

}  // namespace

void broadcast(const Communicator& comm, nn::Module& model) {
  const std::vector<Entry> entries = entries_of(model);
  refuse_differing_models(comm, describe(entries));
  for (const Entry& e : entries) {
    Tensor t = e.value;
    if (!t.is_contiguous()) {
      throw ValueError(fmt::format("broadcast: {} '{}' is not contiguous (strides {}); register a contiguous tensor",
                                   e.kind, e.name, t.strides()));
    }
    // Raw bytes, whatever the dtype, in pieces that fit MPI's int count.
    auto* bytes = static_cast<std::byte*>(t.impl()->storage->data()) +
                  static_cast<std::size_t>(t.offset()) * element_size(t.dtype());
    constexpr std::size_t piece = std::size_t{1} << 30;
    for (std::size_t done = 0; done < t.nbytes(); done += piece) {
      const int count = static_cast<int>(std::min(piece, t.nbytes() - done));
      detail::check(MPI_Bcast(bytes + done, count, MPI_BYTE, 0, MPI_COMM_WORLD),
                    fmt::format("broadcast of {} '{}': MPI_Bcast", e.kind, e.name));
    }
    t.impl()->storage->bump_version();  // an in-place write, as the optimisers' updates are
  }
}

}  // namespace attograd::dist
