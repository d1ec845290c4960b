// TranslateScheduler against the real Marian Translator and the golden Hugging
// Face outputs: continuous batching must not change any hypothesis, and the
// queue/cancel/deadline/shutdown rules hold.
#include "server/batching/translate_scheduler.h"

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
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::server {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr char kModelDir[] = ATTNSERVE_TEST_DATA_DIR "/marian-tiny";
constexpr int32_t kEos = 0;
constexpr absl::Duration kTimeout = absl::Seconds(120);

// One source text of cases.json with its HF reference outputs.
struct GoldenText {
  std::string name;  // "<case>[<index>]"
  std::vector<int32_t> source;
  std::vector<int32_t> greedy;  // generated ids up to and incl. the first </s>
  std::vector<std::vector<int32_t>> beam;  // 4 hypotheses, best first
  std::vector<float> beam_scores;
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
  const std::string path = std::string(kModelDir) + "/cases.json";
  std::ifstream in(path);
  const nlohmann::json cases = nlohmann::json::parse(in)["cases"];
  std::vector<GoldenText> texts;
  for (const auto& c : cases) {
    for (size_t b = 0; b < c["texts"].size(); ++b) {
      GoldenText text;
      text.name = absl::StrCat(c["name"].get<std::string>(), "[", b, "]");
      const auto& ids = c["input_ids"][b];
      const int len = c["seq_lens"][b].get<int>();
      for (int t = 0; t < len; ++t)
        text.source.push_back(ids[t].get<int32_t>());
      text.greedy = Generated(c["greedy"]["sequences"][b]);
      for (const auto& row : c["beam"]["all_4_sequences"][b])
        text.beam.push_back(Generated(row));
      text.beam_scores =
          c["beam"]["sequences_scores"][b].get<std::vector<float>>();
      texts.push_back(std::move(text));
    }
  }
  return texts;
}

GenerationOptions Greedy() {
  GenerationOptions options;
  options.beam_size = 1;
  options.max_new_tokens = 16;
  options.num_hypotheses = 1;
  return options;
}

GenerationOptions Beam() {
  GenerationOptions options;
  options.beam_size = 4;
  options.max_new_tokens = 16;
  options.num_hypotheses = 4;
  options.length_penalty = 1.0f;
  options.early_stopping = false;
  return options;
}

// Records every SchedulerObserver call (thread-safe).
class RecordingObserver : public SchedulerObserver {
 public:
  void OnQueueWait(absl::Duration) override {
    absl::MutexLock lock(&mu_);
    ++queue_waits_;
  }
  void OnStep(int rows, int sequences, absl::Duration compute) override {
    absl::MutexLock lock(&mu_);
    ++steps_;
    max_rows_ = std::max(max_rows_, rows);
    max_sequences_ = std::max(max_sequences_, sequences);
    EXPECT_GE(rows, sequences);
    EXPECT_GE(compute, absl::ZeroDuration());
  }
  void OnQueueDepth(int texts_waiting) override {
    absl::MutexLock lock(&mu_);
    EXPECT_GE(texts_waiting, 0);
    ++depth_reports_;
  }
  void OnExpired(int texts) override {
    absl::MutexLock lock(&mu_);
    expired_ += texts;
  }

  int queue_waits() const { return Read(&RecordingObserver::queue_waits_); }
  int steps() const { return Read(&RecordingObserver::steps_); }
  int max_rows() const { return Read(&RecordingObserver::max_rows_); }
  int max_sequences() const { return Read(&RecordingObserver::max_sequences_); }
  int depth_reports() const { return Read(&RecordingObserver::depth_reports_); }
  int expired() const { return Read(&RecordingObserver::expired_); }

 private:
  int Read(int RecordingObserver::*field) const {
    absl::MutexLock lock(&mu_);
    return this->*field;
  }

  mutable absl::Mutex mu_;
  int queue_waits_ = 0, steps_ = 0, max_rows_ = 0, max_sequences_ = 0,
      depth_reports_ = 0, expired_ = 0;
};

// A TranslateWork over golden texts that records its events and its on_done
// (thread-safe). The records live in a State shared with the callbacks, so a
// test that returns early cannot leave the worker writing to a dead object.
class RecordingWork {
 public:
  using Hook = std::function<void(TranslateWork& work, int index,
                                  const DecodeBatch::Event&)>;

  RecordingWork(std::vector<const GoldenText*> texts, GenerationOptions options,
                absl::Time deadline = absl::InfiniteFuture(),
                Hook hook = nullptr)
      : texts_(std::move(texts)),
        work_(std::make_shared<TranslateWork>()),
        state_(std::make_shared<State>()) {
    for (const GoldenText* text : texts_)
      work_->sources.push_back(Encoding{text->source, {}});
    work_->options = options;
    work_->deadline = deadline;
    state_->events.resize(texts_.size());
    TranslateWork* work = work_.get();  // alive while its callbacks run
    work_->on_event = [state = state_, work, hook = std::move(hook)](
                          int index, const DecodeBatch::Event& event) {
      {
        absl::MutexLock lock(&state->mu);
        EXPECT_EQ(state->done_calls, 0) << "event after on_done";
        state->events.at(index).push_back(event);
      }
      if (hook) hook(*work, index, event);
    };
    work_->on_done = [state = state_](const absl::Status& status) {
      {
        absl::MutexLock lock(&state->mu);
        state->status = status;
        ++state->done_calls;
        EXPECT_EQ(state->done_calls, 1) << "on_done called twice";
      }
      if (!state->done.HasBeenNotified()) state->done.Notify();
    };
  }

  std::shared_ptr<TranslateWork> work() const { return work_; }
  const std::vector<const GoldenText*>& texts() const { return texts_; }
  bool done() const { return state_->done.HasBeenNotified(); }

  // The on_done status, or DEADLINE_EXCEEDED when the test timed out waiting
  // for it.
  absl::Status Wait() {
    if (!state_->done.WaitForNotificationWithTimeout(kTimeout)) {
      return absl::DeadlineExceededError("test timed out waiting for on_done");
    }
    absl::MutexLock lock(&state_->mu);
    return state_->status;
  }
  std::vector<DecodeBatch::Event> events(int index) const {
    absl::MutexLock lock(&state_->mu);
    return state_->events.at(index);
  }
  int total_events() const {
    absl::MutexLock lock(&state_->mu);
    int n = 0;
    for (const auto& e : state_->events) n += static_cast<int>(e.size());
    return n;
  }

 private:
  struct State {
    absl::Mutex mu;
    std::vector<std::vector<DecodeBatch::Event>> events ABSL_GUARDED_BY(mu);
    absl::Status status ABSL_GUARDED_BY(mu);
    int done_calls ABSL_GUARDED_BY(mu) = 0;
    absl::Notification done;
  };

  std::vector<const GoldenText*> texts_;
  std::shared_ptr<TranslateWork> work_;
  std::shared_ptr<State> state_;
};

// Greedy: one event per generated token, only the last one finished, equal to
// HF's ids.
void ExpectGreedyGolden(const RecordingWork& work) {
  for (size_t i = 0; i < work.texts().size(); ++i) {
    const GoldenText& golden = *work.texts()[i];
    SCOPED_TRACE(golden.name);
    const std::vector<DecodeBatch::Event> events =
        work.events(static_cast<int>(i));
    ASSERT_EQ(events.size(), golden.greedy.size())
        << "one event per generated token";
    std::vector<int32_t> streamed;
    for (size_t k = 0; k < events.size(); ++k) {
      ASSERT_EQ(events[k].new_tokens.size(), 1u) << "event " << k;
      EXPECT_EQ(events[k].finished, k + 1 == events.size()) << "event " << k;
      streamed.push_back(events[k].new_tokens[0]);
    }
    EXPECT_THAT(streamed, ElementsAreArray(golden.greedy));
    ASSERT_EQ(events.back().hypotheses.size(), 1u);
    EXPECT_THAT(events.back().hypotheses[0].ids,
                ElementsAreArray(golden.greedy));
  }
}

// Beam: a single finishing event with the n-best list equal to HF's (ids and
// scores).
void ExpectBeamGolden(const RecordingWork& work) {
  for (size_t i = 0; i < work.texts().size(); ++i) {
    const GoldenText& golden = *work.texts()[i];
    SCOPED_TRACE(golden.name);
    const std::vector<DecodeBatch::Event> events =
        work.events(static_cast<int>(i));
    ASSERT_EQ(events.size(), 1u) << "beam search reports only its finish";
    ASSERT_TRUE(events[0].finished);
    ASSERT_EQ(events[0].hypotheses.size(), golden.beam.size());
    for (size_t k = 0; k < golden.beam.size(); ++k) {
      EXPECT_THAT(events[0].hypotheses[k].ids, ElementsAreArray(golden.beam[k]))
          << "hyp " << k;
      EXPECT_NEAR(events[0].hypotheses[k].score, golden.beam_scores[k], 1e-4)
          << "hyp " << k;
    }
  }
}

void ExpectGolden(RecordingWork& work, bool beam) {
  ASSERT_TRUE(work.Wait().ok()) << work.Wait();
  if (beam) {
    ExpectBeamGolden(work);
  } else {
    ExpectGreedyGolden(work);
  }
}

// Releases a blocked worker callback even when an assertion leaves the test
// early.
class Gate {
 public:
  ~Gate() { Open(); }
  void Open() {
    if (!open_.HasBeenNotified()) open_.Notify();
  }
  bool Opened() const { return open_.HasBeenNotified(); }
  void WaitOpen() { open_.WaitForNotificationWithTimeout(kTimeout); }

 private:
  absl::Notification open_;
};

// Delegates to the real model; its DecodeBatch fails the next Add/Step on
// request, to test that the scheduler reports INTERNAL to the affected work and
// keeps serving.
class FaultInjectingTranslator : public Translator {
 public:
  explicit FaultInjectingTranslator(Translator* model) : model_(model) {}

  std::atomic<bool> fail_next_add{false};
  std::atomic<bool> fail_next_step{false};
  // Every Add containing a source of this length fails (a work the core
  // rejects).
  std::atomic<int> reject_source_length{-1};

  absl::StatusOr<Encoding> TokenizeSource(
      std::string_view text, bool truncate,
      std::string_view target_language) const override {
    return model_->TokenizeSource(text, truncate, target_language);
  }
  std::string Detokenize(absl::Span<const int32_t> ids) const override {
    return model_->Detokenize(ids);
  }
  absl::StatusOr<std::vector<std::vector<Hypothesis>>> Generate(
      absl::Span<const absl::Span<const int32_t>> sources,
      const GenerationOptions& options) override {
    return model_->Generate(sources, options);
  }
  std::unique_ptr<DecodeBatch> NewDecodeBatch() override {
    return std::make_unique<Batch>(model_->NewDecodeBatch(), this);
  }
  GenerationOptions default_options() const override {
    return model_->default_options();
  }
  std::string architecture() const override { return model_->architecture(); }
  int max_input_tokens() const override { return model_->max_input_tokens(); }
  int max_new_tokens_limit() const override {
    return model_->max_new_tokens_limit();
  }
  std::vector<std::string> source_languages() const override {
    return model_->source_languages();
  }
  std::vector<std::string> target_languages() const override {
    return model_->target_languages();
  }
  DType dtype() const override { return model_->dtype(); }
  int64_t EstimateTranslateBytes(int input_tokens, int beams,
                                 int new_tokens) const override {
    return model_->EstimateTranslateBytes(input_tokens, beams, new_tokens);
  }
  int64_t parameter_count() const override { return model_->parameter_count(); }

 private:
  class Batch : public DecodeBatch {
   public:
    Batch(std::unique_ptr<DecodeBatch> real, FaultInjectingTranslator* owner)
        : real_(std::move(real)), owner_(owner) {}
    absl::StatusOr<std::vector<SeqId>> Add(
        absl::Span<const absl::Span<const int32_t>> sources,
        absl::Span<const GenerationOptions> options) override {
      if (owner_->fail_next_add.exchange(false))
        return absl::InternalError("injected Add fault");
      for (const auto& source : sources) {
        if (static_cast<int>(source.size()) == owner_->reject_source_length) {
          return absl::InternalError("injected rejection of a source");
        }
      }
      return real_->Add(sources, options);
    }
    void Cancel(SeqId id) override { real_->Cancel(id); }
    absl::StatusOr<std::vector<Event>> Step() override {
      if (owner_->fail_next_step.exchange(false)) {
        return absl::InternalError("injected Step fault");
      }
      return real_->Step();
    }
    int num_sequences() const override { return real_->num_sequences(); }
    int num_rows() const override { return real_->num_rows(); }

   private:
    std::unique_ptr<DecodeBatch> real_;
    FaultInjectingTranslator* owner_;
  };

  Translator* model_;
};

class TranslateSchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Translator>> model =
        Translator::Load(kModelDir);
    if (model.ok()) {
      model_ = model->release();
    } else {
      load_error_ = new absl::Status(model.status());
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
    ASSERT_NE(model_, nullptr);
  }

  static const GoldenText& Text(const std::string& name) {
    for (const GoldenText& text : *golden_) {
      if (text.name == name) return text;
    }
    ADD_FAILURE() << "no golden text " << name;
    return golden_->front();
  }
  // The longest greedy decode (16 tokens, forced </s>): keeps the worker busy
  // for 16 steps.
  static const GoldenText& LongText() { return Text("ascii[0]"); }

  static Translator* model_;
  static const std::vector<GoldenText>* golden_;
  static absl::Status* load_error_;
};

