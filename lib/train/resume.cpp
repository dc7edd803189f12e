#include "attograd/train/resume.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/io/checkpoint.hpp"

namespace attograd::train {

namespace {

// The names of each part's tensors in the file. The optimiser's and the schedule's own names go after
// their prefix ("optim.0.lr").
constexpr std::string_view kStep = "train.step";
constexpr std::string_view kOptim = "optim.";
constexpr std::string_view kSchedule = "schedule.";
constexpr std::string_view kGeneratorState = "generator.state";
constexpr std::string_view kGeneratorSpare = "generator.spare_normal";
constexpr std::string_view kBatchesOrder = "batches.order";
constexpr std::string_view kBatchesPosition = "batches.position";
constexpr std::string_view kBatchesEpoch = "batches.epoch";
constexpr std::string_view kCurveRows = "curve.rows";
constexpr std::string_view kRanks = "train.ranks";
constexpr std::string_view kRankWords = "rank_generators.state";
constexpr std::string_view kRankHasSpare = "rank_generators.has_spare_normal";
constexpr std::string_view kRankSpare = "rank_generators.spare_normal";
constexpr std::string_view kConfig = "train.config";
constexpr std::string_view kCurveColumns = "curve.columns";

Tensor int64_scalar(std::int64_t value) { return tensor_of<std::int64_t>({value}, Shape{}); }

void add_prefixed(io::NamedTensors& out, std::string_view prefix, const optim::NamedTensors& named) {
  for (const auto& [name, t] : named) out.emplace_back(fmt::format("{}{}", prefix, name), t);
}

// The extra tensors of a loaded file by name, each taken at most once; what is left at the end was not
// asked for.
class Extras {
 public:
  Extras(const std::filesystem::path& path, io::NamedTensors tensors) : path_(path), tensors_(std::move(tensors)) {}

  // The tensor called name, which must have this dtype and rank (IoError otherwise).
  Tensor take(std::string_view name, DType dtype, std::int64_t rank) {
    for (auto it = tensors_.begin(); it != tensors_.end(); ++it) {
      if (it->first != name) continue;
      Tensor t = std::move(it->second);
      tensors_.erase(it);
      if (t.dtype() != dtype || t.dim() != rank) {
        throw IoError(fmt::format("load_training_state: '{}': '{}' is {} {} but should be {} of rank {}",
                                  path_.string(), name, t.shape(), t.dtype(), dtype, rank));
      }
      return t;
    }
    throw IoError(fmt::format("load_training_state: '{}' has no '{}'; was it saved with the same parts (optimiser, "
                              "schedule, generator, batches, curve)?",
                              path_.string(), name));
  }

  bool has(std::string_view name) const {
    return std::any_of(tensors_.begin(), tensors_.end(), [&](const auto& entry) { return entry.first == name; });
  }

