// What the driver's sections share to run a program: the command through the shell, its standard
// output whole (its stderr goes to ours), and a clear error when it cannot start or fails.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

namespace bench {

inline std::string run_command(const std::string& command, const std::string& what = "") {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error(what + "cannot run " + command);
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  if (pclose(pipe) != 0) throw std::runtime_error(what + "failed: " + command);
  return output;
}

}  // namespace bench
