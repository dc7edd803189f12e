// 03_sine: regression, fitting y = sin(x) on [-pi, pi] with an MLP, judged on held-out points.
//
// The training set is --train-points random x with y = sin(x) (+ Gaussian noise of --noise); the test
// set is --test-points other random x, never trained on. The model, Linear(1 -> H), tanh,
// Linear(H -> H), tanh, Linear(H -> 1), is trained on shuffled mini-batches (train::Batches) with the
// mean squared error and Adam, its learning rate falling along half a cosine to 0. The baseline is the
// best constant, the training targets' mean: its test MSE is about 0.5, the variance of sin over a
// full period.
//
// Writes curve.csv / curve.svg (train loss and test MSE by step, log scale) and fit.svg (sin x and the
// model's curve).
//
//   $ 03_sine
//   ...
//   result: test_mse=... baseline_mse=... steps=3000 seconds=... out=runs/03_sine
#include <cmath>
#include <numbers>
#include <vector>

#include "common.hpp"

using namespace attograd;

namespace {

// sin of every value. Only the data needs it, without a gradient, so a loop does it (attograd has no
// sin op).
Tensor sin_of(const Tensor& x) {
  std::vector<double> v = x.to_vector<double>();
  for (double& e : v) e = std::sin(e);
  return tensor(v, x.shape(), {.dtype = x.dtype()});
}

// n points x uniform in [-pi, pi] and y = sin(x) + noise, as columns [n, 1].
std::pair<Tensor, Tensor> sine_data(std::int64_t n, double noise, Generator& gen) {
  const Tensor x = uniform({n, 1}, -std::numbers::pi, std::numbers::pi, gen);
  Tensor y = sin_of(x);
  if (noise > 0) y = y + normal({n, 1}, 0.0, noise, gen);
  return {x, y};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"03_sine: fit y = sin(x) on [-pi, pi] with an MLP; report the MSE on held-out points"};
  examples::Flags flags{.steps = 3000, .lr = 0.01, .out = "runs/03_sine"};
  examples::add_common_flags(app, flags);
  examples::add_checkpoint_flags(app, flags);
  std::int64_t hidden = 32, batch = 32, train_points = 256, test_points = 256;
  double noise = 0.0;
  app.add_option("--hidden", hidden, "units in each of the two hidden layers")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--batch", batch, "mini-batch size")->capture_default_str()->check(examples::above(0));
  app.add_option("--train-points", train_points, "training points")->capture_default_str()->check(examples::above(0));
  app.add_option("--test-points", test_points, "held-out test points")
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--noise", noise, "standard deviation of the noise added to the training targets")
      ->capture_default_str()
      ->check(examples::at_least(0));
  CLI11_PARSE(app, argc, argv);
  auto report = examples::start_report(app, "03_sine: an MLP fits sin(x)");

  return examples::run("03_sine", [&] {
    const auto out = examples::start(flags);
    Generator gen(flags.seed);
    const auto [x_train, y_train] = sine_data(train_points, noise, gen);
    const auto [x_test, y_test] = sine_data(test_points, 0.0, gen);  // held out: clean targets

    nn::Sequential model;
    model.add<nn::Linear>(1, hidden, nn::LinearOptions{.generator = &gen});
    model.add<nn::Tanh>();
    model.add<nn::Linear>(hidden, hidden, nn::LinearOptions{.generator = &gen});
    model.add<nn::Tanh>();
    model.add<nn::Linear>(hidden, 1, nn::LinearOptions{.generator = &gen});
    fmt::print("{}\n", model);

    auto test_mse = [&] {
      NoGradGuard no_grad;
      return mse_loss(model(x_test), y_test).item();
    };
    // The best constant prediction, the training targets' mean, as a baseline.
    const double baseline = mse_loss(full_like(y_test, y_train.mean().item()), y_test).item();

    optim::Adam opt(model.parameters(), {.lr = flags.lr});
    optim::CosineAnnealingLR schedule(opt, flags.steps);  // the lr falls from --lr to 0: a calm finish
    train::Batches batches({x_train, y_train}, batch, gen);
    train::Curve curve({"step", "train_loss", "test_mse"});
    // What a checkpoint keeps (--checkpoint-every, --resume): everything the next step reads. The
    // schedule and the evaluation steps depend on --steps, so a resumed run must keep it.
    const std::string settings = fmt::format("steps={} hidden={} batch={} train_points={} test_points={} noise={}",
                                             flags.steps, hidden, batch, train_points, test_points, noise);
    const train::TrainingState state{.model = model, .optimizer = &opt, .schedule = &schedule, .generator = &gen,
                                     .batches = &batches, .curve = &curve, .config = examples::config(flags, settings)};
    const std::int64_t done = examples::resume(flags, out, state);  // 0 unless --resume
    train::Progress progress(flags.steps, {.label = "03_sine"});
    const std::int64_t eval_every = std::max<std::int64_t>(1, flags.steps / 50);
    for (std::int64_t step = done + 1; step <= flags.steps; ++step) {
      auto [x, y] = batches.next2();          // [batch, 1] each, a fresh order every epoch
      Tensor L = mse_loss(model(x), y);       // forward
      opt.zero_grad();
      L.backward();                           // backward
      opt.step();                             // update
      schedule.step();
      train::check_loss(L.item(), step);
      const bool eval = step % eval_every == 0 || step == flags.steps;
      curve.add({static_cast<double>(step), L.item(), eval ? test_mse() : NAN});
      progress.update(step, L.item());
      if (examples::after_step(flags, out, state, step)) return;  // a checkpoint; --stop-after
    }
    progress.finish();
    const double seconds = progress.elapsed();
    const double mse = test_mse();

    // The fit over the whole interval, for the picture.
    {
      NoGradGuard no_grad;
      const Tensor xs = linspace(-std::numbers::pi, std::numbers::pi, 201).reshape({201, 1});
      const auto grid = xs.to_vector<double>();
      viz::Series truth{"sin(x)", grid, sin_of(xs).to_vector<double>()};
      viz::Series fitted{"model", grid, model(xs).to_vector<double>()};
      const std::string fit = viz::line_chart({truth, fitted}, {.title = "03_sine: the fit", .x_label = "x", .y_label = "y"});
      io::write_file_atomically(out / "fit.svg", fit);
      report.picture("the trained model against sin(x)", fit);
    }
    fmt::print("test MSE {:.3g} on {} held-out points (baseline, the mean: {:.3g})\n", mse, test_points, baseline);
    examples::write_curve(curve, out, "03_sine: mean squared error", true, &report);
    examples::print_result({{"test_mse", fmt::format("{:.3g}", mse)},
                            {"baseline_mse", fmt::format("{:.3g}", baseline)},
                            {"steps", fmt::format("{}", flags.steps)}},
                           seconds, out, &report);
  });
}
