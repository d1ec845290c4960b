#ifndef ATTNSERVE_SERVER_METRICS_H_
#define ATTNSERVE_SERVER_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attnserve/v1/attnserve.pb.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/batching/encode_batcher.h"
#include "server/batching/translate_scheduler.h"
#include "server/process_metrics.h"

namespace attnserve::server {

// Method label values (lower snake case of the RPC; "translate" also covers the
// scheduler's per-step series of a translation model, which serves Translate
// and TranslateStream; the batch series of a 1-label cross-encoder are
// "rerank" and of a classifier "classify", though Rerank and Classify calls on
// a cross-encoder share its batches).
inline constexpr absl::string_view kMethodEncode = "encode";
inline constexpr absl::string_view kMethodTranslate = "translate";
inline constexpr absl::string_view kMethodTranslateStream = "translate_stream";
inline constexpr absl::string_view kMethodRerank = "rerank";
inline constexpr absl::string_view kMethodClassify = "classify";
inline constexpr absl::string_view kMethodTokenize = "tokenize";
inline constexpr absl::string_view kMethodListModels = "list_models";
inline constexpr absl::string_view kMethodGetModel = "get_model";

// The server's Prometheus metrics (attnserve_* with labels model and method,
// plus process_*) and the HTTP endpoint that serves them at /metrics.
// Thread-safe.
class Metrics {
 public:
  Metrics();
  ~Metrics();

  // Starts serving GET /metrics on address:port; port 0 picks a free port (see
  // port()).
  absl::Status Serve(const std::string& address, int port);
  int port() const { return port_; }

  void RequestStarted(absl::string_view model, absl::string_view method);
  // `code` is the gRPC status code name, e.g. "OK", "INVALID_ARGUMENT".
  void RequestFinished(absl::string_view model, absl::string_view method,
                       absl::string_view code, absl::Duration duration);
  void AddTokens(absl::string_view model, absl::string_view method,
                 uint64_t input_tokens, uint64_t output_tokens);
  void ObserveTimePerOutputToken(absl::string_view model,
                                 absl::Duration per_token);
  // attnserve_model_info{model,architecture,task,dtype,state} 1; replaces the
  // model's previous series (a reload may change any label).
  void SetModelInfo(const v1::ModelInfo& info);

  // Adapters for the batchers; they must not outlive this object.
  // `method`: the label of the batcher's series (kMethodEncode,
  // kMethodRerank, kMethodClassify).
  std::unique_ptr<EncodeBatchObserver> NewEncodeObserver(
      absl::string_view model, absl::string_view method);
  std::unique_ptr<SchedulerObserver> NewTranslateObserver(
      absl::string_view model);

  prometheus::Histogram& QueueWait(absl::string_view model,
                                   absl::string_view method);
  prometheus::Histogram& Compute(absl::string_view model,
                                 absl::string_view method);
  prometheus::Histogram& BatchSize(absl::string_view model,
                                   absl::string_view method);
  prometheus::Histogram& PaddedTokens(absl::string_view model,
                                      absl::string_view method);
  prometheus::Gauge& QueueDepth(absl::string_view model,
                                absl::string_view method);
  prometheus::Counter& ExpiredTexts(absl::string_view model,
                                    absl::string_view method);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ProcessCollector> process_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Histogram>& queue_wait_;
  prometheus::Family<prometheus::Histogram>& compute_;
  prometheus::Family<prometheus::Histogram>& batch_size_;
  prometheus::Family<prometheus::Histogram>& padded_tokens_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Counter>& expired_texts_;
  prometheus::Family<prometheus::Counter>& input_tokens_;
  prometheus::Family<prometheus::Counter>& output_tokens_;
  prometheus::Family<prometheus::Histogram>& time_per_output_token_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  absl::Mutex model_info_mu_;
  std::map<std::string, prometheus::Gauge*> model_info_series_
      ABSL_GUARDED_BY(model_info_mu_);
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_METRICS_H_
