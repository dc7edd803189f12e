// A small training run for the resume, kill and determinism tests. Every random choice (the data, the
// initial weights, the dropout masks, the shuffled batches) comes from one generator, and a schedule
// changes the lr, so a resumed run that restores any part wrongly takes other numbers.
//
//   SmallRun run(OptimizerKind::Adam);
//   for (std::int64_t step = 1; step <= 12; ++step) run.step(step);   // run.curve holds the losses
//   train::save_training_state(path, run.state(), 12);
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

#include <attograd/attograd.hpp>

namespace attograd::testing {

enum class OptimizerKind { SgdMomentum, Adam };

struct SmallRunOptions {
  std::uint64_t seed = 7;
  std::int64_t rows = 40;     // 5 batches of 8 an epoch
  std::int64_t width = 16;    // hidden units
  std::int64_t batch = 8;
  std::int64_t total_steps = 12;
};

class SmallRun {
 public:
  explicit SmallRun(OptimizerKind kind, SmallRunOptions o = {}) : gen(o.seed) {
    x = randn({o.rows, 4}, gen);
    y = randint(0, 3, {o.rows}, gen);
    model.add<nn::Linear>(4, o.width, nn::LinearOptions{.generator = &gen});
    model.add<nn::Tanh>();
    model.add<nn::Dropout>(0.3, gen);
    model.add<nn::Linear>(o.width, 3, nn::LinearOptions{.generator = &gen});
    if (kind == OptimizerKind::SgdMomentum) {
      opt = std::make_unique<optim::SGD>(model.parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
      schedule = std::make_unique<optim::StepLR>(*opt, 4, 0.5);
    } else {
      opt = std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions{.lr = 0.02});
      schedule = std::make_unique<optim::CosineAnnealingLR>(*opt, o.total_steps);
    }
    batches = std::make_unique<train::Batches>(std::vector<Tensor>{x, y}, o.batch, gen);
  }

  // One training step; returns the loss and adds it to the curve.
  double step(std::int64_t step) {
    auto [xb, yb] = batches->next2();
    Tensor loss = cross_entropy(model(xb), yb);
    opt->zero_grad();
    loss.backward();
    opt->step();
    schedule->step();
    curve.add({static_cast<double>(step), loss.item()});
    return loss.item();
  }

  train::TrainingState state() {
    return {.model = model, .optimizer = opt.get(), .schedule = schedule.get(), .generator = &gen,
            .batches = batches.get(), .curve = &curve, .config = "seed=7"};
  }

  // Every parameter's values, as bits: equal only if bit for bit equal.
  std::vector<std::uint64_t> parameter_bits() const {
    std::vector<std::uint64_t> bits;
    for (const Tensor& p : model.parameters()) {
      for (const float v : p.to_vector<float>()) bits.push_back(std::bit_cast<std::uint32_t>(v));
    }
    return bits;
  }

  Generator gen;
  Tensor x, y;
  nn::Sequential model;
  std::unique_ptr<optim::Optimizer> opt;
  std::unique_ptr<optim::LrSchedule> schedule;
  std::unique_ptr<train::Batches> batches;
  train::Curve curve{{"step", "loss"}};
};

// The losses of a curve as bits, so that a comparison is bit for bit (and NaN equals NaN).
inline std::vector<std::uint64_t> loss_bits(const train::Curve& curve) {
  std::vector<std::uint64_t> bits;
  for (const auto& row : curve.rows()) bits.push_back(std::bit_cast<std::uint64_t>(row.at(1)));
  return bits;
}

}  // namespace attograd::testing
