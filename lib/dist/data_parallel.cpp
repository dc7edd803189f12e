#include "attograd/dist/data_parallel.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "attograd/core/factories.hpp"
#include "dist/mpi_call.hpp"

namespace attograd::dist {

RowRange shard_rows(std::int64_t rows, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size) {
    throw ValueError(fmt::format("shard_rows: rank {} of {} does not exist", rank, size));
  }
  if (rows < size) {
    throw ValueError(fmt::format("shard: a global batch of {} rows cannot give each of {} ranks a row; use a "
                                 "batch of at least {} rows (or drop_last, if it is an epoch's last batch)",
                                 rows, size, size));
  }
  // Rank r takes rows [r·rows/size, (r+1)·rows/size): sizes differ by at most one.
  return {rows * rank / size, rows * (rank + 1) / size};
}

// --- the buckets ---------------------------------------------------------------------------------

// One parameter's place in its bucket.
struct Slot {
  Tensor param;
  std::string name;
  std::size_t bucket = 0;
  std::int64_t offset = 0;  // of its first element in the bucket's buffer
  std::int64_t position = 0;  // among the bucket's parameters: where its flag is
  bool ready = false;       // its gradient for this pass is packed
};

// One all-reduce: the gradients of some parameters of one dtype, side by side in a flat buffer, then
// one flag per parameter (1 if this rank had a gradient for it, else 0). After the sum a flag says
// whether any rank had one.
//   buffer  [elements of slot 0 | elements of slot 1 | ... | flag 0 | flag 1 | ...]
struct Bucket {
  DType dtype = kFloat32;
  std::vector<std::size_t> slots;
  std::int64_t elements = 0;  // gradient elements, without the flags
  Tensor buffer;
  std::size_t pending = 0;    // slots whose gradient is not packed yet this pass
  MPI_Request request = MPI_REQUEST_NULL;
};

struct DataParallel::State {
  std::vector<Slot> slots;  // reverse registration order
  std::vector<Bucket> buckets;
  std::unordered_map<const TensorImpl*, std::size_t> slot_of;  // a parameter's TensorImpl -> its slot
  double weight = 1.0;
  bool overlap = true;
  std::size_t passes = 0;
  double wait_seconds = 0;
  bool reached = false;  // this pass reached one of the parameters
  bool sync = true;      // false under no_sync(): passes accumulate .grad locally
  std::size_t next_to_start = 0;  // buckets start in index order on every rank (MPI's collective rule)
  std::size_t next_to_finish = 0;

  void on_step(const autograd::BackwardStep& step);
  void gradient_ready(std::size_t s);
  void start_ready_buckets();
  void progress();
  void finish_pass();
};

namespace {

// Slot's gradient times this rank's weight into its place in the bucket (zeros when it has none), and
// its flag.
template <class T>
void pack_as(const Slot& slot, Bucket& b, double weight) {
  T* out = b.buffer.data<T>() + slot.offset;
  const Tensor grad = slot.param.grad();
  if (grad.defined()) {
    const Tensor g = grad.contiguous();
    const T* in = g.data<T>();
    const T w = static_cast<T>(weight);
    for (std::int64_t i = 0; i < g.numel(); ++i) out[i] = w * in[i];
  } else {
    std::fill(out, out + slot.param.numel(), T(0));
  }
  b.buffer.data<T>()[b.elements + slot.position] = grad.defined() ? T(1) : T(0);
}

void pack(const Slot& slot, Bucket& b, double weight) {
  if (b.dtype == kFloat64) pack_as<double>(slot, b, weight);
  else pack_as<float>(slot, b, weight);
}

// After the sum: the averaged gradient into .grad, unless no rank had one.
void unpack(const Slot& slot, const Bucket& b) {
  const std::int64_t flag = b.elements + slot.position;
  const double any_rank_had_one = b.dtype == kFloat64 ? b.buffer.data<double>()[flag] : b.buffer.data<float>()[flag];
  if (any_rank_had_one == 0.0) return;
  Tensor grad = empty(slot.param.shape(), b.dtype);
  const std::size_t size = element_size(b.dtype);
  std::memcpy(grad.impl()->storage->data(),
              static_cast<const std::byte*>(b.buffer.impl()->storage->data()) + static_cast<std::size_t>(slot.offset) * size,
              grad.nbytes());
  Tensor param = slot.param;
  param.set_grad(grad);
}

}  // namespace

