#ifndef ATTNSERVE_SERVER_BATCHING_TRANSLATE_SCHEDULER_H_
#define ATTNSERVE_SERVER_BATCHING_TRANSLATE_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/decoding/decode_batch.h"
#include "core/models/translator.h"
#include "core/ops/compute_thread.h"
#include "core/tokenizers/encoding.h"

namespace attnserve::server {

// One Translate/TranslateStream call's work, shared between the reactor and the
// scheduler.
struct TranslateWork {
  std::vector<Encoding> sources;  // tokenized, validated texts
  GenerationOptions options;
  absl::Time deadline = absl::InfiniteFuture();
  absl::Time enqueued = absl::Now();
  // Set by the reactor when the client cancels; the scheduler drops the texts
  // at the next step.
  std::atomic<bool> cancelled{false};
  // Called on the scheduler thread for every event of text `index` (greedy:
  // each new token; every text: its finishing event with hypotheses).
  std::function<void(int index, const DecodeBatch::Event& event)> on_event;
  // Called exactly once on the scheduler thread: OK after every text finished,
  // or the error (DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED when the
  // model ran out of memory on a step or encoder pass with this work's texts,
  // INTERNAL) that ended the work.
  std::function<void(const absl::Status& status)> on_done;
};

// What the scheduler reports for metrics (implemented by the server's metrics
// layer).
class SchedulerObserver {
 public:
  virtual ~SchedulerObserver() = default;
  virtual void OnQueueWait(
      absl::Duration wait) = 0;  // per text, when it joins the batch
  virtual void OnStep(int rows, int sequences, absl::Duration compute) = 0;
  virtual void OnQueueDepth(int texts_waiting) = 0;
  // Texts dropped before they joined the batch because their call's deadline
  // passed while they waited.
  virtual void OnExpired(int texts) = 0;
};

struct SchedulerOptions {
  int max_batch_rows = 64;   // decoder rows (texts x beams) running together
  int max_queue_size = 256;  // texts waiting beyond which Submit refuses
  // Sum of Translator::EstimateTranslateBytes over the running texts stays
  // within this; a work with a text that alone exceeds it is refused.
  int64_t max_memory_bytes = std::numeric_limits<int64_t>::max();
  std::string model_name;  // for error messages
  // Where the decode batch runs (core/ops/compute_thread.h says why); null:
  // on the scheduler's own worker thread.
  ComputeThread* compute_thread = nullptr;
};

// Continuous batching for one translation model: a single worker thread owns a
// DecodeBatch; before every decoder step it admits waiting texts (encoding them
// in one pass) while rows and memory (max_memory_bytes) are free, then steps,
// delivers events and retires finished or cancelled texts.
class TranslateScheduler {
 public:
  TranslateScheduler(Translator* model, SchedulerOptions options,
                     SchedulerObserver* observer);
  ~TranslateScheduler();  // Shutdown()

  // Refuses at once: RESOURCE_EXHAUSTED when the queue is full (retryable), or
  // when the work has more texts than the queue holds or a text that alone
  // exceeds max_memory_bytes (not retryable); UNAVAILABLE after Shutdown()
  // began.
  absl::Status Submit(std::shared_ptr<TranslateWork> work);
  // Stops taking work, finishes every accepted text, joins the worker.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_BATCHING_TRANSLATE_SCHEDULER_H_
