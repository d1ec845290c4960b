#include "server/model_entry.h"

#include <malloc.h>

#include <algorithm>
#include <limits>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/models/model_folder.h"
#include "core/ops/compute_thread.h"
#include "core/ops/compute_threads.h"
#include "core/status_guard.h"
#include "server/logging.h"
#include "server/request_validation.h"

namespace attnserve::server {
namespace {

// Server defaults for unset (0) BatchingConfig / LimitsConfig fields.
constexpr uint32_t kEncodeMaxBatchSize = 32;
constexpr uint32_t kTranslateMaxBatchRows = 64;
constexpr uint32_t kMaxBatchTokens = 8192;
constexpr uint32_t kMaxQueueDelayUs = 2000;
// Indexing clients send a thousand texts and more in one Encode call
// (LangChain-style embed_documents); a call is split across batches anyway.
constexpr uint32_t kEncodeMaxTextsPerRequest = 2048;
constexpr uint32_t kTranslateMaxTextsPerRequest = 256;
// Two calls of the default maximum may wait (a call that does not fit is
// refused unless the queue is empty).
constexpr uint32_t kEncodeMaxQueueSize = 2 * kEncodeMaxTextsPerRequest;
constexpr uint32_t kTranslateMaxQueueSize = 1024;
constexpr uint32_t kMaxBeamSize = 16;

uint32_t OrDefault(uint32_t value, uint32_t fallback) {
  return value != 0 ? value : fallback;
}

// Default batching.max_batch_memory_bytes: twice the model's weights in f32
// (4 bytes per parameter, whatever dtype it runs in: activations are f32),
// at least 256 MiB, and never less than one text at the model's limits needs
// (so that the defaults never refuse a call the other limits allow). Why the
// weights: whoever sizes a machine for a model sizes it by the model, and with
// this budget a model's resident memory stays under about weights + budget
// (bench/README.md, "Memory per request", measures it). Why the floor: small
// models still get full default batches (all-MiniLM-L6-v2: 22.7M parameters,
// 182 MB x 2 would cut its 32 x 256-token batches).
constexpr int64_t kMinBatchMemoryBytes = int64_t{256} << 20;

uint64_t DefaultBatchMemoryBytes(int64_t parameters, int64_t worst_text_bytes) {
  return static_cast<uint64_t>(
      std::max({kMinBatchMemoryBytes, 2 * 4 * parameters, worst_text_bytes}));
}

DType ToCoreDType(v1::DType dtype, DType fallback) {
  switch (dtype) {
    case v1::DTYPE_FLOAT32:
      return DType::kFloat32;
    case v1::DTYPE_BFLOAT16:
      return DType::kBFloat16;
    case v1::DTYPE_INT8:
      return DType::kInt8;
    default:
      return fallback;
  }
}

v1::DType ToProtoDType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return v1::DTYPE_FLOAT32;
    case DType::kBFloat16:
      return v1::DTYPE_BFLOAT16;
    case DType::kInt8:
      return v1::DTYPE_INT8;
  }
  return v1::DTYPE_UNSPECIFIED;
}

v1::BatchingConfig EffectiveBatching(const v1::BatchingConfig& config,
                                     v1::Task task) {
  v1::BatchingConfig out;
  out.set_max_batch_size(
      OrDefault(config.max_batch_size(), task == v1::TASK_TRANSLATE
                                             ? kTranslateMaxBatchRows
                                             : kEncodeMaxBatchSize));
  out.set_max_batch_tokens(
      OrDefault(config.max_batch_tokens(), kMaxBatchTokens));
  out.set_max_queue_delay_us(
      OrDefault(config.max_queue_delay_us(), kMaxQueueDelayUs));
  out.set_max_queue_size(
      OrDefault(config.max_queue_size(), task == v1::TASK_TRANSLATE
                                             ? kTranslateMaxQueueSize
                                             : kEncodeMaxQueueSize));
  // 0 = default, which needs the loaded model (DefaultBatchMemoryBytes).
  out.set_max_batch_memory_bytes(std::min<uint64_t>(
      config.max_batch_memory_bytes(), std::numeric_limits<int64_t>::max()));
  return out;
}

