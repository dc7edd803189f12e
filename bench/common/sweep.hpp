// What the bench's sweep programs (attention_crossover, flash_block_products) share besides
// step_program.hpp's median(): their flags, reading a comma-separated list and noting the machine's load.
#pragma once

#include <cstdint>
#include <fstream>

#include <fmt/format.h>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

// "16,32,64" -> {16, 32, 64}.
inline std::vector<std::int64_t> numbers(const std::string& list) {
  std::vector<std::int64_t> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  return out;
}

// The 1-minute load average, as /proc/loadavg gives it ("?" where there is none): a figure measured
// beside other programs is printed with it.
inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return in ? one : "?";
}

// The sweeps' flags, each followed by its value; the defaults are the program's own.
struct SweepFlags {
  int reps = 7;
  std::vector<std::int64_t> threads, dims, lengths, tokens;  // tokens: only where takes_tokens
  bool causal = true;                                         // --mask causal|none
};

// Reads argv into f; false, having said why on stderr, for an unknown flag.
inline bool parse_sweep_flags(int argc, char** argv, SweepFlags& f, bool takes_tokens) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--reps") f.reps = std::stoi(value);
    else if (flag == "--threads") f.threads = numbers(value);
    else if (flag == "--dims") f.dims = numbers(value);
    else if (flag == "--lengths") f.lengths = numbers(value);
    else if (flag == "--tokens" && takes_tokens) f.tokens = numbers(value);
    else if (flag == "--mask") f.causal = value == "causal";
    else {
      fmt::print(stderr, "unknown flag {}\n", flag);
      return false;
    }
  }
  return true;
}

}  // namespace bench
