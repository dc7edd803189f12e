/// \file
/// Every rank trains the same model on its own rows of each batch, and
/// the gradients are averaged across ranks during backward, as PyTorch's DistributedDataParallel does.
///
/// \code
/// dist::Communicator comm;
/// dist::broadcast(comm, model);                     // one starting model
/// dist::DataParallel ddp(comm, model);              // from here on, backward() averages gradients
/// for (...) {
///   auto [x, y] = batches.next2();                  // the same global batch on every rank (same seed)
///   auto [xr, yr] = ddp.shard2(x, y);               // this rank's rows of it
///   Tensor loss = cross_entropy(model(xr), yr);
///   opt.zero_grad();
///   loss.backward();                                // returns with every gradient averaged
///   clip_grad_norm(model.parameters(), 1.0);        // sees the global gradient
///   opt.step();                                     // the same step on every rank
///   double global_loss = ddp.average(loss.item());  // the loss of the whole batch
/// }
/// \endcode
///
/// How: the trainable parameters are packed, in reverse registration order (roughly the order backward
/// finishes them), into buckets of about `bucket_bytes`. A step hook in the autograd engine sees each
/// parameter's gradient as soon as it is final; when a bucket's last gradient is in, the bucket's
/// all-reduce starts (MPI_Iallreduce, non-blocking) while backward goes on with the layers below. The
/// same hook calls MPI_Test to keep the exchanges moving (Open MPI advances them only inside MPI calls),
/// and when the pass ends the engine's after_last_step hook waits for the rest. docs/distributed.md.
///
/// Rules:
/// - While a DataParallel lives, every backward() on its thread that reaches the model's parameters is
/// \code
/// collective: all ranks make it, in the same order. A backward that reaches none of them (another
/// model's) exchanges nothing, on any rank it runs on.
/// \endcode
/// - A backward that throws midway leaves the ranks out of step: end the program (run.hpp).
/// - Frozen parameters (requires_grad false when it is made) are left out.
/// - A parameter that got no gradient on a rank this pass counts as zero there; if it got none on any
/// \code
/// rank its .grad stays as it was (undefined after zero_grad), as in one process.
/// \endcode
/// - Each rank's gradient is weighted by its share of the global batch (shard: rows / global rows; 1/size
/// \code
/// until the first shard), so an uneven last slice gives the gradient one process would compute.
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attograd/autograd/engine.hpp"
#include "attograd/dist/communicator.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::dist {

/// How DataParallel exchanges gradients.
struct DataParallelOptions {
  /// The size of one all-reduce, in bytes of gradient. Larger buckets mean fewer, longer messages;
  /// smaller ones start sooner. A parameter larger than this gets a bucket of its own.
  std::size_t bucket_bytes = std::size_t{25} * 1024 * 1024;
  /// true: a bucket's all-reduce starts as soon as its gradients are in, while backward goes on.
  /// false: every bucket's all-reduce starts when backward is over, as a plain loop of all-reduces after
  /// backward would; the same result, bit for bit, without the overlap (the bench measures what the
  /// overlap is worth with it).
  bool overlap = true;
};

/// What the gradient exchange cost, summed over the backward passes that exchanged gradients since the
/// DataParallel was made (or reset_stats()). wait_seconds is the time each pass spent after backward's
/// last step until every all-reduce was done: the part of the exchange that backward did not hide.
/// wait_seconds / passes over the step time is the share of a step spent waiting on the all-reduce.
struct DataParallelStats {
  std::size_t passes = 0;   ///< backward passes that exchanged gradients
  std::size_t buckets = 0;  ///< all-reduces per pass
  std::size_t bytes = 0;    ///< bytes all-reduced per pass (the gradients and one flag per parameter)
  double wait_seconds = 0;  ///< summed over the passes
};

/// Rows [begin, end) of a global batch of `rows` rows that rank `rank` of `size` takes: contiguous,
/// disjoint, covering every row, sizes differing by at most one (10 rows over 3 ranks: 3, 3, 4).
/// ValueError when rows < size (a rank would get none).
struct RowRange {
  std::int64_t begin = 0;  ///< first row
  std::int64_t end = 0;  ///< one past the last row
};
/// The rows that rank `rank` of `size` takes (see RowRange).
RowRange shard_rows(std::int64_t rows, int rank, int size);

/// Data-parallel training of one model replicated on every rank (docs/distributed.md): each rank runs forward
/// and backward on its shard of the global batch, and the gradients are summed across ranks in buckets during
/// backward, so every replica takes the same step.
class DataParallel {
 public:
  /// Copies rank 0's parameters to every rank and installs the gradient exchange for `model`'s backward
  /// passes.
  DataParallel(const Communicator& comm, nn::Module& model, DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  /// This rank's rows (shard_rows) of each tensor of a global batch (all with the same size in dim 0),
  /// and this rank's weight for the next backward: its rows / the global rows.
  std::vector<Tensor> shard(const std::vector<Tensor>& batch);
  /// shard() of a pair, such as inputs and targets
  std::pair<Tensor, Tensor> shard2(const Tensor& inputs, const Tensor& targets);

  /// This rank's share of the current global batch.
  double weight() const;
  /// The sum over ranks of weight × value: for each rank's mean loss, the mean loss of the global batch.
  /// Collective.
  double average(double local_value) const;

  /// The buckets, each a list of parameter names, in the order their all-reduces start.
  std::vector<std::vector<std::string>> buckets() const;
  /// How many buckets' all-reduces have started in the backward pass under way (0 between passes): a
  /// step hook can watch the exchange overlap backward.
  std::size_t buckets_started() const;
  /// The exchange's cost so far (DataParallelStats).
  DataParallelStats stats() const;
  /// Starts stats()'s sums afresh (after warm-up steps, say); the buckets stay.
  void reset_stats();

  struct State;  ///< the buckets and their requests (lib/dist/data_parallel.cpp)

 private:
  const Communicator& comm_;
  std::unique_ptr<State> state_;
  autograd::StepHookGuard hook_;  // after state_: it points into it

 public:
  /// \name Gradient accumulation: backward passes without the exchange
  ///
  /// (PyTorch DDP's no_sync)
  /// @{

  ///
  /// \code
  /// opt.zero_grad();
  /// for (int k = 0; k < micro; ++k) {
  ///   auto [xr, yr] = ddp.shard2(xs[k], ys[k]);              // micro-batches of the same rows each
  ///   Tensor loss = cross_entropy(model(xr), yr) / double(micro);
  ///   if (k + 1 < micro) { auto local = ddp.no_sync(); loss.backward(); }  // adds to .grad, locally
  ///   else loss.backward();        // exchanges the sums: the gradient of all the micro-batches
  /// }
  /// opt.step();
  /// \endcode
  ///
  /// While a NoSync lives, a backward() adds to .grad on this rank alone and exchanges nothing (it is not
  /// collective). The next backward without one exchanges every parameter's accumulated .grad, weighted
  /// by this rank's share of the last shard: so give every micro-batch the same number of rows (the
  /// shares then stay the same). Every rank must use no_sync for the same passes.
  class NoSync {
    /// @}
   public:
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    friend class DataParallel;
    explicit NoSync(State& state);
    State& state_;
    bool was_syncing_;
  };
  /// Backward passes stop exchanging until the NoSync returned ends (nested ones restore the outer one).
  [[nodiscard]] NoSync no_sync();
  /// False while a NoSync lives.
  bool syncing() const;
};

}  // namespace attograd::dist
