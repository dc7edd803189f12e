// The two reference models: shapes, parameter counts and paths, both against hand-composed versions,
// the classifier's permutation invariance without positions, the language model's causality,
// gradchecks of every parameter, dropout, errors, and both overfitting a tiny dataset.
#include "support/test.hpp"

#include "nn/models_support.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

constexpr NormOrder kOrders[] = {NormOrder::PostNorm, NormOrder::PreNorm};
constexpr Pool kPools[] = {Pool::Mean, Pool::Max};

double max_abs_diff(const Tensor& a, const Tensor& b) { return abs(a - b).max().item(); }

Tensor ids_of(const std::vector<std::int64_t>& values, std::int64_t B, std::int64_t T) {
  return tensor_of<std::int64_t>(values, {B, T});
}

// Every block's layer norms and the final one get random scales and shifts (new ones are 1 and 0).
template <class Model>
void randomise_norms(Model& model, Generator& gen) {
  for (auto& [name, p] : model.named_parameters()) {
    if (name.find("norm") == std::string::npos) continue;
    init::normal_(p, name.ends_with("weight") ? 1.0 : 0.0, 0.5, gen);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(models)

BOOST_AUTO_TEST_CASE(classifier_shapes_counts_and_paths) {
  // vocab 10, C 8, 2 blocks, max_len 6, 3 classes: tokens 10·8, positions 6·8, each block
  // 12C² + 10C = 848, head 8·3 + 3; pre-norm adds a final norm of 2C.
  Classifier clf(10, 8, 2, 2, 6, 3);
  BOOST_TEST(clf.parameter_count() == 80 + 48 + 2 * 848 + 27);
  BOOST_TEST(Classifier(10, 8, 2, 2, 6, 3, {.position_embeddings = false}).parameter_count() == 80 + 2 * 848 + 27);
  BOOST_TEST(Classifier(10, 8, 2, 2, 6, 3, {.order = NormOrder::PreNorm}).parameter_count() ==
             80 + 48 + 2 * 848 + 16 + 27);
  BOOST_TEST(Classifier(10, 8, 2, 0, 6, 3).parameter_count() == 80 + 48 + 27);  // depth 0: a bag of embeddings
  const auto named = clf.named_parameters();
  BOOST_TEST(named.front().first == "tokens.weight");
  BOOST_TEST(named[1].first == "positions.weight");
  BOOST_TEST(named[2].first == "blocks.0.attn.query.weight");
  BOOST_TEST(named.back().first == "head.bias");
  // Each parameter tensor carries its path too (pictures, error messages).
  BOOST_TEST(clf.block(1).attn.query.weight.name() == "blocks.1.attn.query.weight");
  BOOST_TEST(clf.block(1).ff.output.bias.name() == "blocks.1.ff.output.bias");

  Generator gen(1);
  BOOST_TEST((clf(randint(0, 10, {4, 6}, gen)).shape() == Shape{4, 3}));
  BOOST_TEST((clf(randint(0, 10, {2, 1}, gen)).shape() == Shape{2, 3}));
  BOOST_TEST(!clf.block(0).attn.causal());
  BOOST_TEST(Classifier(10, 8, 2, 1, 6, 3, {.causal = true}).block(0).attn.causal());
}

BOOST_AUTO_TEST_CASE(language_model_shapes_counts_and_paths) {
  // vocab 7, C 8, 2 causal blocks, max_len 6: tokens 56, positions 48, blocks 2·848, head 8·7 + 7.
  LanguageModel lm(7, 8, 2, 2, 6);
  BOOST_TEST(lm.parameter_count() == 56 + 48 + 2 * 848 + 63);
  LanguageModel pre(7, 8, 2, 2, 6, {.order = NormOrder::PreNorm});
  BOOST_TEST(pre.parameter_count() == 56 + 48 + 2 * 848 + 16 + 63);
  BOOST_TEST(pre.named_parameters()[pre.named_parameters().size() - 3].first == "norm.bias");
  BOOST_TEST(!lm.norm.has_value());
  for (std::size_t i = 0; i < 2; ++i) BOOST_TEST(lm.block(i).attn.causal());
  BOOST_TEST(lm.max_len() == 6);
  BOOST_TEST(lm.vocab_size() == 7);
  Generator gen(2);
  BOOST_TEST((lm(randint(0, 7, {3, 5}, gen)).shape() == Shape{3, 5, 7}));
  BOOST_TEST((lm(randint(0, 7, {1, 6}, gen)).shape() == Shape{1, 6, 7}));
}

BOOST_AUTO_TEST_CASE(classifier_without_positions_is_permutation_invariant) {
  // Blocks without a mask are permutation-equivariant and mean and max pools are permutation-invariant:
  // shuffling the tokens leaves the logits as they were. Position embeddings make order visible.
  Generator gen(3);
  const Tensor ids = ids_of({1, 4, 2, 7, 7, 3, 0, 5, 9, 2, 6, 8}, 2, 6);
  const Tensor perm = tensor_of<std::int64_t>({4, 0, 5, 2, 1, 3}, {6});
  const Tensor shuffled = index_select(ids, 1, perm);
  for (NormOrder order : kOrders) {
    for (Pool pool : kPools) {
      BOOST_TEST_CONTEXT(to_string(order) << ", " << to_string(pool) << " pool") {
        Classifier bag(10, 8, 2, 2, 6, 3, {.pool = pool, .position_embeddings = false, .order = order,
                                           .generator = &gen});
        bag.to(kFloat64);
        randomise_norms(bag, gen);
        check_close(bag(shuffled), bag(ids), 1e-12);
        Classifier ordered(10, 8, 2, 2, 6, 3, {.pool = pool, .order = order, .generator = &gen});
        ordered.to(kFloat64);
        BOOST_TEST(max_abs_diff(ordered(shuffled), ordered(ids)) > 1e-3);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(classifier_with_sinusoidal_positions_sees_order_with_nothing_to_learn) {
  Generator gen(3);
  const Tensor ids = ids_of({1, 4, 2, 7, 7, 3, 0, 5, 9, 2, 6, 8}, 2, 6);
  const Tensor shuffled = index_select(ids, 1, tensor_of<std::int64_t>({4, 0, 5, 2, 1, 3}, {6}));
  Classifier fixed(10, 8, 2, 1, 6, 3, {.sinusoidal_positions = true, .generator = &gen});
  Classifier learned(10, 8, 2, 1, 6, 3, {.generator = &gen});
  BOOST_TEST(!fixed.positions.has_value());
  BOOST_TEST_REQUIRE(fixed.encoding.has_value());
  // The table is no parameter: the fixed model has exactly max_len * C = 48 fewer of them.
  BOOST_TEST(fixed.parameter_count() + 48 == learned.parameter_count());
  fixed.to(kFloat64);
  BOOST_TEST(max_abs_diff(fixed(shuffled), fixed(ids)) > 1e-3);
  BOOST_TEST(fmt::format("{}", fixed).find("positions=false, sinusoidal positions)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(classifier_matches_a_hand_composed_version) {
  Generator gen(4);
  const Tensor ids = ids_of({1, 4, 2, 7, 0, 5, 9, 2}, 2, 4);
  for (NormOrder order : kOrders) {
    for (Pool pool : kPools) {
      Classifier clf(10, 8, 2, 2, 6, 3, {.pool = pool, .order = order, .generator = &gen});
      clf.to(kFloat64);
      randomise_norms(clf, gen);
      Tensor x = clf.block(1)(clf.block(0)(clf.positions.value()(clf.tokens(ids))));
      if (order == NormOrder::PreNorm) x = clf.norm.value()(x);
      const Tensor pooled = pool == Pool::Max ? max(x, {1}) : mean(x, {1});
      check_close(clf(ids), clf.head(pooled), 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(language_model_matches_a_hand_composed_version) {
  Generator gen(5);
  const Tensor ids = ids_of({1, 4, 2, 6, 0, 5, 3, 2}, 2, 4);
  for (NormOrder order : kOrders) {
    LanguageModel lm(7, 8, 2, 2, 6, {.order = order, .generator = &gen});
    lm.to(kFloat64);
    randomise_norms(lm, gen);
    Tensor x = lm.block(1)(lm.block(0)(lm.positions(lm.tokens(ids))));
    if (order == NormOrder::PreNorm) x = lm.norm.value()(x);
    check_close(lm(ids), lm.head(x), 0.0);
  }
}

BOOST_AUTO_TEST_CASE(language_model_logits_depend_on_earlier_tokens_only) {
  // Changing token 3 leaves the logits of positions 0..2 exactly as they were and changes 3..5.
  Generator gen(6);
  for (NormOrder order : kOrders) {
    LanguageModel lm(7, 8, 2, 2, 6, {.order = order, .generator = &gen});
    const Tensor a = ids_of({1, 4, 2, 6, 0, 5}, 1, 6);
    const Tensor b = ids_of({1, 4, 2, 3, 0, 5}, 1, 6);
    const Tensor la = lm(a), lb = lm(b);
    check_close(la.narrow(1, 0, 3), lb.narrow(1, 0, 3), 0.0);
    for (std::int64_t t = 3; t < 6; ++t) {
      BOOST_TEST(max_abs_diff(la.select(1, t), lb.select(1, t)) > 1e-4, to_string(order) << ", position " << t);
    }
  }
}

BOOST_AUTO_TEST_CASE(gradchecks_every_parameter) {
  // Distinct tokens in each row: without positions two equal tokens get equal vectors, a tie for max.
  Generator gen(7);
  const Tensor ids = ids_of({0, 1, 2, 3, 4, 1}, 2, 3);
  for (NormOrder order : kOrders) {
    for (Pool pool : kPools) {
      for (bool positions : {true, false}) {
        Classifier clf(5, 4, 2, 1, 4, 3, {.pool = pool, .position_embeddings = positions, .order = order,
                                          .hidden_mult = 2, .generator = &gen});
        clf.to(kFloat64);
        randomise_norms(clf, gen);
        BOOST_TEST_CONTEXT(to_string(order) << ", " << to_string(pool) << " pool, positions " << positions) {
          check_module_gradients(clf, [&](const auto&) { return clf(ids); }, {});
        }
      }
    }
    LanguageModel lm(5, 4, 2, 2, 4, {.order = order, .hidden_mult = 2, .generator = &gen});
    lm.to(kFloat64);
    randomise_norms(lm, gen);
    BOOST_TEST_CONTEXT(to_string(order) << " language model") {
      check_module_gradients(lm, [&](const auto&) { return lm(ids); }, {});
    }
  }
}

BOOST_AUTO_TEST_CASE(dropout_is_off_in_evaluation_mode) {
  // Dropout draws nothing at construction: the same seed gives the same parameters with and without it.
  Generator a(8), b(8);
  const Tensor ids = ids_of({1, 4, 2, 6, 0, 5}, 2, 3);
  LanguageModel with(7, 8, 2, 2, 6, {.dropout = 0.3, .generator = &a});
  LanguageModel without(7, 8, 2, 2, 6, {.generator = &b});
  BOOST_TEST(max_abs_diff(with(ids), without(ids)) > 1e-3);  // training: dropped
  with.eval();
  check_close(with(ids), without(ids), 0.0);
  BOOST_TEST(!with.block(1).ff.dropout.is_training());
  Classifier clf(10, 8, 2, 1, 6, 3, {.dropout = 0.3});
  BOOST_TEST(clf.dropout.p() == 0.3);
  BOOST_TEST(clf.block(0).dropout.p() == 0.3);
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_clear_errors) {
  Classifier clf(10, 8, 2, 1, 6, 3);
  BOOST_CHECK_EXCEPTION(clf(zeros({2, 7}, {.dtype = kInt64})), ShapeError,
                        has_message("PositionEmbedding: sequence length 7 exceeds the 6 positions it has"));
  BOOST_CHECK_EXCEPTION(clf(zeros({6}, {.dtype = kInt64})), ShapeError,
                        has_message("Classifier: expected token ids [B, T], got shape [6]"));
  BOOST_CHECK_EXCEPTION(clf(zeros({2, 0}, {.dtype = kInt64})), ShapeError,
                        has_message("Classifier: cannot pool an empty sequence: token ids of shape [2, 0]"));
  BOOST_CHECK_EXCEPTION(clf(zeros({2, 3})), DTypeError, has_message("float32"));
  BOOST_CHECK_EXCEPTION(clf(full({1, 3}, 10.0, {.dtype = kInt64})), IndexError, has_message("10"));
  // Without a position table nothing limits the length.
  BOOST_TEST((Classifier(10, 8, 2, 1, 6, 3, {.position_embeddings = false})(zeros({2, 9}, {.dtype = kInt64})).shape() ==
              Shape{2, 3}));

  LanguageModel lm(7, 8, 2, 1, 6);
  BOOST_CHECK_EXCEPTION(lm(zeros({1, 7}, {.dtype = kInt64})), ShapeError,
                        has_message("PositionEmbedding: sequence length 7 exceeds the 6 positions it has"));
  BOOST_CHECK_EXCEPTION(lm(zeros({1, 2, 3}, {.dtype = kInt64})), ShapeError,
                        has_message("LanguageModel: expected token ids [B, T], got shape [1, 2, 3]"));

  BOOST_CHECK_EXCEPTION(Classifier(10, 8, 2, -1, 6, 3), ValueError,
                        has_message("Classifier: depth must be at least 0, got -1"));
  BOOST_CHECK_EXCEPTION(LanguageModel(7, 8, 2, 1, 0), ValueError,
                        has_message("LanguageModel: max_len must be at least 1, got 0"));
  BOOST_CHECK_EXCEPTION(LanguageModel(7, 8, 2, 1, 6, {.dropout = 2.0}), ValueError,
                        has_message("LanguageModel: dropout must be between 0 and 1, got 2"));
  BOOST_CHECK_EXCEPTION(Classifier(10, 8, 3, 1, 6, 3), ValueError,
                        has_message("MultiHeadSelfAttention: emb 8 is not divisible by heads 3"));
  BOOST_CHECK_EXCEPTION(Classifier(10, 8, 2, 1, 6, 0), ValueError, has_message("Linear: in and out must be at least 1"));
}

BOOST_AUTO_TEST_CASE(prints_its_tree) {
  const std::string text = fmt::format("{}", Classifier(10, 8, 2, 2, 6, 3, {.pool = Pool::Max}));
  BOOST_TEST(text.starts_with("Classifier(vocab=10, emb=8, depth=2, max_len=6, classes=3, pool=max, positions=true)"
                              "  [1851 parameters]\n  tokens: Embedding(vocab=10, dim=8)  weight [10, 8]  [80 parameters]\n"
                              "  positions: PositionEmbedding(max_len=6, dim=8)  weight [6, 8]  [48 parameters]\n"),
             text);
  BOOST_TEST(text.find("\n  blocks: ModuleList  [1696 parameters]\n    0: TransformerBlock(") != std::string::npos, text);
  BOOST_TEST(text.ends_with("\n  head: Linear(in=8, out=3, bias=true)  weight [3, 8], bias [3]  [27 parameters]"), text);
  BOOST_TEST(fmt::format("{}", LanguageModel(7, 8, 2, 1, 6)).starts_with("LanguageModel(vocab=7, emb=8, depth=1, "
                                                                         "max_len=6)  [1015 parameters]"));
}

BOOST_AUTO_TEST_CASE(the_language_model_learns_a_sequence_that_needs_context) {
  // 0 1 2 0 2 1 repeated: what follows a 0 depends on the token before it. A few hundred Adam steps
  // drive the loss near 0; the argmax then predicts every next token of every window (after the first
  // position, which has no context).
  Generator gen(9);
  auto lm = make_cycle_model(gen);
  const double loss = train_on_cycle(*lm, 150);
  BOOST_TEST(loss < 0.05);
  const CycleBatch batch = cycle_batch(8);
  const Tensor predicted = argmax(lm->forward(batch.inputs), -1).narrow(1, 1, 7);  // [6, 7]
  BOOST_TEST(predicted.to_vector<std::int64_t>() == batch.targets.narrow(1, 1, 7).to_vector<std::int64_t>(),
             boost::test_tools::per_element());
  // The untrained model, from the same seed, gets far from all of them right.
  Generator fresh_gen(9);
  auto fresh = make_cycle_model(fresh_gen);
  const Tensor guessed = argmax(fresh->forward(batch.inputs), -1).narrow(1, 1, 7);
  BOOST_TEST(sum(eq(guessed, batch.targets.narrow(1, 1, 7)).to(kInt64)).item() < 30);
}

BOOST_AUTO_TEST_CASE(the_classifier_fits_random_labels) {
  // 8 random sequences with random labels: memorising them needs the whole sequence, not one token.
  Generator gen(10);
  Classifier clf(6, 16, 2, 1, 5, 2, {.generator = &gen});
  const Tensor ids = randint(0, 6, {8, 5}, gen);
  const Tensor labels = tensor_of<std::int64_t>({0, 1, 1, 0, 1, 0, 0, 1}, {8});
  optim::Adam opt(clf.parameters(), {.lr = 1e-2});
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    const Tensor loss = cross_entropy(clf(ids), labels);
    loss.backward();
    opt.step();
  }
  BOOST_TEST(cross_entropy(clf(ids), labels).item() < 0.05);
  BOOST_TEST(argmax(clf(ids), -1).to_vector<std::int64_t>() == labels.to_vector<std::int64_t>(),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
