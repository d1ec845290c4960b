// Thin synchronous wrapper over the attnserve.v1.Inference and
// grpc.health.v1.Health stubs that applies CallOptions to every call and
// returns absl::Status.
#ifndef ATTNSERVE_CLIENT_INFERENCE_CLIENT_H_
#define ATTNSERVE_CLIENT_INFERENCE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attnserve/v1/attnserve.grpc.pb.h"
#include "client/channel.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace attnserve::client {

namespace v1 = ::attnserve::v1;

class InferenceClient {
 public:
  InferenceClient(std::shared_ptr<grpc::Channel> channel, CallOptions options);

  absl::StatusOr<v1::EncodeResponse> Encode(const v1::EncodeRequest& request);
  absl::StatusOr<v1::TranslateResponse> Translate(
      const v1::TranslateRequest& request);
  // Calls `on_message` for every streamed message, in arrival order.
  absl::Status TranslateStream(
      const v1::TranslateRequest& request,
      const std::function<void(const v1::TranslateStreamResponse&)>&
          on_message);
  absl::StatusOr<v1::RerankResponse> Rerank(const v1::RerankRequest& request);
  absl::StatusOr<v1::ClassifyResponse> Classify(
      const v1::ClassifyRequest& request);
  absl::StatusOr<v1::TokenizeResponse> Tokenize(
      const v1::TokenizeRequest& request);
  absl::StatusOr<v1::ListModelsResponse> ListModels();
  absl::StatusOr<v1::ModelInfo> GetModel(const std::string& name);
  // grpc.health.v1.Health/Check; "" asks about the whole server.
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> Health(
      const std::string& service);

 private:
  CallOptions options_;
  std::unique_ptr<v1::Inference::Stub> inference_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_INFERENCE_CLIENT_H_