Translator* TranslateSchedulerTest::model_ = nullptr;
const std::vector<GoldenText>* TranslateSchedulerTest::golden_ = nullptr;
absl::Status* TranslateSchedulerTest::load_error_ = nullptr;

TEST_F(TranslateSchedulerTest, ManyWorksSubmittedAtOnceMatchGolden) {
  RecordingObserver observer;
  TranslateScheduler scheduler(model_, SchedulerOptions{.max_batch_rows = 32},
                               &observer);
  std::vector<std::unique_ptr<RecordingWork>> greedy, beam;
  for (const GoldenText& text : *golden_) {
    greedy.push_back(
        std::make_unique<RecordingWork>(std::vector{&text}, Greedy()));
    beam.push_back(std::make_unique<RecordingWork>(std::vector{&text}, Beam()));
  }
  // A multi-text work too: its texts finish at different steps.
  std::vector<const GoldenText*> padding_case;
  for (int b = 0; b < 4; ++b)
    padding_case.push_back(&Text(absl::StrCat("batch_padding[", b, "]")));
  greedy.push_back(std::make_unique<RecordingWork>(padding_case, Greedy()));
  beam.push_back(std::make_unique<RecordingWork>(padding_case, Beam()));

  for (size_t i = 0; i < greedy.size(); ++i) {
    ASSERT_TRUE(scheduler.Submit(greedy[i]->work()).ok());
    ASSERT_TRUE(scheduler.Submit(beam[i]->work()).ok());
  }
  for (auto& work : greedy) ExpectGolden(*work, /*beam=*/false);
  for (auto& work : beam) ExpectGolden(*work, /*beam=*/true);

  EXPECT_GT(observer.max_sequences(), 1) << "works must share decoder steps";
  EXPECT_GT(observer.max_rows(), 4);
  EXPECT_LE(observer.max_rows(), 32);
  EXPECT_EQ(observer.queue_waits(),
            2 * (static_cast<int>(golden_->size()) + 4));
  EXPECT_GT(observer.depth_reports(), 0);
}

