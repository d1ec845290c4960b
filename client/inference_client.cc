#include "client/inference_client.h"

#include <utility>

namespace attnserve::client {

InferenceClient::InferenceClient(std::shared_ptr<grpc::Channel> channel,
                                 CallOptions options)
    : options_(std::move(options)),
      inference_(v1::Inference::NewStub(channel)),
      health_(grpc::health::v1::Health::NewStub(channel)) {}

absl::StatusOr<v1::EncodeResponse> InferenceClient::Encode(
    const v1::EncodeRequest& request) {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  v1::EncodeResponse response;
  absl::Status status =
      FromGrpcStatus(inference_->Encode(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::RerankResponse> InferenceClient::Rerank(
    const v1::RerankRequest& request) {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  v1::RerankResponse response;
  absl::Status status =
      FromGrpcStatus(inference_->Rerank(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::ClassifyResponse> InferenceClient::Classify(
    const v1::ClassifyRequest& request) {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  v1::ClassifyResponse response;
  absl::Status status =
      FromGrpcStatus(inference_->Classify(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::TranslateResponse> InferenceClient::Translate(
    const v1::TranslateRequest& request) {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  v1::TranslateResponse response;
  absl::Status status =
      FromGrpcStatus(inference_->Translate(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::Status InferenceClient::TranslateStream(
    const v1::TranslateRequest& request,
    const std::function<void(const v1::TranslateStreamResponse&)>& on_message) {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  std::unique_ptr<grpc::ClientReader<v1::TranslateStreamResponse>> reader =
      inference_->TranslateStream(&context, request);
  v1::TranslateStreamResponse message;
  while (reader->Read(&message)) on_message(message);
  return FromGrpcStatus(reader->Finish());
}

absl::StatusOr<v1::TokenizeResponse> InferenceClient::Tokenize(
    const v1::TokenizeRequest& request) {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  v1::TokenizeResponse response;
  absl::Status status =
      FromGrpcStatus(inference_->Tokenize(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::ListModelsResponse> InferenceClient::ListModels() {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  v1::ListModelsResponse response;
  absl::Status status = FromGrpcStatus(
      inference_->ListModels(&context, v1::ListModelsRequest(), &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::ModelInfo> InferenceClient::GetModel(
    const std::string& name) {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  v1::GetModelRequest request;
  request.set_name(name);
  v1::ModelInfo response;
  absl::Status status =
      FromGrpcStatus(inference_->GetModel(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus>
InferenceClient::Health(const std::string& service) {
  grpc::ClientContext context;
  PrepareContext(options_, &context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  absl::Status status =
      FromGrpcStatus(health_->Check(&context, request, &response));
  if (!status.ok()) return status;
  return response.status();
}

}  // namespace attnserve::client
