// save_tensors / load_tensors: round trips of every dtype and rank, the exact bytes of a small file,
// bad arguments to save, what load_tensors does with paths that are not regular files, and what
// looking up and parsing cost.
#include "support/test.hpp"

#include <bit>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <limits>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <attograd/io/safetensors.hpp>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

// A tensor of dtype with distinct values (0, 1, 2, ... as the dtype allows; alternating for bool).
Tensor sample(const Shape& shape, DType dtype) {
  std::vector<double> values(static_cast<std::size_t>(shape.numel()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = dtype == kBool ? static_cast<double>(i % 3 == 0) : static_cast<double>(i) * 1.5 - 4.0;
  }
  if (dtype == kInt64) {
    for (double& v : values) v = std::round(v * 1000.0);
  }
  return tensor(values, shape, {.dtype = kFloat64}).to(dtype);
}

void check_same(const Tensor& actual, const Tensor& expected, const std::string& name) {
  BOOST_TEST_CONTEXT(name) {
    BOOST_TEST(actual.dtype() == expected.dtype());
    BOOST_TEST_REQUIRE(actual.shape() == expected.shape(), fmt::format("{} vs {}", actual.shape(), expected.shape()));
    BOOST_TEST(actual.to_vector<double>() == expected.to_vector<double>(), boost::test_tools::per_element());
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(every_dtype_and_rank_0_to_4_round_trips) {
  TempDir dir;
  const std::vector<Shape> shapes{{}, {5}, {0}, {2, 3}, {3, 0}, {2, 1, 3}, {0, 2, 2}, {2, 3, 1, 2}, {1, 0, 2, 3}};
  NamedTensors saved;
  for (DType dtype : {kFloat32, kFloat64, kInt64, kBool}) {
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      saved.emplace_back(fmt::format("{}.rank{}.{}", dtype, shapes[i].rank(), i), sample(shapes[i], dtype));
    }
  }
  const Metadata metadata{{"epoch", "3"}, {"note", "é ✓"}};
  save_tensors(dir / "all.safetensors", saved, metadata);
  const SafetensorsFile file = load_tensors(dir / "all.safetensors");
  BOOST_TEST(file.tensors.size() == saved.size());
  BOOST_TEST(file.metadata == metadata);
  for (const auto& [name, t] : saved) {
    BOOST_TEST_REQUIRE(file.contains(name), name);
    check_same(file.at(name), t, name);
    BOOST_TEST(!file.at(name).requires_grad());
  }
  // Written and read back in name order.
  for (std::size_t i = 1; i < file.tensors.size(); ++i) {
    // (A plain bool: Boost.Test's own comparison of two strings with < is not std::string's.)
    const bool in_order = file.tensors[i - 1].first < file.tensors[i].first;
    BOOST_TEST(in_order,
               fmt::format("{} before {}", file.tensors[i - 1].first, file.tensors[i].first));
  }
}

BOOST_AUTO_TEST_CASE(a_small_file_has_exactly_the_reference_layout) {
  // Two tensors given out of name order, and one metadata entry. Expected: the length 136 (0x88)
  // little-endian; compact JSON with the metadata first and the tensors sorted by name, padded with 4
  // spaces to a multiple of 8; then a's int64 7 and b's float32 1 and -2 (0x3F800000, 0xC0000000), all
  // little-endian.
  const NamedTensors tensors{{"b", tensor({1.0, -2.0})}, {"a", tensor_of<std::int64_t>({7}, {})}};
  const std::string header =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"
      "    ";
  BOOST_TEST_REQUIRE(header.size() == 136u);
  const std::string expected = std::string("\x88\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x07\0\0\0\0\0\0\0", 8) + std::string("\0\0\x80\x3f\0\0\0\xc0", 8);
  BOOST_TEST(serialize_tensors(tensors, {{"k", "v"}}) == expected);

  TempDir dir;
  save_tensors(dir / "two.safetensors", tensors, {{"k", "v"}});
  BOOST_TEST(read_bytes(dir / "two.safetensors") == expected);
}

BOOST_AUTO_TEST_CASE(a_file_without_metadata_or_tensors) {
  // {} padded to 8 bytes: the smallest valid file.
  const std::string empty = serialize_tensors({});
  BOOST_TEST(empty == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  const SafetensorsFile file = parse_tensors(empty);
  BOOST_TEST(file.tensors.empty());
  BOOST_TEST(file.metadata.empty());
}

BOOST_AUTO_TEST_CASE(special_float_values_keep_their_bits) {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor t64 = tensor({-0.0, inf, -inf, std::numeric_limits<double>::denorm_min(), 1e308}, {.dtype = kFloat64});
  const Tensor nan32 = full({2}, std::nan(""));
  const SafetensorsFile file = parse_tensors(serialize_tensors({{"d", t64}, {"n", nan32}}));
  const std::vector<double> back = file.at("d").to_vector<double>();
  const std::vector<double> want = t64.to_vector<double>();
  for (std::size_t i = 0; i < want.size(); ++i) {
    BOOST_TEST(std::bit_cast<std::uint64_t>(back[i]) == std::bit_cast<std::uint64_t>(want[i]));
  }
  for (float v : file.at("n").to_vector<float>()) BOOST_TEST(std::isnan(v));
}

BOOST_AUTO_TEST_CASE(views_are_saved_in_row_major_order_of_their_shape) {
  // x = [[0, 1, 2], [3, 4, 5]]; its transpose is [[0, 3], [1, 4], [2, 5]], and an expand() repeats rows.
  const Tensor x = arange(6.0).reshape({2, 3});
  const SafetensorsFile file = parse_tensors(serialize_tensors({{"t", x.mT()}, {"e", tensor({1.0, 2.0}).expand({3, 2})}}));
  check_values(file.at("t"), {0, 3, 1, 4, 2, 5});
  BOOST_TEST(file.at("t").shape() == (Shape{3, 2}));
  check_values(file.at("e"), {1, 2, 1, 2, 1, 2});
}

BOOST_AUTO_TEST_CASE(a_tensor_that_requires_grad_is_saved_without_recording_a_graph) {
  const Tensor w = randn({3, 2}, {.requires_grad = true});
  const SafetensorsFile file = parse_tensors(serialize_tensors({{"w", w.mT()}}));
  check_close(file.at("w"), w.mT(), 0.0);
}

BOOST_AUTO_TEST_CASE(tensors_bigger_than_the_write_buffer_round_trip) {
  TempDir dir;
  Generator gen(7);
  const Tensor big = randn({700, 1000}, gen);  // 2.8 MB of float32
  const Tensor small = randn({3}, gen);
  save_tensors(dir / "big.safetensors", {{"big", big}, {"small", small}});
  const SafetensorsFile file = load_tensors(dir / "big.safetensors");
  check_close(file.at("big"), big, 0.0);
  check_close(file.at("small"), small, 0.0);
  BOOST_TEST(std::filesystem::file_size(dir / "big.safetensors") > 2'800'000u);
}

BOOST_AUTO_TEST_CASE(unicode_and_escaped_names_round_trip) {
  const NamedTensors tensors{{"température", ones({1})}, {"名前", zeros({1})}, {"quote\"back\\slash\nnew", ones({2})}};
  const SafetensorsFile file = parse_tensors(serialize_tensors(tensors));
  for (const auto& [name, t] : tensors) {
    BOOST_TEST_REQUIRE(file.contains(name), name);
    check_same(file.at(name), t, name);
  }
}

BOOST_AUTO_TEST_CASE(the_json_order_of_entries_does_not_matter) {
  // Another writer may list the tensors in any order and pad differently: only the offsets count.
  const std::string header =
      R"( { "y" : {"shape":[1], "data_offsets":[4,8], "dtype":"F32"}, "x": {"dtype":"F32","shape":[1],"data_offsets":[0,4]} })";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(header.size());
  bytes += header + std::string("\0\0\x80\x3f\0\0\0\x40", 8);
  const SafetensorsFile file = parse_tensors(bytes);
  BOOST_TEST(file.tensors[0].first == "x");  // in the order of the data
  check_values(file.at("x"), {1.0});
  check_values(file.at("y"), {2.0});
}

BOOST_AUTO_TEST_CASE(bad_arguments_to_save_are_value_errors) {
  TempDir dir;
  const auto path = dir / "bad.safetensors";
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"w", ones({1})}, {"w", zeros({2})}}), ValueError,
                        has_message("save_tensors: tensor name 'w' is given twice"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"__metadata__", ones({1})}}), ValueError,
                        has_message("save_tensors: '__metadata__' is reserved and cannot name a tensor"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"u", Tensor()}}), ValueError,
                        has_message("save_tensors: tensor 'u' is undefined"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"bad\xff", ones({1})}}), ValueError,
                        has_message("save_tensors: tensor name 'bad\xff' is not valid UTF-8"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {}, {{"k", "\xc0\xaf"}}), ValueError,
                        has_message("save_tensors: metadata value"));
  BOOST_CHECK_EXCEPTION(serialize_tensors({{"a", ones({1})}, {"a", ones({1})}}), ValueError,
                        has_message("serialize_tensors: tensor name 'a' is given twice"));
  BOOST_TEST(dir.names().empty());
}

