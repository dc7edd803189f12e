// 10_digits: handwritten digits, real data nobody here made. MLPs and small self-attention models that
// read the image as a sequence of its 8 rows, trained on one part of the data, chosen on a second and
// judged once on a third.
//
// The data: scikit-learn's digits, 1,797 images of 8 x 8 pixels (values 0-16) with their digit, from
// Debian's python3-sklearn (`./dev data` fetches it; docs/data.md). A stratified split (seeded, the same
// in any tool: train/split.hpp) keeps 60% of each digit for training, 20% for validation, 20% for test,
// written to split.csv so that other tools can use the very same rows.
//
// The models, --ensemble of each kind (5), each from its own initial weights, all trained side by side
// on the same mini-batches with Adam and the cross entropy:
//   MLP:        pixels [B, 64] -> Linear(64 -> H) -> ReLU -> Linear(H -> 10)
//   attention:  pixels [B, 64] as 8 rows [B, 8, 8] -> Linear(8 -> C) + a learned position per row
//               -> transformer block(s) -> mean over the rows -> Linear(C -> 10)
// The attention model must learn from its position vectors which row is which (without them, a digit
// and the same digit upside down would look alike); attention lets a row's vector gather the others.
//
// How a user who trained in PyTorch would judge them: every --eval-every steps each model is scored on
// the validation part and its best weights so far are kept (early stopping). At the end every model gets
// its best weights back, and the candidates are: each model alone, the MLPs together, the attention
// models together, and all of them together (an ensemble: the mean of their probabilities). "The MLP"
// is the MLP best on validation, "the attention model" likewise, and "the best model" the candidate
// best on validation (on a tie the earlier one: a single model before a group). Only then is the test
// part used, once for each. The test part never chose anything.
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
#include <memory>
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
  std::string name;  // "mlp_0", "attention_3", ...
  nn::Module& model;
  Forward forward;
  optim::Adam opt;
  double best_validation = -1;
  std::int64_t best_step = 0;
  std::vector<Tensor> best_weights;
};

// What the test may judge: one model or several, whose probabilities are averaged.
struct Candidate {
  std::string name;
  std::vector<const Contender*> members;
  double validation = 0, test = 0;
  std::vector<std::int64_t> test_predictions;

  Tensor probabilities(const Tensor& images) const {  // [B, 64] -> [B, 10]
    Tensor sum = softmax(members[0]->forward(images), -1);
    for (std::size_t i = 1; i < members.size(); ++i) sum = sum + softmax(members[i]->forward(images), -1);
    return sum / static_cast<double>(members.size());
  }
  std::vector<std::int64_t> predict(const Tensor& images) const {
    NoGradGuard no_grad;
    return argmax(probabilities(images), -1).to_vector<std::int64_t>();
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"10_digits: handwritten digits (scikit-learn's 8 x 8 images) with MLPs and self-attention models "
               "over the image's rows; picked on validation, judged once on test"};
  examples::Flags flags{.steps = 2000, .lr = 2e-3, .out = "runs/10_digits"};
  examples::add_common_flags(app, flags);
  std::string data;
  std::uint64_t split_seed = 0;
  std::int64_t hidden = 128, emb = 32, heads = 4, depth = 1, batch = 32, eval_every = 0, shown = 4, ensemble = 5;
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
  app.add_option("--weight-decay", weight_decay, "Adam's L2 penalty, weight_decay (scikit-learn's alpha is this times the batch size)")
      ->capture_default_str()
      ->check(examples::at_least(0));
  app.add_option("--ensemble", ensemble, "models of each kind, each from its own initial weights")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
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

