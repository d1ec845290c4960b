// Greedy / beam search and continuous batching (MarianDecodeBatch) against
// Hugging Face transformers 4.57.6 generate() outputs for marian-tiny, plus
// hand-checkable unit cases.
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "core/decoding/beam_search.h"
#include "core/decoding/logits_rules.h"
#include "core/decoding/marian_decode_batch.h"
#include "core/models/hf_config.h"
#include "core/models/marian.h"
#include "core/models/marian_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/marian_golden.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using testing::LoadMarianCases;
using testing::MarianCase;
using testing::MarianDir;

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------- logits rules

TEST(LogitsRulesTest, BansSingleAndSequenceBadWordsButNeverEos) {
  LogitsRules rules({{4}, {0}, {2, 3}}, /*forced_eos=*/-1, /*eos=*/{0});
  std::vector<float> s(5, 1.0f);
  rules.BanBadWords({9, 1}, s.data(), 5);
  EXPECT_THAT(
      s, ElementsAre(1, 1, 1, 1, -kInf));  // [0] is eos: dropped as HF does
  std::fill(s.begin(), s.end(), 1.0f);
  rules.BanBadWords({9, 2}, s.data(), 5);
  EXPECT_THAT(s, ElementsAre(1, 1, 1, -kInf, -kInf));
}

TEST(LogitsRulesTest, ForcedEosOnlyAtLastStep) {
  LogitsRules rules({}, /*forced_eos=*/2, /*eos=*/{2});
  std::vector<float> s = {0.5f, 3.0f, -1.0f};
  rules.Apply({7}, /*last_step=*/false, s.data(), 3);
  EXPECT_THAT(s, ElementsAre(0.5f, 3.0f, -1.0f));
  rules.Apply({7}, /*last_step=*/true, s.data(), 3);
  EXPECT_THAT(s, ElementsAre(-kInf, -kInf, 0.0f));
}

TEST(LogitsRulesTest, LogSoftmaxAndArgmax) {
  std::vector<float> x = {1.0f, 3.0f, 3.0f, -kInf};
  EXPECT_EQ(Argmax(x.data(), 4), 1);  // first maximum, as torch.argmax
  LogSoftmax(x.data(), x.data(), 4);
  const double lse = std::log(std::exp(1.0) + 2 * std::exp(3.0));
  EXPECT_NEAR(x[0], 1.0 - lse, 1e-6);
  EXPECT_NEAR(x[1], 3.0 - lse, 1e-6);
  EXPECT_EQ(x[3], -kInf);
}

// ---------------------------------------------------------------- beam search
// (hand cases)

std::vector<float> Rows(std::initializer_list<std::vector<float>> rows) {
  std::vector<float> out;
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}

TEST(BeamSearchTest, FirstStepExpandsOnlyBeamZero) {
  BeamSearch bs(
      {/*num_beams=*/2, /*max_new_tokens=*/5, 1.0f, false, /*eos=*/{0}});
  // Identical rows (as all beams hold the decoder start): the two best tokens
  // of beam 0 win.
  const std::vector<float> lp = Rows({{-9, -1, -2, -3}, {-9, -1, -2, -3}});
  std::vector<int> src;
  EXPECT_FALSE(bs.Step(lp.data(), 4, &src));
  EXPECT_THAT(src, ElementsAre(0, 0));
  EXPECT_THAT(bs.running_tokens(0), ElementsAre(1));
  EXPECT_THAT(bs.running_tokens(1), ElementsAre(2));
  EXPECT_FLOAT_EQ(bs.running_score(0), -1.0f);
  EXPECT_FLOAT_EQ(bs.running_score(1), -2.0f);
}

TEST(BeamSearchTest, EosInTopBeamsFinishesWithLengthNormalisedScore) {
  BeamSearch bs({2, 5, 1.0f, false, {0}});
  std::vector<int> src;
  std::vector<float> lp = Rows({{-9, -1, -2, -3}, {-9, -1, -2, -3}});
  bs.Step(lp.data(), 4, &src);  // running: [1] -1, [2] -2
  // Step 2: candidates 1+0 (-1.5, eos), 2+1 (-2.5), 1+3 (-3), ... Top-2 = {eos
  // -1.5, -2.5}: the eos one finishes with score -1.5/2; running = best
  // non-finished: [2,1] -2.5, [1,3] -3.
  lp = Rows({{-0.5f, -9, -9, -2}, {-9, -0.5f, -9, -9}});
  EXPECT_FALSE(bs.Step(lp.data(), 4, &src));
  EXPECT_THAT(src, ElementsAre(1, 0));
  EXPECT_THAT(bs.running_tokens(0), ElementsAre(2, 1));
  EXPECT_THAT(bs.running_tokens(1), ElementsAre(1, 3));
  const auto hyps = bs.Hypotheses(1);
  EXPECT_THAT(hyps[0].ids, ElementsAre(1, 0));
  EXPECT_FLOAT_EQ(hyps[0].score, -0.75f);
}

