// A failure inside the core is contained: with allocation or primitive-creation
// faults injected (core/fault_injection.h) under concurrent load, only the
// calls of the failed batch or decoder step end, with RESOURCE_EXHAUSTED or
// INTERNAL and a message; every call is answered, the worker goes on, and once
// the faults stop the same batcher / scheduler answers as before. A model whose
// load fails is FAILED with the reason while the others serve. In-process (the
// batcher, scheduler and repository with the real core), so it runs under ASan
// too (Translate cases skip there: Marian cannot load under sanitizers).
#include <algorithm>
#include <cmath>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/fault_injection.h"
#include "core/models/sentence_encoder.h"
#include "core/models/translator.h"
#include "core/tokenizers/sentencepiece.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/batching/encode_batcher.h"
#include "server/batching/translate_scheduler.h"
#include "server/metrics.h"
#include "server/model_repository.h"

namespace attnserve::server {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

const std::string kBertDir = ATTNSERVE_TEST_DATA_DIR "/bert-tiny";
const std::string kMarianDir = ATTNSERVE_TEST_DATA_DIR "/marian-tiny";
// Bounds every wait: a call that is never answered fails the test instead of
// hanging it.
constexpr auto kCallTimeout = std::chrono::seconds(120);
constexpr int kClientThreads = 4;
constexpr int kCallsPerThread = 6;

// Texts of different lengths, so batches and decoder steps vary in shape.
std::vector<std::string> Texts() {
  std::vector<std::string> texts;
  const std::string words[] = {"the",  "quick", "brown", "fox", "jumps",
                               "over", "a",     "lazy",  "dog", "today"};
  for (int i = 0; i < 10; ++i) {
    std::string text = "Sentence " + std::to_string(i) + ":";
    for (int w = 0; w <= i * 2; ++w) text += " " + words[(i + w) % 10];
    texts.push_back(text + ".");
  }
  return texts;
}

// The texts of call `call` of client `thread`: one to three, round robin.
std::vector<int> TextsOfCall(int thread, int call, int num_texts) {
  const int first = (thread * kCallsPerThread + call) % num_texts;
  const int count = 1 + (thread + call) % 3;
  std::vector<int> indices;
  for (int i = 0; i < count; ++i) indices.push_back((first + i) % num_texts);
  return indices;
}

// Runs kClientThreads x kCallsPerThread calls through `call` (which returns
// the call's status after checking its output) and returns every status.
template <typename CallFn>
std::vector<absl::Status> RunClients(int num_texts, CallFn call) {
  absl::Mutex mu;
  std::vector<absl::Status> statuses;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int c = 0; c < kCallsPerThread; ++c) {
        const absl::Status status = call(TextsOfCall(t, c, num_texts));
        absl::MutexLock lock(&mu);
        statuses.push_back(status);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  return statuses;
}

int CountOk(const std::vector<absl::Status>& statuses) {
  return static_cast<int>(
      std::count_if(statuses.begin(), statuses.end(),
                    [](const absl::Status& s) { return s.ok(); }));
}

// Every failed call has the code of the injected fault and a message naming
// the failed operation.
void ExpectContainedFailures(const std::vector<absl::Status>& statuses,
                             absl::StatusCode code,
                             const std::string& operation) {
  for (const absl::Status& status : statuses) {
    if (status.ok()) continue;
    EXPECT_EQ(status.code(), code) << status;
    EXPECT_THAT(status.message(), HasSubstr(operation)) << status;
  }
}

// ---------------------------------------------------------------------------
// Encode

class NullEncodeObserver : public EncodeBatchObserver {
 public:
  void OnQueueWait(absl::Duration) override {}
  void OnBatch(int, int, absl::Duration) override {}
  void OnQueueDepth(int) override {}
  void OnExpired(int) override {}
};

class EncodeFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DisarmFault();
    auto reference = SentenceEncoder::Load(kBertDir);
    ASSERT_TRUE(reference.ok()) << reference.status();
    for (const std::string& text : Texts()) {
      auto encoding = (*reference)->Tokenize(text, /*truncate=*/true);
      ASSERT_TRUE(encoding.ok()) << encoding.status();
      ids_.push_back(encoding->ids);
      const absl::Span<const int32_t> one[] = {ids_.back()};
      auto embedded = (*reference)->Embed(one, Pooling::kMean, true);
      ASSERT_TRUE(embedded.ok()) << embedded.status();
      expected_.push_back((*embedded)[0]);
    }
    // The model under test is a fresh instance: no primitive created yet.
    auto model = SentenceEncoder::Load(kBertDir);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
    EncodeBatcherOptions options;
    options.model_name = "bert-tiny";
    options.max_batch_size = 4;
    batcher_ = std::make_unique<EncodeBatcher>(EncoderBatchModel(model_.get()),
                                               options, &observer_);
  }
  void TearDown() override { DisarmFault(); }

  // One Encode call: OK only with every embedding equal to the reference.
  absl::Status Call(const std::vector<int>& texts) {
    auto job = std::make_shared<EncodeJob>();
    for (int i : texts) job->ids.push_back(ids_[i]);
    auto done = std::make_shared<std::promise<absl::Status>>();
    job->on_done = [done](const absl::Status& s) { done->set_value(s); };
    std::future<absl::Status> answer = done->get_future();
    const absl::Status submitted = batcher_->Submit(job);
    if (!submitted.ok()) return submitted;
    if (answer.wait_for(kCallTimeout) != std::future_status::ready) {
      ADD_FAILURE() << "an Encode call was not answered";
      return absl::DeadlineExceededError("not answered");
    }
    const absl::Status status = answer.get();
    if (!status.ok()) return status;
    for (size_t i = 0; i < texts.size(); ++i) {
      ExpectNear(job->outputs[i], expected_[texts[i]]);
    }
    return status;
  }

  static void ExpectNear(const std::vector<float>& got,
                         const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    float diff = 0;
    for (size_t d = 0; d < got.size(); ++d)
      diff = std::max(diff, std::abs(got[d] - want[d]));
    EXPECT_LT(diff, 1e-5f);  // batched vs one text: summation order only
  }

  // Load with `plan` armed, then the same load without faults.
  void RunWithFaults(const FaultPlan& plan, absl::StatusCode code) {
    const int n = static_cast<int>(ids_.size());
    ArmFault(plan);
    const std::vector<absl::Status> during =
        RunClients(n, [this](const std::vector<int>& t) { return Call(t); });
    DisarmFault();
    ASSERT_EQ(during.size(), kClientThreads * kCallsPerThread);
    EXPECT_GT(InjectedFaultCount(), 0);
    EXPECT_LT(CountOk(during), static_cast<int>(during.size()));
    ExpectContainedFailures(during, code,
                            "model 'bert-tiny' failed on a batch");
    ExpectContainedFailures(during, code, "encoder forward of");
    std::cout << CountOk(during) << " of " << during.size() << " calls OK with "
              << InjectedFaultCount() << " faults injected\n";

    const std::vector<absl::Status> after =
        RunClients(n, [this](const std::vector<int>& t) { return Call(t); });
    EXPECT_EQ(CountOk(after), static_cast<int>(after.size()));
  }

  NullEncodeObserver observer_;
  std::vector<std::vector<int32_t>> ids_;
  std::vector<std::vector<float>> expected_;
  std::unique_ptr<SentenceEncoder> model_;
  std::unique_ptr<EncodeBatcher> batcher_;
};

