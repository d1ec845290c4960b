// TranslateScheduler under concurrent submitters, cancellers and shutdown, for
// ThreadSanitizer: its inbox, queue count and worker hand-offs are where races
// live. Sanitizer builds cannot load a Translator (the MarianTokenizer's
// sentencepiece shim needs dlopen RTLD_DEEPBIND), so this test serves the
// scheduler the real Marian decoder (MarianModel + MarianDecodeBatch, exactly
// what Translator::NewDecodeBatch builds) over already tokenized golden
// sources, through a test Translator without tokenizer. Results must equal
// Hugging Face's (cases.json). Runs in every build.
#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/decoding/logits_rules.h"
#include "core/decoding/marian_decode_batch.h"
#include "core/models/hf_config.h"
#include "core/models/marian.h"
#include "core/models/marian_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/batching/translate_scheduler.h"

namespace attnserve::server {
namespace {

using ::testing::ElementsAreArray;

constexpr char kModelDir[] = ATTNSERVE_TEST_DATA_DIR "/marian-tiny";
constexpr int32_t kEos = 0;
constexpr absl::Duration kTimeout = absl::Seconds(300);
constexpr int kSubmitters = 4;

// The decoding half of a Marian Translator: the real model and DecodeBatch,
// configured from the folder's config.json and generation_config.json as
// Translator::Load does. The scheduler only calls NewDecodeBatch(); the
// tokenizer-backed members say they are unavailable.
class DecoderOnlyTranslator : public Translator {
 public:
  static absl::StatusOr<std::unique_ptr<DecoderOnlyTranslator>> Load(
      const std::string& folder) {
    auto config_json = JsonFile::Read(JoinPath(folder, "config.json"));
    if (!config_json.ok()) return config_json.status();
    auto config = ParseMarianConfig(*config_json);
    if (!config.ok()) return config.status();
    auto generation_json =
        JsonFile::Read(JoinPath(folder, "generation_config.json"));
    if (!generation_json.ok()) return generation_json.status();
    auto generation =
        ParseMarianGenerationConfig(&*generation_json, *config_json, *config);
    if (!generation.ok()) return generation.status();
    auto model = MarianModel::Load(folder);
    if (!model.ok()) return model.status();
    return std::unique_ptr<DecoderOnlyTranslator>(
        new DecoderOnlyTranslator(*std::move(model), *std::move(generation)));
  }

  absl::StatusOr<Encoding> TokenizeSource(std::string_view, bool,
                                          std::string_view) const override {
    return absl::UnimplementedError("test translator has no tokenizer");
  }
  std::string Detokenize(absl::Span<const int32_t>) const override {
    ADD_FAILURE() << "the scheduler must not detokenize";
    return "";
  }
  absl::StatusOr<std::vector<std::vector<Hypothesis>>> Generate(
      absl::Span<const absl::Span<const int32_t>>,
      const GenerationOptions&) override {
    return absl::UnimplementedError("the scheduler must not call Generate");
  }
  std::unique_ptr<DecodeBatch> NewDecodeBatch() override {
    return std::make_unique<MarianDecodeBatch>(
        model_.get(), "marian-tiny", generation_.decoder_start_token_id,
        LogitsRules(generation_.bad_words_ids, generation_.forced_eos_token_id,
                    generation_.eos_token_ids));
  }
  GenerationOptions default_options() const override { return {}; }
  std::string architecture() const override { return "marian"; }
  int max_input_tokens() const override {
    return model_->config().max_position_embeddings;
  }
  int max_new_tokens_limit() const override {
    return model_->config().max_position_embeddings;
  }
  std::vector<std::string> source_languages() const override { return {}; }
  std::vector<std::string> target_languages() const override { return {}; }
  DType dtype() const override { return DType::kFloat32; }
  int64_t EstimateTranslateBytes(int input_tokens, int beams,
                                 int new_tokens) const override {
    return EstimateMarianTextBytes(model_->config(), input_tokens, beams,
                                   new_tokens);
  }
  int64_t parameter_count() const override {
    return MarianParameterCount(model_->config());
  }

 private:
  DecoderOnlyTranslator(std::unique_ptr<MarianModel> model,
                        MarianGenerationConfig generation)
      : model_(std::move(model)), generation_(std::move(generation)) {}

