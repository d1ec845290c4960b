#include "server/encode_call.h"

#include <memory>
#include <utility>
#include <vector>

#include "server/batched_call.h"
#include "server/request_validation.h"

namespace attnserve::server {
namespace {

class EncodeReactor : public BatchedCall<v1::EncodeResponse> {
 public:
  EncodeReactor(ServiceContext& service, grpc::CallbackServerContext* context,
                const v1::EncodeRequest& request, grpc::ByteBuffer* response)
      : BatchedCall(service, kMethodEncode, request.model(), response) {
    absl::Status status = Start(service, context, request);
    if (!status.ok()) Complete(status);
  }

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
    job_->excluded_prompt_tokens = options->excluded_prompt_tokens;
    job_->pooling = options->pooling;
    job_->normalize = options->normalize;
    for (int i = 0; i < request.texts_size(); ++i) {
      absl::StatusOr<Encoding> encoding =
          TokenizeText(*model_, request.texts(i), i, options->text);
      if (!encoding.ok()) return encoding.status();
      v1::Embedding* embedding = response_.add_embeddings();
      embedding->set_input_tokens(static_cast<uint32_t>(encoding->ids.size()));
      embedding->set_truncated(encoding->truncated);
      AddSequence(*std::move(encoding), /*with_types=*/false);
    }
    return Submit(context);
  }

  void OnOutputs() override {
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
  }

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
