// What the bench's sweep programs (attention_crossover, flash_block_products) share besides
// step_program.hpp's median(): reading a flag's comma-separated list and noting the machine's load.
#pragma once

#include <cstdint>
#include <fstream>
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

}  // namespace bench
