#include "attograd/viz/attention.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attograd/core/errors.hpp"
#include "attograd/io/atomic_file.hpp"
#include "attograd/viz/svg.hpp"

namespace attograd::viz {

std::string_view to_string(AttentionPart part) {
  switch (part) {
    case AttentionPart::scores: return "scores";
    case AttentionPart::weights: return "weights";
    case AttentionPart::scores_grad: return "scores_grad";
    case AttentionPart::weights_grad: return "weights_grad";
  }
  return "?";
}

namespace {
// Gradients are signed: drawn on a scale centred on zero, so that the sign shows.
bool is_gradient(AttentionPart part) { return part == AttentionPart::scores_grad || part == AttentionPart::weights_grad; }
}  // namespace

Tensor recorded_part(const nn::AttentionRecord& record, AttentionPart part) {
  if (record.empty()) {
    throw ValueError("attention_heatmap: nothing recorded: call record(true) on the module before its forward");
  }
  Tensor t;
  switch (part) {
    case AttentionPart::scores: t = record.scores; break;
    case AttentionPart::weights: t = record.weights; break;
    case AttentionPart::scores_grad: t = record.scores_grad(); break;
    case AttentionPart::weights_grad: t = record.weights_grad(); break;
  }
  if (!t.defined()) {
    throw ValueError(fmt::format("attention_heatmap: no {} recorded: run backward through the recorded forward "
                                 "(with an input or parameters that require grad, outside no_grad)",
                                 to_string(part)));
  }
  return t;
}

Tensor attention_map(const Tensor& maps, const std::vector<std::int64_t>& index) {
  if (maps.dim() < 2 || maps.size(-1) != maps.size(-2)) {
    throw ShapeError(fmt::format("attention_map: expected maps [.., T, T], got shape {}", maps.shape()));
  }
  if (static_cast<int>(index.size()) != maps.dim() - 2) {
    throw IndexError(fmt::format("attention_map: maps of shape {} need {} indices (one per leading dim), got [{}]",
                                 maps.shape(), maps.dim() - 2, fmt::join(index, ", ")));
  }
  Tensor map = maps;
  for (std::size_t d = 0; d < index.size(); ++d) {
    const std::int64_t size = maps.size(static_cast<std::int64_t>(d));
    if (index[d] < 0 || index[d] >= size) {
      throw IndexError(fmt::format("attention_map: index {} is out of range for dim {} of size {} (maps {})", index[d],
                                   d, size, maps.shape()));
    }
    map = map.select(0, index[d]);
  }
  return map.detach();
}

std::string attention_heatmap(const nn::AttentionRecord& record, AttentionPart part,
                              const std::vector<std::string>& tokens, const AttentionHeatmapOptions& options) {
  const Tensor maps = recorded_part(record, part);  // [B, H, T, T]
  const std::int64_t B = maps.size(0), H = maps.size(1), T = maps.size(2);
  if (options.batch < 0 || options.batch >= B) {
    throw IndexError(fmt::format("attention_heatmap: batch {} is out of range: {} sequences recorded", options.batch, B));
  }
  if (options.head < 0 || options.head >= H) {
    throw IndexError(fmt::format("attention_heatmap: head {} is out of range: {} head{} recorded", options.head, H,
                                 H == 1 ? "" : "s"));
  }
  if (!tokens.empty() && static_cast<std::int64_t>(tokens.size()) != T) {
    throw ShapeError(fmt::format("attention_heatmap: {} tokens for a recorded sequence of length {}", tokens.size(), T));
  }
  const Tensor map = attention_map(maps, {options.batch, options.head});
  const std::string title = options.title.empty()
                                ? fmt::format("{}, batch {}, head {}", to_string(part), options.batch, options.head)
                                : options.title;
  return heatmap(map, tokens, tokens,
                 {.title = title, .min = options.min, .max = options.max, .show_values = options.show_values,
                  .cell = options.cell, .diverging = is_gradient(part)});
}

void write_attention_heatmap(const std::filesystem::path& path, const nn::AttentionRecord& record, AttentionPart part,
                             const std::vector<std::string>& tokens, const AttentionHeatmapOptions& options) {
  io::write_file_atomically(path, attention_heatmap(record, part, tokens, options));
}

}  // namespace attograd::viz
