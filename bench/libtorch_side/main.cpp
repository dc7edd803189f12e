// bench_libtorch: trains one workload in LibTorch and prints one line of JSON, exactly as
// bench_attograd does (bench/common/step_program.hpp), for the same data and initial weights.
//
//   OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=2 build/bench/bench/bench_libtorch gpt --threads 2
//
// zero_grad drops the gradients (set_to_none, PyTorch 2's default and attograd's behaviour) rather
// than zeroing them, so that both sides do the same work. The report names the BLAS library the
// process loaded: LibTorch's float32 matmuls run there, and Debian's reference BLAS instead of OpenBLAS
// would make the peer look ten times slower than it is.
#include <cstdint>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/step_program.hpp"
#include "common/workloads.hpp"
#include "models.hpp"

namespace {

torch::Tensor floats(std::vector<float> values, std::vector<std::int64_t> shape) {
  return torch::from_blob(values.data(), shape, torch::kFloat32).clone();
}

torch::Tensor int64s(std::vector<std::int64_t> values, std::vector<std::int64_t> shape) {
  return torch::from_blob(values.data(), shape, torch::kInt64).clone();
}

struct Data {
  std::vector<torch::Tensor> inputs, targets;
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

// The BLAS shared object mapped into this process (after a matmul has run), or "none".
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && line.find("blas", slash) != std::string::npos) return line.substr(slash);
  }
  return "none";
}

template <class Model>
void run(const bench::StepOptions& o, const bench::Workload& w, const bench::lt::Params& params, const Model& model) {
  const Data data = tensors_of(w, bench::make_batches(w));
  std::vector<torch::Tensor> all = params.all();
  torch::optim::SGD opt(all, torch::optim::SGDOptions(w.lr));
  const auto step = [&](std::int64_t i) {
    const std::size_t b = static_cast<std::size_t>(i % bench::kBatches);
    for (torch::Tensor& p : all) p.mutable_grad().reset();  // zero_grad(set_to_none)
    torch::Tensor loss = model.loss(data.inputs[b], data.targets[b]);
    loss.backward();
    opt.step();
    return loss;
  };
  const bench::LoopResult r =
      bench::run_loop(o, step, [](const torch::Tensor& loss) { return loss.item<double>(); }, [] {});

  fmt::print(
      "{{\"side\": \"libtorch\", \"workload\": \"{}\", \"threads\": {}, \"warmup\": {}, \"steps\": {}, "
      "\"median_ms\": {}, \"min_ms\": {}, \"mean_ms\": {}, \"cpu_ms\": {}, \"rss_mb\": {}, \"first_loss\": {}, \"last_loss\": {}, "
      "\"blas\": \"{}\"}}\n",
      w.name, torch::get_num_threads(), o.warmup, o.steps, bench::json_number(bench::median(r.step_ms)),
      bench::json_number(*std::min_element(r.step_ms.begin(), r.step_ms.end())),
      bench::json_number(r.timed_ms / static_cast<double>(o.steps)),
      bench::json_number(r.cpu_ms / static_cast<double>(o.steps)), bench::json_number(bench::peak_rss_mb()),
      bench::json_number(r.first_loss), bench::json_number(r.last_loss), loaded_blas());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const bench::StepOptions o = bench::parse_step_options(argc, argv);
    if (o.precision != "f32") throw std::invalid_argument("the LibTorch side runs float32 only");
    if (o.attention != "auto") throw std::invalid_argument("--attention is for bench_attograd only");
    const bench::Workload w = bench::resized(bench::workload(o.workload), o.T, o.batch, o.heads);
    if (o.threads < 1) throw std::invalid_argument("--threads must be at least 1 for LibTorch");
    torch::set_num_threads(o.threads);
    torch::set_num_interop_threads(1);
    const bench::lt::Params params(w);
    switch (w.kind) {
      case bench::Kind::Tiny: run(o, w, params, bench::lt::Tiny(params)); break;
      case bench::Kind::Mlp: run(o, w, params, bench::lt::Mlp(params)); break;
      case bench::Kind::Ctrans:
      case bench::Kind::Gpt: run(o, w, params, bench::lt::Transformer(params, w)); break;
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_libtorch: {}\n", e.what());
    return 1;
  }
}
