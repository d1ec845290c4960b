#include "server/translate_call.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/time/clock.h"
#include "server/call_record.h"
#include "server/raw_messages.h"
#include "server/request_validation.h"
#include "server/translate_work.h"

namespace attnserve::server {
namespace {

class TranslateReactor : public grpc::ServerUnaryReactor {
 public:
  TranslateReactor(ServiceContext& service,
                   grpc::CallbackServerContext* context,
                   const v1::TranslateRequest& request,
                   grpc::ByteBuffer* response)
      : service_(service),
        metrics_(service.metrics),
        record_(service.metrics, kMethodTranslate,
                service.ModelLabel(request.model())),
        out_(response) {
    absl::Status status = Start(service, context, request);
    if (!status.ok()) Complete(status);
  }

  // Only after the handler returned, hence after work_ was set.
  void OnCancel() override {
    if (work_ != nullptr)
      work_->cancelled.store(true, std::memory_order_relaxed);
  }
  void OnDone() override { delete this; }

 private:
  absl::Status Start(ServiceContext& service,
                     grpc::CallbackServerContext* context,
                     const v1::TranslateRequest& request) {
    absl::StatusOr<PreparedTranslation> prepared =
        PrepareTranslation(service, context, request);
    if (!prepared.ok()) return prepared.status();
    model_ = prepared->model;
    input_tokens_ = prepared->input_tokens;
    work_ = prepared->work;
    for (const Encoding& source : work_->sources) {
      v1::Translation* translation = response_.add_translations();
      translation->set_input_tokens(static_cast<uint32_t>(source.ids.size()));
      translation->set_truncated(source.truncated);
    }
    work_->on_event = [this](int index, const DecodeBatch::Event& event) {
      if (event.finished) OnTextFinished(index, event);
    };
    work_->on_done = [this](const absl::Status& status) { OnWorkDone(status); };
    return model_->scheduler()->Submit(work_);
  }

  // Scheduler thread.
  void OnTextFinished(int index, const DecodeBatch::Event& event) {
    if (index < 0 || index >= response_.translations_size()) return;
    const uint64_t tokens =
        FillHypotheses(*model_->translator(), event.hypotheses,
                       response_.mutable_translations(index));
    output_tokens_ += tokens;
    if (!event.hypotheses.empty() && !event.hypotheses.front().ids.empty()) {
      metrics_->ObserveTimePerOutputToken(
          model_->name(),
          (absl::Now() - work_->enqueued) /
              static_cast<double>(event.hypotheses.front().ids.size()));
    }
  }

  // Scheduler thread, exactly once after a successful Submit.
  void OnWorkDone(const absl::Status& status) {
    if (status.ok()) {
      response_.mutable_usage()->set_input_tokens(input_tokens_);
      response_.mutable_usage()->set_output_tokens(output_tokens_);
      response_.set_model(model_->name());
    }
    Complete(status);
  }

  void Complete(absl::Status status) {
    // Guards against a scheduler that reports a refused Submit through on_done
    // as well.
    if (completed_.exchange(true)) return;
    if (status.ok()) {
      SerializeResponse(response_, out_);
      status = service_.CheckResponseSize(out_->Length());
    }
    const grpc::Status grpc_status = ToGrpcStatus(status);
    record_.Finish(grpc_status, input_tokens_, output_tokens_);
    Finish(grpc_status);
  }

  const ServiceContext& service_;
  Metrics* const metrics_;
  CallRecord record_;
  v1::TranslateResponse response_;
  grpc::ByteBuffer* const out_;
  std::shared_ptr<ModelEntry> model_;  // the version this call runs on
  std::shared_ptr<TranslateWork> work_;
  uint64_t input_tokens_ = 0;
  uint64_t output_tokens_ = 0;
  std::atomic<bool> completed_{false};
};

}  // namespace

grpc::ServerUnaryReactor* StartTranslate(ServiceContext& service,
                                         grpc::CallbackServerContext* context,
                                         const v1::TranslateRequest& request,
                                         grpc::ByteBuffer* response) {
  return new TranslateReactor(service, context, request, response);
}

}  // namespace attnserve::server
