#ifndef ATTNSERVE_SERVER_INFERENCE_SERVICE_H_
#define ATTNSERVE_SERVER_INFERENCE_SERVICE_H_

#include "attnserve/v1/attnserve.grpc.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/service_context.h"

namespace attnserve::server {

// The methods whose requests carry strings receive their request as bytes
// (see raw_messages.h: invalid UTF-8 becomes INVALID_ARGUMENT naming the
// field); ListModels stays typed.
using InferenceServiceBase = v1::Inference::WithRawCallbackMethod_Encode<
    v1::Inference::WithRawCallbackMethod_Translate<
        v1::Inference::WithRawCallbackMethod_TranslateStream<
            v1::Inference::WithRawCallbackMethod_Rerank<
                v1::Inference::WithRawCallbackMethod_Classify<
                    v1::Inference::WithRawCallbackMethod_Tokenize<
                        v1::Inference::WithRawCallbackMethod_GetModel<
                            v1::Inference::CallbackService>>>>>>>;

// attnserve.v1.Inference on gRPC's callback API: no thread per call; Encode,
// Rerank, Classify and Translate calls wait in their model's batcher and finish
// from its worker thread. Every method checks the bearer token first (when
// configured).
class InferenceService final : public InferenceServiceBase {
 public:
  explicit InferenceService(ServiceContext* service) : service_(*service) {}

  grpc::ServerUnaryReactor* Encode(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Translate(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* TranslateStream(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* Rerank(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const v1::ListModelsRequest* request,
      v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;

 private:
  // Authenticates the call, then parses its request.
  absl::Status Admit(grpc::CallbackServerContext& context,
                     const grpc::ByteBuffer& bytes,
                     google::protobuf::Message* request) const;

  ServiceContext& service_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFERENCE_SERVICE_H_
