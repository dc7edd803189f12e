// Bad-input table for the training helpers (batches, curves, progress, accuracy, the loss guard) and for
// the arguments of saving tensors and checkpoints. Hostile file content is tested in tests/io/ and by
// the fuzz targets (fuzz/); here the caller's own arguments are wrong.
#include "support/test.hpp"

#include <cmath>
#include <filesystem>

#include "reliability/bad_inputs.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// A path that save_* must not reach: every case here fails before writing.
std::filesystem::path never_written() {
  return std::filesystem::temp_directory_path() / "attograd-bad-inputs-never-written.safetensors";
}

struct Tiny : nn::Module {
  nn::Linear fc{2, 1};
  Tiny() : Module("Tiny") { register_module("fc", fc); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_inputs_train_io)

BOOST_AUTO_TEST_CASE(training_helpers) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("Batches of nothing", [] { Generator g(1); train::Batches({}, 2, g); },
                      {"Batches: needs at least one tensor"}),
      bad<ValueError>("Batches of size 0", [] { Generator g(1); train::Batches({f32({4, 2})}, 0, g); },
                      {"Batches: batch_size must be >= 1, got 0"}),
      bad<ShapeError>("Batches of a scalar", [] { Generator g(1); train::Batches({f32({})}, 1, g); },
                      {"Batches: tensor 0 is rank 0"}),
      bad<ShapeError>("Batches of different row counts",
                      [] { Generator g(1); train::Batches({f32({4, 2}), i64({3})}, 2, g); },
                      {"Batches: tensor 1 has 3 rows (shape [3]) but tensor 0 has 4 (shape [4, 2])"}),
      bad<ShapeError>("Batches of no rows", [] { Generator g(1); train::Batches({f32({0, 2})}, 1, g); },
                      {"Batches: the data has no rows"}),
      bad<ValueError>("Batches drop_last with too few rows",
                      [] { Generator g(1); train::Batches({f32({3, 2})}, 4, g, {.drop_last = true}); },
                      {"Batches: batch_size 4 is larger than the 3 rows and drop_last is set"}),
      bad<ValueError>("Batches next2 of three tensors",
                      [] {
                        Generator g(1);
                        train::Batches b({f32({3}), f32({3}), f32({3})}, 1, g);
                        b.next2();
                      },
                      {"Batches: next2() needs exactly two tensors, this holds 3"}),
      bad<ValueError>("Curve of no columns", [] { train::Curve({}); }, {"Curve: needs at least one column"}),
      bad<ValueError>("Curve column with a comma", [] { train::Curve({"step", "a,b"}); },
                      {"Curve: column name 'a,b' must be non-empty"}),
      bad<ValueError>("Curve row of the wrong length",
                      [] {
                        train::Curve c({"step", "loss"});
                        c.add({1.0, 2.0, 3.0});
                      },
                      {"Curve: a row of 3 values for 2 columns"}),
      bad<ValueError>("Progress of 0 steps", [] { train::Progress(0); }, {"Progress: total must be >= 1, got 0"}),
      bad<ValueError>("Progress without a stream", [] { train::Progress(5, {.out = nullptr}); },
                      {"Progress: out must be a stream"}),
      bad<ShapeError>("accuracy with targets of the logits' rank", [] { train::accuracy(f32({4, 3}), i64({4, 3})); },
                      {"accuracy: logits [4, 3] need one more dim (the classes) than targets [4, 3]"}),
      bad<ShapeError>("accuracy with the wrong batch", [] { train::accuracy(f32({4, 3}), i64({5})); },
                      {"accuracy: logits [4, 3] do not match targets [5]"}),
      bad<ValueError>("a NaN loss", [] { train::check_loss(std::nan(""), 17); },
                      {"training: the loss is nan at step 17", "anomaly mode"}),
      bad<ValueError>("an infinite loss", [] { train::check_loss(INFINITY, 3); },
                      {"training: the loss is inf at step 3"}),
      bad<DTypeError>("read_csv into int64", [] { train::read_csv(never_written(), {.dtype = kInt64}); },
                      {"read_csv: dtype must be float32 or float64, got int64"}),
      bad<ValueError>("read_csv with a digit as delimiter", [] { train::read_csv(never_written(), {.delimiter = '1'}); },
                      {"read_csv: the delimiter cannot be '1'"}),
      bad<ValueError>("stratified_split with no train left",
                      [] { train::stratified_split(i64({4}), 0, {.validation = 0.6, .test = 0.4}); },
                      {"stratified_split: fractions must be >= 0 with validation + test < 1"}),
      bad<DTypeError>("stratified_split of float labels", [] { train::stratified_split(f32({4}), 0); },
                      {"stratified_split: labels must be int64 class labels, got float32"}),
      bad<ValueError>("write_split missing a row",
                      [] { train::write_split(never_written(), {.train = {0}, .test = {2}}, i64({3})); },
                      {"write_split: row 1 is in no part of the split"}),
  }));
}