  // Every tensor whose name starts with prefix, without the prefix.
  optim::NamedTensors take_all(std::string_view prefix) {
    optim::NamedTensors out;
    for (auto it = tensors_.begin(); it != tensors_.end();) {
      if (it->first.starts_with(prefix)) {
        out.emplace_back(it->first.substr(prefix.size()), std::move(it->second));
        it = tensors_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  // IoError if anything was not taken: the file holds a part the caller did not ask for.
  void check_all_taken() const {
    if (tensors_.empty()) return;
    std::vector<std::string> names;
    for (const auto& entry : tensors_) names.push_back(entry.first);
    throw IoError(fmt::format("load_training_state: '{}' holds {} tensor(s) that the training state does not ask for "
                              "(a part saved but left out now?): {}",
                              path_.string(), names.size(), fmt::join(names, ", ")));
  }

 private:
  const std::filesystem::path& path_;
  io::NamedTensors tensors_;
};

std::string metadata_value(const io::Metadata& metadata, std::string_view key) {
  const auto found = metadata.find(std::string(key));
  return found == metadata.end() ? std::string() : found->second;
}

void check_rank(std::string_view who, const TrainingState& state) {
  if (state.ranks < 1 || state.rank < 0 || state.rank >= state.ranks) {
    throw ValueError(fmt::format("{}: rank {} of {} does not exist (TrainingState: ranks at least 1, rank 0 .. "
                                 "ranks-1)",
                                 who, state.rank, state.ranks));
  }
}

// Every rank's generator state, by rank: [ranks, 4] words, [ranks] flags and [ranks] spare normals.
void add_rank_generators(io::NamedTensors& out, const TrainingState& state, std::vector<Generator::State> all) {
  const Generator::State mine = state.rank_generator->state();
  if (all.empty() && state.ranks == 1) all.push_back(mine);
  if (all.size() != static_cast<std::size_t>(state.ranks)) {
    throw ValueError(fmt::format("save_training_state: a run of {} ranks saves every rank's generator, but {} states "
                                 "were given; gather them on every rank (dist::gather_generator_states) and pass "
                                 "them to the rank that saves",
                                 state.ranks, all.size()));
  }
  if (all[static_cast<std::size_t>(state.rank)] != mine) {
    throw ValueError(fmt::format("save_training_state: state {} of the rank generators is not rank {}'s generator as "
                                 "it is now; gather them right before saving, after the step's last draw",
                                 state.rank, state.rank));
  }
  std::vector<std::int64_t> words, has_spare;
  std::vector<double> spare;
  for (const Generator::State& g : all) {
    for (const std::uint64_t word : g.s) words.push_back(std::bit_cast<std::int64_t>(word));
    has_spare.push_back(g.has_spare_normal ? 1 : 0);
    spare.push_back(g.has_spare_normal ? g.spare_normal : 0.0);
  }
  const std::int64_t n = state.ranks;
  out.emplace_back(kRankWords, tensor_of<std::int64_t>(words, {n, 4}));
  out.emplace_back(kRankHasSpare, tensor_of<std::int64_t>(has_spare, {n}));
  out.emplace_back(kRankSpare, tensor_of<double>(spare, {n}));
}

// The number of ranks the file was saved by must be this run's. A file from before the number was
// kept has none: it loads as before.
void check_ranks(const std::filesystem::path& path, Extras& extras, const TrainingState& state) {
  if (!extras.has(kRanks)) return;
  const std::int64_t saved = extras.take(kRanks, kInt64, 0).item<std::int64_t>();
  if (saved < 1) {
    throw IoError(fmt::format("load_training_state: '{}': {} ranks is not a number of ranks", path.string(), saved));
  }
  if (saved != state.ranks) {
    throw IoError(fmt::format("load_training_state: '{}' was saved by a run of {} rank(s) and this run has {}: the "
                              "gradients would be summed in other groups{}, so the run would not continue bit for bit; "
                              "resume it on {} rank(s) (mpirun -n {})",
                              path.string(), saved, state.ranks,
                              state.rank_generator != nullptr ? " and the ranks' own generators would not fit them" : "",
                              saved, saved));
  }
}

// This rank's generator state from the file, or nothing from a file that has none in a run of one rank
// (the generator keeps its state then).
std::optional<Generator::State> take_rank_generator(const std::filesystem::path& path, Extras& extras,
                                                    const TrainingState& state) {
  if (!extras.has(kRankWords) && state.ranks == 1) return std::nullopt;
  if (!extras.has(kRankWords)) {
    throw IoError(fmt::format("load_training_state: '{}' holds no rank generators (saved before checkpoints kept "
                              "them, or without TrainingState::rank_generator), so the {} ranks' own streams (their "
                              "dropout masks) cannot continue and neither can the curve; start the run afresh, or, "
                              "if its model draws nothing from them (dropout 0), leave rank_generator out",
                              path.string(), state.ranks));
  }
  const Tensor words = extras.take(kRankWords, kInt64, 2);
  const Tensor has_spare = extras.take(kRankHasSpare, kInt64, 1);
  const Tensor spare = extras.take(kRankSpare, kFloat64, 1);
  const std::int64_t n = state.ranks;
  if (words.size(0) != n || words.size(1) != 4 || has_spare.size(0) != n || spare.size(0) != n) {
    throw IoError(fmt::format("load_training_state: '{}': the rank generators are {}, {} and {}, not [{}, 4], [{}] "
                              "and [{}] for {} ranks",
                              path.string(), words.shape(), has_spare.shape(), spare.shape(), n, n, n, n));
  }
  const auto r = static_cast<std::size_t>(state.rank);
  const auto w = words.to_vector<std::int64_t>();
  const std::int64_t flag = has_spare.to_vector<std::int64_t>()[r];
  const double value = spare.to_vector<double>()[r];
  if ((flag != 0 && flag != 1) || (flag == 1 && !std::isfinite(value))) {
    throw IoError(fmt::format("load_training_state: '{}': rank {}'s generator has spare-normal flag {} and value {}; "
                              "the flag must be 0 or 1 and the value finite",
                              path.string(), state.rank, flag, value));
  }
  Generator::State g;
  for (std::size_t i = 0; i < 4; ++i) g.s[i] = std::bit_cast<std::uint64_t>(w[r * 4 + i]);
  if (g.s == std::array<std::uint64_t, 4>{}) {  // xoshiro's one state that no seed reaches: zeros forever
    throw IoError(fmt::format("load_training_state: '{}': rank {}'s generator state is all zeros", path.string(),
                              state.rank));
  }
  g.has_spare_normal = flag == 1;
  g.spare_normal = g.has_spare_normal ? value : 0.0;
  return g;
}

}  // namespace

void save_training_state(const std::filesystem::path& path, const TrainingState& state, std::int64_t step,
                         const std::vector<Generator::State>& rank_generators) {
  if (step < 0) throw ValueError(fmt::format("save_training_state: step must be >= 0, got {}", step));
  check_rank("save_training_state", state);
  io::CheckpointExtras extras;
  extras.tensors.emplace_back(kStep, int64_scalar(step));
  extras.tensors.emplace_back(kRanks, int64_scalar(state.ranks));
  if (state.rank_generator != nullptr) {
    add_rank_generators(extras.tensors, state, rank_generators);
  } else if (!rank_generators.empty()) {
    throw ValueError(fmt::format("save_training_state: {} rank generator states were given, but the training state "
                                 "has no rank_generator to save them for",
                                 rank_generators.size()));
  }
  extras.metadata.emplace(kConfig, state.config);
  if (state.optimizer != nullptr) add_prefixed(extras.tensors, kOptim, state.optimizer->state_tensors());
  if (state.schedule != nullptr) add_prefixed(extras.tensors, kSchedule, state.schedule->state_tensors());
  if (state.generator != nullptr) {
    const Generator::State g = state.generator->state();
    std::vector<std::int64_t> words;
    for (const std::uint64_t word : g.s) words.push_back(std::bit_cast<std::int64_t>(word));
    extras.tensors.emplace_back(kGeneratorState, tensor_of<std::int64_t>(words, {4}));
    const std::vector<double> spare = g.has_spare_normal ? std::vector<double>{g.spare_normal} : std::vector<double>{};
    extras.tensors.emplace_back(kGeneratorSpare, tensor_of<double>(spare, {static_cast<std::int64_t>(spare.size())}));
  }
  if (state.batches != nullptr) {
    const Batches& b = *state.batches;
    extras.tensors.emplace_back(kBatchesOrder, tensor_of<std::int64_t>(b.order(), {b.rows()}));
    extras.tensors.emplace_back(kBatchesPosition, int64_scalar(b.position()));
    extras.tensors.emplace_back(kBatchesEpoch, int64_scalar(b.epoch()));
  }
  if (state.curve != nullptr) {
    const Curve& c = *state.curve;
    std::vector<double> values;
    for (const auto& row : c.rows()) values.insert(values.end(), row.begin(), row.end());
    const auto rows = static_cast<std::int64_t>(c.rows().size());
    extras.tensors.emplace_back(kCurveRows,
                                tensor_of<double>(values, {rows, static_cast<std::int64_t>(c.columns().size())}));
    extras.metadata.emplace(kCurveColumns, fmt::format("{}", fmt::join(c.columns(), ",")));
  }
  io::save_checkpoint(path, state.model, extras);
}

std::int64_t load_training_state(const std::filesystem::path& path, const TrainingState& state) {
  check_rank("load_training_state", state);
  io::CheckpointExtras file = io::load_checkpoint(path, state.model);
  const std::string config = metadata_value(file.metadata, kConfig);
  if (config != state.config) {
    throw IoError(fmt::format("load_training_state: '{}' was saved by a run with other settings, so it would not "
                              "continue the same way:\n  saved: {}\n  now:   {}",
                              path.string(), config, state.config));
  }
  Extras extras(path, std::move(file.tensors));
  const std::int64_t step = extras.take(kStep, kInt64, 0).item<std::int64_t>();
  if (step < 0) throw IoError(fmt::format("load_training_state: '{}': step {} is negative", path.string(), step));

  // Take every part first, so that a missing or unexpected one fails before any is loaded.
  check_ranks(path, extras, state);
  const std::optional<Generator::State> rank_generator =
      state.rank_generator != nullptr ? take_rank_generator(path, extras, state) : std::nullopt;
  const optim::NamedTensors optim_state = state.optimizer ? extras.take_all(kOptim) : optim::NamedTensors{};
  const optim::NamedTensors schedule_state = state.schedule ? extras.take_all(kSchedule) : optim::NamedTensors{};
  Tensor words, spare, order, position, epoch, rows;
  if (state.generator != nullptr) {
    words = extras.take(kGeneratorState, kInt64, 1);
    spare = extras.take(kGeneratorSpare, kFloat64, 1);
    if (words.numel() != 4 || spare.numel() > 1) {
      throw IoError(fmt::format("load_training_state: '{}': the generator state is {} words and {} spare normals, "
                                "not 4 and 0 or 1",
                                path.string(), words.numel(), spare.numel()));
    }
  }
  if (state.batches != nullptr) {
    order = extras.take(kBatchesOrder, kInt64, 1);
    position = extras.take(kBatchesPosition, kInt64, 0);
    epoch = extras.take(kBatchesEpoch, kInt64, 0);
  }
  if (state.curve != nullptr) {
    rows = extras.take(kCurveRows, kFloat64, 2);
    const std::string columns = fmt::format("{}", fmt::join(state.curve->columns(), ","));
    const std::string saved = metadata_value(file.metadata, kCurveColumns);
    if (saved != columns || rows.size(1) != static_cast<std::int64_t>(state.curve->columns().size())) {
      throw IoError(fmt::format("load_training_state: '{}': the curve was saved with columns '{}' ({} values a row), "
                                "the curve here has '{}'",
                                path.string(), saved, rows.size(1), columns));
    }
  }
  extras.check_all_taken();

  if (state.optimizer != nullptr) state.optimizer->load_state_tensors(optim_state);
  if (state.schedule != nullptr) state.schedule->load_state_tensors(schedule_state);
  if (state.batches != nullptr) {
    state.batches->restore(epoch.item<std::int64_t>(), order.to_vector<std::int64_t>(), position.item<std::int64_t>());
  }
  if (state.generator != nullptr) {
    Generator::State g;
    const auto w = words.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < 4; ++i) g.s[i] = std::bit_cast<std::uint64_t>(w[i]);
    g.has_spare_normal = spare.numel() == 1;
    g.spare_normal = g.has_spare_normal ? spare.item<double>() : 0.0;
    state.generator->set_state(g);
  }
  if (rank_generator) state.rank_generator->set_state(*rank_generator);
  if (state.curve != nullptr) {
    Curve restored(state.curve->columns());
    const auto values = rows.to_vector<double>();
    const auto width = static_cast<std::size_t>(rows.size(1));
    for (std::size_t r = 0; r < static_cast<std::size_t>(rows.size(0)); ++r) {
      restored.add(std::vector<double>(values.begin() + r * width, values.begin() + (r + 1) * width));
    }
    *state.curve = std::move(restored);
  }
  return step;
}

}  // namespace attograd::train
