/// \file
/// What an attention layer attended to, as SVG heatmaps with token labels.
///
/// \code
/// attn.record(true);
/// Tensor loss = model_loss(attn.forward(x));   // x [B, T, C]: the sentence "the cat sat"
/// loss.backward();
/// std::string svg = attention_heatmap(attn.recorded(), AttentionPart::weights, {"the", "cat", "sat"},
///                                     {.batch = 0, .head = 1});
/// write_attention_heatmap("runs/attention.svg", attn.recorded(), AttentionPart::weights_grad, tokens);
/// \endcode
///
/// Row i is output (query) i, column j is input (key) j. Masked scores are -inf and drawn grey.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attograd/core/tensor.hpp"
#include "attograd/nn/attention.hpp"

namespace attograd::viz {

/// Which recorded map to draw: the scores S (softmax input), the weights A, or their gradients.
enum class AttentionPart { scores, weights, scores_grad, weights_grad };
/// The part's name: "scores", "weights", "scores_grad", "weights_grad".
std::string_view to_string(AttentionPart part);

/// The recorded tensor for part: [B, H, T, T]. ValueError, saying what to do, when it is not there
/// (nothing recorded yet, or no backward through the recorded forward for a gradient).
Tensor recorded_part(const nn::AttentionRecord& record, AttentionPart part);

/// The one [T, T] map of maps [.., T, T] at index, one entry per leading dim: {batch, head} for
/// [B, H, T, T], {head} for [H, T, T], {} for [T, T]. IndexError when an entry is out of range.
Tensor attention_map(const Tensor& maps, const std::vector<std::int64_t>& index = {});

/// Options of attention_heatmap.
struct AttentionHeatmapOptions {
  std::int64_t batch = 0;  ///< which sequence of the batch
  std::int64_t head = 0;   ///< which head (SelfAttention has one: 0)
  std::string title;       ///< default: the part, batch and head, e.g. "weights, batch 0, head 1"
  std::optional<double> min;  ///< colour scale; the map's own range when absent
  std::optional<double> max;  ///< (with min)
  bool show_values = true;  ///< write each cell's value when the cells are large enough
  int cell = 36;  ///< cell size in pixels
};

/// A recorded map as a heatmap; tokens label rows and columns (T of them, or none for indices).
/// Gradients (scores_grad, weights_grad) use a blue-white-red scale centred on zero.
std::string attention_heatmap(const nn::AttentionRecord& record, AttentionPart part,
                              const std::vector<std::string>& tokens, const AttentionHeatmapOptions& options = {});
/// The same, written atomically to path (attograd/io/atomic_file.hpp).
void write_attention_heatmap(const std::filesystem::path& path, const nn::AttentionRecord& record, AttentionPart part,
                             const std::vector<std::string>& tokens, const AttentionHeatmapOptions& options = {});

}  // namespace attograd::viz