BOOST_AUTO_TEST_CASE(empty_names_and_names_with_nul_are_not_saved) {
  // load_tensors refuses them too (test_safetensors_header.cpp): what attograd writes, it reads.
  TempDir dir;
  const auto path = dir / "bad.safetensors";
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"w", ones({1})}, {"", ones({1})}}), ValueError,
                        has_message("save_tensors: a tensor name is empty (tensor 0 in name order)"));
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{std::string("a\0b", 3), ones({1})}}), ValueError,
                        has_message("save_tensors: tensor name 'a\\x00b' holds a NUL byte (at offset 1)"));
  BOOST_CHECK_EXCEPTION(serialize_tensors({{std::string(1, '\0'), ones({1})}}), ValueError,
                        has_message("serialize_tensors: tensor name '\\x00' holds a NUL byte (at offset 0)"));
  BOOST_TEST(dir.names().empty());
}

BOOST_AUTO_TEST_CASE(failing_to_write_is_an_io_error_naming_the_path) {
  TempDir dir;
  const auto path = dir / "missing" / "w.safetensors";
  BOOST_CHECK_EXCEPTION(save_tensors(path, {{"w", ones({1})}}), IoError,
                        has_message(fmt::format("save_tensors: cannot write '{}'", path.string())));
}

BOOST_AUTO_TEST_CASE(at_names_the_missing_tensor_and_those_present) {
  const SafetensorsFile file = parse_tensors(serialize_tensors({{"a", ones({1})}, {"b", ones({1})}}));
  BOOST_CHECK_EXCEPTION(file.at("c"), MismatchError,
                        has_message("SafetensorsFile::at: no tensor 'c'; the file has 2 tensors: 'a', 'b'"));
}