    // --ensemble models of each kind, each drawing its initial weights from the one generator in turn.
    Generator gen(flags.seed);
    std::vector<std::unique_ptr<Mlp>> mlps;
    std::vector<std::unique_ptr<RowAttention>> attentions;
    std::vector<std::unique_ptr<Contender>> runs;  // the MLPs first, then the attention models
    for (std::int64_t k = 0; k < ensemble; ++k) {
      Mlp& m = *mlps.emplace_back(std::make_unique<Mlp>(hidden, gen));
      // A Contender holds an optimiser, which cannot move: built in place, behind a pointer.
      runs.emplace_back(new Contender{fmt::format("mlp_{}", k), m, [&m](const Tensor& x) { return m(x); },
                                      optim::Adam(m.parameters(), {.lr = flags.lr, .weight_decay = weight_decay})});
    }
    for (std::int64_t k = 0; k < ensemble; ++k) {
      RowAttention& a = *attentions.emplace_back(std::make_unique<RowAttention>(emb, heads, depth, gen));
      runs.emplace_back(new Contender{fmt::format("attention_{}", k), a, [&a](const Tensor& x) { return a(x); },
                                      optim::Adam(a.parameters(), {.lr = flags.lr, .weight_decay = weight_decay})});
    }
    fmt::print("{} of each:\n{}\n{}\n", ensemble, *mlps[0], *attentions[0]);
    const auto kind_of = [&](std::size_t r) { return r < static_cast<std::size_t>(ensemble) ? 0 : 1; };  // 0 MLP, 1 attention

    train::Batches batches({x_train, y_train}, batch, gen);
    if (eval_every == 0) eval_every = batches.batches_per_epoch();
    train::Curve curve({"step", "mlp_loss", "attention_loss"});  // each the mean over the models of its kind
    std::vector<viz::Series> validation_curves = {{"MLPs (mean)", {}, {}}, {"attention models (mean)", {}, {}}};
    train::Progress progress(flags.steps, {.label = "10_digits"});
    for (std::int64_t step = 1; step <= flags.steps; ++step) {
      const auto [images, labels] = batches.next2();  // the same batch for every model
      std::vector<double> row = {static_cast<double>(step), 0.0, 0.0};
      for (std::size_t r = 0; r < runs.size(); ++r) {
        Contender& c = *runs[r];
        Tensor L = cross_entropy(c.forward(images), labels);
        c.opt.zero_grad();
        L.backward();
        c.opt.step();
        train::check_loss(L.item(), step);
        row[1 + kind_of(r)] += L.item() / static_cast<double>(ensemble);
      }
      curve.add(row);
      if (step % eval_every == 0 || step == flags.steps) {
        double mean_validation[2] = {0, 0};
        for (std::size_t r = 0; r < runs.size(); ++r) {
          Contender& c = *runs[r];
          c.model.eval();  // scoring mode (these models have no dropout, but a model of yours might)
          const double v = accuracy_of(predict(c.forward, x_val), y_val);
          c.model.train();
          mean_validation[kind_of(r)] += v / static_cast<double>(ensemble);
          if (v > c.best_validation) {  // strictly better: on a tie the earlier, shorter-trained weights stay
            c.best_validation = v;
            c.best_step = step;
            c.best_weights = snapshot(c.model);
          }
        }
        for (int kind = 0; kind < 2; ++kind) {
          validation_curves[kind].x.push_back(static_cast<double>(step));
          validation_curves[kind].y.push_back(mean_validation[kind]);
        }
      }
      progress.update(step, row[1], fmt::format("attention {:.3f}, val {:.3f} / {:.3f}", row[2],
                                                validation_curves[0].y.empty() ? 0.0 : validation_curves[0].y.back(),
                                                validation_curves[1].y.empty() ? 0.0 : validation_curves[1].y.back()));
    }
    progress.finish();
    const double seconds = progress.elapsed();

