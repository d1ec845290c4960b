#ifndef ATTNSERVE_SERVER_ENCODE_CALL_H_
#define ATTNSERVE_SERVER_ENCODE_CALL_H_

#include "attnserve/v1/attnserve.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "server/service_context.h"

namespace attnserve::server {

// Encode: validates and tokenizes the texts, hands them to the model's
// EncodeBatcher and answers when the last of them is embedded.
grpc::ServerUnaryReactor* StartEncode(ServiceContext& service,
                                      grpc::CallbackServerContext* context,
                                      const v1::EncodeRequest* request,
                                      v1::EncodeResponse* response);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_ENCODE_CALL_H_