  std::unique_ptr<MarianModel> model_;
  MarianGenerationConfig generation_;
};

// One source text of cases.json with HF's greedy ids and best beam hypothesis.
struct GoldenText {
  std::string name;
  std::vector<int32_t> source;
  std::vector<int32_t> greedy;     // up to and incl. the first </s>
  std::vector<int32_t> beam_best;  // num_beams=4, best first
  float beam_best_score = 0;
};

// A `sequences` row without the decoder-start token, cut after the first </s>.
std::vector<int32_t> Generated(const nlohmann::json& row) {
  std::vector<int32_t> ids;
  for (size_t t = 1; t < row.size(); ++t) {
    ids.push_back(row[t].get<int32_t>());
    if (ids.back() == kEos) break;
  }
  return ids;
}

std::vector<GoldenText> LoadGolden() {
  std::ifstream in(std::string(kModelDir) + "/cases.json");
  const nlohmann::json cases = nlohmann::json::parse(in)["cases"];
  std::vector<GoldenText> texts;
  for (const auto& c : cases) {
    for (size_t b = 0; b < c["texts"].size(); ++b) {
      GoldenText text;
      text.name = absl::StrCat(c["name"].get<std::string>(), "[", b, "]");
      const int len = c["seq_lens"][b].get<int>();
      for (int t = 0; t < len; ++t)
        text.source.push_back(c["input_ids"][b][t].get<int32_t>());
      text.greedy = Generated(c["greedy"]["sequences"][b]);
      text.beam_best = Generated(c["beam"]["all_4_sequences"][b][0]);
      text.beam_best_score = c["beam"]["sequences_scores"][b][0].get<float>();
      texts.push_back(std::move(text));
    }
  }
  return texts;
}

GenerationOptions Options(bool beam) {
  GenerationOptions options;
  options.beam_size = beam ? 4 : 1;
  options.max_new_tokens = 16;
  options.num_hypotheses = 1;
  return options;
}

// Thread-safe: the worker reports while test threads read.
class CountingObserver : public SchedulerObserver {
 public:
  void OnQueueWait(absl::Duration) override { queue_waits_.fetch_add(1); }
  void OnStep(int rows, int sequences, absl::Duration) override {
    EXPECT_GE(rows, sequences);
    steps_.fetch_add(1);
  }
  void OnQueueDepth(int texts_waiting) override { EXPECT_GE(texts_waiting, 0); }
  void OnExpired(int texts) override { EXPECT_GT(texts, 0); }
  int queue_waits() const { return queue_waits_.load(); }
  int steps() const { return steps_.load(); }

 private:
  std::atomic<int> queue_waits_{0}, steps_{0};
};

// A one-text TranslateWork whose callbacks record into shared state, so the
// worker never writes to an object a finished test thread destroyed.
class Call {
 public:
  Call(const GoldenText& text, bool beam,
       absl::Time deadline = absl::InfiniteFuture())
      : text_(&text), beam_(beam), state_(std::make_shared<State>()) {
    work_ = std::make_shared<TranslateWork>();
    work_->sources.push_back(Encoding{text.source, {}});
    work_->options = Options(beam);
    work_->deadline = deadline;
    work_->on_event = [state = state_](int index,
                                       const DecodeBatch::Event& event) {
      absl::MutexLock lock(&state->mu);
      EXPECT_EQ(index, 0);
      EXPECT_EQ(state->done_calls, 0) << "event after on_done";
      state->events.push_back(event);
    };
    work_->on_done = [state = state_](const absl::Status& status) {
      {
        absl::MutexLock lock(&state->mu);
        state->status = status;
        EXPECT_EQ(++state->done_calls, 1) << "on_done called twice";
      }
      if (!state->done.HasBeenNotified()) state->done.Notify();
    };
  }

