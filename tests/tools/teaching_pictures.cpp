// Writes the pictures of docs/teaching.md (SVG, through Graphviz's dot) and prints the page's traces:
//
//   teaching_pictures <docs/teaching dir>        (the build target teaching_pictures)
//
// The runs are those of tests/docs/teaching_examples.hpp, which docs.test_teaching_md compares with
// the page; paste a printed block into the page when a run changes.
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "docs/teaching_examples.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: teaching_pictures <docs/teaching dir>\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const teaching::Run neuron = teaching::neuron(), matmul = teaching::neuron_matmul(), mlp = teaching::mlp();
  try {
    attograd::io::write_file_atomically(dir / "neuron.svg", attograd::viz::dot_to_svg(neuron.dot));
    attograd::io::write_file_atomically(dir / "neuron_matmul.svg", attograd::viz::dot_to_svg(matmul.dot));
    attograd::io::write_file_atomically(dir / "mlp.svg", attograd::viz::dot_to_svg(mlp.dot));
  } catch (const attograd::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  fmt::print("wrote neuron.svg, neuron_matmul.svg and mlp.svg in {}\n\n", dir.string());
  fmt::print(
      "--- neuron: dot\n{}\n--- neuron: trace\n{}\n--- neuron_matmul: trace\n{}\n--- mlp: trace\n{}\n"
      "--- anomaly\n{}\n",
      neuron.dot, neuron.trace, matmul.trace, mlp.trace, teaching::anomaly());
  return 0;
}
