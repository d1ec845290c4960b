#ifndef ATTNSERVE_SERVER_MODEL_ENTRY_H_
#define ATTNSERVE_SERVER_MODEL_ENTRY_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/decoding/decode_batch.h"
#include "core/dtype.h"
#include "core/models/sentence_encoder.h"
#include "core/models/sequence_classifier.h"
#include "core/models/translator.h"
#include "server/batching/encode_batcher.h"
#include "server/batching/translate_scheduler.h"
#include "server/metrics.h"

namespace attnserve::server {

// One configured model: its core object, its batcher and its effective limits.
// Created in state LOADING; Load() moves it to READY or FAILED exactly once.
// Calls may look it up at any time: everything but state()/info()/name() may
// only be used once state() is READY. A reload loads a new ModelEntry and
// swaps it in (ModelRepository); calls hold theirs by shared_ptr.
class ModelEntry {
 public:
  ModelEntry(v1::ModelConfig config, LoadOptions defaults, Metrics* metrics);
  ~ModelEntry();  // Shutdown()

  ModelEntry(const ModelEntry&) = delete;
  ModelEntry& operator=(const ModelEntry&) = delete;

  const std::string& name() const { return config_.name(); }
  v1::ModelState state() const {
    return state_.load(std::memory_order_acquire);
  }
  v1::ModelInfo info() const;

  // Loads the folder and starts the batcher; a failure is logged and kept as
  // the FAILED state.
  void Load();
  // A reload from the folder failed while this version keeps serving: shown as
  // info().error with state() still READY.
  void SetReloadError(const std::string& error);
  // Stops taking work and finishes every accepted text.
  void Shutdown();

  // Valid when state() == READY.
  v1::Task task() const { return task_; }
  SentenceEncoder* encoder() const { return encoder_.get(); }
  // TASK_RERANK and TASK_CLASSIFY models.
  SequenceClassifier* classifier() const { return classifier_.get(); }
  Translator* translator() const { return translator_.get(); }
  // Encoders and classifiers (Encode, Rerank, Classify).
  EncodeBatcher* encode_batcher() const { return encode_batcher_.get(); }
  TranslateScheduler* scheduler() const { return scheduler_.get(); }
  const v1::LimitsConfig& limits() const { return limits_; }
  // ModelConfig.auto_truncate: truncate over-long texts the call did not ask
  // to.
  bool auto_truncate() const { return config_.auto_truncate(); }
  // Model defaults with max_new_tokens within limits().
  const GenerationOptions& generation_defaults() const {
    return generation_defaults_;
  }

 private:
  absl::Status LoadOrError();
  // Sets task_, its default batching and info().task.
  void SetTask(v1::Task task);
  absl::Status LoadEncoder(const LoadOptions& options);
  absl::Status LoadClassifier(const LoadOptions& options);
  absl::Status LoadTranslator(const LoadOptions& options);
  // The limits and batcher of an encoder or classifier: input tokens up to
  // `model_max`, the default memory budget from `parameters` and `estimate`.
  void StartEncodeBatcher(uint32_t model_max, int64_t parameters,
                          BatchModel model, const LoadOptions& options,
                          absl::string_view method);
  void Publish(v1::ModelState state, const std::string& error);

  const v1::ModelConfig config_;
  const LoadOptions defaults_;  // dtype unless the config sets one; threads
  Metrics* const metrics_;
  std::atomic<v1::ModelState> state_{v1::MODEL_STATE_LOADING};
  mutable absl::Mutex mu_;
  v1::ModelInfo info_ ABSL_GUARDED_BY(mu_);

  // Written by Load() before state_ becomes READY (release), read-only
  // afterwards.
  v1::Task task_ = v1::TASK_UNSPECIFIED;
  v1::LimitsConfig limits_;
  v1::BatchingConfig batching_;
  GenerationOptions generation_defaults_;
  std::unique_ptr<SentenceEncoder> encoder_;
  std::unique_ptr<SequenceClassifier> classifier_;
  std::unique_ptr<Translator> translator_;
  std::unique_ptr<EncodeBatchObserver> encode_observer_;
  std::unique_ptr<SchedulerObserver> scheduler_observer_;
  std::unique_ptr<EncodeBatcher> encode_batcher_;
  std::unique_ptr<TranslateScheduler> scheduler_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_MODEL_ENTRY_H_