    // Every model gets back its best weights on validation. Then the candidates, each scored on
    // validation; the choices are made there, and only then is the test part used, once for each.
    std::vector<Candidate> candidates;
    std::vector<const Contender*> group[2], everyone;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      restore(runs[r]->model, runs[r]->best_weights);
      runs[r]->model.eval();
      candidates.push_back({runs[r]->name, {runs[r].get()}});
      group[kind_of(r)].push_back(runs[r].get());
      everyone.push_back(runs[r].get());
    }
    if (ensemble > 1) {
      candidates.push_back({"mlp_ensemble", group[0]});
      candidates.push_back({"attention_ensemble", group[1]});
    }
    candidates.push_back({"ensemble", everyone});  // every model: with --ensemble 1, one MLP and one attention
    std::size_t best = 0, best_mlp = 0, best_attention = static_cast<std::size_t>(ensemble);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      Candidate& c = candidates[i];
      c.validation = accuracy_of(c.predict(x_val), y_val);
      if (c.validation > candidates[best].validation) best = i;
      if (i < static_cast<std::size_t>(ensemble) && c.validation > candidates[best_mlp].validation) best_mlp = i;
      if (i >= static_cast<std::size_t>(ensemble) && i < runs.size() && c.validation > candidates[best_attention].validation) {
        best_attention = i;
      }
    }
    fmt::print("\n{:<20} {:>10} {:>8}  chosen\n", "candidate", "validation", "test");
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      Candidate& c = candidates[i];
      c.test_predictions = c.predict(x_test);
      c.test = accuracy_of(c.test_predictions, y_test);
      fmt::print("{:<20} {:>10.3f} {:>8.3f}  {}\n", c.name, c.validation, c.test,
                 i == best ? "best" : i == best_mlp ? "the MLP" : i == best_attention ? "the attention model" : "");
    }
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
    auto report = examples::start_report(app, "10_digits: handwritten digits, real data");
    const std::string confusion_svg =
        viz::heatmap(tensor(confusion, {10, 10}), names, names,
                     {.title = fmt::format("10_digits, {} on test: true digit (row) against prediction (column)",
                                           best_name),
                      .min = 0.0, .cell = 40});
    io::write_file_atomically(out / "confusion.svg", confusion_svg);
    report.picture("the confusion matrix of the best model on test", confusion_svg);
    const std::string misclassified_svg = examples::write_digit_grid(out / "misclassified.svg",
                               fmt::format("the {} test digits the {} model gets wrong (true as predicted)",
                                           wrong.size(), best_name),
                               train::rows_of(x_test, wrong), wrong_captions);
    if (!wrong.empty()) fmt::print("wrong: {}\n", fmt::join(wrong_captions, ", "));

    // What the attention model's last block attends to, averaged over its heads, on the first test digits.
    RowAttention& attention = *attentions[best_attention - static_cast<std::size_t>(ensemble)];
    auto& attn = attention.block(attention.blocks.size() - 1).attn;
    const Tensor few = x_test.slice(0, 0, shown);
    attn.record(true);
    const auto few_predicted = predict([&](const Tensor& x) { return attention(x); }, few);
    attn.record(false);
    const Tensor maps = mean(attn.recorded().weights, {1});  // [shown, H, 8, 8] -> [shown, 8, 8]
    std::vector<Tensor> per_digit;
    std::vector<std::string> captions;
    for (std::int64_t i = 0; i < shown; ++i) {
      per_digit.push_back(maps.select(0, i));
      captions.push_back(fmt::format("digit {}, predicted {}", y_test[static_cast<std::size_t>(i)],
                                     few_predicted[static_cast<std::size_t>(i)]));
    }
    const std::string attention_svg = examples::write_attention_pictures(out / "attention.svg",
                                       "10_digits: each image row (a token) and what it attends to, last block, "
                                       "mean of the heads", few, per_digit, captions);
    const std::string validation_svg =
        viz::line_chart(validation_curves, {.title = "10_digits: validation accuracy", .y_label = "accuracy"});
    io::write_file_atomically(out / "validation.svg", validation_svg);
    report.picture("validation accuracy of each model, by step", validation_svg);
    report.picture("the test digits the best model gets wrong", misclassified_svg);
    report.picture("what each image row attends to in the attention model", attention_svg);
    examples::write_curve(curve, out, "10_digits: training loss (cross entropy) of each model", true, &report,
                          "cross entropy");
    examples::print_result({{"test_accuracy", fmt::format("{:.3f}", candidates[best_mlp].test)},
                            {"attention_test_accuracy", fmt::format("{:.3f}", candidates[best_attention].test)},
                            {"ensemble_test_accuracy", fmt::format("{:.3f}", candidates.back().test)},
                            {"best_model", best_name},
                            {"best_test_accuracy", fmt::format("{:.3f}", best_accuracy)},
                            {"mlp_validation_accuracy", fmt::format("{:.3f}", candidates[best_mlp].validation)},
                            {"attention_validation_accuracy", fmt::format("{:.3f}", candidates[best_attention].validation)},
                            {"test_digits", fmt::format("{}", y_test.size())},
                            {"steps", fmt::format("{}", flags.steps)}},
                           seconds, out, &report);
  });
}