// Models that run OpenMP teams compute on the one shared compute thread
// (core/ops/compute_thread.h says why). A model with one thread runs no team:
// its own worker computes, without the hand-over, in parallel with the others.
ComputeThread* ComputeThreadFor(const LoadOptions& options) {
  const int threads =
      options.threads > 0 ? options.threads : ComputeThreadsOfThisThread();
  return threads == 1 ? nullptr : &ComputeThread::Shared();
}

}  // namespace

ModelEntry::ModelEntry(v1::ModelConfig config, LoadOptions defaults,
                       Metrics* metrics)
    : config_(std::move(config)), defaults_(defaults), metrics_(metrics) {
  absl::MutexLock lock(&mu_);
  info_.set_name(config_.name());
  info_.set_path(config_.path());
  info_.set_state(v1::MODEL_STATE_LOADING);
  info_.set_dtype(ToProtoDType(ToCoreDType(config_.dtype(), defaults_.dtype)));
}

ModelEntry::~ModelEntry() { Shutdown(); }

v1::ModelInfo ModelEntry::info() const {
  absl::MutexLock lock(&mu_);
  return info_;
}

void ModelEntry::Load() {
  const absl::Time start = absl::Now();
  // Loading runs oneDNN reorders, i.e. OpenMP parallel regions, and libgomp
  // keeps a team of pool threads for every thread that ever started one, for
  // as long as that thread lives. One lingering team beside the worker's puts
  // more OpenMP threads in the process than cores, and libgomp then caps every
  // team's spin at 100 iterations ("throttled"), so the worker's team sleeps
  // and is woken by futex at each of the ~120 parallel regions of a MiniLM
  // forward: measured on 2 cores, one short text 7.0 ms of compute with 252
  // context switches per call instead of 1.8 ms in process. A thread that
  // exits frees its team, so the load runs in one. The core's Load functions
  // catch their own exceptions; CatchToStatus also covers the server's part
  // (batcher / scheduler threads, metrics) of a load or reload.
  absl::Status status;
  std::thread([&] {
    status = CatchToStatus(absl::StrCat("loading model '", name(), "'"),
                           [this] { return LoadOrError(); });
  }).join();
  // Loading converts and re-lays every weight (f32 tensors, then packed,
  // int8 or bf16 copies); glibc keeps the freed transient copies in its heap
  // (measured: BERT-base int8 resident 594 MB for 266 MB of weights). Give
  // them back, so the resident memory is what the models hold.
  malloc_trim(0);
  if (!status.ok()) {
    LogError(absl::StrCat("model '", name(), "' failed to load from ",
                          config_.path(), ": ", status.ToString()));
    Publish(v1::MODEL_STATE_FAILED, std::string(status.message()));
    return;
  }
  LogInfo(absl::StrCat("model '", name(), "' ready (", info().architecture(),
                       ", ", v1::Task_Name(task_), ") from ", config_.path(),
                       " in ", absl::FormatDuration(absl::Now() - start)));
  Publish(v1::MODEL_STATE_READY, "");
}

void ModelEntry::SetReloadError(const std::string& error) {
  v1::ModelInfo snapshot;
  {
    absl::MutexLock lock(&mu_);
    info_.set_error(error);
    snapshot = info_;
  }
  metrics_->SetModelInfo(snapshot);
}

void ModelEntry::Publish(v1::ModelState state, const std::string& error) {
  v1::ModelInfo snapshot;
  {
    absl::MutexLock lock(&mu_);
    info_.set_state(state);
    info_.set_error(error);
    snapshot = info_;
  }
  metrics_->SetModelInfo(snapshot);
  state_.store(state, std::memory_order_release);
}

absl::Status ModelEntry::LoadOrError() {
  absl::StatusOr<ModelKind> kind = ReadModelKind(config_.path());
  if (!kind.ok()) return kind.status();
  {
    absl::MutexLock lock(&mu_);
    info_.set_architecture(kind->model_type);
  }
  LoadOptions options = defaults_;
  options.dtype = ToCoreDType(config_.dtype(), defaults_.dtype);
  switch (kind->task) {
    case ModelTask::kEncode:
      SetTask(v1::TASK_ENCODE);
      return LoadEncoder(options);
    case ModelTask::kClassify:
      // TASK_RERANK or TASK_CLASSIFY by the labels: known once loaded.
      return LoadClassifier(options);
    case ModelTask::kTranslate:
      SetTask(v1::TASK_TRANSLATE);
      return LoadTranslator(options);
  }
  return absl::InternalError("unknown model task");
}

