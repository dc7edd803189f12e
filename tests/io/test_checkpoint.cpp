// save_checkpoint / load_checkpoint: a trained model comes back exactly, extras and metadata round trip,
// every mismatch is reported in one error and a failed load changes nothing.
#include "support/test.hpp"

#include <attograd/io/checkpoint.hpp>

#include "io/models.hpp"
#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::io;
using namespace attograd::testing;

namespace {

// A few steps of plain gradient descent on a fixed regression problem, so that the saved values are
// not the initial ones.
void train_steps(Net& net, int steps) {
  Generator gen(99);
  const Tensor x = randn({8, 3}, gen);
  const Tensor target = randn({8, 2}, gen);
  for (int i = 0; i < steps; ++i) {
    Tensor loss = pow(net.forward(x) - target, 2.0).mean();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor& p : net.parameters()) p.add_(p.grad(), -0.1);
    net.zero_grad();
  }
}

std::vector<std::string> names_in(const SafetensorsFile& file) {
  std::vector<std::string> out;
  for (const auto& [name, t] : file.tensors) out.push_back(name);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint)

BOOST_AUTO_TEST_CASE(a_trained_model_loads_into_a_fresh_one_with_identical_outputs) {
  TempDir dir;
  Net trained(1);
  train_steps(trained, 5);
  save_checkpoint(dir / "net.ckpt", trained);

  Net fresh(2);
  const Tensor probe = randn({5, 3});
  BOOST_TEST(fresh.forward(probe).to_vector<double>() != trained.forward(probe).to_vector<double>());
  BOOST_TEST(load_checkpoint(dir / "net.ckpt", fresh).tensors.empty());
  BOOST_TEST(fresh.forward(probe).to_vector<double>() == trained.forward(probe).to_vector<double>(),
             boost::test_tools::per_element());
  BOOST_TEST(snapshot(fresh) == snapshot(trained));
  // Still trainable parameters: leaves that require grad, and a backward through them works.
  for (const Tensor& p : fresh.parameters()) BOOST_TEST((p.requires_grad() && p.is_leaf()));
  fresh.forward(probe).sum().backward();
  BOOST_TEST(fresh.first.weight.grad().defined());
}

