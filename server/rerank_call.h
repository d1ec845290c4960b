#ifndef ATTNSERVE_SERVER_RERANK_CALL_H_
#define ATTNSERVE_SERVER_RERANK_CALL_H_

#include "attnserve/v1/attnserve.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/service_context.h"

namespace attnserve::server {

// Rerank: validates and tokenizes (query, texts[i]) pairs as CrossEncoder
// does, hands them to the model's EncodeBatcher and answers (`response`,
// serialized) with the scores best first when the last pair is computed.
// `request` is only read during the call.
grpc::ServerUnaryReactor* StartRerank(ServiceContext& service,
                                      grpc::CallbackServerContext* context,
                                      const v1::RerankRequest& request,
                                      grpc::ByteBuffer* response);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_RERANK_CALL_H_
