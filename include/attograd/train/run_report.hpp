/// \file
/// A whole training run on one page, report.html.
///
/// \code
/// train::RunReport report("07_sort: sorting digits");
/// report.setting("lr", "0.001").setting("steps", "600");     // what the run was asked to do
/// ...                                                       // train, filling a train::Curve curve
/// report.curve(curve, {.title = "loss and accuracy"});      // the loss and metric curves
/// report.attention(attn.recorded(), tokens, "layer 0");     // weights, and their gradients after a backward
/// report.result(result_line(fields)).timing("training", seconds);
/// report.write(out / "report.html");
/// \endcode
///
/// The page holds everything: the settings, the result line, the curves, the attention heatmaps, the
/// graph picture of a small step, the timings. Pictures are SVG inside `<img>` tags as data: URIs, so the
/// one file opens anywhere, offline: nothing is fetched (no scripts, fonts or style sheets from
/// elsewhere), and it can be mailed or attached to a question as it is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "attograd/core/tensor.hpp"
#include "attograd/nn/attention.hpp"
#include "attograd/train/curve.hpp"
#include "attograd/viz/svg.hpp"

namespace attograd::train {

/// A report.html being built: add settings, the result, curves, heatmaps and pictures, then write().
class RunReport {
 public:
  explicit RunReport(std::string title);  ///< the page's title

  /// A row of the settings table ("lr", "0.001"). Rows keep the order they were given in.
  RunReport& setting(std::string name, std::string value);
  /// The run's result line ("result: test_accuracy=1.000 ..."), shown at the top.
  RunReport& result(std::string line);
  /// A row of the timings table: what took how long.
  RunReport& timing(std::string what, double seconds);
  /// A paragraph of plain text, after the pictures so far.
  RunReport& note(std::string text);
  /// Any SVG picture (viz::heatmap, viz::line_chart, viz::dot_to_svg) with a caption.
  RunReport& picture(std::string caption, std::string svg);
  /// The curve's chart (every column after the first), as Curve::svg draws it.
  RunReport& curve(const Curve& curve, const viz::ChartOptions& options = {});
  /// For each recorded head: the attention weights, and beside them their gradients when a backward ran
  /// through the recorded forward. tokens label rows and columns (or none, for indices).
  RunReport& attention(const nn::AttentionRecord& record, const std::vector<std::string>& tokens,
                       const std::string& name = "attention", std::int64_t batch = 0);
  /// The graph picture of the step that computed root (viz::to_dot, rendered by Graphviz), when it has
  /// at most max_boxes boxes; otherwise, or without Graphviz, a note that says why there is none.
  /// For values and gradients in the boxes, compute root and its backward under a viz::GraphCapture.
  RunReport& graph(const Tensor& root, const std::string& caption, std::int64_t max_boxes = 40);

  /// The page, one self-contained HTML document.
  std::string html() const;
  /// Writes html() atomically (attograd/io/atomic_file.hpp).
  void write(const std::filesystem::path& path) const;

 private:
  struct Item {
    std::string caption;  ///< a picture's caption, or a note's text
    std::string svg;      ///< empty for a note
  };
  std::string title_;
  std::string result_;
  std::vector<std::pair<std::string, std::string>> settings_;
  std::vector<std::pair<std::string, double>> timings_;
  std::vector<Item> items_;
};

/// Base64 of bytes (RFC 4648, with padding): how the pictures travel inside the page.
std::string base64(const std::string& bytes);

}  // namespace attograd::train
