#ifndef ATTNSERVE_SERVER_ENCODE_CALL_H_
#define ATTNSERVE_SERVER_ENCODE_CALL_H_

#include "attnserve/v1/attnserve.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/service_context.h"

namespace attnserve::server {

// Encode: validates and tokenizes the texts, hands them to the model's
// EncodeBatcher and answers (`response`, serialized) when the last of them is
// embedded. `request` is only read during the call.
grpc::ServerUnaryReactor* StartEncode(ServiceContext& service,
                                      grpc::CallbackServerContext* context,
                                      const v1::EncodeRequest& request,
                                      grpc::ByteBuffer* response);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_ENCODE_CALL_H_
