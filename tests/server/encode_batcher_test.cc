// EncodeBatcher against a recording encoder: batches form across calls within
// the limits, texts come back in request order, and the queue bound, deadlines,
// cancellation and shutdown behave as documented.
#include "server/batching/encode_batcher.h"

#include <chrono>
#include <future>
#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::server {
namespace {

// Embeds a text as {first id, length, excluded prompt tokens (-1: none
// passed)}; records every batch; can hold the worker inside Embed.
class RecordingEncoder : public SentenceEncoder {
 public:
  absl::StatusOr<Encoding> Tokenize(std::string_view,
                                    const TokenizeOptions&) const override {
    return absl::UnimplementedError("not used by the batcher");
  }
  absl::StatusOr<int> ExcludedPromptTokens(std::string_view) const override {
    return absl::UnimplementedError("not used by the batcher");
  }
  absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const absl::Span<const int32_t>> batch,
      absl::Span<const int> excluded, PoolingModes, bool) override {
    if (gate_ != nullptr) gate_->WaitForNotification();
    std::vector<std::vector<float>> out;
    std::vector<int> lengths;
    for (size_t i = 0; i < batch.size(); ++i) {
      absl::Span<const int32_t> ids = batch[i];
      out.push_back(
          {static_cast<float>(ids[0]), static_cast<float>(ids.size()),
           excluded.empty() ? -1.f : static_cast<float>(excluded[i])});
      lengths.push_back(static_cast<int>(ids.size()));
    }
    absl::MutexLock lock(&mu_);
    batches_.push_back(lengths);
    return out;
  }
  std::string architecture() const override { return "fake"; }
  int max_input_tokens() const override { return 512; }
  int dimensions(PoolingModes) const override { return 3; }
  absl::Status CheckPooling(PoolingModes) const override {
    return absl::OkStatus();
  }
  PoolingModes default_pooling() const override { return Pooling::kMean; }
  bool default_normalize() const override { return true; }
  DType dtype() const override { return DType::kFloat32; }
  const Prompts& prompts() const override { return prompts_; }
  // 1000 bytes per token: budgets in tests read as token counts.
  int64_t EstimateEncodeBytes(absl::Span<const int> lengths) const override {
    int64_t tokens = 0;
    for (int len : lengths) tokens += len;
    return 1000 * tokens;
  }
  int64_t parameter_count() const override { return 0; }

  std::vector<std::vector<int>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  void set_gate(absl::Notification* gate) { gate_ = gate; }

 private:
  Prompts prompts_;
  absl::Notification* gate_ = nullptr;
  absl::Mutex mu_;
  std::vector<std::vector<int>> batches_;
};

class NullObserver : public EncodeBatchObserver {
 public:
  void OnQueueWait(absl::Duration) override {}
  void OnBatch(int, int, absl::Duration) override {}
  void OnQueueDepth(int) override {}
  void OnExpired(int texts) override { expired += texts; }
  std::atomic<int> expired{0};
};

// A job whose text i has ids {first_id + i, ...} of length lengths[i].
std::shared_ptr<EncodeJob> MakeJob(int first_id,
                                   const std::vector<int>& lengths,
                                   std::promise<absl::Status>* done) {
  auto job = std::make_shared<EncodeJob>();
  for (size_t i = 0; i < lengths.size(); ++i) {
    job->ids.push_back(
        std::vector<int32_t>(lengths[i], first_id + static_cast<int>(i)));
  }
  job->on_done = [done](const absl::Status& status) {
    done->set_value(status);
  };
  return job;
}

EncodeBatcherOptions Options(int max_batch_size, int max_batch_tokens,
                             absl::Duration delay, int max_queue_size = 1024) {
  EncodeBatcherOptions options;
  options.model_name = "fake";
  options.max_batch_size = max_batch_size;
  options.max_batch_tokens = max_batch_tokens;
  options.max_queue_delay = delay;
  options.max_queue_size = max_queue_size;
  return options;
}

