#include "server/inference_service.h"

#include <string>

#include "absl/time/clock.h"
#include "server/call_record.h"
#include "server/classify_call.h"
#include "server/encode_call.h"
#include "server/model_calls.h"
#include "server/raw_messages.h"
#include "server/request_validation.h"
#include "server/rerank_call.h"
#include "server/translate_call.h"
#include "server/translate_stream_call.h"

namespace attnserve::server {
namespace {

// Finishes a call answered within its handler, with its metrics.
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    CallRecord& record,
                                    const absl::Status& status) {
  const grpc::Status grpc_status = ToGrpcStatus(status);
  record.Finish(grpc_status);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc_status);
  return reactor;
}

// A call refused before its request was read (unauthenticated, malformed):
// counted without a model label, since nothing in it is trusted yet.
grpc::ServerUnaryReactor* Refuse(ServiceContext& service,
                                 grpc::CallbackServerContext* context,
                                 absl::string_view method,
                                 const absl::Status& status) {
  CallRecord record(service.metrics, method, std::string());
  return FinishNow(context, record, status);
}

// The stream counterpart of Refuse().
class RefusedStream : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  RefusedStream(ServiceContext& service, const absl::Status& status) {
    const grpc::Status grpc_status = ToGrpcStatus(status);
    CallRecord(service.metrics, kMethodTranslateStream, std::string())
        .Finish(grpc_status);
    Finish(grpc_status);
  }
  void OnDone() override { delete this; }
};

}  // namespace

absl::Status InferenceService::Admit(grpc::CallbackServerContext& context,
                                     const grpc::ByteBuffer& bytes,
                                     google::protobuf::Message* request) const {
  // gRPC runs a raw (ByteBuffer) handler even when the call ended before its
  // request message arrived, with no buffer at all; parsed, that would be an
  // empty request and count as NOT_FOUND for model "".
  if (!bytes.Valid()) {
    if (CallDeadline(context.deadline()) <= absl::Now()) {
      return absl::DeadlineExceededError(
          "the call's deadline passed before its request message arrived");
    }
    return absl::CancelledError(
        "the call ended before its request message arrived");
  }
  if (absl::Status s = service_.Authenticate(context); !s.ok()) return s;
  return ParseRequest(bytes, request);
}

grpc::ServerUnaryReactor* InferenceService::Encode(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* response) {
  v1::EncodeRequest request;
  if (absl::Status s = Admit(*context, *bytes, &request); !s.ok())
    return Refuse(service_, context, kMethodEncode, s);
  return StartEncode(service_, context, request, response);
}

grpc::ServerUnaryReactor* InferenceService::Translate(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* response) {
  v1::TranslateRequest request;
  if (absl::Status s = Admit(*context, *bytes, &request); !s.ok())
    return Refuse(service_, context, kMethodTranslate, s);
  return StartTranslate(service_, context, request, response);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* InferenceService::TranslateStream(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes) {
  v1::TranslateRequest request;
  if (absl::Status s = Admit(*context, *bytes, &request); !s.ok())
    return new RefusedStream(service_, s);
  return StartTranslateStream(service_, context, request);
}

grpc::ServerUnaryReactor* InferenceService::Rerank(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* response) {
  v1::RerankRequest request;
  if (absl::Status s = Admit(*context, *bytes, &request); !s.ok())
    return Refuse(service_, context, kMethodRerank, s);
  return StartRerank(service_, context, request, response);
}

grpc::ServerUnaryReactor* InferenceService::Classify(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* response) {
  v1::ClassifyRequest request;
  if (absl::Status s = Admit(*context, *bytes, &request); !s.ok())
    return Refuse(service_, context, kMethodClassify, s);
  return StartClassify(service_, context, request, response);
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* response) {
  v1::TokenizeRequest request;
  if (absl::Status s = Admit(*context, *bytes, &request); !s.ok())
    return Refuse(service_, context, kMethodTokenize, s);
  CallRecord record(service_.metrics, kMethodTokenize,
                    service_.ModelLabel(request.model()));
  v1::TokenizeResponse answer;
  absl::Status status = service_.CheckAcceptingCalls();
  if (status.ok()) status = server::Tokenize(service_, request, &answer);
  if (status.ok()) SerializeResponse(answer, response);
  return FinishNow(context, record, status);
}

grpc::ServerUnaryReactor* InferenceService::ListModels(
    grpc::CallbackServerContext* context,
    const v1::ListModelsRequest* /*request*/,
    v1::ListModelsResponse* response) {
  CallRecord record(service_.metrics, kMethodListModels, std::string());
  absl::Status status = service_.Authenticate(*context);
  if (status.ok()) status = service_.CheckAcceptingCalls();
  if (status.ok()) status = server::ListModels(service_, response);
  return FinishNow(context, record, status);
}

grpc::ServerUnaryReactor* InferenceService::GetModel(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* response) {
  v1::GetModelRequest request;
  if (absl::Status s = Admit(*context, *bytes, &request); !s.ok())
    return Refuse(service_, context, kMethodGetModel, s);
  CallRecord record(service_.metrics, kMethodGetModel,
                    service_.ModelLabel(request.name()));
  v1::ModelInfo answer;
  absl::Status status = service_.CheckAcceptingCalls();
  if (status.ok()) status = server::GetModel(service_, request, &answer);
  if (status.ok()) SerializeResponse(answer, response);
  return FinishNow(context, record, status);
}

}  // namespace attnserve::server