BOOST_AUTO_TEST_CASE(the_file_holds_the_model_under_its_prefix_in_name_order) {
  TempDir dir;
  Net net(1);
  save_checkpoint(dir / "net.ckpt", net);
  const SafetensorsFile file = load_tensors(dir / "net.ckpt");
  BOOST_TEST(names_in(file) == (std::vector<std::string>{"model.first.bias", "model.first.weight", "model.mask",
                                                         "model.second.bias", "model.second.weight", "model.steps"}),
             boost::test_tools::per_element());
  BOOST_TEST(file.at("model.mask").dtype() == kBool);
  BOOST_TEST(file.at("model.steps").to_vector<std::int64_t>() == std::vector<std::int64_t>{1}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(loading_changes_the_existing_tensors_so_every_handle_sees_it) {
  TempDir dir;
  Net source(1);
  save_checkpoint(dir / "net.ckpt", source);
  Net target(2);
  const Tensor held = target.first.weight;  // as an optimiser holds it
  const TensorImpl* impl = held.impl();
  load_checkpoint(dir / "net.ckpt", target);
  BOOST_TEST(target.first.weight.impl() == impl);
  BOOST_TEST(held.to_vector<double>() == source.first.weight.to_vector<double>(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(extras_and_metadata_round_trip) {
  TempDir dir;
  Net net(1);
  const CheckpointExtras extras{
      .tensors = {{"optim.step", tensor_of<std::int64_t>({12}, {})}, {"optim.exp_avg.first.weight", ones({4, 3})}},
      .metadata = {{"epoch", "3"}, {"config", R"({"lr": 0.1})"}}};
  save_checkpoint(dir / "net.ckpt", net, extras);
  Net fresh(2);
  const CheckpointExtras back = load_checkpoint(dir / "net.ckpt", fresh);
  BOOST_TEST(back.metadata == extras.metadata);
  BOOST_TEST_REQUIRE(back.tensors.size() == 2u);
  BOOST_TEST(back.tensors[0].first == "optim.exp_avg.first.weight");
  check_close(back.tensors[0].second, ones({4, 3}), 0.0);
  BOOST_TEST(back.tensors[1].first == "optim.step");
  BOOST_TEST(back.tensors[1].second.item<std::int64_t>() == 12);
  BOOST_TEST(snapshot(fresh) == snapshot(net));
}

BOOST_AUTO_TEST_CASE(a_mismatch_reports_every_problem_in_one_error_and_changes_nothing) {
  // The file: first 3->4, second 4->2, steps int64, mask bool. The model: first 3->5 (two wrong
  // shapes), second replaced by third (two missing, two unexpected), steps float32 (wrong dtype).
  struct Other : nn::Module {
    Generator gen{5};
    Affine first{3, 5, gen}, third{5, 2, gen};
    Other() : Module("Other") {
      register_module("first", first);
      register_module("third", third);
      register_buffer("steps", zeros({1}));
      register_buffer("mask", ones({5}).to(kBool));
    }
  } other;
  TempDir dir;
  Net net(1);
  save_checkpoint(dir / "net.ckpt", net);
  const auto before = snapshot(other);
  const std::string path = (dir / "net.ckpt").string();
  const std::vector<std::string> expected{
      fmt::format("load_checkpoint: '{}' does not match the model Other (8 problems; the model is unchanged):", path),
      "\n  missing: 'model.third.weight' ([2, 5] float32)",
      "\n  missing: 'model.third.bias' ([2] float32)",
      "\n  unexpected: 'model.second.bias' ([2] float32)",
      "\n  unexpected: 'model.second.weight' ([2, 4] float32)",
      "\n  mismatch: 'model.first.weight' is [5, 3] float32 in the model but [4, 3] float32 in the file",
      "\n  mismatch: 'model.first.bias' is [5] float32 in the model but [4] float32 in the file",
      "\n  mismatch: 'model.steps' is [1] float32 in the model but [1] int64 in the file",
      "\n  mismatch: 'model.mask' is [5] bool in the model but [4] bool in the file"};
  std::string all;
  for (const std::string& line : expected) all += line;
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir / "net.ckpt", other), MismatchError, [&](const MismatchError& e) {
    BOOST_TEST(std::string(e.what()) == all);
    return std::string(e.what()) == all;
  });
  BOOST_TEST(snapshot(other) == before);
}

BOOST_AUTO_TEST_CASE(float64_data_does_not_load_silently_into_a_float32_model) {
  TempDir dir;
  Net wide(1);
  wide.to(kFloat64);
  save_checkpoint(dir / "net64.ckpt", wide);
  Net narrow(2);
  const auto before = snapshot(narrow);
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir / "net64.ckpt", narrow), MismatchError,
                        has_message("mismatch: 'model.first.weight' is [4, 3] float32 in the model but [4, 3] float64 in the file"));
  BOOST_TEST(snapshot(narrow) == before);
  narrow.to(kFloat64);  // converted explicitly, it loads
  load_checkpoint(dir / "net64.ckpt", narrow);
  BOOST_TEST(snapshot(narrow) == snapshot(wide));
}

BOOST_AUTO_TEST_CASE(non_strict_loading_allows_missing_and_unexpected_names_but_not_wrong_shapes) {
  struct Partial : nn::Module {
    Generator gen{7};
    Affine first{3, 4, gen}, extra{4, 4, gen};
    Partial() : Module("Partial") {
      register_module("first", first);
      register_module("extra", extra);
    }
  } partial;
  TempDir dir;
  Net net(1);
  save_checkpoint(dir / "net.ckpt", net);
  const auto extra_before = snapshot(partial.extra);
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir / "net.ckpt", partial), IoError, has_message("(6 problems"));
  load_checkpoint(dir / "net.ckpt", partial, {.strict = false});
  BOOST_TEST(partial.first.weight.to_vector<double>() == net.first.weight.to_vector<double>(), boost::test_tools::per_element());
  BOOST_TEST(snapshot(partial.extra) == extra_before);  // missing from the file: kept

  Net wider(3, 6);
  const auto wider_before = snapshot(wider);
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir / "net.ckpt", wider, {.strict = false}), IoError,
                        has_message("(4 problems; the model is unchanged)"));
  BOOST_TEST(snapshot(wider) == wider_before);
}

BOOST_AUTO_TEST_CASE(an_empty_prefix_reads_and_writes_a_plain_state_dict) {
  TempDir dir;
  Net net(1);
  save_checkpoint(dir / "plain.safetensors", net, {.metadata = {{"k", "v"}}}, {.model_prefix = ""});
  BOOST_TEST(names_in(load_tensors(dir / "plain.safetensors")).front() == "first.bias");
  Net fresh(2);
  BOOST_TEST(load_checkpoint(dir / "plain.safetensors", fresh, {.model_prefix = ""}).metadata.at("k") == "v");
  BOOST_TEST(snapshot(fresh) == snapshot(net));
  // With the default prefix the same file has no model tensors: all six missing, all six extras.
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir / "plain.safetensors", fresh), IoError,
                        has_message("(6 problems; the model is unchanged):\n  missing: 'model.first.weight'"));
  const CheckpointExtras extras = load_checkpoint(dir / "plain.safetensors", fresh, {.strict = false});
  BOOST_TEST(extras.tensors.size() == 6u);
}