TEST(BeamSearchTest, EosOutsideTopBeamsIsNotAHypothesis) {
  BeamSearch bs({2, 5, 1.0f, false, {0}});
  std::vector<int> src;
  std::vector<float> lp = Rows({{-9, -1, -2, -3}, {-9, -1, -2, -3}});
  bs.Step(lp.data(), 4, &src);
  // eos of beam 0 scores -1-1.2 = -2.2, third after -1.1 and -2.1: not in the
  // top 2.
  lp = Rows({{-1.2f, -0.1f, -9, -9}, {-9, -0.1f, -9, -9}});
  bs.Step(lp.data(), 4, &src);
  EXPECT_EQ(bs.Hypotheses(1)[0].score, -1.0e9f);  // no finished hypothesis yet
}

TEST(BeamSearchTest, HeuristicStopsWhenRunningBeamsCannotWin) {
  BeamSearch bs({1 + 1, 10, 1.0f, false, {0}});
  std::vector<int> src;
  // Step 1: eos -0.1 (finishes, score -0.1) and token 1 at -0.2 in the top 2;
  // token 2 -5.
  std::vector<float> lp =
      Rows({{-0.1f, -0.2f, -5, -9}, {-0.1f, -0.2f, -5, -9}});
  EXPECT_FALSE(
      bs.Step(lp.data(), 4, &src));  // only one slot of two is finished
  // Step 2: beam [1] ends with eos at -0.2-0.1 = -0.3 -> /2 = -0.15: both slots
  // finished; best running now [1,1] = -0.4 / 2 = -0.2 < worst finished -0.15:
  // stop.
  lp = Rows({{-0.1f, -0.2f, -9, -9}, {-9, -9, -0.1f, -9}});
  EXPECT_TRUE(bs.Step(lp.data(), 4, &src));
  const auto hyps = bs.Hypotheses(2);
  EXPECT_THAT(hyps[0].ids, ElementsAre(0));
  EXPECT_FLOAT_EQ(hyps[0].score, -0.1f);
  EXPECT_THAT(hyps[1].ids, ElementsAre(1, 0));
  EXPECT_FLOAT_EQ(hyps[1].score, -0.15f);
}

// ---------------------------------------------------------------- golden
// decoding

class MarianDecodingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto model = MarianModel::Load(MarianDir());
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = model->release();
    auto json = JsonFile::Read(MarianDir() + "/config.json");
    auto gen_json = JsonFile::Read(MarianDir() + "/generation_config.json");
    ASSERT_TRUE(json.ok() && gen_json.ok());
    auto gen = ParseMarianGenerationConfig(&*gen_json, *json, model_->config());
    ASSERT_TRUE(gen.ok());
    gen_ = new MarianGenerationConfig(*gen);
    cases_ = new std::vector<MarianCase>(LoadMarianCases());
  }
  static void TearDownTestSuite() {
    delete model_;
    delete gen_;
    delete cases_;
  }
  std::unique_ptr<MarianDecodeBatch> NewBatch() {
    return std::make_unique<MarianDecodeBatch>(
        model_, "marian-tiny", gen_->decoder_start_token_id,
        LogitsRules(gen_->bad_words_ids, gen_->forced_eos_token_id,
                    gen_->eos_token_ids));
  }
  static GenerationOptions Greedy() { return GenerationOptions{}; }
  static GenerationOptions Beam() {
    GenerationOptions o;
    o.beam_size = 4;
    o.num_hypotheses = 4;
    return o;
  }
  // Runs until every sequence finished; returns hypotheses by id.
  static std::map<DecodeBatch::SeqId, std::vector<Hypothesis>> RunToEnd(
      DecodeBatch* batch) {
    std::map<DecodeBatch::SeqId, std::vector<Hypothesis>> out;
    for (int guard = 0; batch->num_sequences() > 0 && guard < 1000; ++guard) {
      auto events = batch->Step();
      EXPECT_TRUE(events.ok());
      for (auto& e : *events) {
        if (e.finished) out[e.id] = e.hypotheses;
      }
    }
    return out;
  }
  static void ExpectGreedy(const MarianCase& c, int b,
                           const std::vector<Hypothesis>& h) {
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].ids, c.greedy[b]) << c.name << " text " << b;
  }
  static void ExpectBeam(const MarianCase& c, int b,
                         const std::vector<Hypothesis>& h, float* max_err) {
    ASSERT_EQ(h.size(), 4u);
    for (int k = 0; k < 4; ++k) {
      EXPECT_EQ(h[k].ids, c.beam[b][k])
          << c.name << " text " << b << " hypothesis " << k;
      EXPECT_NEAR(h[k].score, c.beam_scores[b][k], 1e-4)
          << c.name << " text " << b << " hyp " << k;
      *max_err = std::max(*max_err, std::abs(h[k].score - c.beam_scores[b][k]));
    }
  }
  static std::vector<absl::Span<const int32_t>> Spans(const MarianCase& c) {
    return {c.sources.begin(), c.sources.end()};
  }

  static MarianModel* model_;
  static MarianGenerationConfig* gen_;
  static std::vector<MarianCase>* cases_;
};
MarianModel* MarianDecodingTest::model_ = nullptr;
MarianGenerationConfig* MarianDecodingTest::gen_ = nullptr;
std::vector<MarianCase>* MarianDecodingTest::cases_ = nullptr;

TEST_F(MarianDecodingTest, GreedyMatchesHuggingFaceBatchedAndAlone) {
  for (const MarianCase& c : *cases_) {
    auto batch = NewBatch();
    const std::vector<GenerationOptions> opts(c.sources.size(), Greedy());
    auto ids = batch->Add(Spans(c), opts);
    ASSERT_TRUE(ids.ok()) << ids.status();
    auto out = RunToEnd(batch.get());
    for (size_t b = 0; b < c.sources.size(); ++b)
      ExpectGreedy(c, b, out[(*ids)[b]]);
    EXPECT_EQ(batch->num_rows(), 0);
    for (size_t b = 0; b < c.sources.size(); ++b) {  // alone
      auto single = NewBatch();
      auto id =
          single->Add({absl::Span<const int32_t>(c.sources[b])}, {Greedy()});
      ASSERT_TRUE(id.ok());
      ExpectGreedy(c, b, RunToEnd(single.get())[(*id)[0]]);
    }
  }
}

TEST_F(MarianDecodingTest, BeamMatchesHuggingFaceBatchedAndAlone) {
  float max_err = 0;
  for (const MarianCase& c : *cases_) {
    auto batch = NewBatch();
    const std::vector<GenerationOptions> opts(c.sources.size(), Beam());
    auto ids = batch->Add(Spans(c), opts);
    ASSERT_TRUE(ids.ok()) << ids.status();
    auto out = RunToEnd(batch.get());
    for (size_t b = 0; b < c.sources.size(); ++b)
      ExpectBeam(c, b, out[(*ids)[b]], &max_err);
    for (size_t b = 0; b < c.sources.size(); ++b) {
      auto single = NewBatch();
      auto id =
          single->Add({absl::Span<const int32_t>(c.sources[b])}, {Beam()});
      ASSERT_TRUE(id.ok());
      ExpectBeam(c, b, RunToEnd(single.get())[(*id)[0]], &max_err);
    }
  }
  std::cout << "[ beam ] max |sequences_scores err| = " << max_err << "\n";
}

