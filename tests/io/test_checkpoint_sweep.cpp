// Damaged checkpoints: every truncation of a valid file and 3000 seeded byte flips. Each must either
// load as a valid model (holding exactly the file's values) or throw an attograd::Error that leaves
// the model unchanged: never another exception, a crash, or a half-loaded model. The sanitized build
// runs this too, so a read past a buffer or an invalid bool is caught there.
#include "support/test.hpp"

#include <attograd/io/checkpoint.hpp>

#include "io/models.hpp"
#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

struct Counts {
  int loaded = 0;
  int rejected = 0;
};

// Loads `bytes` (written to path) into model and checks whichever outcome it has.
void try_load(const std::filesystem::path& path, const std::string& bytes, Net& model, Counts& counts) {
  // A new file each time: truncating and rewriting one makes ext4 flush it to disk at every close.
  std::filesystem::remove(path);
  write_bytes(path, bytes);
  const auto before = snapshot(model);
  try {
    load_checkpoint(path, model);
  } catch (const Error& e) {
    ++counts.rejected;
    const std::string what = e.what();
    if (!identical(snapshot(model), before) || !what.starts_with("load_checkpoint: '" + path.string() + "'")) {
      BOOST_ERROR(fmt::format("a rejected file changed the model or gave an unexpected message: {}", what));
    }
    return;
  } catch (const std::exception& e) {
    BOOST_ERROR(fmt::format("not an attograd::Error: {}", e.what()));
    return;
  }
  ++counts.loaded;
  // The model must now hold what the file holds, read independently.
  const SafetensorsFile file = parse_tensors(bytes);
  for (const auto& [name, values] : snapshot(model)) {
    const std::vector<double> in_file = file.at("model." + name).to_vector<double>();
    if (!identical({{name, values}}, {{name, in_file}})) {
      BOOST_ERROR(fmt::format("loaded '{}' differs from the file's values", name));
      return;
    }
  }
}

std::string valid_checkpoint(const TempDir& dir) {
  Net net(1);
  save_checkpoint(dir / "valid.ckpt", net,
                  {.tensors = {{"optim.step", tensor_of<std::int64_t>({3}, {})}}, .metadata = {{"epoch", "3"}}});
  return read_bytes(dir / "valid.ckpt");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint_sweep)

BOOST_AUTO_TEST_CASE(the_valid_file_loads) {
  TempDir dir;
  const std::string bytes = valid_checkpoint(dir);
  Net model(2);
  Counts counts;
  try_load(dir / "probe.ckpt", bytes, model, counts);
  BOOST_TEST(counts.loaded == 1);
  BOOST_TEST(snapshot(model) == snapshot(Net(1)));
}

BOOST_AUTO_TEST_CASE(every_truncation_is_rejected) {
  TempDir dir;
  const std::string bytes = valid_checkpoint(dir);
  BOOST_TEST_REQUIRE(bytes.size() > 300u);
  Net model(2);
  Counts counts;
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    try_load(dir / "probe.ckpt", bytes.substr(0, length), model, counts);
  }
  BOOST_TEST_MESSAGE(fmt::format("truncations: {} files of 0..{} bytes, {} rejected", bytes.size(),
                                 bytes.size() - 1, counts.rejected));
  // The data ends exactly at the end of the file, so no shorter file is complete.
  BOOST_TEST(counts.rejected == static_cast<int>(bytes.size()));
  BOOST_TEST(counts.loaded == 0);
  BOOST_TEST(snapshot(model) == snapshot(Net(2)));
}

BOOST_AUTO_TEST_CASE(seeded_byte_flips_load_or_fail_cleanly) {
  TempDir dir;
  const std::string bytes = valid_checkpoint(dir);
  Net model(2);
  Counts counts;
  Generator gen(20240601);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string damaged = bytes;
    const std::size_t at = gen.next_u64() % damaged.size();
    // Half flip one bit, half put a random byte; a third of the trials damage a second byte as well.
    for (int k = 0; k < (trial % 3 == 0 ? 2 : 1); ++k) {
      const std::size_t where = k == 0 ? at : gen.next_u64() % damaged.size();
      const auto r = static_cast<unsigned>(gen.next_u64());
      damaged[where] = static_cast<char>(trial % 2 == 0 ? damaged[where] ^ (1 << (r % 8)) : r & 0xFF);
    }
    try_load(dir / "probe.ckpt", damaged, model, counts);
  }
  BOOST_TEST_MESSAGE(fmt::format("byte flips: {} loaded, {} rejected", counts.loaded, counts.rejected));
  BOOST_TEST(counts.loaded + counts.rejected == 3000);
  // Flips in the float data load (as other values); flips in the header, the length or the bools fail.
  BOOST_TEST(counts.loaded > 100);
  BOOST_TEST(counts.rejected > 100);
}

BOOST_AUTO_TEST_SUITE_END()
