#include "server/inference_service.h"

#include <string>

#include "server/call_record.h"
#include "server/encode_call.h"
#include "server/model_calls.h"
#include "server/request_validation.h"
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

}  // namespace

grpc::ServerUnaryReactor* InferenceService::Encode(
    grpc::CallbackServerContext* context, const v1::EncodeRequest* request,
    v1::EncodeResponse* response) {
  return StartEncode(service_, context, request, response);
}

grpc::ServerUnaryReactor* InferenceService::Translate(
    grpc::CallbackServerContext* context, const v1::TranslateRequest* request,
    v1::TranslateResponse* response) {
  return StartTranslate(service_, context, request, response);
}

grpc::ServerWriteReactor<v1::TranslateStreamResponse>*
InferenceService::TranslateStream(grpc::CallbackServerContext* context,
                                  const v1::TranslateRequest* request) {
  return StartTranslateStream(service_, context, request);
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(
    grpc::CallbackServerContext* context, const v1::TokenizeRequest* request,
    v1::TokenizeResponse* response) {
  CallRecord record(service_.metrics, kMethodTokenize,
                    service_.ModelLabel(request->model()));
  absl::Status status = service_.CheckAcceptingCalls();
  if (status.ok()) status = server::Tokenize(service_, *request, response);
  if (!status.ok()) response->Clear();
  return FinishNow(context, record, status);
}

grpc::ServerUnaryReactor* InferenceService::ListModels(
    grpc::CallbackServerContext* context,
    const v1::ListModelsRequest* /*request*/,
    v1::ListModelsResponse* response) {
  CallRecord record(service_.metrics, kMethodListModels, std::string());
  absl::Status status = service_.CheckAcceptingCalls();
  if (status.ok()) status = server::ListModels(service_, response);
  return FinishNow(context, record, status);
}

grpc::ServerUnaryReactor* InferenceService::GetModel(
    grpc::CallbackServerContext* context, const v1::GetModelRequest* request,
    v1::ModelInfo* response) {
  CallRecord record(service_.metrics, kMethodGetModel,
                    service_.ModelLabel(request->name()));
  absl::Status status = service_.CheckAcceptingCalls();
  if (status.ok()) status = server::GetModel(service_, *request, response);
  return FinishNow(context, record, status);
}

}  // namespace attnserve::server