TEST(EncodeBatcherTest, SplitsALargeCallAndKeepsTextOrder) {
  RecordingEncoder encoder;
  NullObserver observer;
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(4, 8192, absl::Milliseconds(1)), &observer);
  std::promise<absl::Status> done;
  const std::vector<int> lengths = {5, 30, 2, 9, 17, 3, 30, 1, 12, 6};
  auto job = MakeJob(100, lengths, &done);
  ASSERT_TRUE(batcher.Submit(job).ok());
  ASSERT_TRUE(done.get_future().get().ok());
  ASSERT_EQ(job->outputs.size(), lengths.size());
  for (size_t i = 0; i < lengths.size(); ++i) {
    EXPECT_EQ(job->outputs[i][0], 100 + static_cast<int>(i));
    EXPECT_EQ(job->outputs[i][1], lengths[i]);
  }
  int texts = 0;
  for (const std::vector<int>& batch : encoder.batches()) {
    EXPECT_LE(batch.size(), 4u);
    texts += static_cast<int>(batch.size());
  }
  EXPECT_EQ(texts, 10);
  EXPECT_EQ(encoder.batches().size(), 3u);
}

TEST(EncodeBatcherTest, GathersCallsThatArriveWhileTheWorkerComputes) {
  RecordingEncoder encoder;
  NullObserver observer;
  absl::Notification gate;
  encoder.set_gate(&gate);
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(8, 8192, absl::Seconds(5)), &observer);
  std::promise<absl::Status> first_done;
  ASSERT_TRUE(batcher.Submit(MakeJob(100, {3}, &first_done)).ok());
  absl::SleepFor(absl::Milliseconds(50));  // the worker holds the first text
  std::vector<std::promise<absl::Status>> done(8);
  std::vector<std::shared_ptr<EncodeJob>> jobs;
  for (int i = 0; i < 8; ++i) {
    jobs.push_back(MakeJob(i, {4 + i}, &done[i]));
    ASSERT_TRUE(batcher.Submit(jobs.back()).ok());
  }
  gate.Notify();
  // The batch closes at max_batch_size, long before the 5 s queue delay.
  ASSERT_TRUE(first_done.get_future().get().ok());
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(done[i].get_future().get().ok());
    EXPECT_EQ(jobs[i]->outputs[0][0], i);
  }
  ASSERT_EQ(encoder.batches().size(), 2u);
  EXPECT_EQ(encoder.batches()[0].size(), 1u);
  EXPECT_EQ(encoder.batches()[1].size(), 8u);
}

// Pairs of two classifier calls (a Rerank and a Classify) share one batch:
// the model gets each text's ids with its own token types, and each call gets
// back its own outputs (here: sum of type ids, length) in request order.
TEST(EncodeBatcherTest, ClassifyJobsShareBatchesWithTheirTypeIds) {
  absl::Mutex mu;
  std::vector<int> batch_sizes;
  absl::Notification gate;
  BatchModel model{
      .compute = [&](const BatchInput& batch)
          -> absl::StatusOr<std::vector<std::vector<float>>> {
        gate.WaitForNotification();
        if (batch.type_ids.size() != batch.ids.size())
          return absl::InternalError("type ids missing");
        std::vector<std::vector<float>> out;
        for (size_t i = 0; i < batch.ids.size(); ++i) {
          if (batch.type_ids[i].size() != batch.ids[i].size())
            return absl::InternalError("type ids of another text");
          int ones = 0;
          for (int32_t t : batch.type_ids[i]) ones += t;
          out.push_back({static_cast<float>(ones),
                         static_cast<float>(batch.ids[i].size())});
        }
        absl::MutexLock lock(&mu);
        batch_sizes.push_back(static_cast<int>(batch.ids.size()));
        return out;
      },
      .estimate_bytes = [](absl::Span<const int>) -> int64_t { return 0; }};
  NullObserver observer;
  EncodeBatcher batcher(model, Options(8, 8192, absl::Seconds(5)), &observer);
  // A pair of a texts and b passage tokens: types a x 0, b x 1.
  auto pair_job = [](const std::vector<std::pair<int, int>>& pairs,
                     std::promise<absl::Status>* done) {
    auto job = std::make_shared<EncodeJob>();
    for (const auto& [a, b] : pairs) {
      job->ids.push_back(std::vector<int32_t>(a + b, 7));
      std::vector<int32_t> types(a, 0);
      types.insert(types.end(), b, 1);
      job->type_ids.push_back(std::move(types));
    }
    job->on_done = [done](const absl::Status& s) { done->set_value(s); };
    return job;
  };
  std::promise<absl::Status> first_done, rerank_done, classify_done;
  ASSERT_TRUE(batcher.Submit(pair_job({{2, 1}}, &first_done)).ok());
  absl::SleepFor(absl::Milliseconds(50));  // the worker holds the first job
  auto rerank = pair_job({{3, 5}, {3, 2}, {3, 9}}, &rerank_done);
  auto classify = pair_job({{4, 0}, {2, 6}}, &classify_done);
  ASSERT_TRUE(batcher.Submit(rerank).ok());
  ASSERT_TRUE(batcher.Submit(classify).ok());
  gate.Notify();
  ASSERT_TRUE(first_done.get_future().get().ok());
  ASSERT_TRUE(rerank_done.get_future().get().ok());
  ASSERT_TRUE(classify_done.get_future().get().ok());
  using ::testing::ElementsAre;
  EXPECT_THAT(rerank->outputs, ElementsAre(ElementsAre(5, 8), ElementsAre(2, 5),
                                           ElementsAre(9, 12)));
  EXPECT_THAT(classify->outputs,
              ElementsAre(ElementsAre(0, 4), ElementsAre(6, 8)));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(batch_sizes, ElementsAre(1, 5));
}