void ModelEntry::SetTask(v1::Task task) {
  task_ = task;
  batching_ = EffectiveBatching(config_.batching(), task_);
  absl::MutexLock lock(&mu_);
  info_.set_task(task_);
}

absl::Status ModelEntry::LoadEncoder(const LoadOptions& options) {
  absl::StatusOr<std::unique_ptr<SentenceEncoder>> encoder =
      SentenceEncoder::Load(config_.path(), options);
  if (!encoder.ok()) return encoder.status();
  encoder_ = *std::move(encoder);
  StartEncodeBatcher(static_cast<uint32_t>(encoder_->max_input_tokens()),
                     encoder_->parameter_count(),
                     EncoderBatchModel(encoder_.get()), options, kMethodEncode);

  absl::MutexLock lock(&mu_);
  info_.set_architecture(encoder_->architecture());
  info_.set_dtype(ToProtoDType(encoder_->dtype()));
  info_.set_max_input_tokens(limits_.max_input_tokens());
  info_.set_embedding_dimensions(static_cast<uint32_t>(encoder_->dimensions()));
  const std::vector<Pooling> modes = encoder_->default_pooling().modes();
  for (Pooling mode : modes) info_.add_pooling_modes(ToProtoPooling(mode));
  info_.set_pooling(modes.size() == 1 ? ToProtoPooling(modes[0])
                                      : v1::POOLING_UNSPECIFIED);
  info_.set_normalize(encoder_->default_normalize());
  for (const auto& [prompt_name, text] : encoder_->prompts().by_name)
    (*info_.mutable_prompts())[prompt_name] = text;
  info_.set_default_prompt_name(encoder_->prompts().default_name);
  info_.set_auto_truncate(config_.auto_truncate());
  *info_.mutable_batching() = batching_;
  *info_.mutable_limits() = limits_;
  return absl::OkStatus();
}

void ModelEntry::StartEncodeBatcher(uint32_t model_max, int64_t parameters,
                                    BatchModel model,
                                    const LoadOptions& options,
                                    absl::string_view method) {
  const v1::LimitsConfig& wanted = config_.limits();
  limits_.set_max_texts_per_request(
      OrDefault(wanted.max_texts_per_request(), kEncodeMaxTextsPerRequest));
  limits_.set_max_input_tokens(
      std::min(OrDefault(wanted.max_input_tokens(), model_max), model_max));
  if (config_.batching().max_batch_memory_bytes() == 0) {
    const int longest[] = {static_cast<int>(limits_.max_input_tokens())};
    batching_.set_max_batch_memory_bytes(
        DefaultBatchMemoryBytes(parameters, model.estimate_bytes(longest)));
  }
  EncodeBatcherOptions batcher;
  batcher.model_name = name();
  batcher.max_batch_size = static_cast<int>(batching_.max_batch_size());
  batcher.max_batch_tokens = static_cast<int>(batching_.max_batch_tokens());
  batcher.max_queue_delay = absl::Microseconds(batching_.max_queue_delay_us());
  batcher.max_queue_size = static_cast<int>(batching_.max_queue_size());
  batcher.compute_thread = ComputeThreadFor(options);
  batcher.max_batch_memory_bytes =
      static_cast<int64_t>(batching_.max_batch_memory_bytes());
  encode_observer_ = metrics_->NewEncodeObserver(name(), method);
  encode_batcher_ = std::make_unique<EncodeBatcher>(std::move(model), batcher,
                                                    encode_observer_.get());
}

absl::Status ModelEntry::LoadClassifier(const LoadOptions& options) {
  absl::StatusOr<std::unique_ptr<SequenceClassifier>> classifier =
      SequenceClassifier::Load(config_.path(), options);
  if (!classifier.ok()) return classifier.status();
  classifier_ = *std::move(classifier);
  // CrossEncoder.rank takes only 1-label models (sequence_classifier.h).
  SetTask(classifier_->num_labels() == 1 ? v1::TASK_RERANK : v1::TASK_CLASSIFY);
  StartEncodeBatcher(
      static_cast<uint32_t>(classifier_->max_input_tokens()),
      classifier_->parameter_count(), ClassifierBatchModel(classifier_.get()),
      options, task_ == v1::TASK_RERANK ? kMethodRerank : kMethodClassify);

  absl::MutexLock lock(&mu_);
  info_.set_architecture(classifier_->architecture());
  info_.set_dtype(ToProtoDType(classifier_->dtype()));
  info_.set_max_input_tokens(limits_.max_input_tokens());
  for (const std::string& label : classifier_->labels())
    info_.add_labels(label);
  info_.set_num_labels(static_cast<uint32_t>(classifier_->num_labels()));
  *info_.mutable_batching() = batching_;
  *info_.mutable_limits() = limits_;
  return absl::OkStatus();
}