BOOST_AUTO_TEST_CASE(reading_every_tensor_of_a_large_file_by_name_is_fast) {
  // 100,000 tensors, each looked up once: a linear search makes that 5 * 10^9 name comparisons (tens of
  // seconds); the index makes it under 2 million (milliseconds). The bound leaves a wide margin for a
  // loaded or sanitized machine.
  constexpr int kCount = 100'000;
  fmt::memory_buffer header;
  header.push_back('{');
  for (int i = 0; i < kCount; ++i) {
    fmt::format_to(std::back_inserter(header), R"({}"layer{}.w":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})",
                   i == 0 ? "" : ",", (i * 7919) % kCount);  // names in another order than the data
  }
  header.push_back('}');
  std::string bytes(8, '\0');
  for (std::size_t i = 0, n = header.size(); i < 8; ++i, n >>= 8) bytes[i] = static_cast<char>(n & 0xFF);
  bytes.append(header.data(), header.size());
  const SafetensorsFile file = parse_tensors(bytes);
  BOOST_TEST_REQUIRE(file.tensors.size() == static_cast<std::size_t>(kCount));
  const auto start = std::chrono::steady_clock::now();
  std::size_t found = 0;
  for (int i = 0; i < kCount; ++i) found += file.at(fmt::format("layer{}.w", i)).numel() == 0 ? 1 : 0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(found == static_cast<std::size_t>(kCount));
  BOOST_TEST_MESSAGE(fmt::format("{} lookups in {:.3f} s", kCount, seconds));
  BOOST_TEST(seconds < 5.0);
  BOOST_TEST(!file.contains("layer100000.w"));
}

