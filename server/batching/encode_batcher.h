#ifndef ATTNSERVE_SERVER_BATCHING_ENCODE_BATCHER_H_
#define ATTNSERVE_SERVER_BATCHING_ENCODE_BATCHER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/models/sentence_encoder.h"
#include "core/models/sequence_classifier.h"
#include "core/ops/compute_thread.h"

namespace attnserve::server {

// One Encode, Rerank or Classify call's texts, shared between the reactor and
// the batcher.
struct EncodeJob {
  std::vector<std::vector<int32_t>> ids;  // tokenized, validated texts
  // Classifier models: the token types of each text's ids (pairs); empty for
  // encoder models.
  std::vector<std::vector<int32_t>> type_ids;
  // Leading tokens of every text the pooling leaves out (its prompt's, when
  // the model's Pooling has include_prompt false).
  int excluded_prompt_tokens = 0;
  PoolingModes pooling = Pooling::kMean;
  bool normalize = true;
  absl::Time deadline = absl::InfiniteFuture();
  // Set by the reactor when the client cancels; the batcher drops the job's
  // waiting texts.
  std::atomic<bool> cancelled{false};
  // One per text, in request order (an embedding, or a classifier's logits);
  // complete when on_done(OK) runs.
  std::vector<std::vector<float>> outputs;
  // Called exactly once on the batcher thread: OK when every text is computed,
  // else the error (DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED when the
  // model ran out of memory on the batch, INTERNAL) that ended the job.
  std::function<void(const absl::Status& status)> on_done;

  // Batcher bookkeeping (worker thread only, after Submit).
  int remaining = 0;
  bool finished = false;
};

// What the batcher reports for metrics.
class EncodeBatchObserver {
 public:
  virtual ~EncodeBatchObserver() = default;
  virtual void OnQueueWait(
      absl::Duration wait) = 0;  // per text, when its batch starts
  virtual void OnBatch(int texts, int padded_tokens,
                       absl::Duration compute) = 0;
  virtual void OnQueueDepth(int texts_waiting) = 0;
  // Texts dropped from the queue, never computed, because their call's
  // deadline passed while they waited.
  virtual void OnExpired(int texts) = 0;
};

// One batch as the model sees it: spans into the jobs' ids, in batch order.
struct BatchInput {
  std::vector<absl::Span<const int32_t>> ids;
  std::vector<absl::Span<const int32_t>> type_ids;  // classifier models
  std::vector<int> excluded_prompt_tokens;  // empty when all 0 (encoders)
  PoolingModes pooling = Pooling::kMean;    // the batch's key (encoders)
  bool normalize = true;
};

// What the batcher computes with: a sentence encoder (Embed) or a sequence
// classifier (Classify logits). Both are single-caller; the batcher calls
// compute from one thread at a time.
struct BatchModel {
  // One output per text of the batch, in order.
  std::function<absl::StatusOr<std::vector<std::vector<float>>>(
      const BatchInput& batch)>
      compute;
  // Bytes the model holds at once for a batch of these token counts
  // (SentenceEncoder::EstimateEncodeBytes, EstimateClassifyBytes).
  std::function<int64_t(absl::Span<const int> lengths)> estimate_bytes;
};
BatchModel EncoderBatchModel(SentenceEncoder* encoder);
BatchModel ClassifierBatchModel(SequenceClassifier* classifier);

struct EncodeBatcherOptions {
  std::string model_name;  // for error messages
  int max_batch_size = 32;
  int max_batch_tokens = 8192;  // texts x longest text of the batch
  absl::Duration max_queue_delay = absl::Milliseconds(2);
  int max_queue_size = 1024;  // texts waiting
  // BatchModel::estimate_bytes of a batch stays within this; a call
  // with a text that alone exceeds it is refused.
  int64_t max_batch_memory_bytes = std::numeric_limits<int64_t>::max();
  // Where compute runs (core/ops/compute_thread.h says why); null: on the
  // batcher's own worker thread.
  ComputeThread* compute_thread = nullptr;
};

// Dynamic batching for one encoder or classifier: texts (or pairs) of
// concurrent calls are gathered into batches that one worker thread runs
// through BatchModel::compute (SentenceEncoder::Embed or
// SequenceClassifier::Classify, both single-caller); Rerank and Classify calls
// on one classifier share batches. A batch closes when it has max_batch_size
// texts, when its padded tokens reach max_batch_tokens, or when its oldest text
// has waited max_queue_delay, or when one more text would exceed
// max_batch_memory_bytes (estimated by the model). Texts of similar length are
// batched together to keep padding low; a call's texts may land in several
// batches and are put back in order.
class EncodeBatcher {
 public:
  EncodeBatcher(BatchModel model, EncodeBatcherOptions options,
                EncodeBatchObserver* observer);
  ~EncodeBatcher();  // Shutdown()

  // Refuses at once, without queueing: RESOURCE_EXHAUSTED when the queue is
  // full (retryable) or a text alone exceeds max_batch_memory_bytes (not
  // retryable); DEADLINE_EXCEEDED when the texts queued ahead and the job's own
  // cannot be computed before its deadline at the recent compute rate;
  // UNAVAILABLE after Shutdown() began. On OK the job's on_done will be called
  // exactly once.
  absl::Status Submit(std::shared_ptr<EncodeJob> job);
  // Stops taking work, computes every accepted text, joins the worker.
  void Shutdown();

 private:
  struct Item {
    std::shared_ptr<EncodeJob> job;
    int index = 0;   // text index within the job
    int length = 0;  // tokens
    absl::Time enqueued;
  };

  void Run();
  absl::Status CheckMemory(const EncodeJob& job) const;
  absl::Status CheckDeadlineLocked(const EncodeJob& job, int64_t tokens,
                                   absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordRate(int64_t tokens, absl::Duration compute);
  bool BatchReadyLocked(absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<Item> TakeDroppedLocked(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<Item> TakeBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailDropped(const std::vector<Item>& dropped, absl::Time now);
  void Compute(const std::vector<Item>& batch);

  const BatchModel model_;
  const EncodeBatcherOptions options_;
  EncodeBatchObserver* const observer_;

  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  // Tokens of the texts in queue_ and of the batch being computed: the work a
  // new job waits for.
  int64_t queued_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t computing_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  // Recent compute time per token (moving average over batches); zero until a
  // batch was computed.
  double seconds_per_token_ ABSL_GUARDED_BY(mu_) = 0.0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  // When the worker last finished computing a batch (worker thread only).
  absl::Time free_since_ = absl::InfinitePast();
  std::thread worker_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_BATCHING_ENCODE_BATCHER_H_
