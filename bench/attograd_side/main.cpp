// bench_attograd: trains one workload in attograd and prints one line of JSON (bench/common/
// step_program.hpp). A training step is zero_grad + forward + loss + backward + SGD step.
//
//   build/bench/bench/bench_attograd ctrans --threads 1 --warmup 3 --steps 15 [--precision bf16]
//
// --precision bf16 trains with attograd's MatmulPrecision::BFloat16 (bf16 matmul inputs, float32 sums
// and weights); the default is strict float32, like the LibTorch side.
//
// Besides the step times, it reports the time spent inside oneDNN's matmul kernels during the timed
// steps (matmul_timer.hpp) and oneDNN's product count over the same steps, as a cross-check that the
// timer saw every product.
#include <cstdint>
#include <exception>
#include <vector>

#include <fmt/format.h>

#include <attograd/attograd.hpp>

#include "common/step_program.hpp"
#include "common/workloads.hpp"
#include "backend/flash_onednn.hpp"
#include "backend/matmul.hpp"
#include "backend/onednn.hpp"
#include "matmul_timer.hpp"
#include "models.hpp"

using attograd::Tensor;

namespace {

Tensor floats(const std::vector<float>& values, attograd::Shape shape) {
  Tensor t = attograd::empty(shape);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor int64s(const std::vector<std::int64_t>& values, attograd::Shape shape) {
  return attograd::tensor_of<std::int64_t>(values, shape);
}

// Each batch as (input, target) tensors.
struct Data {
  std::vector<Tensor> inputs, targets;
};

Data tensors_of(const bench::Workload& w, const std::vector<bench::Batch>& batches) {
  Data d;
  for (const bench::Batch& b : batches) {
    switch (w.kind) {
      case bench::Kind::Tiny:
        d.inputs.push_back(floats(b.x, {w.B, w.in}));
        d.targets.push_back(floats(b.y, {w.B, w.out}));
        break;
      case bench::Kind::Mlp:
        d.inputs.push_back(floats(b.x, {w.B, w.in}));
        d.targets.push_back(int64s(b.labels, {w.B}));
        break;
      case bench::Kind::Ctrans:
        d.inputs.push_back(int64s(b.ids, {w.B, w.T}));
        d.targets.push_back(int64s(b.labels, {w.B}));
        break;
      case bench::Kind::Gpt:
        d.inputs.push_back(int64s(b.ids, {w.B, w.T}));
        d.targets.push_back(int64s(b.labels, {w.B, w.T}));
        break;
    }
  }
  return d;
}

template <class Model>
void run(const bench::StepOptions& o, const bench::Workload& w, const bench::ag::Params& params, const Model& model) {
  const Data data = tensors_of(w, bench::make_batches(w));
  attograd::optim::SGD opt(params.all(), {.lr = w.lr});
  std::vector<double> step_matmul_ms;  // per timed step: reading the running total costs nothing
  const auto step = [&](std::int64_t i) {
    const double matmul_before = bench::matmul_timer::totals().ms;
    if (i == 0) bench::matmul_timer::count_flops(true);  // step 0 is warm-up, its products the same
    const std::size_t b = static_cast<std::size_t>(i % bench::kBatches);
    opt.zero_grad();
    Tensor loss = model.loss(data.inputs[b], data.targets[b]);
    loss.backward();
    opt.step();
    if (i == 0) bench::matmul_timer::count_flops(false);
    if (i >= o.warmup) step_matmul_ms.push_back(bench::matmul_timer::totals().ms - matmul_before);
    return loss;
  };
  attograd::backend::onednn::CacheStats before;
  std::uint64_t flash_before = 0;  // fused attention's block products on oneDNN (heads of 64 dims and more)
  attograd::backend::Bf16Roundings rounded_before;  // the bf16 mode on a CPU without a bf16 kernel
  const auto on_timed_start = [&] {
    bench::matmul_timer::reset();
    before = attograd::backend::onednn::cache_stats();
    flash_before = attograd::backend::flash_onednn_executions();
    rounded_before = attograd::backend::bf16_roundings();
  };
  const bench::LoopResult r =
      bench::run_loop(o, step, [](const Tensor& loss) { return loss.item<double>(); }, on_timed_start);

  // The share is the median over steps of (matmul time / step time): like the step times, robust to a
  // step that another process on the machine interrupted.
  std::vector<double> share;
  for (std::size_t i = 0; i < r.step_ms.size(); ++i) share.push_back(step_matmul_ms[i] / r.step_ms[i]);
  const bench::matmul_timer::Totals mm = bench::matmul_timer::totals();
  const attograd::backend::onednn::CacheStats after = attograd::backend::onednn::cache_stats();
  const auto products = after.products - before.products;
  const attograd::backend::Bf16Roundings rounded_after = attograd::backend::bf16_roundings();
  // The share and the rate stand on the timer having seen every primitive attograd ran: a call that
  // bypassed it (a library linked so that its calls bind elsewhere) would make both look smaller.
  const std::uint64_t flash = attograd::backend::flash_onednn_executions() - flash_before;
  if (mm.calls != after.executions - before.executions + flash) {
    throw std::runtime_error(fmt::format(
        "the matmul timer saw {} oneDNN primitive runs in {} timed steps, but attograd ran {} ({} products, {} "
        "attention block products): the matmul share and rate would be wrong. Is libattograd linked so that its "
        "dnnl_primitive_execute binds to the timer's (bench/attograd_side/matmul_timer.hpp)?",
        mm.calls, o.steps, after.executions - before.executions + flash, products, flash));
  }
  const double steps = static_cast<double>(o.steps);
  fmt::print(
      "{{\"side\": \"attograd\", \"workload\": \"{}\", \"precision\": \"{}\", \"threads\": {}, "
      "\"warmup\": {}, \"steps\": {}, "
      "\"median_ms\": {}, \"min_ms\": {}, \"mean_ms\": {}, \"cpu_ms\": {}, \"rss_mb\": {}, \"first_loss\": {}, \"last_loss\": {}, "
      "\"matmul_ms_per_step\": {}, \"matmul_share\": {}, \"matmul_calls_per_step\": {}, "
      "\"onednn_products_per_step\": {}, \"onednn_executions_per_step\": {}, \"matmul_gflop_per_step\": {}, \"matmul_gflops_in_step\": {}, "
      "\"bf16_rounded_operands_per_step\": {}, \"bf16_rounded_elements_per_step\": {}}}\n",
      w.name, o.precision, attograd::num_threads(), o.warmup, o.steps, bench::json_number(bench::median(r.step_ms)),
      bench::json_number(*std::min_element(r.step_ms.begin(), r.step_ms.end())),
      bench::json_number(r.timed_ms / steps), bench::json_number(r.cpu_ms / steps),
      bench::json_number(bench::peak_rss_mb()),
      bench::json_number(r.first_loss), bench::json_number(r.last_loss), bench::json_number(bench::median(step_matmul_ms)),
      bench::json_number(bench::median(share)), bench::json_number(static_cast<double>(mm.calls) / steps),
      bench::json_number(static_cast<double>(products) / steps),
      bench::json_number(static_cast<double>(after.executions - before.executions) / steps),
      bench::json_number(mm.flops * 1e-9),
      bench::json_number(mm.flops * 1e-6 / bench::median(step_matmul_ms)),
      bench::json_number(static_cast<double>(rounded_after.operands - rounded_before.operands) / steps),
      bench::json_number(static_cast<double>(rounded_after.elements - rounded_before.elements) / steps));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const bench::StepOptions o = bench::parse_step_options(argc, argv);
    const bench::Workload w = bench::resized(bench::workload(o.workload), o.T, o.batch, o.heads);
    if (o.threads > 0) attograd::set_num_threads(o.threads);  // 0: the library's default
    if (o.precision == "bf16") attograd::set_matmul_precision(attograd::MatmulPrecision::BFloat16);
    const bench::ag::Params params(w);
    switch (w.kind) {
      case bench::Kind::Tiny: run(o, w, params, bench::ag::Tiny(params)); break;
      case bench::Kind::Mlp: run(o, w, params, bench::ag::Mlp(params)); break;
      case bench::Kind::Ctrans:
      case bench::Kind::Gpt: run(o, w, params, bench::ag::Transformer(params, w, o.attention)); break;
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_attograd: {}\n", e.what());
    return 1;
  }
}
