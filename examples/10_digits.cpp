// 10_digits: handwritten digits, real data nobody here made. An MLP and a small self-attention model
// that reads the image as a sequence of its 8 rows, trained on one part of the data, chosen on a second
// and judged once on a third.
//
// The data: scikit-learn's digits, 1,797 images of 8 x 8 pixels (values 0-16) with their digit, from
// Debian's python3-sklearn (`./dev data` fetches it; docs/data.md). A stratified split (seeded, the same
// in any tool: train/split.hpp) keeps 60% of each digit for training, 20% for validation, 20% for test,
// written to split.csv so that other tools can use the very same rows.
//
// The models, trained side by side on the same mini-batches with Adam and the cross entropy:
//   MLP:        pixels [B, 64] -> Linear(64 -> H) -> ReLU -> Linear(H -> 10)
//   attention:  pixels [B, 64] as 8 rows [B, 8, 8] -> Linear(8 -> C) + a learned position per row
//               -> transformer block(s) -> mean over the rows -> Linear(C -> 10)
// The attention model must learn from its position vectors which row is which (without them, a digit
// and the same digit upside down would look alike); attention lets a row's vector gather the others.
//
// How a user who trained in PyTorch would judge them: every --eval-every steps each model is scored on
// the validation part and its best weights so far are kept (early stopping); at the end each model gets
// its best weights back, the best on validation of the two and of their ensemble (the mean of their
// probabilities) is "the best model", and only then is the test part used, once for each. The test part
// never chose anything.
//
// Pictures: curve.svg (training losses), validation.svg (validation accuracy), confusion.svg (the best
// model's confusion matrix on test), misclassified.svg (the test digits it gets wrong), attention.svg
// (what the rows attend to, on a few test digits), and split.csv.
//
//   $ 10_digits
//   ...
//   result: test_accuracy=... attention_test_accuracy=... ensemble_test_accuracy=... best_model=... best_test_accuracy=...
#include <algorithm>
#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "digits.hpp"

using namespace attograd;

namespace {

// The image as a sequence of its 8 rows, each row a token of 8 pixels.
class RowAttention : public nn::Module {
 public:
  RowAttention(std::int64_t emb, std::int64_t heads, std::int64_t depth, Generator& gen)
      : Module("RowAttention"), embed(8, emb, {.generator = &gen}), head(emb, 10, {.generator = &gen}) {
    register_module("embed", embed);
    // Small random vectors, one per row, as GPT-2 starts its position embeddings (std 0.02).
    position = register_parameter("position", nn::init::normal_(zeros({8, emb}), 0.0, 0.02, gen));
    for (std::int64_t d = 0; d < depth; ++d) blocks.add<nn::TransformerBlock>(emb, heads, nn::TransformerBlockOptions{.generator = &gen});
    register_module("blocks", blocks);
    register_module("head", head);
  }

  Tensor forward(const Tensor& images) const {
    Tensor x = embed(images.reshape({-1, 8, 8})) + position;  // [B, 8 rows, 8 pixels] -> [B, 8, C]
    for (std::size_t i = 0; i < blocks.size(); ++i) x = block(i)(x);  // [B, 8, C]
    return head(mean(x, {1}));                                         // [B, C] -> [B, 10]
  }
  Tensor operator()(const Tensor& images) const { return forward(images); }
  const nn::TransformerBlock& block(std::size_t i) const { return blocks.at<nn::TransformerBlock>(i); }
  nn::TransformerBlock& block(std::size_t i) { return blocks.at<nn::TransformerBlock>(i); }

  nn::Linear embed;
  Tensor position;  // [8, C]
  nn::ModuleList blocks;
  nn::Linear head;
};

class Mlp : public nn::Module {
 public:
  Mlp(std::int64_t hidden_width, Generator& gen)
      : Module("Mlp"), hidden(64, hidden_width, {.generator = &gen}), out(hidden_width, 10, {.generator = &gen}) {
    register_module("hidden", hidden);
    register_module("out", out);
  }
  Tensor forward(const Tensor& images) const { return out(relu(hidden(images))); }  // [B, 64] -> [B, 10]
  Tensor operator()(const Tensor& images) const { return forward(images); }