BOOST_AUTO_TEST_CASE(lookups_stay_right_after_the_tensors_are_changed) {
  // `tensors` is a public vector: after a caller renames, reorders or removes entries, at() and contains()
  // must still answer from what the vector holds (more slowly until reindex()).
  SafetensorsFile file = parse_tensors(serialize_tensors({{"a", ones({1})}, {"b", zeros({2})}, {"c", ones({3})}}));
  file.tensors[0].first = "z";
  std::swap(file.tensors[1], file.tensors[2]);
  BOOST_TEST(!file.contains("a"));
  BOOST_TEST(file.at("z").numel() == 1);
  BOOST_TEST(file.at("b").numel() == 2);
  BOOST_TEST(file.at("c").numel() == 3);
  file.tensors.pop_back();
  BOOST_TEST(!file.contains("b"));
  BOOST_CHECK_EXCEPTION(file.at("b"), MismatchError, has_message("no tensor 'b'"));
  file.reindex();
  BOOST_TEST(file.at("z").numel() == 1);
  BOOST_TEST(file.at("c").numel() == 3);
}

BOOST_AUTO_TEST_CASE(a_named_pipe_is_refused_without_waiting_for_a_writer) {
  // open() of a FIFO for reading blocks until a writer appears. The load runs in a child with an alarm,
  // so that a hang kills the child (and fails here) instead of hanging the test.
  TempDir dir;
  const auto fifo = dir / "pipe.safetensors";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    ::alarm(10);
    try {
      load_tensors(fifo);
    } catch (const FileAccessError& e) {
      const bool named = std::string(e.what()).find("not a regular file (a named pipe)") != std::string::npos;
      ::_exit(named ? 0 : 2);
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(4);
  }
  int status = 0;
  BOOST_TEST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST_INFO("killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << " (14 is the alarm: it hung)");
  BOOST_TEST_REQUIRE(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "exit status " << WEXITSTATUS(status)
                                                      << ": 2 another message, 3 another exception, 4 it loaded");
  // In this process too, now that it is known not to hang.
  BOOST_CHECK_EXCEPTION(load_tensors(fifo), FileAccessError,
                        has_message(fmt::format("load_tensors: '{}': not a regular file (a named pipe)", fifo.string())));
  BOOST_CHECK_EXCEPTION(load_tensors("/dev/null"), FileAccessError,
                        has_message("load_tensors: '/dev/null': not a regular file (a character device)"));
}

namespace {

// The peak resident memory, in bytes, that `run` adds to this process: the kernel's high-water mark is
// reset to the current size first (/proc/self/clear_refs, Linux 4.0 and later).
template <class Run>
std::int64_t peak_growth(Run&& run) {
  auto read_kb = [](const char* field) -> std::int64_t {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with(field)) return std::stoll(line.substr(std::string_view(field).size())) * 1024;
    }
    return std::int64_t{-1};
  };
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
  }
  const std::int64_t before = read_kb("VmRSS:");
  run();
  return read_kb("VmHWM:") - before;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_header_of_mostly_padding_is_parsed_in_little_more_than_its_size) {
  // {} and 48 MiB of spaces, padding as the format allows. nlohmann's lexer keeps every character it reads
  // between two tokens, so the padding was held twice over (peak 2.3 times the header while parsing).
  constexpr std::size_t kPadding = std::size_t{48} << 20;
  const std::string header = "{}" + std::string(kPadding, ' ');
  std::string bytes(8, '\0');
  for (std::size_t i = 0, n = header.size(); i < 8; ++i, n >>= 8) bytes[i] = static_cast<char>(n & 0xFF);
  bytes += header;
  TempDir dir;
  write_bytes(dir / "padded.safetensors", bytes);

  // From a file: the header is read into memory once, and nothing else grows with it.
  const std::int64_t from_file = peak_growth([&] { BOOST_TEST(load_tensors(dir / "padded.safetensors").tensors.empty()); });
  // From bytes in memory: parsed where they are, not copied.
  const std::int64_t from_memory = peak_growth([&] { BOOST_TEST(parse_tensors(bytes).tensors.empty()); });
  BOOST_TEST_MESSAGE(fmt::format("peak growth for a {} byte header: {} from a file, {} from memory", header.size(),
                                 from_file, from_memory));
  BOOST_TEST_REQUIRE(from_file >= 0);  // the status file was read
  BOOST_TEST(static_cast<double>(from_file) < 1.25 * static_cast<double>(header.size()));
  BOOST_TEST(static_cast<double>(from_memory) < 0.25 * static_cast<double>(header.size()));
}

BOOST_AUTO_TEST_SUITE_END()