TEST_F(TranslateSchedulerTest, StaggeredSubmissionsFromThreadsMatchGolden) {
  RecordingObserver observer;
  // Few rows: texts keep joining a batch that is already running.
  TranslateScheduler scheduler(model_, SchedulerOptions{.max_batch_rows = 6},
                               &observer);
  constexpr int kThreads = 3;
  std::vector<std::unique_ptr<RecordingWork>> works[kThreads];
  std::vector<bool> is_beam[kThreads];
  for (size_t i = 0; i < golden_->size(); ++i) {
    const int t = static_cast<int>(i % kThreads);
    const bool beam = (i / kThreads) % 2 == 1;
    works[t].push_back(std::make_unique<RecordingWork>(
        std::vector{&(*golden_)[i]}, beam ? Beam() : Greedy()));
    is_beam[t].push_back(beam);
  }
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (auto& work : works[t]) {
        EXPECT_TRUE(scheduler.Submit(work->work()).ok());
        absl::SleepFor(absl::Milliseconds(2 + 3 * t));
      }
    });
  }
  for (auto& thread : submitters) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 0; i < works[t].size(); ++i)
      ExpectGolden(*works[t][i], is_beam[t][i]);
  }
  EXPECT_GT(observer.max_sequences(), 1);
  EXPECT_LE(observer.max_rows(), 6);
}