// Each leaf step of the engine: if the leaf is one of our parameters, its gradient is final for this
// pass (the engine visits a leaf once, after every op that used it).
void DataParallel::State::on_step(const autograd::BackwardStep& step) {
  if (!sync) return;  // no_sync: nothing packed, nothing reached, so finish_pass exchanges nothing either
  if (step.node.kind() == autograd::Node::Kind::Leaf) {
    const auto found = slot_of.find(step.node.tensor().get());
    if (found != slot_of.end()) {
      reached = true;
      gradient_ready(found->second);
    }
  }
  if (next_to_finish < next_to_start) progress();
}

void DataParallel::State::gradient_ready(std::size_t s) {
  Slot& slot = slots[s];
  if (slot.ready) return;
  Bucket& b = buckets[slot.bucket];
  pack(slot, b, weight);
  slot.ready = true;
  if (--b.pending == 0 && overlap) start_ready_buckets();
}

// Starts every bucket that is complete, in bucket order: a bucket finished early waits for the ones
// before it, so that all ranks start the same all-reduces in the same order whatever order their
// backward passes finished the gradients in.
void DataParallel::State::start_ready_buckets() {
  while (next_to_start < buckets.size() && buckets[next_to_start].pending == 0) {
    Bucket& b = buckets[next_to_start];
    const int count = static_cast<int>(b.buffer.numel());
    detail::check(MPI_Iallreduce(MPI_IN_PLACE, b.buffer.impl()->storage->data(), count,
                                 b.dtype == kFloat64 ? MPI_DOUBLE : MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &b.request),
                  fmt::format("gradient all-reduce of bucket {}: MPI_Iallreduce", next_to_start));
    ++next_to_start;
  }
}

// Lets MPI move the started exchanges along, and notes those that are done.
void DataParallel::State::progress() {
  while (next_to_finish < next_to_start) {
    int done = 0;
    detail::check(MPI_Test(&buckets[next_to_finish].request, &done, MPI_STATUS_IGNORE), "gradient all-reduce: MPI_Test");
    if (!done) return;
    ++next_to_finish;
  }
}

// The end of a backward pass that reached the model: the parameters that got no gradient count as
// zero, the remaining buckets start (without overlap: all of them), and when every exchange is done
// the averaged gradients go into .grad. The time from here to the last exchange's end is the wait.
void DataParallel::State::finish_pass() {
  if (!reached) return;  // another model's backward, or one for the inputs only: not ours to exchange
  reached = false;
  const auto wait_start = std::chrono::steady_clock::now();
  for (std::size_t s = 0; s < slots.size(); ++s) gradient_ready(s);
  start_ready_buckets();
  for (; next_to_finish < buckets.size(); ++next_to_finish) {
    detail::check(MPI_Wait(&buckets[next_to_finish].request, MPI_STATUS_IGNORE), "gradient all-reduce: MPI_Wait");
  }
  wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
  ++passes;
  for (Bucket& b : buckets) {
    for (std::size_t s : b.slots) unpack(slots[s], b);
    b.pending = b.slots.size();
  }
  for (Slot& slot : slots) slot.ready = false;
  next_to_start = next_to_finish = 0;
}

// --- DataParallel ---------------------------------------------------------------------------------

