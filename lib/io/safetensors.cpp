#include "attograd/io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/io/atomic_file.hpp"
#include "attograd/io/errors.hpp"
#include "backend/half.hpp"
#include "io/safetensors_header.hpp"
#include "io/text.hpp"

// Tensors hold their elements in the machine's byte order and the file holds little-endian ones: on a
// little-endian machine the bytes go through unchanged. A big-endian port would swap them here.
static_assert(std::endian::native == std::endian::little, "attograd's safetensors code assumes a little-endian host");

namespace attograd::io {

// The loader hands over the name index that parse_header built while it looked for duplicate names.
struct detail::FileIndex {
  static void set(SafetensorsFile& file, std::vector<std::size_t> by_name) { file.by_name_ = std::move(by_name); }
};

const Tensor* SafetensorsFile::find(std::string_view name) const {
  // Binary search while the index covers the vector: it holds each position below tensors.size() once,
  // so it can point nowhere else, and a hit is checked by name, so a stale index cannot give a wrong
  // tensor. (Written out: std::lower_bound's result is undefined on a range a change has unsorted.) A
  // miss may be the index's fault, so the vector decides.
  if (by_name_.size() == tensors.size()) {
    std::size_t low = 0, high = by_name_.size();
    while (low < high) {
      const std::size_t middle = low + (high - low) / 2;
      if (tensors[by_name_[middle]].first < name) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    if (low < by_name_.size() && tensors[by_name_[low]].first == name) return &tensors[by_name_[low]].second;
  }
  for (const auto& [n, t] : tensors) {
    if (n == name) return &t;
  }
  return nullptr;
}

void SafetensorsFile::reindex() {
  by_name_.resize(tensors.size());
  std::iota(by_name_.begin(), by_name_.end(), std::size_t{0});
  std::sort(by_name_.begin(), by_name_.end(), [&](auto a, auto b) { return tensors[a].first < tensors[b].first; });
}

bool SafetensorsFile::contains(std::string_view name) const { return find(name) != nullptr; }

const Tensor& SafetensorsFile::at(std::string_view name) const {
  if (const Tensor* t = find(name)) return *t;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < tensors.size() && i < 10; ++i) names.push_back(fmt::format("'{}'", detail::printable(tensors[i].first)));
  if (tensors.size() > 10) names.push_back("...");
  throw MismatchError(fmt::format("SafetensorsFile::at: no tensor '{}'; the file has {} tensor{}: {}",
                                  detail::printable(name), tensors.size(), tensors.size() == 1 ? "" : "s",
                                  fmt::join(names, ", ")));
}

namespace {

// --- writing -------------------------------------------------------------------------------------

// What a file will hold: the 8-byte length and the header, then each tensor's bytes in this order.
struct Plan {
  std::string head;
  std::vector<Tensor> data;                         // contiguous
  std::vector<std::vector<std::uint16_t>> halves;  // data[i]'s elements as 16-bit floats, when so stored
};

const char* bytes_of(const Tensor& t) {
  return static_cast<const char*>(t.impl()->storage->data()) + t.offset() * static_cast<std::int64_t>(element_size(t.dtype()));
}

// The bytes of the plan's i-th tensor in the file. An empty tensor may have no storage at all.
std::string_view chunk(const Plan& plan, std::size_t i) {
  if (!plan.halves[i].empty()) return {reinterpret_cast<const char*>(plan.halves[i].data()), plan.halves[i].size() * 2};
  const Tensor& t = plan.data[i];
  return t.nbytes() == 0 ? std::string_view() : std::string_view(bytes_of(t), t.nbytes());
}

// A contiguous float32 tensor's elements in a 16-bit format.
std::vector<std::uint16_t> narrowed(const Tensor& t, HalfFormat format) {
  std::vector<std::uint16_t> out(static_cast<std::size_t>(t.numel()));
  const float* x = t.data<float>();
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = format == HalfFormat::F16 ? backend::float_to_float16(x[i]) : backend::float_to_bfloat16(x[i]);
  }
  return out;
}

Plan make_plan(std::string_view op, const NamedTensors& tensors, const Metadata& metadata, const SaveOptions& options) {
  auto check_text = [op](std::string_view what, const std::string& text) {
    if (!detail::is_utf8(text)) {
      throw ValueError(fmt::format("{}: {} '{}' is not valid UTF-8", op, what, detail::printable(text)));
    }
  };
  for (const auto& [key, value] : metadata) {
    check_text("metadata key", key);
    check_text("metadata value", value);
  }
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return tensors[a].first < tensors[b].first; });
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& [name, t] = tensors[order[i]];
    check_text("tensor name", name);
    // load_tensors refuses both (io/safetensors.hpp says why): what attograd writes, it must read.
    if (name.empty()) throw ValueError(fmt::format("{}: a tensor name is empty (tensor {} in name order)", op, i));
    if (const std::size_t nul = name.find('\0'); nul != std::string::npos) {
      throw ValueError(fmt::format("{}: tensor name '{}' holds a NUL byte (at offset {})", op, detail::printable(name), nul));
    }
    if (name == "__metadata__") throw ValueError(fmt::format("{}: '__metadata__' is reserved and cannot name a tensor", op));
    if (i > 0 && name == tensors[order[i - 1]].first) {
      throw ValueError(fmt::format("{}: tensor name '{}' is given twice", op, detail::printable(name)));
    }
    if (!t.defined()) throw ValueError(fmt::format("{}: tensor '{}' is undefined", op, detail::printable(name)));
  }

  // The header as the reference implementation writes it: compact JSON, metadata first, each entry's
  // keys in the order dtype, shape, data_offsets. nlohmann escapes the strings.
  using json = nlohmann::json;
  Plan plan;
  std::string text = "{";
  if (!metadata.empty()) {
    text += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      text += fmt::format("{}{}:{}", first ? "" : ",", json(key).dump(), json(value).dump());
      first = false;
    }
    text += "}";
  }
  NoGradGuard no_grad;  // contiguous() of a parameter must not record a graph
  std::uint64_t offset = 0;
  for (std::size_t i : order) {
    const auto& [name, t] = tensors[i];
    const bool half = options.float32_as.has_value() && t.dtype() == kFloat32;
    const detail::Stored stored = !half ? detail::Stored::AsDType
                                  : *options.float32_as == HalfFormat::F16 ? detail::Stored::F16
                                                                           : detail::Stored::BF16;
    const std::uint64_t end = offset + static_cast<std::uint64_t>(t.numel()) * detail::stored_size(t.dtype(), stored);
    const bool first = text.size() == 1;  // nothing after the "{" yet
    text += fmt::format("{}{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                        first ? "" : ",", json(name).dump(), detail::dtype_code(t.dtype(), stored),
                        fmt::join(t.shape().begin(), t.shape().end(), ","), offset, end);
    offset = end;
    plan.data.push_back(t.detach().contiguous());
    plan.halves.push_back(half ? narrowed(plan.data.back(), *options.float32_as) : std::vector<std::uint16_t>{});
  }
  text += "}";
  // Spaces up to a multiple of 8, so that the data buffer starts 8-byte aligned (as the reference does).
  text.append((8 - text.size() % 8) % 8, ' ');

  std::uint64_t n = text.size();
  plan.head.resize(8);
  for (int i = 0; i < 8; ++i, n >>= 8) plan.head[i] = static_cast<char>(n & 0xFF);
  plan.head += text;
  return plan;
}