TEST_F(TranslateSchedulerTest, GreedyTokensArriveOneStepAtATime) {
  RecordingObserver observer;
  std::vector<int> steps_seen_at_event;  // written by the worker
  TranslateScheduler scheduler(model_, SchedulerOptions{}, &observer);
  RecordingWork work({&LongText()}, Greedy(), absl::InfiniteFuture(),
                     [&](TranslateWork&, int, const DecodeBatch::Event&) {
                       steps_seen_at_event.push_back(observer.steps());
                     });
  ASSERT_TRUE(scheduler.Submit(work.work()).ok());
  ExpectGolden(work, /*beam=*/false);
  // Event k is delivered right after decoder step k, long before the text
  // finished.
  ASSERT_EQ(steps_seen_at_event.size(), LongText().greedy.size());
  for (size_t k = 0; k < steps_seen_at_event.size(); ++k) {
    EXPECT_EQ(steps_seen_at_event[k], static_cast<int>(k) + 1);
  }
}

TEST_F(TranslateSchedulerTest, FullQueueRefusesImmediately) {
  RecordingObserver observer;
  Gate blocked, release;  // outlives the scheduler: its worker may wait on it
  TranslateScheduler scheduler(
      model_, SchedulerOptions{.max_batch_rows = 1, .max_queue_size = 2},
      &observer);
  RecordingWork running(
      {&LongText()}, Greedy(), absl::InfiniteFuture(),
      [&](TranslateWork&, int, const DecodeBatch::Event& event) {
        if (event.new_tokens.size() == 1 && !blocked.Opened()) {
          blocked.Open();
          release.WaitOpen();
        }
      });
  ASSERT_TRUE(scheduler.Submit(running.work()).ok());
  blocked.WaitOpen();  // the worker is now inside `running`'s first event

  RecordingWork waiting({&Text("cjk[0]"), &Text("empty[0]")}, Greedy());
  ASSERT_TRUE(scheduler.Submit(waiting.work()).ok());
  RecordingWork refused({&Text("emoji[0]")}, Greedy());
  const absl::Status full = scheduler.Submit(refused.work());
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_THAT(full.message(),
              HasSubstr("2 texts waiting + 1 of this call > "
                        "batching.max_queue_size 2; retryable"));
  RecordingWork too_big({&Text("emoji[0]"), &Text("cjk[0]"), &Text("empty[0]")},
                        Greedy());
  const absl::Status never = scheduler.Submit(too_big.work());
  EXPECT_EQ(never.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(never.message(), HasSubstr("has 3 texts, more than"));
  EXPECT_THAT(never.message(), HasSubstr("not retryable"));

  release.Open();
  ExpectGolden(running, /*beam=*/false);
  ExpectGolden(waiting, /*beam=*/false);
  EXPECT_FALSE(refused.done());
  EXPECT_FALSE(too_big.done());
  EXPECT_EQ(observer.max_rows(), 1);
}

// A budget of one text's estimate: texts run one at a time (rows would allow
// 64), still match the golden output, and a text over the budget is refused.
TEST_F(TranslateSchedulerTest, MemoryBudgetBoundsTheRunningTexts) {
  RecordingObserver observer;
  const GenerationOptions greedy = Greedy();
  const int64_t one_text = model_->EstimateTranslateBytes(
      static_cast<int>(LongText().source.size()), 1, greedy.max_new_tokens);
  TranslateScheduler scheduler(
      model_,
      SchedulerOptions{.max_memory_bytes = one_text, .model_name = "tiny"},
      &observer);
  RecordingWork work({&LongText(), &LongText(), &LongText()}, greedy);
  ASSERT_TRUE(scheduler.Submit(work.work()).ok());
  ExpectGolden(work, /*beam=*/false);
  EXPECT_EQ(observer.max_rows(), 1) << "two texts would exceed the budget";

  RecordingWork wide({&LongText()}, Beam());
  const absl::Status status = scheduler.Submit(wide.work());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("model 'tiny' batching."
                                     "max_batch_memory_bytes ",
                                     one_text, "; not retryable")));
}

