// bench_digits_mlp: example 10's MLP trained the way scikit-learn's MLPClassifier trains it, so that
// bench/digits_sklearn.py can train the same model on the same rows and the two can be put side by side
// (accuracy and training time, one thread each). `./dev bench digits` runs both.
//
//   bench_digits_mlp <digits.csv.gz> <out folder> [epochs=118] [seed=0]
//   -> <out>/split.csv (the rows of each part), and one line:
//      digits_mlp: validation_accuracy=0.969 test_accuracy=0.964 train_seconds=1.23 epochs=118 ...
//
// The example's MLP, 64 -> 256 -> 128 -> 10 with ReLU, its Adam settings and its 4,000 steps (118
// epochs of 34 batches); not its jittered images or label smoothing, which MLPClassifier has no option
// for, nor its early stopping: both sides here train on the plain images, like for like.
// What MLPClassifier(hidden_layer_sizes=(256, 128), activation="relu", solver="adam", alpha=A, batch_size=32,
// learning_rate_init=2e-3, max_iter=epochs, shuffle=True, tol=0) does, and so what this does:
// - weights and biases drawn from U(-b, b), b = sqrt(6 / (fan_in + fan_out)) (Glorot; PyTorch's Linear
//   would start otherwise);
// - each epoch the training rows in a fresh random order, batches of 32, the last one smaller;
// - the loss is the mean cross entropy of the batch plus alpha / (2 n) times the squared weights (not the
//   biases), n the batch's size: with batches of 32 that is Adam's L2 weight_decay = alpha / 32 on the
//   weights only (the last, smaller batch of an epoch gets alpha / 32 too: the one difference);
// - Adam with betas (0.9, 0.999), eps 1e-8; no early stopping: the weights after the last epoch count.
// The random draws differ (numpy's generator, not attograd's), so the two runs are alike in law, not in
// bits: compare their accuracies over seeds, not one run's digits.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <attograd/attograd.hpp>

using namespace attograd;

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: bench_digits_mlp <digits.csv.gz> <out folder> [epochs=118] [seed=0]\n");
    return 2;
  }
  try {
    const std::filesystem::path out = argv[2];
    const std::int64_t epochs = argc > 3 ? std::stoll(argv[3]) : 118;
    const std::uint64_t seed = argc > 4 ? std::stoull(argv[4]) : 0;  // of the weights and batches; the split stays
    const std::int64_t batch = 32;
    const double lr = 2e-3, alpha = 1e-3 * batch;  // alpha / batch = example 10's weight_decay
    set_num_threads(1);

    const train::CsvTable table = train::read_csv(argv[1]);
    const Tensor pixels = table.values.slice(1, 0, 64).contiguous() / 16.0;
    const Tensor labels = table.values.select(1, 64).to(kInt64);
    const train::Split split = train::stratified_split(labels, 0, {.validation = 0.2, .test = 0.2});
    std::filesystem::create_directories(out);
    train::write_split(out / "split.csv", split, labels);

    Generator gen(seed);
    nn::Linear first(64, 256, {.generator = &gen}), second(256, 128, {.generator = &gen}), third(128, 10, {.generator = &gen});
    for (nn::Linear* layer : {&first, &second, &third}) {
      const double b = std::sqrt(6.0 / static_cast<double>(layer->in_features() + layer->out_features()));
      nn::init::uniform_(layer->weight, -b, b, gen);
      nn::init::uniform_(layer->bias, -b, b, gen);
    }
    optim::Adam opt({{.params = {first.weight, second.weight, third.weight}, .weight_decay = alpha / batch},
                     {.params = {first.bias, second.bias, third.bias}, .weight_decay = 0.0}},
                    {.lr = lr});
    auto forward = [&](const Tensor& x) { return third(relu(second(relu(first(x))))); };
    auto accuracy_on = [&](const std::vector<std::int64_t>& rows) {
      NoGradGuard no_grad;
      return train::accuracy(forward(train::rows_of(pixels, rows)), train::rows_of(labels, rows));
    };

    train::Batches batches({train::rows_of(pixels, split.train), train::rows_of(labels, split.train)}, batch, gen);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t step = 0; step < epochs * batches.batches_per_epoch(); ++step) {
      const auto [x, y] = batches.next2();
      Tensor L = cross_entropy(forward(x), y);
      opt.zero_grad();
      L.backward();
      opt.step();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("digits_mlp: validation_accuracy={:.3f} test_accuracy={:.3f} train_seconds={:.2f} epochs={} "
               "hidden=256,128 batch={} lr={} alpha={} seed={} threads=1\n",
               accuracy_on(split.validation), accuracy_on(split.test), seconds, epochs, batch, lr, alpha, seed);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_digits_mlp: error: {}\n", e.what());
    return 1;
  }
}
