#include "server/metrics.h"

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace attnserve::server {
namespace {

using prometheus::Histogram;
using prometheus::Labels;

const Histogram::BucketBoundaries& SecondsBuckets() {
  static const auto* buckets = new Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

const Histogram::BucketBoundaries& FineSecondsBuckets() {
  static const auto* buckets = new Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,  0.05,    0.1,    0.25,  0.5,    1};
  return *buckets;
}

const Histogram::BucketBoundaries& BatchSizeBuckets() {
  static const auto* buckets =
      new Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  return *buckets;
}

const Histogram::BucketBoundaries& TokenBuckets() {
  static const auto* buckets = new Histogram::BucketBoundaries{
      16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768};
  return *buckets;
}

Labels ModelMethod(absl::string_view model, absl::string_view method) {
  return Labels{{"model", std::string(model)}, {"method", std::string(method)}};
}

// "DTYPE_BFLOAT16" -> "bfloat16": label values from the proto's own enum names.
std::string EnumLabel(const std::string& name, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
}

std::string DTypeLabel(v1::DType dtype) {
  // UNSPECIFIED means the default precision (see the proto).
  if (dtype == v1::DTYPE_UNSPECIFIED) dtype = v1::DTYPE_FLOAT32;
  return EnumLabel(v1::DType_Name(dtype), "DTYPE_");
}

// Forwards an EncodeBatcher's reports to its model's series (looked up once).
class EncodeObserver : public EncodeBatchObserver {
 public:
  EncodeObserver(Metrics& metrics, absl::string_view model,
                 absl::string_view method)
      : queue_wait_(metrics.QueueWait(model, method)),
        compute_(metrics.Compute(model, method)),
        batch_size_(metrics.BatchSize(model, method)),
        padded_tokens_(metrics.PaddedTokens(model, method)),
        queue_depth_(metrics.QueueDepth(model, method)),
        expired_(metrics.ExpiredTexts(model, method)) {}

  void OnQueueWait(absl::Duration wait) override {
    queue_wait_.Observe(absl::ToDoubleSeconds(wait));
  }
  void OnBatch(int texts, int padded_tokens, absl::Duration compute) override {
    batch_size_.Observe(texts);
    padded_tokens_.Observe(padded_tokens);
    compute_.Observe(absl::ToDoubleSeconds(compute));
  }
  void OnQueueDepth(int texts_waiting) override {
    queue_depth_.Set(texts_waiting);
  }
  void OnExpired(int texts) override { expired_.Increment(texts); }

 private:
  Histogram& queue_wait_;
  Histogram& compute_;
  Histogram& batch_size_;
  Histogram& padded_tokens_;
  prometheus::Gauge& queue_depth_;
  prometheus::Counter& expired_;
};

// Forwards a TranslateScheduler's reports: batch size = decoder rows per step.
class TranslateObserver : public SchedulerObserver {
 public:
  TranslateObserver(Metrics& metrics, absl::string_view model)
      : queue_wait_(metrics.QueueWait(model, kMethodTranslate)),
        compute_(metrics.Compute(model, kMethodTranslate)),
        batch_size_(metrics.BatchSize(model, kMethodTranslate)),
        queue_depth_(metrics.QueueDepth(model, kMethodTranslate)),
        expired_(metrics.ExpiredTexts(model, kMethodTranslate)) {}

  void OnQueueWait(absl::Duration wait) override {
    queue_wait_.Observe(absl::ToDoubleSeconds(wait));
  }
  void OnStep(int rows, int /*sequences*/, absl::Duration compute) override {
    batch_size_.Observe(rows);
    compute_.Observe(absl::ToDoubleSeconds(compute));
  }
  void OnQueueDepth(int texts_waiting) override {
    queue_depth_.Set(texts_waiting);
  }
  void OnExpired(int texts) override { expired_.Increment(texts); }

 private:
  Histogram& queue_wait_;
  Histogram& compute_;
  Histogram& batch_size_;
  prometheus::Gauge& queue_depth_;
  prometheus::Counter& expired_;
};

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      requests_(
          prometheus::BuildCounter()
              .Name("attnserve_requests_total")
              .Help(
                  "gRPC calls finished, by model, method and gRPC status code.")
              .Register(*registry_)),
      request_duration_(
          prometheus::BuildHistogram()
              .Name("attnserve_request_duration_seconds")
              .Help("Time from receiving a call to sending its status.")
              .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("attnserve_in_flight")
                     .Help("Calls received and not yet finished.")
                     .Register(*registry_)),
      queue_wait_(prometheus::BuildHistogram()
                      .Name("attnserve_queue_wait_seconds")
                      .Help("Time a text waited in its model's queue before "
                            "computing started.")
                      .Register(*registry_)),
      compute_(prometheus::BuildHistogram()
                   .Name("attnserve_compute_seconds")
                   .Help("Compute time of one batch (Encode) or one decoder "
                         "step (Translate).")
                   .Register(*registry_)),
      batch_size_(
          prometheus::BuildHistogram()
              .Name("attnserve_batch_size")
              .Help("Texts per Encode batch; decoder rows (texts x beams) per "
                    "Translate step.")
              .Register(*registry_)),
      padded_tokens_(prometheus::BuildHistogram()
                         .Name("attnserve_batch_padded_tokens")
                         .Help("Tokens of an Encode batch including padding "
                               "(texts x longest).")
                         .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("attnserve_queue_depth")
                       .Help("Texts waiting in a model's queue.")
                       .Register(*registry_)),
      expired_texts_(
          prometheus::BuildCounter()
              .Name("attnserve_expired_texts_total")
              .Help("Texts dropped from a model's queue without being "
                    "computed because their call's deadline had passed.")
              .Register(*registry_)),
      input_tokens_(
          prometheus::BuildCounter()
              .Name("attnserve_input_tokens_total")
              .Help(
                  "Tokens fed to the models (after truncation, special tokens "
                  "included) by successful calls.")
              .Register(*registry_)),
      output_tokens_(
          prometheus::BuildCounter()
              .Name("attnserve_output_tokens_total")
              .Help("Tokens generated for successful Translate calls.")
              .Register(*registry_)),
      time_per_output_token_(
          prometheus::BuildHistogram()
              .Name("attnserve_time_per_output_token_seconds")
              .Help("Per translated text: time from submission to its last "
                    "token divided by its generated tokens.")
              .Register(*registry_)),
      model_info_(prometheus::BuildGauge()
                      .Name("attnserve_model_info")
                      .Help("Configured models (value 1) with architecture, "
                            "task, dtype and "
                            "load state.")
                      .Register(*registry_)) {}

Metrics::~Metrics() = default;

absl::Status Metrics::Serve(const std::string& address, int port) {
  const std::string bind = absl::StrCat(address, ":", port);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(bind, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", bind, ": ", e.what(),
                     " (pick another --metrics_port)"));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(process_);
  std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? port : ports.front();
  return absl::OkStatus();
}

void Metrics::RequestStarted(absl::string_view model,
                             absl::string_view method) {
  in_flight_.Add(ModelMethod(model, method)).Increment();
}

void Metrics::RequestFinished(absl::string_view model, absl::string_view method,
                              absl::string_view code, absl::Duration duration) {
  Labels labels = ModelMethod(model, method);
  in_flight_.Add(labels).Decrement();
  request_duration_.Add(labels, SecondsBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
  labels.emplace("code", std::string(code));
  requests_.Add(labels).Increment();
}

void Metrics::AddTokens(absl::string_view model, absl::string_view method,
                        uint64_t input_tokens, uint64_t output_tokens) {
  const Labels labels = ModelMethod(model, method);
  input_tokens_.Add(labels).Increment(static_cast<double>(input_tokens));
  // Encoders and classifiers generate no tokens.
  if (method != kMethodEncode && method != kMethodRerank &&
      method != kMethodClassify) {
    output_tokens_.Add(labels).Increment(static_cast<double>(output_tokens));
  }
}

void Metrics::ObserveTimePerOutputToken(absl::string_view model,
                                        absl::Duration per_token) {
  time_per_output_token_
      .Add(ModelMethod(model, kMethodTranslate), FineSecondsBuckets())
      .Observe(absl::ToDoubleSeconds(per_token));
}

void Metrics::SetModelInfo(const v1::ModelInfo& info) {
  absl::MutexLock lock(&model_info_mu_);
  prometheus::Gauge*& series = model_info_series_[info.name()];
  prometheus::Gauge& next = model_info_.Add(Labels{
      {"model", info.name()},
      {"architecture", info.architecture()},
      {"task", EnumLabel(v1::Task_Name(info.task()), "TASK_")},
      {"dtype", DTypeLabel(info.dtype())},
      {"state", EnumLabel(v1::ModelState_Name(info.state()), "MODEL_STATE_")}});
  if (series != nullptr && series != &next) model_info_.Remove(series);
  series = &next;
  next.Set(1);
}

std::unique_ptr<EncodeBatchObserver> Metrics::NewEncodeObserver(
    absl::string_view model, absl::string_view method) {
  return std::make_unique<EncodeObserver>(*this, model, method);
}

std::unique_ptr<SchedulerObserver> Metrics::NewTranslateObserver(
    absl::string_view model) {
  return std::make_unique<TranslateObserver>(*this, model);
}

prometheus::Histogram& Metrics::QueueWait(absl::string_view model,
                                          absl::string_view method) {
  return queue_wait_.Add(ModelMethod(model, method), FineSecondsBuckets());
}

prometheus::Histogram& Metrics::Compute(absl::string_view model,
                                        absl::string_view method) {
  return compute_.Add(ModelMethod(model, method), FineSecondsBuckets());
}

prometheus::Histogram& Metrics::BatchSize(absl::string_view model,
                                          absl::string_view method) {
  return batch_size_.Add(ModelMethod(model, method), BatchSizeBuckets());
}

prometheus::Histogram& Metrics::PaddedTokens(absl::string_view model,
                                             absl::string_view method) {
  return padded_tokens_.Add(ModelMethod(model, method), TokenBuckets());
}

prometheus::Gauge& Metrics::QueueDepth(absl::string_view model,
                                       absl::string_view method) {
  return queue_depth_.Add(ModelMethod(model, method));
}

prometheus::Counter& Metrics::ExpiredTexts(absl::string_view model,
                                           absl::string_view method) {
  return expired_texts_.Add(ModelMethod(model, method));
}

}  // namespace attnserve::server
