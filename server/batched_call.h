#ifndef ATTNSERVE_SERVER_BATCHED_CALL_H_
#define ATTNSERVE_SERVER_BATCHED_CALL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/batching/encode_batcher.h"
#include "server/call_record.h"
#include "server/model_entry.h"
#include "server/raw_messages.h"
#include "server/request_validation.h"
#include "server/service_context.h"

namespace attnserve::server {

// What the Encode, Rerank and Classify reactors share: the call's record, its
// model version, its job in the model's EncodeBatcher (texts, or pairs with
// their token types) and the answer. A subclass validates and tokenizes in its
// constructor (AddSequence per text or pair, then Submit), and fills response_
// from job_->outputs in OnOutputs.
template <typename Response>
class BatchedCall : public grpc::ServerUnaryReactor {
 public:
  // Only after the handler returned, hence after job_ was set.
  void OnCancel() override {
    if (job_ != nullptr) job_->cancelled.store(true, std::memory_order_relaxed);
  }
  void OnDone() override { delete this; }

 protected:
  BatchedCall(ServiceContext& service, absl::string_view method,
              const std::string& model, grpc::ByteBuffer* response)
      : service_(service),
        record_(service.metrics, method, service.ModelLabel(model)),
        out_(response),
        job_(std::make_shared<EncodeJob>()) {}

  // One tokenized text or pair of the job; with_types: its token types go to
  // the model too (classifiers; an embedder's texts are all type 0).
  void AddSequence(Encoding encoding, bool with_types = true) {
    input_tokens_ += encoding.ids.size();
    job_->ids.push_back(std::move(encoding.ids));
    if (with_types) job_->type_ids.push_back(std::move(encoding.type_ids));
  }

  absl::Status Submit(grpc::CallbackServerContext* context) {
    job_->deadline = CallDeadline(context->deadline());
    if (absl::Status s = CheckDeadline(job_->deadline); !s.ok()) return s;
    job_->on_done = [this](const absl::Status& status) {
      if (status.ok()) {
        OnOutputs();
        response_.mutable_usage()->set_input_tokens(input_tokens_);
        response_.set_model(model_->name());
      }
      Complete(status);
    };
    return model_->encode_batcher()->Submit(job_);
  }

  // On the batcher thread: job_->outputs holds each sequence's embedding or
  // logits.
  virtual void OnOutputs() = 0;

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
  Response response_;
  grpc::ByteBuffer* const out_;
  std::shared_ptr<ModelEntry> model_;  // the version this call runs on
  std::shared_ptr<EncodeJob> job_;
  uint64_t input_tokens_ = 0;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_BATCHED_CALL_H_