TEST_F(EncodeFaultTest, AllocationFailuresEndOnlyTheirBatches) {
  RunWithFaults(FaultPlan{.site = FaultSite::kAlloc, .every = 37},
                absl::StatusCode::kResourceExhausted);
}

TEST_F(EncodeFaultTest, PrimitiveCreationFailuresEndOnlyTheirBatches) {
  RunWithFaults(FaultPlan{.site = FaultSite::kPrimitive, .every = 3},
                absl::StatusCode::kInternal);
}

// ---------------------------------------------------------------------------
// Translate

GenerationOptions Greedy() {
  GenerationOptions options;
  options.max_new_tokens = 16;
  return options;
}

GenerationOptions Beam() {
  GenerationOptions options = Greedy();
  options.beam_size = 3;
  return options;
}

class TranslateFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
    GTEST_SKIP() << kSpmShimUnderAsanMessage;
#endif
    DisarmFault();
    auto reference = Translator::Load(kMarianDir);
    ASSERT_TRUE(reference.ok()) << reference.status();
    for (const std::string& text : Texts()) {
      auto encoding = (*reference)->TokenizeSource(text, /*truncate=*/true);
      ASSERT_TRUE(encoding.ok()) << encoding.status();
      sources_.push_back(encoding->ids);
      const absl::Span<const int32_t> one[] = {sources_.back()};
      auto greedy = (*reference)->Generate(one, Greedy());
      auto beam = (*reference)->Generate(one, Beam());
      ASSERT_TRUE(greedy.ok()) << greedy.status();
      ASSERT_TRUE(beam.ok()) << beam.status();
      greedy_.push_back((*greedy)[0][0].ids);
      beam_.push_back((*beam)[0][0].ids);
    }
    auto model = Translator::Load(kMarianDir);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
    scheduler_ = std::make_unique<TranslateScheduler>(
        model_.get(), SchedulerOptions{.max_batch_rows = 8}, nullptr);
  }
  void TearDown() override { DisarmFault(); }

  // One Translate call (beam when it has two texts): OK only with every text's
  // best hypothesis equal to the reference.
  absl::Status Call(const std::vector<int>& texts) {
    const bool beam = texts.size() == 2;
    auto work = std::make_shared<TranslateWork>();
    for (int i : texts) work->sources.push_back(Encoding{sources_[i]});
    work->options = beam ? Beam() : Greedy();
    auto best =
        std::make_shared<std::vector<std::vector<int32_t>>>(texts.size());
    work->on_event = [best](int index, const DecodeBatch::Event& event) {
      if (event.finished) (*best)[index] = event.hypotheses.at(0).ids;
    };
    auto done = std::make_shared<std::promise<absl::Status>>();
    work->on_done = [done](const absl::Status& s) { done->set_value(s); };
    std::future<absl::Status> answer = done->get_future();
    const absl::Status submitted = scheduler_->Submit(work);
    if (!submitted.ok()) return submitted;
    if (answer.wait_for(kCallTimeout) != std::future_status::ready) {
      ADD_FAILURE() << "a Translate call was not answered";
      return absl::DeadlineExceededError("not answered");
    }
    const absl::Status status = answer.get();
    if (!status.ok()) return status;
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ((*best)[i], beam ? beam_[texts[i]] : greedy_[texts[i]])
          << "text " << texts[i];
    }
    return status;
  }

  void RunWithFaults(const FaultPlan& plan, absl::StatusCode code) {
    const int n = static_cast<int>(sources_.size());
    ArmFault(plan);
    const std::vector<absl::Status> during =
        RunClients(n, [this](const std::vector<int>& t) { return Call(t); });
    DisarmFault();
    ASSERT_EQ(during.size(), kClientThreads * kCallsPerThread);
    EXPECT_GT(InjectedFaultCount(), 0);
    EXPECT_LT(CountOk(during), static_cast<int>(during.size()));
    for (const absl::Status& status : during) {
      if (status.ok()) continue;
      EXPECT_EQ(status.code(), code) << status;
      EXPECT_THAT(status.message(),
                  AnyOf(HasSubstr("translation decoder step failed: decoder "
                                  "step of"),
                        HasSubstr("translation failed to start: encoding")))
          << status;
    }
    std::cout << CountOk(during) << " of " << during.size() << " calls OK with "
              << InjectedFaultCount() << " faults injected\n";

    const std::vector<absl::Status> after =
        RunClients(n, [this](const std::vector<int>& t) { return Call(t); });
    EXPECT_EQ(CountOk(after), static_cast<int>(after.size()));
  }

  std::vector<std::vector<int32_t>> sources_;
  std::vector<std::vector<int32_t>> greedy_, beam_;
  std::unique_ptr<Translator> model_;
  std::unique_ptr<TranslateScheduler> scheduler_;
};

