// The runs shown in docs/teaching.md: docs.test_teaching_md compares the page with them, and
// teaching_pictures (tests/tools) writes the page's SVG pictures from them.
#pragma once

#include <string>

#include <attograd/attograd.hpp>

namespace teaching {

using namespace attograd;

struct Run {
  std::string dot;    // the picture, after backward
  std::string trace;  // explain mode's trace of backward
};

// y = tanh(w·x + b): one neuron, w = [0.5, -1], the input x = [1, 2], b = 0.25.
inline Run neuron() {
  Tensor w = tensor({0.5, -1.0}, {.dtype = kFloat64, .requires_grad = true}).set_name("w");
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64});
  Tensor b = scalar_tensor(0.25, {.dtype = kFloat64, .requires_grad = true}).set_name("b");
  Run run;
  viz::GraphCapture capture;
  Tensor y = tanh(sum(w * x) + b);
  {
    viz::Explain explain(run.trace);
    y.backward();
  }
  run.dot = viz::to_dot(y);
  return run;
}

// The same neuron written with matmul, as examples/01_autograd_basics.cpp does: a vector·vector
// product is a [1, 2]·[2, 1] matrix product between reshapes.
inline Run neuron_matmul() {
  Tensor w = tensor({0.5, -1.0}, {.dtype = kFloat64, .requires_grad = true}).set_name("w");
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64});
  Tensor b = scalar_tensor(0.25, {.dtype = kFloat64, .requires_grad = true}).set_name("b");
  Run run;
  viz::GraphCapture capture;
  Tensor y = tanh(matmul(w, x) + b);
  {
    viz::Explain explain(run.trace);
    y.backward();
  }
  run.dot = viz::to_dot(y);
  return run;
}

// A 2-3-1 MLP with tanh, one example, squared error: the parameters are named as a module would
// name them (hidden.weight, ...).
inline Run mlp() {
  Tensor w1 = tensor({{0.5, -0.5}, {0.25, 1.0}, {-1.0, 0.5}}, {.dtype = kFloat64}).requires_grad_();
  Tensor b1 = tensor({0.0, 0.5, -0.25}, {.dtype = kFloat64, .requires_grad = true});
  Tensor w2 = tensor(std::vector<double>{1.0, -1.0, 0.5}, {1, 3}, {.dtype = kFloat64}).requires_grad_();
  Tensor b2 = tensor({0.25}, {.dtype = kFloat64, .requires_grad = true});
  w1.set_name("hidden.weight");
  b1.set_name("hidden.bias");
  w2.set_name("out.weight");
  b2.set_name("out.bias");
  const Tensor x = tensor(std::vector<double>{1.0, 2.0}, {1, 2}, {.dtype = kFloat64});  // one example
  const Tensor target = tensor(std::vector<double>{1.0}, {1, 1}, {.dtype = kFloat64});
  Run run;
  viz::GraphCapture capture;
  // The squared error written out, not mse_loss (one fused node): d is used twice, and the trace
  // shows its two gradients being added.
  const Tensor d = linear(tanh(linear(x, w1, b1)), w2, b2) - target;
  Tensor loss = mean(d * d);
  {
    viz::Explain explain(run.trace);
    loss.backward();
  }
  run.dot = viz::to_dot(loss);
  return run;
}

// log(0) in the forward pass, caught by anomaly mode: the error's text.
inline std::string anomaly() {
  Tensor p = tensor({0.5, 0.0, 0.5}, {.dtype = kFloat64, .requires_grad = true}).set_name("p");
  autograd::AnomalyMode anomaly;
  Tensor nll;
  {
    autograd::ForwardSite here;  // names this line in the error
    nll = -sum(log(p));
  }
  try {
    nll.backward();
  } catch (const AutogradError& e) {
    return e.what();
  }
  return "no error";
}

// Long text (an error message) broken at spaces into lines of at most `width` characters, for the page.
inline std::string wrap(const std::string& text, std::size_t width = 100) {
  std::string out, line;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(at, end - at);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    at = end + 1;
  }
  return out + line + "\n";
}

// Attention inspection: the lecture's basic self-attention (no parameters) on three tokens, recorded,
// then a backward from L = sum(Y * G) with a fixed G, so that dL/dA is not uniform. The heatmaps are
// attograd's own SVG (no Graphviz): docs.test_teaching_md compares them with docs/images/.
struct AttentionRun {
  std::string weights_svg;       // A = softmax(X Xᵀ), row i: how much output i takes from input j
  std::string weights_grad_svg;  // dL/dA after backward
};

inline AttentionRun attention() {
  nn::SelfAttention attn;
  attn.record(true);
  const Tensor x = tensor({{1.0, 0.0}, {0.5, 1.0}, {0.0, 1.0}}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor g = tensor({{1.0, -1.0}, {0.0, 1.0}, {0.5, 0.5}}, {.dtype = kFloat64});
  sum(attn(x) * g).backward();
  const std::vector<std::string> tokens = {"the", "cat", "sat"};
  return {viz::attention_heatmap(attn.recorded(), viz::AttentionPart::weights, tokens),
          viz::attention_heatmap(attn.recorded(), viz::AttentionPart::weights_grad, tokens)};
}

}  // namespace teaching