BOOST_AUTO_TEST_CASE(saving_arguments) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("save a tensor named __metadata__",
                      [] { io::save_tensors(never_written(), {{"__metadata__", f32({1})}}); },
                      {"'__metadata__' is reserved and cannot name a tensor"}),
      bad<ValueError>("save one name twice", [] { io::save_tensors(never_written(), {{"w", f32({1})},
                      {"w", f32({2})}}); },
                      {"tensor name 'w' is given twice"}),
      bad<ValueError>("save an undefined tensor", [] { io::save_tensors(never_written(), {{"w", kUndefined}}); },
                      {"tensor 'w' is undefined"}),
      bad<ValueError>("save a name that is not UTF-8", [] { io::serialize_tensors({{"\xff\xfe", f32({1})}}); },
                      {"is not valid UTF-8"}),
      bad<ValueError>("save metadata that is not UTF-8",
                      [] { io::serialize_tensors({{"w", f32({1})}}, {{"k", "\xc3"}}); },
                      {"is not valid UTF-8"}),
      bad<ValueError>("save a checkpoint extra under the model prefix",
                      [] {
                        Tiny m;
                        io::save_checkpoint(never_written(), m, {.tensors = {{"model.fc.weight", f32({1})}}});
                      },
                      {"save_checkpoint: extra tensor 'model.fc.weight' starts with the model prefix 'model.'"}),
      bad<ValueError>("save a plain state dict with extras",
                      [] {
                        Tiny m;
                        io::save_checkpoint(never_written(), m, {.tensors = {{"step", f32({1})}}},
                                            {.model_prefix = ""});
                      },
                      {"save_checkpoint: with model_prefix ''"}),
      bad<ValueError>("save a tensor with an empty name", [] { io::save_tensors(never_written(), {{"", f32({1})}}); },
                      {"save_tensors: a tensor name is empty"}),
      bad<ValueError>("save a tensor whose name holds a NUL byte",
                      [] { io::save_tensors(never_written(), {{std::string("a\0b", 3), f32({1})}}); },
                      {"save_tensors: tensor name 'a\\x00b' holds a NUL byte (at offset 1)"}),
      bad<io::FileAccessError>("load a file that does not exist",
                               [] { io::load_tensors("/nonexistent/attograd/x.safetensors"); },
                               {"load_tensors: '/nonexistent/attograd/x.safetensors': cannot open: No such file or "
                                "directory"}),
      bad<io::FileAccessError>("load a directory", [] { io::load_tensors(std::filesystem::temp_directory_path()); },
                               {"load_tensors", "not a regular file (a directory)"}),
      bad<io::FileAccessError>("load a character device", [] { io::load_tensors("/dev/null"); },
                               {"load_tensors: '/dev/null': not a regular file (a character device)"}),
      bad<io::MismatchError>("at() a name the file does not have",
                             [] { io::parse_tensors(io::serialize_tensors({{"w", f32({1})}})).at("b"); },
                             {"SafetensorsFile::at: no tensor 'b'; the file has 1 tensor", "w"}),
  }));
  BOOST_TEST(!std::filesystem::exists(never_written()));
}

BOOST_AUTO_TEST_SUITE_END()