TEST_F(TranslateFaultTest, AllocationFailuresEndOnlyTheirSteps) {
  RunWithFaults(FaultPlan{.site = FaultSite::kAlloc, .every = 97},
                absl::StatusCode::kResourceExhausted);
}

TEST_F(TranslateFaultTest, PrimitiveCreationFailuresEndOnlyTheirSteps) {
  RunWithFaults(FaultPlan{.site = FaultSite::kPrimitive, .every = 4},
                absl::StatusCode::kInternal);
}

// ---------------------------------------------------------------------------
// Loading

class LoadFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DisarmFault();
    // Allocations of one bert-tiny load, to aim a fault at one of two loads.
    ArmFault(FaultPlan{.site = FaultSite::kAlloc});  // counts, never fails
    auto probe = SentenceEncoder::Load(kBertDir);
    allocs_per_load_ = FaultSiteHits();
    DisarmFault();
    ASSERT_TRUE(probe.ok()) << probe.status();
    ASSERT_GT(allocs_per_load_, 0);
    for (const char* name : {"first", "second"}) {
      v1::ModelConfig* model = config_.add_model();
      model->set_name(name);
      model->set_path(kBertDir);
    }
  }
  void TearDown() override { DisarmFault(); }

  // An Encode call through the model's batcher.
  static absl::Status Encode(const ModelEntry& model) {
    auto job = std::make_shared<EncodeJob>();
    auto encoding = model.encoder()->Tokenize("still serving", true);
    if (!encoding.ok()) return encoding.status();
    job->ids.push_back(encoding->ids);
    std::promise<absl::Status> done;
    job->on_done = [&done](const absl::Status& s) { done.set_value(s); };
    std::future<absl::Status> answer = done.get_future();
    const absl::Status submitted = model.encode_batcher()->Submit(job);
    if (!submitted.ok()) return submitted;
    if (answer.wait_for(kCallTimeout) != std::future_status::ready)
      return absl::DeadlineExceededError("the Encode call was not answered");
    return answer.get();
  }

  v1::ServerConfig config_;
  int64_t allocs_per_load_ = 0;
  Metrics metrics_;
};