// --- reading -------------------------------------------------------------------------------------

// The length of a file or block of bytes, which must hold at least the 8-byte header length.
void check_total(std::uint64_t total, std::string_view source) {
  if (total < 8) {
    throw MalformedFileError(
        fmt::format("{}: the file is {} bytes long, shorter than the 8-byte header length", source, total));
  }
}

// Reads the data buffer front to back into the checked header's tensors: `read(dst, n)` delivers the
// next n bytes or throws.
template <class Read>
SafetensorsFile read_tensors(detail::Header&& header, Read&& read, std::string_view source) {
  SafetensorsFile file;
  file.metadata = std::move(header.metadata);
  file.tensors.reserve(header.entries.size());
  std::vector<std::uint16_t> halves;
  for (detail::HeaderEntry& e : header.entries) {
    Tensor t = empty(e.shape, e.dtype);
    const std::size_t bytes = e.end - e.begin;
    if (e.stored != detail::Stored::AsDType) {
      // 16-bit floats, widened into the float32 tensor: exact, every such value is a float32 one.
      halves.resize(bytes / 2);
      if (bytes > 0) read(halves.data(), bytes);
      float* out = t.data<float>();
      for (std::size_t i = 0; i < halves.size(); ++i) {
        out[i] = e.stored == detail::Stored::F16 ? backend::float16_to_float(halves[i])
                                                 : backend::bfloat16_to_float(halves[i]);
      }
    } else if (bytes > 0) {
      read(t.impl()->storage->data(), bytes);
    }
    if (e.dtype == kBool) {
      // A C++ bool must hold 0 or 1; reading any other byte as bool is undefined behaviour.
      const auto* b = static_cast<const unsigned char*>(t.impl()->storage->data());
      for (std::size_t i = 0; i < bytes; ++i) {
        if (b[i] > 1) {
          throw MalformedFileError(fmt::format("{}: tensor '{}': BOOL element {} is the byte {}, not 0 or 1", source,
                                               detail::printable(e.name), i, b[i]));
        }
      }
    }
    file.tensors.emplace_back(std::move(e.name), std::move(t));
  }
  detail::FileIndex::set(file, std::move(header.by_name));
  return file;
}

std::string os_error(int error) { return fmt::format("{} (errno {})", std::generic_category().message(error), error); }

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// What a path is when it is not a regular file, for the message.
std::string_view kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file of any kind attograd reads";
}

