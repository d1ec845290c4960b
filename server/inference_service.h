#ifndef ATTNSERVE_SERVER_INFERENCE_SERVICE_H_
#define ATTNSERVE_SERVER_INFERENCE_SERVICE_H_

#include "attnserve/v1/attnserve.grpc.pb.h"
#include "server/service_context.h"

namespace attnserve::server {

// attnserve.v1.Inference on gRPC's callback API: no thread per call; Encode and
// Translate calls wait in their model's batcher and finish from its worker
// thread.
class InferenceService final : public v1::Inference::CallbackService {
 public:
  explicit InferenceService(ServiceContext* service) : service_(*service) {}

  grpc::ServerUnaryReactor* Encode(grpc::CallbackServerContext* context,
                                   const v1::EncodeRequest* request,
                                   v1::EncodeResponse* response) override;
  grpc::ServerUnaryReactor* Translate(grpc::CallbackServerContext* context,
                                      const v1::TranslateRequest* request,
                                      v1::TranslateResponse* response) override;
  grpc::ServerWriteReactor<v1::TranslateStreamResponse>* TranslateStream(
      grpc::CallbackServerContext* context,
      const v1::TranslateRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const v1::ListModelsRequest* request,
      v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* context,
                                     const v1::GetModelRequest* request,
                                     v1::ModelInfo* response) override;

 private:
  ServiceContext& service_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFERENCE_SERVICE_H_