  nn::Linear hidden, out;
};

// A model's parameter values, to keep the best ones seen on validation and put them back later.
std::vector<Tensor> snapshot(const nn::Module& model) {
  NoGradGuard no_grad;
  std::vector<Tensor> values;
  for (const Tensor& p : model.parameters()) values.push_back(p.detach().clone());
  return values;
}
void restore(const nn::Module& model, const std::vector<Tensor>& values) {
  NoGradGuard no_grad;
  auto params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(values[i]);
}

using Forward = std::function<Tensor(const Tensor&)>;  // images [B, 64] -> logits [B, 10]

std::vector<std::int64_t> predict(const Forward& model, const Tensor& images) {
  NoGradGuard no_grad;
  return argmax(model(images), -1).to_vector<std::int64_t>();
}

double accuracy_of(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& labels) {
  std::int64_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i] ? 1 : 0;
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

// A model in training: its optimiser, its best validation accuracy so far and the weights that got it.
struct Contender {
  std::string name;
  nn::Module& model;
  Forward forward;
  optim::Adam opt;
  double best_validation = -1;
  std::int64_t best_step = 0;
  std::vector<Tensor> best_weights;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"10_digits: handwritten digits (scikit-learn's 8 x 8 images) with an MLP and a self-attention "
               "model over the image's rows; picked on validation, judged once on test"};
  examples::Flags flags{.steps = 2000, .lr = 2e-3, .out = "runs/10_digits"};
  examples::add_common_flags(app, flags);
  std::string data;
  std::uint64_t split_seed = 0;
  std::int64_t hidden = 128, emb = 32, heads = 4, depth = 1, batch = 32, eval_every = 0, shown = 4;
  double weight_decay = 1e-3;
  double validation_fraction = 0.2, test_fraction = 0.2;
  app.add_option("--data", data, "the digits file (default: $ATTOGRAD_DATA_DIR/digits.csv.gz, else " ATTOGRAD_DATA_DIR
                                 "/digits.csv.gz; ./dev data fetches it)");
  app.add_option("--split-seed", split_seed, "seed of the train/validation/test split (kept apart from --seed, so "
                                             "that other seeds train on the same rows)")
      ->capture_default_str();
  app.add_option("--hidden", hidden, "the MLP's hidden width")->capture_default_str()->check(examples::above(0));
  app.add_option("--emb", emb, "the attention model's width C")->capture_default_str()->check(examples::above(0));
  app.add_option("--heads", heads, "attention heads (must divide --emb)")->capture_default_str()->check(examples::above(0));
  app.add_option("--depth", depth, "transformer blocks")->capture_default_str()->check(examples::above(0));
  app.add_option("--batch", batch, "images per training step")->capture_default_str()->check(examples::above(0));
  app.add_option("--eval-every", eval_every, "steps between validation scores (0: once per epoch)")
      ->capture_default_str()
      ->check(examples::at_least(0));
  app.add_option("--validation", validation_fraction, "share of each digit held out for validation")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.45));
  app.add_option("--test", test_fraction, "share of each digit held out for test")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.45));
  app.add_option("--weight-decay", weight_decay, "Adam's L2 penalty on the weights (scikit-learn's alpha)")
      ->capture_default_str()
      ->check(examples::at_least(0));
  app.add_option("--shown", shown, "test digits in attention.svg")->capture_default_str()->check(CLI::Range(1, 10));
  CLI11_PARSE(app, argc, argv);

  return examples::run("10_digits", [&] {
    const auto out = examples::start(flags);
    const examples::Digits digits = examples::load_digits(examples::digits_path(data));
    const train::Split split = train::stratified_split(digits.labels, split_seed, {.validation = validation_fraction, .test = test_fraction});
    train::write_split(out / "split.csv", split, digits.labels);
    const Tensor& pixels = digits.pixels;
    const Tensor x_train = train::rows_of(pixels, split.train), y_train = train::rows_of(digits.labels, split.train);
    const Tensor x_val = train::rows_of(pixels, split.validation);
    const Tensor x_test = train::rows_of(pixels, split.test);
    const auto y_val = train::rows_of(digits.labels, split.validation).to_vector<std::int64_t>();
    const auto y_test = train::rows_of(digits.labels, split.test).to_vector<std::int64_t>();
    fmt::print("{} images of 8 x 8 pixels: {} train, {} validation, {} test (stratified, split seed {}; "
               "split.csv)\n", digits.labels.size(0), split.train.size(), split.validation.size(), split.test.size(),
               split_seed);

    Generator gen(flags.seed);
    Mlp mlp(hidden, gen);
    RowAttention attention(emb, heads, depth, gen);
    fmt::print("{}\n{}\n", mlp, attention);
    Contender mlp_run{"mlp", mlp, [&](const Tensor& x) { return mlp(x); }, optim::Adam(mlp.parameters(), {.lr = flags.lr, .weight_decay = weight_decay})};
    Contender attention_run{"attention", attention, [&](const Tensor& x) { return attention(x); },
                            optim::Adam(attention.parameters(), {.lr = flags.lr, .weight_decay = weight_decay})};
    const std::array<Contender*, 2> models = {&mlp_run, &attention_run};

    train::Batches batches({x_train, y_train}, batch, gen);
    if (eval_every == 0) eval_every = batches.batches_per_epoch();
    train::Curve curve({"step", "mlp_loss", "attention_loss"});
    std::vector<viz::Series> validation_curves = {{"MLP", {}, {}}, {"attention", {}, {}}};
    train::Progress progress(flags.steps, {.label = "10_digits"});
    for (std::int64_t step = 1; step <= flags.steps; ++step) {
      const auto [images, labels] = batches.next2();  // the same batch for both models
      std::vector<double> row = {static_cast<double>(step)};
      for (Contender* c_ptr : models) {
        Contender& c = *c_ptr;
        Tensor L = cross_entropy(c.forward(images), labels);
        c.opt.zero_grad();
        L.backward();
        c.opt.step();
        row.push_back(L.item());
        train::check_loss(row.back(), step);
      }
      curve.add(row);
      if (step % eval_every == 0 || step == flags.steps) {
        for (std::size_t m = 0; m < models.size(); ++m) {
          Contender& c = *models[m];
          c.model.eval();  // scoring mode (these models have no dropout, but a model of yours might)
          const double v = accuracy_of(predict(c.forward, x_val), y_val);
          c.model.train();
          validation_curves[m].x.push_back(static_cast<double>(step));
          validation_curves[m].y.push_back(v);
          if (v > c.best_validation) {  // strictly better: on a tie the earlier, shorter-trained weights stay
            c.best_validation = v;
            c.best_step = step;
            c.best_weights = snapshot(c.model);
          }
        }
      }
      progress.update(step, row[1], fmt::format("attention {:.3f}, val {:.3f} / {:.3f}", row[2],
                                                validation_curves[0].y.empty() ? 0.0 : validation_curves[0].y.back(),
                                                validation_curves[1].y.empty() ? 0.0 : validation_curves[1].y.back()));
    }
    progress.finish();
    const double seconds = progress.elapsed();

    // Each model gets back its best weights on validation. A third candidate is the two together: the mean
    // of their probabilities (an ensemble; two models that err on different digits correct each other).
    // The best candidate on validation is "the best model" (the earlier in the table on a tie, the
    // simpler). Only now is the test part used, once for each.
    for (Contender* c : models) {
      restore(c->model, c->best_weights);
      c->model.eval();
    }
    const Forward ensemble = [&](const Tensor& x) { return (softmax(mlp(x), -1) + softmax(attention(x), -1)) * 0.5; };
    struct Candidate {
      std::string name;
      Forward forward;
      double validation;
      std::vector<std::int64_t> test_predictions;
      double test = 0;
    };
    std::vector<Candidate> candidates = {{"mlp", mlp_run.forward, mlp_run.best_validation, {}},
                                         {"attention", attention_run.forward, attention_run.best_validation, {}},
                                         {"ensemble", ensemble, accuracy_of(predict(ensemble, x_val), y_val), {}}};
    std::size_t best = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].validation > candidates[best].validation) best = i;
    }
    fmt::print("\n{:<10} {:>12} {:>10}\n", "model", "validation", "test");
    for (Candidate& c : candidates) {
      c.test_predictions = predict(c.forward, x_test);
      c.test = accuracy_of(c.test_predictions, y_test);
      fmt::print("{:<10} {:>12.3f} {:>10.3f}\n", c.name, c.validation, c.test);
    }
    fmt::print("(the MLP's best validation score came at step {}, the attention model's at step {})\n",
               mlp_run.best_step, attention_run.best_step);
    const std::string& best_name = candidates[best].name;
    const auto& best_test = candidates[best].test_predictions;
    const double best_accuracy = candidates[best].test;
    fmt::print("best on validation: {}, test accuracy {:.3f} ({} of {} test digits wrong)\n", best_name, best_accuracy,
               std::count_if(best_test.begin(), best_test.end(),
                             [&, i = std::size_t{0}](std::int64_t p) mutable { return p != y_test[i++]; }),
               y_test.size());

    // The confusion matrix of the best model on test: row = the true digit, column = the prediction.
    std::vector<double> confusion(100, 0.0);
    std::vector<std::int64_t> wrong;
    std::vector<std::string> wrong_captions;
    for (std::size_t i = 0; i < y_test.size(); ++i) {
      confusion[static_cast<std::size_t>(10 * y_test[i] + best_test[i])] += 1;
      if (best_test[i] != y_test[i]) {
        wrong.push_back(static_cast<std::int64_t>(i));
        wrong_captions.push_back(fmt::format("{} as {}", y_test[i], best_test[i]));
      }
    }
    const std::vector<std::string> names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    io::write_file_atomically(out / "confusion.svg",
                              viz::heatmap(tensor(confusion, {10, 10}), names, names,
                                           {.title = fmt::format("10_digits, {} on test: true digit (row) against "
                                                                 "prediction (column)", best_name),
                                            .min = 0.0, .cell = 40}));
    examples::write_digit_grid(out / "misclassified.svg",
                               fmt::format("the {} test digits the {} model gets wrong (true as predicted)",
                                           wrong.size(), best_name),
                               train::rows_of(x_test, wrong), wrong_captions);
    if (!wrong.empty()) fmt::print("wrong: {}\n", fmt::join(wrong_captions, ", "));

    // What the attention model's last block attends to, averaged over its heads, on the first test digits.
    auto& attn = attention.block(attention.blocks.size() - 1).attn;
    const Tensor few = x_test.slice(0, 0, shown);
    attn.record(true);
    const auto few_predicted = predict(attention_run.forward, few);
    attn.record(false);
    const Tensor maps = mean(attn.recorded().weights, {1});  // [shown, H, 8, 8] -> [shown, 8, 8]
    std::vector<Tensor> per_digit;
    std::vector<std::string> captions;
    for (std::int64_t i = 0; i < shown; ++i) {
      per_digit.push_back(maps.select(0, i));
      captions.push_back(fmt::format("digit {}, predicted {}", y_test[static_cast<std::size_t>(i)],
                                     few_predicted[static_cast<std::size_t>(i)]));
    }
    examples::write_attention_pictures(out / "attention.svg",
                                       "10_digits: each image row (a token) and what it attends to, last block, "
                                       "mean of the heads", few, per_digit, captions);
    io::write_file_atomically(out / "validation.svg",
                              viz::line_chart(validation_curves, {.title = "10_digits: validation accuracy",
                                                                  .y_label = "accuracy"}));
    examples::write_curve(curve, out, "10_digits: training loss (cross entropy) of each model");
    examples::print_result({{"test_accuracy", fmt::format("{:.3f}", candidates[0].test)},
                            {"attention_test_accuracy", fmt::format("{:.3f}", candidates[1].test)},
                            {"ensemble_test_accuracy", fmt::format("{:.3f}", candidates[2].test)},
                            {"best_model", best_name},
                            {"best_test_accuracy", fmt::format("{:.3f}", best_accuracy)},
                            {"mlp_validation_accuracy", fmt::format("{:.3f}", mlp_run.best_validation)},
                            {"attention_validation_accuracy", fmt::format("{:.3f}", attention_run.best_validation)},
                            {"test_digits", fmt::format("{}", y_test.size())},
                            {"steps", fmt::format("{}", flags.steps)}},
                           seconds, out);
  });
}
