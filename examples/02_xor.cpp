// 02_xor: XOR with a small MLP, the classic problem a single linear layer cannot solve.
//
// The four points (0,0) (0,1) (1,0) (1,1) with labels 0 1 1 0 cannot be split by one straight line, so
// a model without a hidden layer is stuck at 3 of 4 right at best. A hidden layer of tanh units bends
// the plane: Linear(2 -> 8), tanh, Linear(8 -> 2) gives two logits per point, trained with the cross
// entropy and Adam on all four points at every step.
//
// Writes curve.csv / curve.svg (loss and accuracy by step) and decision.svg, the learned probability of
// class 1 over the square [-0.5, 1.5]^2 (the four points sit at the corners of the inner square).
//
//   $ 02_xor
//   02_xor: step 100/1000 loss ...
//   ...
//   result: accuracy=1.000 loss=... steps=1000 seconds=... out=runs/02_xor
#include <vector>

#include "common.hpp"

using namespace attograd;

int main(int argc, char** argv) {
  CLI::App app{"02_xor: XOR with a small MLP (2 -> hidden -> 2, tanh), trained with Adam on the 4 points"};
  examples::Flags flags{.steps = 1000, .lr = 0.05, .out = "runs/02_xor"};
  examples::add_common_flags(app, flags);
  examples::add_checkpoint_flags(app, flags);
  std::int64_t hidden = 8;
  app.add_option("--hidden", hidden, "hidden units")->capture_default_str()->check(examples::above(0));
  CLI11_PARSE(app, argc, argv);
  auto report = examples::start_report(app, "02_xor: XOR with a small MLP");

  return examples::run("02_xor", [&] {
    const auto out = examples::start(flags);

    // The data: all four points, X [4, 2], and their classes, y [4] (int64 class indices).
    const Tensor X = tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
    const Tensor y = tensor_of<std::int64_t>({0, 1, 1, 0}, {4});

    // The model: the seed fixes the initial weights.
    Generator gen(flags.seed);
    nn::Sequential model;
    model.add<nn::Linear>(2, hidden, nn::LinearOptions{.generator = &gen});
    model.add<nn::Tanh>();
    model.add<nn::Linear>(hidden, 2, nn::LinearOptions{.generator = &gen});
    fmt::print("{}\n", model);

    optim::Adam opt(model.parameters(), {.lr = flags.lr});
    train::Curve curve({"step", "loss", "accuracy"});
    // What a checkpoint keeps (--checkpoint-every, --resume): everything the next step reads.
    const train::TrainingState state{.model = model, .optimizer = &opt, .generator = &gen, .curve = &curve,
                                     .config = examples::config(flags, fmt::format("hidden={}", hidden))};
    const std::int64_t done = examples::resume(flags, out, state);  // 0 unless --resume
    train::Progress progress(flags.steps, {.label = "02_xor"});
    double loss = 0, accuracy = 0;
    for (std::int64_t step = done + 1; step <= flags.steps; ++step) {
      Tensor logits = model(X);                // forward: [4, 2]
      Tensor L = cross_entropy(logits, y);     // mean over the 4 points
      opt.zero_grad();                         // drop the last step's gradients
      L.backward();                            // backward: dL/d(every parameter)
      opt.step();                              // update: Adam's step for each parameter
      loss = L.item();
      train::check_loss(loss, step);
      accuracy = train::accuracy(logits, y);   // of the forward before this update
      curve.add({static_cast<double>(step), loss, accuracy});
      progress.update(step, loss, fmt::format("acc {:.2f}", accuracy));
      if (examples::after_step(flags, out, state, step)) return;  // a checkpoint; --stop-after
    }
    progress.finish();
    const double seconds = progress.elapsed();

    // One more forward and backward, kept whole for the report's picture of the graph.
    {
      viz::GraphCapture capture;
      Tensor L = cross_entropy(model(X), y);
      L.backward();
      report.graph(L, "the graph of one step: the loss on the 4 points, every value and gradient");
    }

    // The trained model on the four points, and over a grid for the picture.
    NoGradGuard no_grad;
    model.eval();
    const Tensor p = softmax(model(X), -1);
    accuracy = train::accuracy(model(X), y);
    loss = cross_entropy(model(X), y).item();
    for (std::int64_t i = 0; i < 4; ++i) {
      fmt::print("  x = ({:g}, {:g})  class {}  p(class 1) = {:.4f}\n", X.at({i, 0}), X.at({i, 1}),
                 y.at<std::int64_t>({i}), p.at({i, 1}));
    }
    constexpr int kGrid = 21;  // -0.5, -0.4, ..., 1.5
    std::vector<double> grid;
    std::vector<std::string> x_labels, y_labels;
    for (int r = 0; r < kGrid; ++r) {
      for (int c = 0; c < kGrid; ++c) grid.insert(grid.end(), {-0.5 + 0.1 * c, 1.5 - 0.1 * r});
    }
    for (int i = 0; i < kGrid; ++i) {
      x_labels.push_back(i % 5 == 0 ? fmt::format("{:.1f}", -0.5 + 0.1 * i) : "");
      y_labels.push_back(i % 5 == 0 ? fmt::format("{:.1f}", 1.5 - 0.1 * i) : "");
    }
    const Tensor logits = model(tensor(grid, {kGrid * kGrid, 2}));
    const Tensor probability = softmax(logits, -1).select(1, 1).reshape({kGrid, kGrid});  // p(class 1)
    const std::string decision = viz::heatmap(probability, y_labels, x_labels,
                                              {.title = "02_xor: p(class 1) over the plane (x1 across, x2 up)",
                                               .min = 0.0, .max = 1.0, .show_values = false, .cell = 16});
    io::write_file_atomically(out / "decision.svg", decision);
    report.picture("the trained model's p(class 1) over the plane", decision);

    examples::write_curve(curve, out, "02_xor: cross entropy and accuracy on the 4 points", true, &report);
    examples::print_result({{"accuracy", fmt::format("{:.3f}", accuracy)},
                            {"loss", fmt::format("{:.3g}", loss)},
                            {"steps", fmt::format("{}", flags.steps)}},
                           seconds, out, &report);
  });
}