// Every text of every case joins one shared batch at a different step,
// alternating greedy and beam; all outputs must equal HF's.
TEST_F(MarianDecodingTest, ContinuousBatchingJoinsAtDifferentSteps) {
  auto batch = NewBatch();
  struct Expect {
    const MarianCase* c;
    int b;
    bool beam;
  };
  std::map<DecodeBatch::SeqId, Expect> expected;
  std::map<DecodeBatch::SeqId, std::vector<Hypothesis>> out;
  int joined = 0, max_rows = 0;
  std::vector<Expect> pending;
  for (const MarianCase& c : *cases_) {
    for (size_t b = 0; b < c.sources.size(); ++b) {
      pending.push_back({&c, static_cast<int>(b), (pending.size() % 2) == 1});
    }
  }
  float max_err = 0;
  for (int step = 0;
       step < 1000 && (joined < static_cast<int>(pending.size()) ||
                       batch->num_sequences() > 0);
       ++step) {
    // Two newcomers every third step.
    if (step % 3 == 0) {
      for (int k = 0; k < 2 && joined < static_cast<int>(pending.size());
           ++k, ++joined) {
        const Expect& e = pending[joined];
        auto id = batch->Add({absl::Span<const int32_t>(e.c->sources[e.b])},
                             {e.beam ? Beam() : Greedy()});
        ASSERT_TRUE(id.ok());
        expected[(*id)[0]] = e;
      }
    }
    max_rows = std::max(max_rows, batch->num_rows());
    auto events = batch->Step();
    ASSERT_TRUE(events.ok());
    for (auto& e : *events) {
      if (e.finished) out[e.id] = e.hypotheses;
    }
  }
  ASSERT_EQ(out.size(), pending.size());
  for (const auto& [id, e] : expected) {
    if (e.beam) {
      ExpectBeam(*e.c, e.b, out[id], &max_err);
    } else {
      ExpectGreedy(*e.c, e.b, out[id]);
    }
  }
  EXPECT_GT(max_rows, 4);  // sequences really overlapped
  EXPECT_EQ(batch->num_rows(), 0);
}

TEST_F(MarianDecodingTest, GreedyEventsStreamTokens) {
  const MarianCase& c = (*cases_)[0];
  auto batch = NewBatch();
  auto id = batch->Add({absl::Span<const int32_t>(c.sources[0])}, {Greedy()});
  ASSERT_TRUE(id.ok());
  std::vector<int32_t> streamed;
  while (batch->num_sequences() > 0) {
    auto events = batch->Step();
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), 1u);
    streamed.insert(streamed.end(), (*events)[0].new_tokens.begin(),
                    (*events)[0].new_tokens.end());
  }
  EXPECT_EQ(streamed, c.greedy[0]);
}

TEST_F(MarianDecodingTest, CancelFreesRowsAndOthersAreUnaffected) {
  const MarianCase* bp = nullptr;
  for (const MarianCase& c : *cases_) {
    if (c.name == "batch_padding") bp = &c;
  }
  ASSERT_NE(bp, nullptr);
  auto batch = NewBatch();
  std::vector<GenerationOptions> opts = {Beam(), Greedy(), Beam(), Greedy()};
  auto ids = batch->Add(Spans(*bp), opts);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(batch->num_rows(), 10);
  ASSERT_TRUE(batch->Step().ok());
  batch->Cancel((*ids)[0]);
  EXPECT_EQ(batch->num_sequences(), 3);
  EXPECT_EQ(batch->num_rows(), 6);
  batch->Cancel(12345);  // unknown: no-op
  auto out = RunToEnd(batch.get());
  EXPECT_EQ(out.count((*ids)[0]), 0u);
  float err = 0;
  ExpectGreedy(*bp, 1, out[(*ids)[1]]);
  ExpectBeam(*bp, 2, out[(*ids)[2]], &err);
  ExpectGreedy(*bp, 3, out[(*ids)[3]]);
  EXPECT_EQ(batch->num_rows(), 0);
}

TEST_F(MarianDecodingTest, RejectsInvalidRequests) {
  auto batch = NewBatch();
  const std::vector<int32_t> src = {5, 0};
  GenerationOptions o;
  o.num_hypotheses = 2;  // > beam_size
  EXPECT_FALSE(batch->Add({absl::Span<const int32_t>(src)}, {o}).ok());
  o = GenerationOptions{};
  o.max_new_tokens = 129;
  EXPECT_FALSE(batch->Add({absl::Span<const int32_t>(src)}, {o}).ok());
  const std::vector<int32_t> bad = {99999, 0};
  EXPECT_FALSE(
      batch->Add({absl::Span<const int32_t>(bad)}, {GenerationOptions{}}).ok());
  const std::vector<int32_t> empty;
  EXPECT_FALSE(
      batch->Add({absl::Span<const int32_t>(empty)}, {GenerationOptions{}})
          .ok());
  EXPECT_EQ(batch->num_sequences(), 0);
}

}  // namespace
}  // namespace attnserve