absl::Status ModelEntry::LoadTranslator(const LoadOptions& options) {
  absl::StatusOr<std::unique_ptr<Translator>> translator =
      Translator::Load(config_.path(), options);
  if (!translator.ok()) return translator.status();
  translator_ = *std::move(translator);
  const v1::LimitsConfig& wanted = config_.limits();
  const uint32_t model_max_input =
      static_cast<uint32_t>(translator_->max_input_tokens());
  const uint32_t model_max_new =
      static_cast<uint32_t>(translator_->max_new_tokens_limit());
  limits_.set_max_texts_per_request(
      OrDefault(wanted.max_texts_per_request(), kTranslateMaxTextsPerRequest));
  limits_.set_max_input_tokens(std::min(
      OrDefault(wanted.max_input_tokens(), model_max_input), model_max_input));
  limits_.set_max_new_tokens(std::min(
      OrDefault(wanted.max_new_tokens(), model_max_new), model_max_new));
  // A text's beams run together, so a beam wider than the batch could never be
  // scheduled.
  limits_.set_max_beam_size(
      std::min(OrDefault(wanted.max_beam_size(), kMaxBeamSize),
               batching_.max_batch_size()));

  generation_defaults_ = translator_->default_options();
  generation_defaults_.max_new_tokens =
      std::min<int>(generation_defaults_.max_new_tokens,
                    static_cast<int>(limits_.max_new_tokens()));
  generation_defaults_.beam_size =
      std::clamp<int>(generation_defaults_.beam_size, 1,
                      static_cast<int>(limits_.max_beam_size()));
  generation_defaults_.num_hypotheses = 1;

  if (config_.batching().max_batch_memory_bytes() == 0) {
    batching_.set_max_batch_memory_bytes(DefaultBatchMemoryBytes(
        translator_->parameter_count(),
        translator_->EstimateTranslateBytes(
            static_cast<int>(limits_.max_input_tokens()),
            static_cast<int>(limits_.max_beam_size()),
            static_cast<int>(limits_.max_new_tokens()))));
  }
  SchedulerOptions scheduler;
  scheduler.max_batch_rows = static_cast<int>(batching_.max_batch_size());
  scheduler.max_queue_size = static_cast<int>(batching_.max_queue_size());
  scheduler.compute_thread = ComputeThreadFor(options);
  scheduler.max_memory_bytes =
      static_cast<int64_t>(batching_.max_batch_memory_bytes());
  scheduler.model_name = name();
  scheduler_observer_ = metrics_->NewTranslateObserver(name());
  scheduler_ = std::make_unique<TranslateScheduler>(
      translator_.get(), scheduler, scheduler_observer_.get());

  absl::MutexLock lock(&mu_);
  info_.set_architecture(translator_->architecture());
  info_.set_dtype(ToProtoDType(translator_->dtype()));
  info_.set_max_input_tokens(limits_.max_input_tokens());
  for (const std::string& lang : translator_->source_languages())
    info_.add_source_languages(lang);
  for (const std::string& lang : translator_->target_languages())
    info_.add_target_languages(lang);
  info_.set_default_beam_size(
      static_cast<uint32_t>(generation_defaults_.beam_size));
  info_.set_default_max_new_tokens(
      static_cast<uint32_t>(generation_defaults_.max_new_tokens));
  *info_.mutable_batching() = batching_;
  *info_.mutable_limits() = limits_;
  return absl::OkStatus();
}

void ModelEntry::Shutdown() {
  if (encode_batcher_) encode_batcher_->Shutdown();
  if (scheduler_) scheduler_->Shutdown();
}

}  // namespace attnserve::server
