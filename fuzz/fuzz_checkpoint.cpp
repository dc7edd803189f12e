// libFuzzer target: the checkpoint loader on arbitrary bytes.
//
//   bytes -> parse_tensors           a SafetensorsFile or an IoError of one of the kinds of io/errors.hpp
//         -> serialize_tensors       a parsed file written back and parsed again is the same file
//         -> load_checkpoint         into FuzzModel, strict and not: either every tensor named in the
//                                    file holds the file's bytes, or an IoError and the model unchanged
//         -> forward                 the loaded model still computes a [5, 4] output
// Any other outcome (another exception, a broken property, a sanitizer report) stops the fuzzer with
// the input saved as a finding. load_checkpoint reads from a path, so the bytes go to a memfd that is
// opened through /proc/self/fd: the real file loader, with no disk involved.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include <attograd/attograd.hpp>

#include "fuzz_model.hpp"

using namespace attograd;
using attograd::fuzzing::FuzzModel;

namespace {

[[noreturn]] void fail(const std::string& what) {
  fmt::print(stderr, "fuzz_checkpoint: {}\n", what);
  std::abort();
}

std::string_view bytes_of(const Tensor& t) {
  return {static_cast<const char*>(t.impl()->storage->data()) + t.offset() * element_size(t.dtype()), t.nbytes()};
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.is_contiguous() && b.is_contiguous() &&
         bytes_of(a) == bytes_of(b);
}

using Snapshot = std::map<std::string, std::string>;  // name -> bytes

Snapshot snapshot(const nn::Module& m) {
  Snapshot s;
  for (const auto& [name, t] : m.named_parameters()) s[name] = std::string(bytes_of(t.contiguous()));
  for (const auto& [name, t] : m.named_buffers()) s[name] = std::string(bytes_of(t.contiguous()));
  return s;
}

// Every refusal has a kind (io/errors.hpp): a bare IoError would leave a program matching message text.
void check_kind(const IoError& e) {
  const bool kind = dynamic_cast<const io::FileAccessError*>(&e) != nullptr ||
                    dynamic_cast<const io::MalformedFileError*>(&e) != nullptr ||
                    dynamic_cast<const io::UnsupportedFileError*>(&e) != nullptr ||
                    dynamic_cast<const io::LimitExceededError*>(&e) != nullptr ||
                    dynamic_cast<const io::MismatchError*>(&e) != nullptr;
  if (!kind) fail(fmt::format("a refusal without a kind: {}", e.what()));
}

// The parsed file is self-consistent: contiguous tensors that need no grad, and written back by
// serialize_tensors it parses to the same names, shapes, dtypes, bytes and metadata.
void check_round_trip(const io::SafetensorsFile& file) {
  std::map<std::string, Tensor> by_name;
  for (const auto& [name, t] : file.tensors) {
    if (!t.is_contiguous() || t.requires_grad()) {
      fail(fmt::format("tensor '{}' is not a plain contiguous tensor", name));
    }
    if (!by_name.emplace(name, t).second) fail(fmt::format("tensor '{}' parsed twice", name));
    if (&file.at(name) != &t) fail(fmt::format("at('{}') does not find the tensor of that name", name));
  }
  const io::SafetensorsFile again = io::parse_tensors(io::serialize_tensors(file.tensors, file.metadata), "round trip");
  if (again.metadata != file.metadata) fail("the metadata changed in a round trip");
  if (again.tensors.size() != file.tensors.size()) fail("the tensor count changed in a round trip");
  for (const auto& [name, t] : again.tensors) {
    const auto it = by_name.find(name);
    if (it == by_name.end() || !same_tensor(it->second, t)) {
      fail(fmt::format("tensor '{}' changed in a round trip", name));
    }
  }
}

// The memfd holding the current input; created once.
int input_file() {
  static const int fd = [] {
    const int fd = memfd_create("fuzz_checkpoint", 0);
    if (fd < 0) fail("memfd_create failed");
    return fd;
  }();
  return fd;
}

void check_load(const std::string& path, const io::SafetensorsFile* parsed, bool strict) {
  FuzzModel model;
  const Snapshot before = snapshot(model);
  try {
    io::load_checkpoint(path, model, {.strict = strict});
  } catch (const IoError& e) {
    check_kind(e);
    if (snapshot(model) != before) fail("a failed load changed the model");
    return;
  }
  if (parsed == nullptr) fail("load_checkpoint accepted a file that parse_tensors refused");
  std::map<std::string, Tensor> in_file;
  for (const auto& [name, t] : parsed->tensors) in_file.emplace(name, t);
  const Snapshot after = snapshot(model);
  for (const auto& [name, bytes] : after) {
    const auto it = in_file.find(std::string(io::kModelPrefix) + name);
    if (it != in_file.end() ? bytes != bytes_of(it->second) : bytes != before.at(name)) {
      fail(fmt::format("'{}' does not hold the file's values after a successful load", name));
    }
  }
  // The model still computes: loaded values may be NaN, but the shapes and the graph are intact.
  const Tensor y = model.forward(tensor_of<std::int64_t>({0, 1, 2, 3, 4}, {5}));
  if (y.shape() != Shape{5, 4}) fail(fmt::format("the loaded model's output is {}", y.shape()));
  y.sum().backward();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  set_matmul_backend(MatmulBackend::Reference);  // oneDNN's JIT code is not instrumented
  set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::optional<io::SafetensorsFile> parsed;
  try {
    parsed = io::parse_tensors(bytes, "fuzz input");
  } catch (const IoError& e) {
    check_kind(e);
  }
  if (parsed) check_round_trip(*parsed);

  const int fd = input_file();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    fail("writing the memfd failed");
  }
  const std::string path = fmt::format("/proc/self/fd/{}", fd);
  check_load(path, parsed ? &*parsed : nullptr, true);
  check_load(path, parsed ? &*parsed : nullptr, false);
  return 0;
}