// A job whose type ids do not match its texts is refused.
TEST(EncodeBatcherTest, TypeIdsOfAnotherCountAreRefused) {
  RecordingEncoder encoder;
  NullObserver observer;
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(8, 8192, absl::Milliseconds(1)), &observer);
  std::promise<absl::Status> done;
  auto job = MakeJob(1, {3, 4}, &done);
  job->type_ids = {{0, 0, 0}};
  const absl::Status status = batcher.Submit(job);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("type_ids"));
}

// Calls with different prompts share a batch; each text's excluded prompt
// tokens reach Embed with it, and none at all when no call has any.
TEST(EncodeBatcherTest, PassesEachTextsExcludedPromptTokens) {
  RecordingEncoder encoder;
  NullObserver observer;
  absl::Notification gate;
  encoder.set_gate(&gate);
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(8, 8192, absl::Seconds(5)), &observer);
  std::promise<absl::Status> first_done, plain_done, prompted_done;
  auto first = MakeJob(100, {3}, &first_done);
  ASSERT_TRUE(batcher.Submit(first).ok());
  absl::SleepFor(absl::Milliseconds(50));  // the worker holds the first text
  auto plain = MakeJob(200, {4, 5}, &plain_done);
  auto prompted = MakeJob(300, {6}, &prompted_done);
  prompted->excluded_prompt_tokens = 3;
  ASSERT_TRUE(batcher.Submit(plain).ok());
  ASSERT_TRUE(batcher.Submit(prompted).ok());
  gate.Notify();
  ASSERT_TRUE(first_done.get_future().get().ok());
  ASSERT_TRUE(plain_done.get_future().get().ok());
  ASSERT_TRUE(prompted_done.get_future().get().ok());
  EXPECT_EQ(first->outputs[0][2], -1);  // alone, without a prompt
  EXPECT_EQ(plain->outputs[0][2], 0);
  EXPECT_EQ(plain->outputs[1][2], 0);
  EXPECT_EQ(prompted->outputs[0][2], 3);
  ASSERT_EQ(encoder.batches().size(), 2u);
  EXPECT_EQ(encoder.batches()[1].size(), 3u);
}

// An idle worker starts a lone call at once: the batching window only pays
// when calls queued up behind a batch in progress (here the window is an hour;
// a call held for it would time out the wait below).
TEST(EncodeBatcherTest, IdleWorkerDoesNotHoldALoneCallForTheWindow) {
  RecordingEncoder encoder;
  NullObserver observer;
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(8, 8192, absl::Hours(1)), &observer);
  for (int call = 0; call < 3; ++call) {
    std::promise<absl::Status> done;
    ASSERT_TRUE(batcher.Submit(MakeJob(call, {5}, &done)).ok());
    std::future<absl::Status> result = done.get_future();
    ASSERT_EQ(result.wait_for(std::chrono::seconds(60)),
              std::future_status::ready)
        << "call " << call << " was held for the batching window";
    EXPECT_TRUE(result.get().ok());
  }
  EXPECT_EQ(encoder.batches().size(), 3u);
}

