#include "server/encode_call.h"

#include <memory>

#include "server/batching/encode_batcher.h"
#include "server/call_record.h"
#include "server/raw_messages.h"
#include "server/request_validation.h"

namespace attnserve::server {
namespace {

class EncodeReactor : public grpc::ServerUnaryReactor {
 public:
  EncodeReactor(ServiceContext& service, grpc::CallbackServerContext* context,
                const v1::EncodeRequest& request, grpc::ByteBuffer* response)
      : service_(service),
        record_(service.metrics, kMethodEncode,
                service.ModelLabel(request.model())),
        out_(response) {
    absl::Status status = Start(service, context, request);
    if (!status.ok()) Complete(status);
  }

  // Only after the handler returned, hence after job_ was set.
  void OnCancel() override {
    if (job_ != nullptr) job_->cancelled.store(true, std::memory_order_relaxed);
  }
  void OnDone() override { delete this; }

 private:
  absl::Status Start(ServiceContext& service,
                     grpc::CallbackServerContext* context,
                     const v1::EncodeRequest& request) {
    if (absl::Status s = service.CheckAcceptingCalls(); !s.ok()) return s;
    absl::StatusOr<std::shared_ptr<ModelEntry>> model =
        ResolveModel(*service.models, request.model(), v1::TASK_ENCODE);
    if (!model.ok()) return model.status();
    model_ = *model;
    if (absl::Status s = CheckTextCount(request.texts_size(), *model_); !s.ok())
      return s;
    absl::StatusOr<EncodeOptions> options =
        ResolveEncodeOptions(request, *model_);
    if (!options.ok()) return options.status();
    dimensions_ = options->dimensions;
    renormalize_ = options->renormalize;
    auto job = std::make_shared<EncodeJob>();
    job->deadline = CallDeadline(context->deadline());
    job->excluded_prompt_tokens = options->excluded_prompt_tokens;
    job->pooling = options->pooling;
    job->normalize = options->normalize;
    for (int i = 0; i < request.texts_size(); ++i) {
      absl::StatusOr<Encoding> encoding =
          TokenizeText(*model_, request.texts(i), i, options->text);
      if (!encoding.ok()) return encoding.status();
      v1::Embedding* embedding = response_.add_embeddings();
      embedding->set_input_tokens(static_cast<uint32_t>(encoding->ids.size()));
      embedding->set_truncated(encoding->truncated);
      input_tokens_ += encoding->ids.size();
      job->ids.push_back(std::move(encoding->ids));
    }
    if (absl::Status s = CheckDeadline(job->deadline); !s.ok()) return s;
    job->on_done = [this](const absl::Status& status) { OnEmbedded(status); };
    job_ = job;
    return model_->encode_batcher()->Submit(std::move(job));
  }

  // On the batcher thread, exactly once after a successful Submit.
  void OnEmbedded(const absl::Status& status) {
    if (status.ok()) {
      for (size_t i = 0; i < job_->outputs.size(); ++i) {
        std::vector<float>& values = job_->outputs[i];
        if (dimensions_ > 0)
          TruncateEmbedding(dimensions_, renormalize_, &values);
        response_.mutable_embeddings(static_cast<int>(i))
            ->mutable_values()
            ->Add(values.begin(), values.end());
      }
      // A pooling override can change the size (cls+mean model, mean request).
      response_.set_dimensions(static_cast<uint32_t>(
          job_->outputs.empty() ? model_->encoder()->dimensions()
                                : job_->outputs[0].size()));
      response_.mutable_usage()->set_input_tokens(input_tokens_);
      response_.set_model(model_->name());
    }
    Complete(status);
  }

  void Complete(absl::Status status) {
    if (status.ok()) {
      SerializeResponse(response_, out_);
      status = service_.CheckResponseSize(out_->Length());
    }
    const grpc::Status grpc_status = ToGrpcStatus(status);
    record_.Finish(grpc_status, input_tokens_);
    Finish(grpc_status);
  }

  const ServiceContext& service_;
  CallRecord record_;
  v1::EncodeResponse response_;
  grpc::ByteBuffer* const out_;
  std::shared_ptr<ModelEntry> model_;  // the version this call runs on
  std::shared_ptr<EncodeJob> job_;
  uint64_t input_tokens_ = 0;
  int dimensions_ = 0;  // EncodeRequest.dimensions; 0 = all
  bool renormalize_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* StartEncode(ServiceContext& service,
                                      grpc::CallbackServerContext* context,
                                      const v1::EncodeRequest& request,
                                      grpc::ByteBuffer* response) {
  return new EncodeReactor(service, context, request, response);
}

}  // namespace attnserve::server