TEST_F(LoadFaultTest, FailedLoadLeavesModelFailedAndOthersServing) {
  ModelRepository repository(config_, LoadOptions{}, &metrics_);
  ArmFault(FaultPlan{.site = FaultSite::kAlloc, .nth = allocs_per_load_ / 2});
  repository.LoadAll([](const ModelEntry&) {});
  DisarmFault();
  const std::shared_ptr<ModelEntry> first = repository.Find("first");
  const std::shared_ptr<ModelEntry> second = repository.Find("second");
  EXPECT_EQ(first->state(), v1::MODEL_STATE_FAILED);
  EXPECT_THAT(first->info().error(),
              HasSubstr("loading the encoder from " + kBertDir +
                        " failed: out of memory"));
  ASSERT_EQ(second->state(), v1::MODEL_STATE_READY);
  EXPECT_TRUE(Encode(*second).ok());
}

TEST_F(LoadFaultTest, FailedReloadKeepsThePreviousVersionServing) {
  ModelRepository repository(config_, LoadOptions{}, &metrics_);
  repository.LoadAll([](const ModelEntry&) {});
  ASSERT_TRUE(repository.AllReady());
  // ReloadAll loads "first" and then "second": the fault hits the second load.
  ArmFault(FaultPlan{.site = FaultSite::kAlloc, .nth = allocs_per_load_ + 1});
  repository.ReloadAll([](const ModelEntry&) {});
  DisarmFault();
  const std::shared_ptr<ModelEntry> first = repository.Find("first");
  const std::shared_ptr<ModelEntry> second = repository.Find("second");
  ASSERT_EQ(first->state(), v1::MODEL_STATE_READY);
  EXPECT_EQ(first->info().error(), "");
  ASSERT_EQ(second->state(), v1::MODEL_STATE_READY);
  EXPECT_THAT(second->info().error(),
              HasSubstr("reload failed, the previous version keeps serving"));
  EXPECT_THAT(second->info().error(), HasSubstr("out of memory"));
  EXPECT_TRUE(Encode(*first).ok());
  EXPECT_TRUE(Encode(*second).ok());
  repository.ReleaseRetired();
}

}  // namespace
}  // namespace attnserve::server
