/// \file
/// A picture of the graph that computed a tensor, with every value and gradient.
///
/// \code
/// viz::GraphCapture capture;                    // keep the values and gradients of intermediates
/// Tensor y = tanh(sum(w * x) + b);
/// y.backward();
/// std::string dot = viz::to_dot(y);             // Graphviz DOT text
/// io::write_file_atomically("neuron.svg", viz::dot_to_svg(dot));   // needs Graphviz's dot
/// \endcode
///
/// One box per op and per leaf, in the order the forward pass made them, with the op's name, shape,
/// dtype, its value (every element when small, else min/max/mean/norm) and, after backward, its
/// gradient. Parameters (leaves with a name, as modules give them: "blocks.0.attn.query.weight"),
/// other leaves, constants and ops are drawn in different colours; the tensor drawn has a thick border.
///
/// Why GraphCapture: the graph keeps only what backward needs. `tanh(sum(w * x) + b)` frees the
/// values of `w * x`, the sum and the `+ b` as soon as the expression ends, keeps no constant input at
/// all, and no intermediate has a .grad. While a GraphCapture lives, every node recorded on this thread
/// also keeps its output and its constant inputs, and every backward step stores the gradient the node
/// received; they are freed with the graph. Without it, the picture shows what is still alive and
/// says "value freed" for the rest.
#pragma once

#include <cstdint>
#include <string>

#include "attograd/autograd/engine.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd::viz {

/// Options of to_dot.
struct DotOptions {
  std::int64_t max_values = 6;  ///< tensors with at most this many elements are shown in full
  std::string rankdir = "LR";   ///< Graphviz layout direction: inputs on the left, the output on the right
};

/// The DOT text of the graph that produced `root` (a single box for a leaf or a constant).
std::string to_dot(const Tensor& root, const DotOptions& options = {});

/// True when Graphviz's `program` (default "dot") can be run: found on PATH, or an executable path.
bool graphviz_available(const std::string& program = "dot");

/// Renders DOT text as SVG with Graphviz. Throws IoError when the program is not installed (naming
/// the Debian package, graphviz) or when it fails (with its message).
std::string dot_to_svg(const std::string& dot, const std::string& program = "dot");

/// While it lives, graphs recorded on this thread keep what a picture needs (see above). Scoped,
/// per thread; guards nest.
class GraphCapture {
 public:
  GraphCapture();
  ~GraphCapture();
  GraphCapture(const GraphCapture&) = delete;
  GraphCapture& operator=(const GraphCapture&) = delete;

 private:
  autograd::StepHookGuard hook_;
};

}  // namespace attograd::viz