TEST(EncodeBatcherTest, PaddedTokensBoundTheBatchAndLengthsGroup) {
  RecordingEncoder encoder;
  NullObserver observer;
  absl::Notification gate;
  encoder.set_gate(&gate);
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(32, 40, absl::Milliseconds(1)), &observer);
  // Held in Embed with a first text, the worker lets the others queue up.
  std::promise<absl::Status> first_done;
  ASSERT_TRUE(batcher.Submit(MakeJob(0, {1}, &first_done)).ok());
  absl::SleepFor(absl::Milliseconds(50));
  std::promise<absl::Status> done;
  auto job = MakeJob(10, {10, 2, 10, 2, 10, 2, 10, 2}, &done);
  ASSERT_TRUE(batcher.Submit(job).ok());
  gate.Notify();
  ASSERT_TRUE(first_done.get_future().get().ok());
  ASSERT_TRUE(done.get_future().get().ok());
  const std::vector<std::vector<int>> batches = encoder.batches();
  for (size_t b = 1; b < batches.size(); ++b) {
    int longest = 0;
    for (int length : batches[b]) longest = std::max(longest, length);
    EXPECT_LE(static_cast<int>(batches[b].size()) * longest, 40);
  }
  // Lengths are grouped: the four 2-token texts share a batch without 10-token
  // ones.
  bool short_batch = false;
  for (const std::vector<int>& batch : batches) {
    if (batch == std::vector<int>{2, 2, 2, 2}) short_batch = true;
  }
  EXPECT_TRUE(short_batch);
}

TEST(EncodeBatcherTest, FullQueueRefusesAtOnce) {
  RecordingEncoder encoder;
  NullObserver observer;
  absl::Notification gate;
  encoder.set_gate(&gate);
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(1, 8192, absl::Milliseconds(1), 2), &observer);
  std::promise<absl::Status> busy, queued;
  ASSERT_TRUE(batcher.Submit(MakeJob(0, {3}, &busy)).ok());
  absl::SleepFor(
      absl::Milliseconds(50));  // the worker now holds the first text
  ASSERT_TRUE(batcher.Submit(MakeJob(1, {3, 3}, &queued)).ok());
  std::promise<absl::Status> refused;
  absl::Status status = batcher.Submit(MakeJob(2, {3}, &refused));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  gate.Notify();
  EXPECT_TRUE(busy.get_future().get().ok());
  EXPECT_TRUE(queued.get_future().get().ok());
}

TEST(EncodeBatcherTest, ExpiredAndCancelledJobsAreNotComputed) {
  RecordingEncoder encoder;
  NullObserver observer;
  absl::Notification gate;
  encoder.set_gate(&gate);
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(1, 8192, absl::Milliseconds(1)), &observer);
  std::promise<absl::Status> busy, expired, cancelled;
  ASSERT_TRUE(batcher.Submit(MakeJob(0, {3}, &busy)).ok());
  absl::SleepFor(absl::Milliseconds(50));
  auto late = MakeJob(1, {3, 3}, &expired);
  late->deadline = absl::Now() + absl::Milliseconds(10);
  ASSERT_TRUE(batcher.Submit(late).ok());
  auto gone = MakeJob(2, {3}, &cancelled);
  ASSERT_TRUE(batcher.Submit(gone).ok());
  gone->cancelled = true;
  absl::SleepFor(absl::Milliseconds(30));
  gate.Notify();
  EXPECT_TRUE(busy.get_future().get().ok());
  EXPECT_EQ(expired.get_future().get().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(cancelled.get_future().get().code(), absl::StatusCode::kCancelled);
  batcher.Shutdown();
  EXPECT_EQ(encoder.batches().size(), 1u);  // only the first text was computed
  EXPECT_EQ(observer.expired.load(), 2) << "both texts of the late job";
}

TEST(EncodeBatcherTest, MemoryBudgetBoundsEveryBatch) {
  RecordingEncoder encoder;
  NullObserver observer;
  EncodeBatcherOptions options = Options(32, 8192, absl::Milliseconds(20));
  options.max_batch_memory_bytes = 10'000;  // 10 tokens of the fake
  EncodeBatcher batcher(EncoderBatchModel(&encoder), options, &observer);
  std::promise<absl::Status> done;
  ASSERT_TRUE(batcher.Submit(MakeJob(0, {4, 4, 4, 4, 4, 2}, &done)).ok());
  EXPECT_TRUE(done.get_future().get().ok());
  int texts = 0;
  for (const std::vector<int>& batch : encoder.batches()) {
    int tokens = 0;
    for (int len : batch) tokens += len;
    EXPECT_LE(tokens, 10) << "a batch over the memory budget";
    texts += static_cast<int>(batch.size());
  }
  EXPECT_EQ(texts, 6);
}