namespace {

std::unique_ptr<DataParallel::State> make_buckets(const nn::Module& model, const DataParallelOptions& options) {
  if (options.bucket_bytes == 0) throw ValueError("DataParallel: bucket_bytes must be at least 1, got 0");
  auto state = std::make_unique<DataParallel::State>();
  auto named = model.named_parameters();
  std::reverse(named.begin(), named.end());  // backward finishes the last layers first
  for (auto& [name, p] : named) {
    if (!p.requires_grad()) continue;  // frozen
    if (p.numel() > INT32_MAX / 2) {
      throw ValueError(fmt::format("DataParallel: parameter '{}' has {} elements, more than one MPI message "
                                   "can carry ({}); split it into smaller parameters",
                                   name, p.numel(), INT32_MAX / 2));
    }
    const std::size_t bytes = p.nbytes();
    Bucket* b = state->buckets.empty() ? nullptr : &state->buckets.back();
    if (b == nullptr || b->dtype != p.dtype() ||
        static_cast<std::size_t>(b->elements) * element_size(b->dtype) + bytes > options.bucket_bytes ||
        b->elements + p.numel() > INT32_MAX / 2) {
      b = &state->buckets.emplace_back();
      b->dtype = p.dtype();
    }
    Slot slot{.param = p, .name = name, .bucket = state->buckets.size() - 1, .offset = b->elements,
              .position = static_cast<std::int64_t>(b->slots.size())};
    b->elements += p.numel();
    b->slots.push_back(state->slots.size());
    state->slot_of[p.impl()] = state->slots.size();
    state->slots.push_back(std::move(slot));
  }
  for (Bucket& b : state->buckets) {
    b.buffer = empty({b.elements + static_cast<std::int64_t>(b.slots.size())}, b.dtype);
    b.pending = b.slots.size();
  }
  return state;
}

}  // namespace

DataParallel::DataParallel(const Communicator& comm, nn::Module& model, DataParallelOptions options)
    : comm_(comm),
      state_(make_buckets(model, options)),
      hook_([s = state_.get()](const autograd::BackwardStep& step) { s->on_step(step); },
            // Reads only the leaves' .grad, so the engine may still reuse gradient memory.
            {.reads_grad_output = false, .after_last_step = [s = state_.get()] { s->finish_pass(); }}) {
  state_->weight = 1.0 / comm.size();
  state_->overlap = options.overlap;
}

DataParallel::~DataParallel() = default;

std::vector<Tensor> DataParallel::shard(const std::vector<Tensor>& batch) {
  if (batch.empty()) throw ValueError("shard: the batch holds no tensors");
  const std::int64_t rows = batch[0].dim() > 0 ? batch[0].size(0) : 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].dim() == 0 || batch[i].size(0) != rows) {
      throw ShapeError(fmt::format("shard: every tensor of a batch needs the same rows in dim 0: tensor 0 is {}, "
                                   "tensor {} is {}",
                                   batch[0].shape(), i, batch[i].shape()));
    }
  }
  const RowRange mine = shard_rows(rows, comm_.rank(), comm_.size());
  std::vector<Tensor> parts;
  for (const Tensor& t : batch) parts.push_back(t.narrow(0, mine.begin, mine.end - mine.begin));
  state_->weight = static_cast<double>(mine.end - mine.begin) / static_cast<double>(rows);
  return parts;
}

std::pair<Tensor, Tensor> DataParallel::shard2(const Tensor& inputs, const Tensor& targets) {
  std::vector<Tensor> parts = shard({inputs, targets});
  return {parts[0], parts[1]};
}

double DataParallel::weight() const { return state_->weight; }

double DataParallel::average(double local_value) const { return comm_.sum(state_->weight * local_value); }

std::vector<std::vector<std::string>> DataParallel::buckets() const {
  std::vector<std::vector<std::string>> names;
  for (const Bucket& b : state_->buckets) {
    names.emplace_back();
    for (std::size_t s : b.slots) names.back().push_back(state_->slots[s].name);
  }
  return names;
}

std::size_t DataParallel::buckets_started() const { return state_->next_to_start; }

// --- no_sync ----------------------------------------------------------------------------------------

DataParallel::NoSync::NoSync(State& state) : state_(state), was_syncing_(state.sync) { state_.sync = false; }

DataParallel::NoSync::~NoSync() { state_.sync = was_syncing_; }

DataParallel::NoSync DataParallel::no_sync() { return NoSync(*state_); }

bool DataParallel::syncing() const { return state_->sync; }

DataParallelStats DataParallel::stats() const {
  DataParallelStats s{.passes = state_->passes, .buckets = state_->buckets.size(), .bytes = 0,
                      .wait_seconds = state_->wait_seconds};
  for (const Bucket& b : state_->buckets) s.bytes += b.buffer.nbytes();
  return s;
}

void DataParallel::reset_stats() {
  state_->passes = 0;
  state_->wait_seconds = 0;
}

}  // namespace attograd::dist