  const std::shared_ptr<TranslateWork>& work() const { return work_; }
  bool saw_event() const {
    absl::MutexLock lock(&state_->mu);
    return !state_->events.empty();
  }
  absl::Status Wait() const {
    if (!state_->done.WaitForNotificationWithTimeout(kTimeout))
      return absl::DeadlineExceededError("test timed out waiting for on_done");
    absl::MutexLock lock(&state_->mu);
    return state_->status;
  }
  // After an OK Wait(): the hypothesis equals Hugging Face's.
  void ExpectGolden() const {
    SCOPED_TRACE(absl::StrCat(text_->name, beam_ ? " beam" : " greedy"));
    absl::MutexLock lock(&state_->mu);
    ASSERT_FALSE(state_->events.empty());
    const DecodeBatch::Event& last = state_->events.back();
    ASSERT_TRUE(last.finished);
    ASSERT_EQ(last.hypotheses.size(), 1u);
    if (beam_) {
      EXPECT_THAT(last.hypotheses[0].ids, ElementsAreArray(text_->beam_best));
      EXPECT_NEAR(last.hypotheses[0].score, text_->beam_best_score, 1e-4);
    } else {
      EXPECT_THAT(last.hypotheses[0].ids, ElementsAreArray(text_->greedy));
      EXPECT_EQ(state_->events.size(), text_->greedy.size())
          << "one event per generated token";
    }
  }

 private:
  struct State {
    absl::Mutex mu;
    std::vector<DecodeBatch::Event> events ABSL_GUARDED_BY(mu);
    absl::Status status ABSL_GUARDED_BY(mu);
    int done_calls ABSL_GUARDED_BY(mu) = 0;
    absl::Notification done;
  };
  const GoldenText* text_;
  bool beam_;
  std::shared_ptr<TranslateWork> work_;
  std::shared_ptr<State> state_;
};

class TranslateSchedulerRaceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto model = DecoderOnlyTranslator::Load(kModelDir);
    if (model.ok()) {
      model_ = model->release();
    } else {
      load_error_ = new absl::Status(model.status());
      return;
    }
    try {
      golden_ = new const std::vector<GoldenText>(LoadGolden());
    } catch (const nlohmann::json::exception& e) {
      load_error_ = new absl::Status(absl::DataLossError(
          absl::StrCat(kModelDir, "/cases.json: ", e.what())));
    }
  }
  static void TearDownTestSuite() {
    delete model_;
    delete golden_;
    delete load_error_;
    model_ = nullptr;
    golden_ = nullptr;
    load_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(load_error_, nullptr) << *load_error_;
    ASSERT_FALSE(golden_->empty());
  }

  // Text i of the golden set, cycling.
  static const GoldenText& Golden(int i) {
    return (*golden_)[i % golden_->size()];
  }

  static DecoderOnlyTranslator* model_;
  static const std::vector<GoldenText>* golden_;
  static absl::Status* load_error_;
};

DecoderOnlyTranslator* TranslateSchedulerRaceTest::model_ = nullptr;
const std::vector<GoldenText>* TranslateSchedulerRaceTest::golden_ = nullptr;
absl::Status* TranslateSchedulerRaceTest::load_error_ = nullptr;

// Several threads submit greedy and beam works at once, each waiting for its
// own results while the worker batches them together.
TEST_F(TranslateSchedulerRaceTest, ConcurrentSubmittersGetGoldenResults) {
  CountingObserver observer;
  TranslateScheduler scheduler(model_, SchedulerOptions{.max_batch_rows = 16},
                               &observer);
  const int per_thread = static_cast<int>(golden_->size());
  std::vector<std::thread> submitters;
  for (int t = 0; t < kSubmitters; ++t) {
    submitters.emplace_back([&, t] {
      std::vector<std::unique_ptr<Call>> calls;
      for (int i = 0; i < per_thread; ++i) {
        calls.push_back(std::make_unique<Call>(Golden(t + i), (t + i) % 2));
        ASSERT_TRUE(scheduler.Submit(calls.back()->work()).ok());
      }
      for (const auto& call : calls) {
        ASSERT_TRUE(call->Wait().ok());
        call->ExpectGolden();
      }
    });
  }
  for (std::thread& thread : submitters) thread.join();
  EXPECT_EQ(observer.queue_waits(), kSubmitters * per_thread);
  EXPECT_GT(observer.steps(), 0);
}

