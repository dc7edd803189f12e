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
// on the same mini-batches with Adam and the cross entropy (its targets smoothed, --label-smoothing 0.1):
//   MLP:        pixels [B, 64] -> Linear(64 -> 256) -> ReLU -> Linear(256 -> 128) -> ReLU -> Linear(128 -> 10)
//   attention:  pixels [B, 64] as 8 rows [B, 8, 8] -> Linear(8 -> C) + a learned position per row
//               -> transformer block(s) -> mean over the rows -> Linear(C -> 10)
// The attention model must learn from its position vectors which row is which (without them, a digit
// and the same digit upside down would look alike); attention lets a row's vector gather the others.
// Each training batch is jittered first (examples::jitter): every image turned, scaled and moved a
// little, resampled bilinearly, so that the models see new versions of the 1,079 training digits.
//
// How a user who trained in PyTorch would judge them: every --eval-every steps each model is scored on
// the validation part and its best weights so far are kept (early stopping). At the end every model gets
// its best weights back, and the candidates are: each model alone, the MLPs together, the attention
// models together, and all of them together (an ensemble: the mean of their probabilities). "The MLP"
// is the MLP best on validation, "the attention model" likewise, and "the best model" is chosen on
// validation by kind (--best-by): the best of five MLPs scores the luckiest of five noisy scores, so one
// MLP is scored by the five's mean, as one attention model is, and each ensemble by its own score. Only
// then is the test part used, once for each. The test part never chose anything; --tune leaves it unseen.
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
#include <tuple>
#include <utility>
#include <vector>

#include "common.hpp"
#include "digits.hpp"
#include "digits_models.hpp"

using namespace attograd;

using examples::Candidate;
using examples::Contender;
using examples::accuracy_of;
using examples::predict;
using examples::restore;
using examples::snapshot;

