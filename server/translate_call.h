#ifndef ATTNSERVE_SERVER_TRANSLATE_CALL_H_
#define ATTNSERVE_SERVER_TRANSLATE_CALL_H_

#include "attnserve/v1/attnserve.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/service_context.h"

namespace attnserve::server {

// Translate: submits the texts to the model's TranslateScheduler and answers
// (`response`, serialized) once all finished. `request` is only read during
// the call.
grpc::ServerUnaryReactor* StartTranslate(ServiceContext& service,
                                         grpc::CallbackServerContext* context,
                                         const v1::TranslateRequest& request,
                                         grpc::ByteBuffer* response);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_TRANSLATE_CALL_H_