// Clients cancel from their own threads while the worker decodes: every work
// ends exactly once, CANCELLED, or OK with the golden result if it finished
// first.
TEST_F(TranslateSchedulerRaceTest, CancelsFromClientThreadsEndEachWorkOnce) {
  TranslateScheduler scheduler(model_, SchedulerOptions{.max_batch_rows = 8},
                               nullptr);
  std::vector<std::thread> clients;
  for (int t = 0; t < kSubmitters; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        Call call(Golden(t * 3 + i), /*beam=*/false);
        ASSERT_TRUE(scheduler.Submit(call.work()).ok());
        // Cancel right away, after the first token or never.
        if (i == 1) {
          const absl::Time give_up = absl::Now() + kTimeout;
          while (!call.saw_event() && absl::Now() < give_up)
            absl::SleepFor(absl::Milliseconds(1));
        }
        if (i < 2) call.work()->cancelled.store(true);
        const absl::Status status = call.Wait();
        if (i == 2 || status.ok()) {
          ASSERT_TRUE(status.ok()) << status;
          call.ExpectGolden();
        } else {
          EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
        }
      }
    });
  }
  for (std::thread& thread : clients) thread.join();
}

// Submitters race Shutdown(): each Submit is either refused (UNAVAILABLE, or
// RESOURCE_EXHAUSTED by the small queue) or accepted, and every accepted work
// is finished with the golden result by the time Shutdown() returns.
TEST_F(TranslateSchedulerRaceTest, ShutdownRacingSubmittersFinishesAccepted) {
  TranslateScheduler scheduler(
      model_, SchedulerOptions{.max_batch_rows = 8, .max_queue_size = 6},
      nullptr);
  absl::Mutex mu;
  std::vector<std::unique_ptr<Call>> accepted;  // guarded by mu
  std::atomic<int> refused_shutdown{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < kSubmitters; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0;; ++i) {  // until refused for shutting down
        auto call = std::make_unique<Call>(Golden(t + i), (t + i) % 3 == 0);
        const absl::Status status = scheduler.Submit(call->work());
        if (status.ok()) {
          absl::MutexLock lock(&mu);
          accepted.push_back(std::move(call));
        } else if (status.code() == absl::StatusCode::kUnavailable) {
          refused_shutdown.fetch_add(1);
          return;
        } else {
          EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted)
              << status;
          absl::SleepFor(absl::Milliseconds(2));
        }
      }
    });
  }
  // Let some work be accepted and some run before shutting down.
  const absl::Time give_up = absl::Now() + kTimeout;
  while (absl::Now() < give_up) {
    {
      absl::MutexLock lock(&mu);
      if (accepted.size() >= 8) break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  scheduler.Shutdown();
  for (std::thread& thread : submitters) thread.join();
  EXPECT_EQ(refused_shutdown.load(), kSubmitters)
      << "after Shutdown() every Submit is UNAVAILABLE";
  absl::MutexLock lock(&mu);
  EXPECT_GE(accepted.size(), 8u);
  for (const auto& call : accepted) {
    ASSERT_TRUE(call->Wait().ok());
    call->ExpectGolden();
  }
}

// Deadlines expire on the worker while clients keep submitting: each work ends
// once, DEADLINE_EXCEEDED or OK with the golden result.
TEST_F(TranslateSchedulerRaceTest, DeadlinesExpiringUnderLoadEndEachWorkOnce) {
  TranslateScheduler scheduler(model_, SchedulerOptions{.max_batch_rows = 4},
                               nullptr);
  std::vector<std::thread> clients;
  for (int t = 0; t < kSubmitters; ++t) {
    clients.emplace_back([&, t] {
      std::vector<std::unique_ptr<Call>> calls;
      for (int i = 0; i < 4; ++i) {
        const absl::Time deadline = i % 2 ? absl::Now() + absl::Milliseconds(1)
                                          : absl::InfiniteFuture();
        calls.push_back(
            std::make_unique<Call>(Golden(t + i), i == 2, deadline));
        ASSERT_TRUE(scheduler.Submit(calls.back()->work()).ok());
      }
      for (int i = 0; i < 4; ++i) {
        const absl::Status status = calls[i]->Wait();
        if (status.ok()) {
          calls[i]->ExpectGolden();
        } else {
          EXPECT_EQ(i % 2, 1) << "only short deadlines expire: " << status;
          EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded)
              << status;
        }
      }
    });
  }
  for (std::thread& thread : clients) thread.join();
}

}  // namespace
}  // namespace attnserve::server