// Opens a regular file for reading, and nothing else: open() of a named pipe waits for a writer (forever,
// if none comes), and opening a device can have effects of its own. So the path is looked at first and
// only a regular file is opened. It could be swapped for a pipe between the look and the open: O_NONBLOCK
// makes that open return at once, and the opened file is looked at again.
FileDescriptor open_regular_file(const std::filesystem::path& path, std::string_view source, struct stat& info) {
  auto refuse = [&](std::string_view what, int error) {
    throw FileAccessError(fmt::format("{}: {}: {}", source, what, os_error(error)));
  };
  if (::stat(path.c_str(), &info) != 0) refuse("cannot open", errno);
  if (!S_ISREG(info.st_mode)) throw FileAccessError(fmt::format("{}: not a regular file ({})", source, kind_of(info.st_mode)));
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) refuse("cannot open", errno);
  if (::fstat(fd.get(), &info) != 0) refuse("cannot stat", errno);
  if (!S_ISREG(info.st_mode)) throw FileAccessError(fmt::format("{}: not a regular file ({})", source, kind_of(info.st_mode)));
  // Reads of a regular file do not look at O_NONBLOCK, but nothing should depend on that.
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) refuse("cannot set the file's flags", errno);
  return fd;
}

}  // namespace

std::string serialize_tensors(const NamedTensors& tensors, const Metadata& metadata, const SaveOptions& options) {
  Plan plan = make_plan("serialize_tensors", tensors, metadata, options);
  std::string out = std::move(plan.head);
  for (std::size_t i = 0; i < plan.data.size(); ++i) out += chunk(plan, i);
  return out;
}

void detail::save_tensors_as(std::string_view op, const std::filesystem::path& path, const NamedTensors& tensors,
                             const Metadata& metadata, const SaveOptions& options) {
  const Plan plan = make_plan(op, tensors, metadata, options);
  try {
    AtomicFile file(path);
    file.write(plan.head);
    for (std::size_t i = 0; i < plan.data.size(); ++i) {
      const std::string_view bytes = chunk(plan, i);
      if (!bytes.empty()) file.write(bytes.data(), bytes.size());
    }
    file.commit();
  } catch (const FileAccessError& e) {
    throw FileAccessError(fmt::format("{}: {}", op, e.what()));
  }
}

void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata,
                  const SaveOptions& options) {
  detail::save_tensors_as("save_tensors", path, tensors, metadata, options);
}

SafetensorsFile parse_tensors(std::string_view bytes, std::string_view source_name, const LoadLimits& limits) {
  const std::string source = fmt::format("parse_tensors: '{}'", source_name);
  check_total(bytes.size(), source);
  const std::uint64_t n =
      detail::read_header_length(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), source, limits);
  // The header is parsed where it is, not copied.
  detail::Header header = detail::parse_header(bytes.substr(8, n), bytes.size() - 8 - n, source, limits);
  std::size_t position = 8 + n;
  auto read = [&](void* dst, std::size_t count) {
    // Never past the end: every size was checked against the total in parse_header.
    std::memcpy(dst, bytes.data() + position, count);
    position += count;
  };
  return read_tensors(std::move(header), read, source);
}

SafetensorsFile detail::load_tensors_as(std::string_view op, const std::filesystem::path& path,
                                        const LoadLimits& limits) {
  const std::string source = fmt::format("{}: '{}'", op, path.string());
  struct stat info {};
  const FileDescriptor fd = open_regular_file(path, source, info);
  const auto total = static_cast<std::uint64_t>(info.st_size);

  std::uint64_t position = 0;
  auto read = [&](void* dst, std::size_t n) {
    char* p = static_cast<char*>(dst);
    while (n > 0) {
      const ssize_t got = ::read(fd.get(), p, n);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        throw FileAccessError(fmt::format("{}: read failed at byte {}: {}", source, position, os_error(errno)));
      }
      if (got == 0) {
        throw FileAccessError(fmt::format("{}: unexpected end of file at byte {} of {} (the file shrank while it was "
                                          "read)",
                                          source, position, total));
      }
      p += got;
      n -= static_cast<std::size_t>(got);
      position += static_cast<std::uint64_t>(got);
    }
  };
  check_total(total, source);
  unsigned char first8[8];
  read(first8, 8);
  const std::uint64_t n = detail::read_header_length(first8, total, source, limits);
  detail::Header header;
  {
    // The header's bytes live only while they are parsed: the tensors are allocated after.
    std::string text(static_cast<std::size_t>(n), '\0');
    read(text.data(), text.size());
    header = detail::parse_header(text, total - 8 - n, source, limits);
  }
  return read_tensors(std::move(header), read, source);
}

SafetensorsFile load_tensors(const std::filesystem::path& path, const LoadLimits& limits) {
  return detail::load_tensors_as("load_tensors", path, limits);
}

}  // namespace attograd::io