TEST_F(TranslateSchedulerTest, CancelledWorkEndsAndFreesItsRows) {
  RecordingObserver observer;
  Gate blocked, release;  // outlives the scheduler: its worker may wait on it
  TranslateScheduler scheduler(model_, SchedulerOptions{.max_batch_rows = 1},
                               &observer);
  RecordingWork cancelled_running(
      {&LongText()}, Greedy(), absl::InfiniteFuture(),
      [&](TranslateWork& work, int, const DecodeBatch::Event&) {
        if (!blocked.Opened()) {
          blocked.Open();
          release.WaitOpen();
          work.cancelled = true;  // the client cancels after its first token
        }
      });
  ASSERT_TRUE(scheduler.Submit(cancelled_running.work()).ok());
  blocked.WaitOpen();
  RecordingWork cancelled_waiting({&Text("cjk[0]")}, Greedy());
  RecordingWork later({&Text("mixed_case[0]")}, Greedy());
  ASSERT_TRUE(scheduler.Submit(cancelled_waiting.work()).ok());
  ASSERT_TRUE(scheduler.Submit(later.work()).ok());
  cancelled_waiting.work()->cancelled = true;
  release.Open();

  EXPECT_EQ(cancelled_running.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(cancelled_running.total_events(), 1)
      << "no step after the cancellation";
  EXPECT_EQ(cancelled_waiting.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(cancelled_waiting.total_events(), 0);
  // The only row was freed: the later work runs to completion.
  ExpectGolden(later, /*beam=*/false);
  EXPECT_EQ(observer.queue_waits(), 2)
      << "the cancelled waiting text never joined the batch";
}

TEST_F(TranslateSchedulerTest, ExpiredDeadlineIsNeverComputed) {
  RecordingObserver observer;
  TranslateScheduler scheduler(model_, SchedulerOptions{}, &observer);
  RecordingWork expired({&LongText(), &Text("cjk[0]")}, Beam(),
                        absl::Now() - absl::Seconds(1));
  RecordingWork on_time({&Text("cjk[0]")}, Greedy(), absl::Now() + kTimeout);
  ASSERT_TRUE(scheduler.Submit(expired.work()).ok());
  ASSERT_TRUE(scheduler.Submit(on_time.work()).ok());
  const absl::Status status = expired.Wait();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(status.message(),
              HasSubstr("deadline exceeded before translation finished"));
  ExpectGolden(on_time, /*beam=*/false);
  EXPECT_EQ(expired.total_events(), 0);
  EXPECT_EQ(observer.queue_waits(), 1)
      << "the expired texts must never join the batch";
  EXPECT_EQ(observer.expired(), 2) << "both texts are counted as expired";
  EXPECT_EQ(observer.max_rows(), 1);
}

TEST_F(TranslateSchedulerTest, DeadlinePassingMidDecodeStopsTheWork) {
  TranslateScheduler scheduler(model_, SchedulerOptions{}, nullptr);
  // Each token takes >= 50 ms in the callback, so 16 tokens cannot beat a 200
  // ms deadline.
  RecordingWork slow({&LongText()}, Greedy(),
                     absl::Now() + absl::Milliseconds(200),
                     [](TranslateWork&, int, const DecodeBatch::Event&) {
                       absl::SleepFor(absl::Milliseconds(50));
                     });
  RecordingWork other({&Text("mixed_case[0]")}, Greedy());
  ASSERT_TRUE(scheduler.Submit(slow.work()).ok());
  ASSERT_TRUE(scheduler.Submit(other.work()).ok());
  EXPECT_EQ(slow.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(slow.total_events(), static_cast<int>(LongText().greedy.size()));
  ExpectGolden(other, /*beam=*/false);
}

TEST_F(TranslateSchedulerTest, CoreErrorsEndAffectedWorkAndServingGoesOn) {
  FaultInjectingTranslator faulty(model_);
  TranslateScheduler scheduler(&faulty, SchedulerOptions{}, nullptr);

  faulty.fail_next_add = true;
  RecordingWork add_fails({&Text("cjk[0]"), &Text("emoji[0]")}, Greedy());
  ASSERT_TRUE(scheduler.Submit(add_fails.work()).ok());
  const absl::Status add_status = add_fails.Wait();
  EXPECT_EQ(add_status.code(), absl::StatusCode::kInternal) << add_status;
  EXPECT_THAT(add_status.message(), HasSubstr("injected Add fault"));
  EXPECT_EQ(add_fails.total_events(), 0);

  faulty.fail_next_step = true;
  RecordingWork step_fails({&LongText()}, Beam());
  ASSERT_TRUE(scheduler.Submit(step_fails.work()).ok());
  const absl::Status step_status = step_fails.Wait();
  EXPECT_EQ(step_status.code(), absl::StatusCode::kInternal) << step_status;
  EXPECT_THAT(step_status.message(), HasSubstr("injected Step fault"));

  RecordingWork after({&Text("mixed_case[0]")}, Beam());
  ASSERT_TRUE(scheduler.Submit(after.work()).ok());
  ExpectGolden(after, /*beam=*/true);
}

TEST_F(TranslateSchedulerTest, RejectedWorkDoesNotFailWorkAdmittedWithIt) {
  FaultInjectingTranslator faulty(model_);
  Gate blocked, release;  // outlives the scheduler: its worker may wait on it
  RecordingObserver observer;
  TranslateScheduler scheduler(&faulty, SchedulerOptions{}, &observer);
  RecordingWork first({&LongText()}, Greedy(), absl::InfiniteFuture(),
                      [&](TranslateWork&, int, const DecodeBatch::Event&) {
                        if (!blocked.Opened()) {
                          blocked.Open();
                          release.WaitOpen();
                        }
                      });
  ASSERT_TRUE(scheduler.Submit(first.work()).ok());
  blocked.WaitOpen();
  // Both join at the same step, i.e. in one Add, which the core rejects.
  const GoldenText& poison = Text("cjk[0]");
  faulty.reject_source_length = static_cast<int>(poison.source.size());
  RecordingWork rejected({&poison}, Greedy());
  RecordingWork fine({&Text("mixed_case[0]"), &Text("emoji[0]")}, Beam());
  ASSERT_TRUE(scheduler.Submit(rejected.work()).ok());
  ASSERT_TRUE(scheduler.Submit(fine.work()).ok());
  release.Open();

  const absl::Status status = rejected.Wait();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_THAT(status.message(), HasSubstr("injected rejection"));
  ExpectGolden(fine, /*beam=*/true);
  ExpectGolden(first, /*beam=*/false);
}

TEST_F(TranslateSchedulerTest, ShutdownFinishesEveryAcceptedText) {
  RecordingObserver observer;
  TranslateScheduler scheduler(model_, SchedulerOptions{.max_batch_rows = 8},
                               &observer);
  std::vector<std::unique_ptr<RecordingWork>> works;
  for (const GoldenText& text : *golden_) {
    const bool beam = works.size() % 2 == 1;
    works.push_back(std::make_unique<RecordingWork>(std::vector{&text},
                                                    beam ? Beam() : Greedy()));
    ASSERT_TRUE(scheduler.Submit(works.back()->work()).ok());
  }
  scheduler.Shutdown();
  for (size_t i = 0; i < works.size(); ++i) {
    EXPECT_TRUE(works[i]->done())
        << "Shutdown returned before work " << i << " finished";
    ExpectGolden(*works[i], /*beam=*/i % 2 == 1);
  }
  RecordingWork late({&Text("cjk[0]")}, Greedy());
  EXPECT_EQ(scheduler.Submit(late.work()).code(),
            absl::StatusCode::kUnavailable);
  scheduler.Shutdown();  // idempotent
  EXPECT_FALSE(late.done());
}

}  // namespace
}  // namespace attnserve::server