TEST(EncodeBatcherTest, TextOverTheMemoryBudgetIsRefusedAtOnce) {
  RecordingEncoder encoder;
  NullObserver observer;
  EncodeBatcherOptions options = Options(32, 8192, absl::Milliseconds(1));
  options.max_batch_memory_bytes = 10'000;
  EncodeBatcher batcher(EncoderBatchModel(&encoder), options, &observer);
  std::promise<absl::Status> unused;
  const absl::Status status = batcher.Submit(MakeJob(0, {3, 11}, &unused));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(
      status.message(),
      ::testing::AllOf(::testing::HasSubstr("texts[1] has 11 tokens"),
                       ::testing::HasSubstr("estimated 11000 bytes"),
                       ::testing::HasSubstr("max_batch_memory_bytes 10000"),
                       ::testing::HasSubstr("not retryable")));
  EXPECT_TRUE(encoder.batches().empty());
}

TEST(EncodeBatcherTest, FullQueueMessageNamesTheLimitAndSaysRetry) {
  RecordingEncoder encoder;
  NullObserver observer;
  absl::Notification gate;
  encoder.set_gate(&gate);
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(1, 8192, absl::Milliseconds(1), /*queue=*/1),
                        &observer);
  std::promise<absl::Status> busy, queued, refused;
  ASSERT_TRUE(batcher.Submit(MakeJob(0, {3}, &busy)).ok());
  absl::SleepFor(absl::Milliseconds(50));  // the worker holds it in Embed
  ASSERT_TRUE(batcher.Submit(MakeJob(1, {3}, &queued)).ok());
  const absl::Status status = batcher.Submit(MakeJob(2, {3}, &refused));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(),
              ::testing::AllOf(::testing::HasSubstr("queue is full"),
                               ::testing::HasSubstr("max_queue_size 1"),
                               ::testing::HasSubstr("retryable")));
  gate.Notify();
  EXPECT_TRUE(busy.get_future().get().ok());
  EXPECT_TRUE(queued.get_future().get().ok());
}

// The worker is held in Embed for >= 100 ms on a 3-token batch, so the
// measured rate is >= 33 ms per token: 30 queued tokens cannot be computed
// within a 50 ms deadline, whatever the machine's speed.
TEST(EncodeBatcherTest, DeadlineTheQueueCannotMeetIsRefusedAtOnce) {
  RecordingEncoder encoder;
  NullObserver observer;
  auto first_gate = std::make_unique<absl::Notification>();
  encoder.set_gate(first_gate.get());
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(1, 8192, absl::Milliseconds(1)), &observer);
  std::promise<absl::Status> measured;
  ASSERT_TRUE(batcher.Submit(MakeJob(0, {3}, &measured)).ok());
  absl::SleepFor(absl::Milliseconds(100));
  first_gate->Notify();
  ASSERT_TRUE(measured.get_future().get().ok());

  absl::Notification gate;
  encoder.set_gate(&gate);
  std::promise<absl::Status> busy, queued, late, patient;
  ASSERT_TRUE(batcher.Submit(MakeJob(1, {3}, &busy)).ok());
  ASSERT_TRUE(batcher.Submit(MakeJob(2, {10, 10, 10}, &queued)).ok());
  auto hurried = MakeJob(3, {3}, &late);
  hurried->deadline = absl::Now() + absl::Milliseconds(50);
  const absl::Status status = batcher.Submit(hurried);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(),
              ::testing::HasSubstr("cannot compute this call before its "
                                   "deadline"));
  auto no_deadline = MakeJob(4, {3}, &patient);
  EXPECT_TRUE(batcher.Submit(no_deadline).ok()) << "no deadline, no refusal";
  gate.Notify();
  EXPECT_TRUE(patient.get_future().get().ok());
  EXPECT_EQ(observer.expired.load(), 0) << "refused, not queued and dropped";
}

TEST(EncodeBatcherTest, ShutdownFinishesAcceptedTextsThenRefuses) {
  RecordingEncoder encoder;
  NullObserver observer;
  EncodeBatcher batcher(EncoderBatchModel(&encoder),
                        Options(2, 8192, absl::Seconds(10)), &observer);
  std::promise<absl::Status> done;
  auto job = MakeJob(0, {4, 4, 4}, &done);
  ASSERT_TRUE(batcher.Submit(job).ok());
  batcher.Shutdown();  // does not wait the 10 s queue delay
  EXPECT_TRUE(done.get_future().get().ok());
  std::promise<absl::Status> after;
  EXPECT_EQ(batcher.Submit(MakeJob(9, {1}, &after)).code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace attnserve::server