BOOST_AUTO_TEST_CASE(tied_weights_are_saved_once_and_loaded_into_both_holders) {
  struct Tied : nn::Module {
    Generator gen{3};
    Affine a{2, 2, gen};
    struct Holder : nn::Module {
      Tensor w;
      explicit Holder(const Tensor& shared) : Module("Holder") { w = register_parameter("w", shared); }
    } b{a.weight};
    Tied() : Module("Tied") {
      register_module("a", a);
      register_module("b", b);
    }
  };
  TempDir dir;
  Tied source;
  save_checkpoint(dir / "tied.ckpt", source);
  BOOST_TEST(names_in(load_tensors(dir / "tied.ckpt")) == (std::vector<std::string>{"model.a.bias", "model.a.weight"}),
             boost::test_tools::per_element());
  Tied target;
  {
    NoGradGuard no_grad;
    target.a.weight.fill_(0.0);
  }
  load_checkpoint(dir / "tied.ckpt", target);
  BOOST_TEST(target.b.w.to_vector<double>() == source.a.weight.to_vector<double>(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(long_problem_lists_are_shortened) {
  struct Wide : nn::Module {
    Wide() : Module("Wide") {
      for (int i = 0; i < 30; ++i) register_parameter(fmt::format("p{}", i), zeros({1}));
    }
  } wide;
  TempDir dir;
  save_tensors(dir / "empty.safetensors", {});
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir / "empty.safetensors", wide), IoError,
                        has_message("(30 problems; the model is unchanged):\n  missing: 'model.p0' ([1] float32)"));
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir / "empty.safetensors", wide), IoError,
                        has_message("missing: 'model.p19' ([1] float32)\n  ... and 10 more"));
}

BOOST_AUTO_TEST_CASE(bad_extras_are_value_errors_and_the_old_file_stays) {
  TempDir dir;
  Net net(1);
  const auto path = dir / "net.ckpt";
  save_checkpoint(path, net);
  const std::string good = read_bytes(path);
  BOOST_CHECK_EXCEPTION(save_checkpoint(path, net, {.tensors = {{"model.first.weight", ones({1})}}}), ValueError,
                        has_message("save_checkpoint: extra tensor 'model.first.weight' starts with the model prefix "
                                    "'model.'"));
  BOOST_CHECK_EXCEPTION(save_checkpoint(path, net, {.tensors = {{"optim.a", ones({1})}, {"optim.a", ones({1})}}}),
                        ValueError, has_message("save_checkpoint: tensor name 'optim.a' is given twice"));
  BOOST_CHECK_EXCEPTION(save_checkpoint(path, net, {.tensors = {{"optim.u", Tensor()}}}), ValueError,
                        has_message("save_checkpoint: tensor 'optim.u' is undefined"));
  BOOST_CHECK_EXCEPTION(save_checkpoint(path, net, {.tensors = {{"x", ones({1})}}}, {.model_prefix = ""}), ValueError,
                        has_message("with model_prefix '' every tensor in the file is the model's, so there can be no "
                                    "extra tensors (got 1, the first 'x')"));
  BOOST_TEST(read_bytes(path) == good);
  BOOST_TEST(dir.names() == std::vector<std::string>{"net.ckpt"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_save_that_fails_mid_write_keeps_the_previous_checkpoint) {
  TempDir dir;
  Net net(1);
  const auto path = dir / "net.ckpt";
  save_checkpoint(path, net);
  const std::string good = read_bytes(path);
  // The second save needs 4 MB; the disk "fills up" after 64 KiB of it.
  const CheckpointExtras big{.tensors = {{"optim.big", zeros({1 << 20})}}};
  {
    FileSizeLimit limit(1 << 16);
    BOOST_CHECK_EXCEPTION(save_checkpoint(path, net, big), FileAccessError,
                          has_message(fmt::format("save_checkpoint: cannot write '{}': writing the temporary file",
                                                  path.string())));
  }
  BOOST_TEST(read_bytes(path) == good);
  BOOST_TEST(dir.names() == std::vector<std::string>{"net.ckpt"}, boost::test_tools::per_element());
  Net fresh(2);
  load_checkpoint(path, fresh);
  BOOST_TEST(snapshot(fresh) == snapshot(net));
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_an_io_error_naming_it) {
  TempDir dir;
  Net net(1);
  BOOST_CHECK_EXCEPTION(load_checkpoint(dir / "absent.ckpt", net), FileAccessError,
                        has_message(fmt::format("load_checkpoint: '{}': cannot open: No such file or directory",
                                                (dir / "absent.ckpt").string())));
}

BOOST_AUTO_TEST_SUITE_END()
