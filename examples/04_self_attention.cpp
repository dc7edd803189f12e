// 04_self_attention: the lecture's basic self-attention, taken apart with numbers.
//
// The layer (MLVU lecture 10, "Transformers", slides 1-9) has no parameters. For inputs x_1..x_T, the
// rows of X [T, C]:
//   W' = X Xᵀ       raw weights: w'_ij = x_i · x_j
//   W  = softmax of each row of W'
//   Y  = W X        every output is a weighted sum of all the inputs
// The program takes T vectors from the seed and shows, each with a number the golden-run test checks:
//  1. the derived weights W; every row sums to 1 (row_sum_error);
//  2. permutation equivariance: permuting the inputs permutes the outputs the same way
//     (equivariance_error), so without position information the layer cannot see order;
//  3. the two paths of the gradient from X to Y = W X (lecture slide 9), for an upstream gradient dY as
//     if a loss followed:
//       through the values, the weights held fixed (W detached):  dX = Wᵀ dY             (linear)
//       through the weights, the values held fixed:                dW = dY Xᵀ
//                                                                  dW' = W ⊙ (dW - rowsum(dW ⊙ W))
//                                                                  dX = (dW' + dW'ᵀ) X   (softmax)
//     each by autograd and by the formula, and the two adding up to autograd's gradient (path_error);
//  4. gradient descent on the inputs themselves: --steps steps on L = -log W[from, to] make one token
//     attend to another (attention = that weight at the end).
// Writes attention.svg (W), attention_grad.svg (dL/dW for the loss of part 3), attention_trained.svg
// (W after part 4) with the token labels, and curve.csv / curve.svg for part 4.
//
//   $ 04_self_attention
//   ...
//   result: row_sum_error=... equivariance_error=... path_error=... attention=... steps=200 seconds=...
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/ranges.h>

#include "common.hpp"

using namespace attograd;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  return abs(a - b).max().item();
}