int main(int argc, char** argv) {
  CLI::App app{"10_digits: handwritten digits (scikit-learn's 8 x 8 images) with MLPs and self-attention models "
               "over the image's rows; picked on validation, judged once on test"};
  examples::Flags flags{.steps = 4000, .lr = 2e-3, .out = "runs/10_digits"};
  examples::add_common_flags(app, flags);
  std::string data;
  std::uint64_t split_seed = 0;
  std::vector<std::int64_t> hidden = {256, 128};
  std::int64_t emb = 32, heads = 4, depth = 1, batch = 32, eval_every = 0, shown = 4, ensemble = 5;
  double weight_decay = 1e-3, label_smoothing = 0.1, dropout = 0;
  bool adamw = false, tune = false;
  std::string best_by = "kind";
  examples::Jitter jitter{.degrees = 10, .scale = 0.1, .shift = 0.5};
  double validation_fraction = 0.2, test_fraction = 0.2;
  app.add_option("--data", data, "the digits file (default: $ATTOGRAD_DATA_DIR/digits.csv.gz, else " ATTOGRAD_DATA_DIR
                                 "/digits.csv.gz; ./dev data fetches it)");
  app.add_option("--split-seed", split_seed, "seed of the train/validation/test split (kept apart from --seed, so "
                                             "that other seeds train on the same rows)")
      ->capture_default_str();
  app.add_option("--hidden", hidden, "the MLP's hidden widths, one per hidden layer (256,128: 64 -> 256 -> 128 -> 10)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(examples::above(0));
  app.add_option("--label-smoothing", label_smoothing, "share of each target spread over all classes (PyTorch's label_smoothing)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  app.add_flag("--adamw", adamw, "AdamW: --weight-decay decoupled from the gradient (p shrinks by lr * wd each step)");
  app.add_option("--dropout", dropout, "dropout in the attention model's block")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  app.add_option("--jitter-degrees", jitter.degrees, "training images turned by up to this many degrees")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 45.0));
  app.add_option("--jitter-scale", jitter.scale, "training images scaled by a factor within 1 +- this")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--jitter-shift", jitter.shift, "training images moved by up to this many pixels each way")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3.0));
  app.add_option("--best-by", best_by, "how the best model is chosen on validation: kind (a single model's kind by the "
                                       "mean of its models' scores) or candidate (each candidate by its own score)")
      ->capture_default_str()
      ->check(CLI::IsMember({"kind", "candidate"}));
  app.add_flag("--tune", tune, "score on validation only and never touch the test part (for choosing settings)");
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
    std::vector<std::unique_ptr<examples::Mlp>> mlps;
    std::vector<std::unique_ptr<examples::RowAttention>> attentions;
    const auto optimiser = [&](const nn::Module& m) -> std::unique_ptr<optim::Adam> {
      if (adamw) return std::make_unique<optim::AdamW>(m.parameters(), optim::AdamWOptions{.lr = flags.lr, .weight_decay = weight_decay});
      return std::make_unique<optim::Adam>(m.parameters(), optim::AdamOptions{.lr = flags.lr, .weight_decay = weight_decay});
    };
    std::vector<std::unique_ptr<Contender>> runs;  // the MLPs first, then the attention models
    for (std::int64_t k = 0; k < ensemble; ++k) {
      examples::Mlp& m = *mlps.emplace_back(std::make_unique<examples::Mlp>(hidden, gen));
      runs.emplace_back(new Contender{fmt::format("mlp_{}", k), m, [&m](const Tensor& x) { return m(x); }, optimiser(m)});
    }
    for (std::int64_t k = 0; k < ensemble; ++k) {
      examples::RowAttention& a = *attentions.emplace_back(
          std::make_unique<examples::RowAttention>(emb, heads, depth, nn::TransformerBlockOptions{.dropout = dropout}, gen));
      runs.emplace_back(new Contender{fmt::format("attention_{}", k), a, [&a](const Tensor& x) { return a(x); }, optimiser(a)});
    }
    fmt::print("{} of each:\n{}\n{}\n", ensemble, *mlps[0], *attentions[0]);
    const auto kind_of = [&](std::size_t r) { return r < static_cast<std::size_t>(ensemble) ? 0 : 1; };  // 0 MLP, 1 attention

    train::Batches batches({x_train, y_train}, batch, gen);
    if (eval_every == 0) eval_every = batches.batches_per_epoch();
    train::Curve curve({"step", "mlp_loss", "attention_loss"});  // each the mean over the models of its kind
    std::vector<viz::Series> validation_curves = {{"MLPs (mean)", {}, {}}, {"attention models (mean)", {}, {}}};
    train::Progress progress(flags.steps, {.label = "10_digits"});
    for (std::int64_t step = 1; step <= flags.steps; ++step) {
      auto [images, labels] = batches.next2();  // the same batch for every model
      if (jitter.any()) images = examples::jitter(images, jitter, gen);
      std::vector<double> row = {static_cast<double>(step), 0.0, 0.0};
      for (std::size_t r = 0; r < runs.size(); ++r) {
        Contender& c = *runs[r];
        // label smoothing as PyTorch's: the true class aims at 1 - s, and s is spread over the 10 classes
        Tensor L = cross_entropy(c.forward(images), labels, {.label_smoothing = label_smoothing});
        c.opt->zero_grad();
        L.backward();
        c.opt->step();
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
    std::size_t best_mlp = 0, best_attention = static_cast<std::size_t>(ensemble);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      Candidate& c = candidates[i];
      c.validation = accuracy_of(c.predict(x_val), y_val);
      if (i < static_cast<std::size_t>(ensemble) && c.validation > candidates[best_mlp].validation) best_mlp = i;
      if (i >= static_cast<std::size_t>(ensemble) && i < runs.size() && c.validation > candidates[best_attention].validation) {
        best_attention = i;
      }
    }
    double kind_mean[2] = {0, 0};  // each kind's mean validation accuracy over its models
    for (std::size_t r = 0; r < runs.size(); ++r) kind_mean[kind_of(r)] += candidates[r].validation / static_cast<double>(ensemble);
    // The best model. By kind (the default): one MLP is scored by the mean of the MLPs' validation
    // scores (what one such model gets on new digits, not the luckiest of --ensemble noisy scores), one
    // attention model likewise, each ensemble by its own score; the kind best on validation wins (on a
    // tie the earlier: a single model before a group), a single kind with its model best on validation.
    // By candidate: each candidate by its own score (the rule of the first version of this example).
    std::vector<std::pair<double, std::size_t>> kinds;  // (validation score, the candidate it stands for)
    if (best_by == "kind") kinds = {{kind_mean[0], best_mlp}, {kind_mean[1], best_attention}};
    for (std::size_t i = best_by == "kind" ? runs.size() : 0; i < candidates.size(); ++i) kinds.emplace_back(candidates[i].validation, i);
    std::size_t best = kinds[0].second;
    for (double best_score = kinds[0].first; const auto& [score, i] : kinds) {
      if (score > best_score) std::tie(best_score, best) = std::pair{score, i};
    }
    if (tune) {  // settings are being chosen: validation only, the test part stays unseen
      for (const Candidate& c : candidates) fmt::print("{:<20} {:>10.3f}\n", c.name, c.validation);
      examples::print_result({{"mlp_mean_validation", fmt::format("{:.4f}", kind_mean[0])},
                              {"attention_mean_validation", fmt::format("{:.4f}", kind_mean[1])},
                              {"mlp_ensemble_validation", fmt::format("{:.4f}", ensemble > 1 ? candidates[runs.size()].validation : 0.0)},
                              {"attention_ensemble_validation", fmt::format("{:.4f}", ensemble > 1 ? candidates[runs.size() + 1].validation : 0.0)},
                              {"ensemble_validation", fmt::format("{:.4f}", candidates.back().validation)},
                              {"steps", fmt::format("{}", flags.steps)}},
                             seconds, out, nullptr);
      return;
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
    examples::RowAttention& attention = *attentions[best_attention - static_cast<std::size_t>(ensemble)];
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
