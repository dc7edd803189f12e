// Writes the pictures of docs/teaching.md in docs/images/ and prints the page's traces:
//
//   cmake --build build/dev --target teaching_pictures_svg     (runs: teaching_pictures <docs/images dir>)
//
// The attention heatmaps are attograd's own SVG; the graph pictures go through Graphviz's dot, and
// without it this program says so and writes only the heatmaps. The runs are those of
// tests/docs/teaching_examples.hpp, which docs.test_teaching_md compares with the page; paste a
// printed block into the page when a run changes.
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "docs/teaching_examples.hpp"

int main(int argc, char** argv) {
  using attograd::io::write_file_atomically;
  if (argc != 2) {
    std::fprintf(stderr, "usage: teaching_pictures <docs/images dir>\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const teaching::Run neuron = teaching::neuron(), matmul = teaching::neuron_matmul(), mlp = teaching::mlp();
  const teaching::AttentionRun attention = teaching::attention();
  int status = 0;
  try {
    write_file_atomically(dir / "attention_weights.svg", attention.weights_svg);
    write_file_atomically(dir / "attention_weights_grad.svg", attention.weights_grad_svg);
    fmt::print("wrote attention_weights.svg and attention_weights_grad.svg in {}\n", dir.string());
    write_file_atomically(dir / "neuron.svg", attograd::viz::dot_to_svg(neuron.dot));
    write_file_atomically(dir / "neuron_matmul.svg", attograd::viz::dot_to_svg(matmul.dot));
    write_file_atomically(dir / "mlp.svg", attograd::viz::dot_to_svg(mlp.dot));
    fmt::print("wrote neuron.svg, neuron_matmul.svg and mlp.svg in {}\n", dir.string());
  } catch (const attograd::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    status = 1;
  }
  fmt::print(
      "\n--- neuron: dot\n{}\n--- neuron: trace\n{}\n--- neuron_matmul: trace\n{}\n--- mlp: trace\n{}\n"
      "--- anomaly\n{}\n",
      neuron.dot, neuron.trace, matmul.trace, mlp.trace, teaching::anomaly());
  return status;
}