// Prints a matrix, 4 decimals, rows labelled; columns too when column labels are given ([T, T] weights).
void show(const std::string& title, const Tensor& m, const std::vector<std::string>& rows,
          const std::vector<std::string>& columns = {}) {
  fmt::print("{}\n", title);
  if (!columns.empty()) fmt::print("  {:>8}{}\n", "", fmt::format("{:>9}", fmt::join(columns, "")));
  for (std::int64_t r = 0; r < m.size(0); ++r) {
    fmt::print("  {:>8}", rows[static_cast<std::size_t>(r)]);
    for (std::int64_t c = 0; c < m.size(1); ++c) fmt::print(" {:8.4f}", m.at({r, c}));
    fmt::print("\n");
  }
  fmt::print("\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"04_self_attention: the basic, parameter-free self-attention: derived weights, permutation "
               "equivariance, the two gradient paths, and moving attention by gradient descent on the inputs"};
  examples::Flags flags{.steps = 200, .lr = 0.1, .out = "runs/04_self_attention"};
  examples::add_common_flags(app, flags);
  std::vector<std::string> tokens = {"the", "cat", "sat", "down"};
  std::int64_t dim = 3, from = 0, to = 2;
  bool scaled = false;
  app.add_option("--tokens", tokens, "labels of the T input vectors (the vectors are random, from the seed)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--dim", dim, "size C of each vector")->capture_default_str()->check(examples::above(0));
  app.add_option("--from", from, "part 4: the token whose attention moves")->capture_default_str();
  app.add_option("--to", to, "part 4: the token it should attend to")->capture_default_str();
  app.add_flag("--scaled", scaled, "divide the dot products by sqrt(C) (the lecture's slide 14)");
  CLI11_PARSE(app, argc, argv);
  auto report = examples::start_report(app, "04_self_attention: the basic self-attention, step by step");

  return examples::run("04_self_attention", [&] {
    const auto T = static_cast<std::int64_t>(tokens.size());
    if (T < 2) throw ValueError(fmt::format("--tokens: need at least 2 tokens, got {}", T));
    if (from < 0 || from >= T || to < 0 || to >= T) {
      throw ValueError(fmt::format("--from {} and --to {} must be token indices in [0, {})", from, to, T));
    }
    const auto out = examples::start(flags);
    const double c = scaled ? 1.0 / std::sqrt(static_cast<double>(dim)) : 1.0;

    Generator gen(flags.seed);
    Tensor X = randn({T, dim}, gen, {.dtype = kFloat64, .requires_grad = true});  // [T, C]
    const Tensor dY = randn({T, dim}, gen, {.dtype = kFloat64});                    // upstream
    nn::SelfAttention attention({.scaled = scaled});
    show("X: the input vectors, one row per token", X, tokens);

    // 1. The derived weights.
    attention.record(true);  // keep W and, after backward, dL/dW for the pictures
    auto [Y, W] = attention.forward_with_weights(X);
    attention.record(false);
    show(fmt::format("W = softmax(X Xt{}): row i holds the weights of output i over the inputs",
                     scaled ? " / sqrt(C)" : ""),
         W, tokens, tokens);
    const double row_sum_error = max_abs_diff(W.sum({1}), ones({T}, {.dtype = kFloat64}));
    const Tensor largest = W.argmax(1);  // [T]: the input each output weighs most
    std::int64_t diagonal_largest = 0;
    for (std::int64_t i = 0; i < T; ++i) diagonal_largest += largest.at<std::int64_t>({i}) == i ? 1 : 0;
    fmt::print("rows sum to 1 up to {:.2g}; in {} of {} rows the largest weight is on the diagonal (a vector is "
               "most similar to itself)\n\n",
               row_sum_error, diagonal_largest, T);
    show("Y = W X: the outputs", Y, tokens);

    // 2. Permutation equivariance: reverse the order of the inputs.
    std::vector<std::int64_t> order(static_cast<std::size_t>(T));
    std::vector<std::string> reversed_tokens(tokens.rbegin(), tokens.rend());
    for (std::int64_t i = 0; i < T; ++i) order[static_cast<std::size_t>(i)] = T - 1 - i;
    const Tensor reversed = tensor_of<std::int64_t>(order, {T});
    double equivariance_error = 0;
    {
      NoGradGuard no_grad;
      const Tensor y_of_reversed = attention(index_select(X, 0, reversed));
      equivariance_error = max_abs_diff(y_of_reversed, index_select(Y, 0, reversed));
      show("the outputs for the inputs in reverse order: Y's rows, reversed", y_of_reversed,
           reversed_tokens);
    }
    fmt::print("permutation equivariance: they differ from Y reversed by at most {:.2g}\n\n", equivariance_error);

    // 3. The two gradient paths, for the loss L = sum(Y ⊙ dY), whose gradient with respect to Y is dY.
    show("dY: an upstream gradient, as if a loss followed the layer", dY, tokens);
    Y.backward(dY);  // everything: both paths at once
    const Tensor full = X.grad().clone();
    viz::write_attention_heatmap(out / "attention.svg", attention.recorded(), viz::AttentionPart::weights, tokens,
                                 {.title = "W: output (row) attends to input (column)"});
    viz::write_attention_heatmap(out / "attention_grad.svg", attention.recorded(), viz::AttentionPart::weights_grad,
                                 tokens, {.title = "dL/dW for L = sum(Y * dY)"});
    report.attention(attention.recorded(), tokens, "W, for L = sum(Y * dY)");
    X.zero_grad();

    // Through the values: W computed from X, then detached, so it is a constant here.
    matmul(attention.forward_with_weights(X).weights.detach(), X).backward(dY);
    const Tensor values_path = X.grad().clone();
    X.zero_grad();
    // Through the weights: X detached where it is the value, kept where it makes W.
    matmul(attention.forward_with_weights(X).weights, X.detach()).backward(dY);
    const Tensor weights_path = X.grad().clone();
    X.zero_grad();

    double path_error = 0;
    {
      NoGradGuard no_grad;
      const Tensor Wv = W.detach(), Xv = X.detach();
      const Tensor values_by_hand = matmul(Wv.mT(), dY);                     // Wᵀ dY
      const Tensor dW = matmul(dY, Xv.mT());                                 // dY Xᵀ
      const Tensor dS = Wv * (dW - (dW * Wv).sum({1}, true));                // the softmax's backward
      const Tensor weights_by_hand = c * matmul(dS + dS.mT(), Xv);           // X is both query and key
      show("dX through the values (autograd, W detached)", values_path, tokens);
      show("dX through the values by hand: Wt dY", values_by_hand, tokens);
      show("dX through the weights (autograd, X detached as the value)", weights_path, tokens);
      show(fmt::format("dX through the weights by hand: {}(dS + dSt) X, dS = W * (dW - rowsum(dW * W)), dW = dY Xt",
                       scaled ? "c " : ""),
           weights_by_hand, tokens);
      show("the two paths added", values_path + weights_path, tokens);
      show("autograd's dX, both paths at once", full, tokens);
      path_error = std::max({max_abs_diff(values_path, values_by_hand), max_abs_diff(weights_path, weights_by_hand),
                             max_abs_diff(values_path + weights_path, full)});
    }
    fmt::print("each path agrees with its formula, and their sum with autograd's gradient, up to {:.2g}\n\n",
               path_error);

    // 4. Move the attention: gradient descent on a copy of the inputs, so that token `from` attends to
    //    token `to`. Only the path through the weights can do this: the loss depends on W alone.
    Tensor Xd = X.detach().clone().requires_grad_();
    const double before = W.at({from, to});
    train::Curve curve({"step", "loss", "attention"});
    train::Progress progress(flags.steps, {.label = "04_self_attention"});
    double attention_now = before;
    for (std::int64_t step = 1; step <= flags.steps; ++step) {
      const Tensor w = attention.forward_with_weights(Xd).weights;
      Tensor L = -log(w.select(0, from).select(0, to));
      L.backward();
      train::check_loss(L.item(), step);
      {
        NoGradGuard no_grad;
        Xd.add_(Xd.grad(), -flags.lr);
      }
      Xd.zero_grad();
      attention_now = std::exp(-L.item());
      curve.add({static_cast<double>(step), L.item(), attention_now});
      progress.update(step, L.item(), fmt::format("w[{},{}] {:.3f}", from, to, attention_now));
    }
    progress.finish();
    const double seconds = progress.elapsed();
    {
      NoGradGuard no_grad;
      const Tensor trained = attention.forward_with_weights(Xd).weights;
      attention_now = trained.at({from, to});
      show("W after gradient descent on the inputs", trained, tokens, tokens);
      const std::string picture = viz::heatmap(trained, tokens, tokens,
                                               {.title = fmt::format("W after {} steps: '{}' attends to '{}'",
                                                                     flags.steps, tokens[from], tokens[to]),
                                                .min = 0.0, .max = 1.0});
      io::write_file_atomically(out / "attention_trained.svg", picture);
      report.picture("part 4: W after gradient descent on the inputs", picture);
    }
    fmt::print("'{}' attends to '{}' with weight {:.4f} (it was {:.4f})\n", tokens[from], tokens[to], attention_now,
               before);

    examples::write_curve(curve, out, "04_self_attention: -log W[from, to] and W[from, to]", true, &report);
    examples::print_result({{"row_sum_error", fmt::format("{:.2g}", row_sum_error)},
                            {"equivariance_error", fmt::format("{:.2g}", equivariance_error)},
                            {"path_error", fmt::format("{:.2g}", path_error)},
                            {"attention", fmt::format("{:.4f}", attention_now)},
                            {"steps", fmt::format("{}", flags.steps)}},
                           seconds, out, &report);
  });
}
