#ifndef ATTNSERVE_SERVER_CLASSIFY_CALL_H_
#define ATTNSERVE_SERVER_CLASSIFY_CALL_H_

#include "attnserve/v1/attnserve.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/service_context.h"

namespace attnserve::server {

// Classify: validates and tokenizes the texts (or text pairs) as transformers'
// text-classification pipeline does, hands them to the model's EncodeBatcher
// and answers (`response`, serialized) with each text's labels best first.
// `request` is only read during the call.
grpc::ServerUnaryReactor* StartClassify(ServiceContext& service,
                                        grpc::CallbackServerContext* context,
                                        const v1::ClassifyRequest& request,
                                        grpc::ByteBuffer* response);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_CLASSIFY_CALL_H_
