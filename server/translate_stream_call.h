#ifndef ATTNSERVE_SERVER_TRANSLATE_STREAM_CALL_H_
#define ATTNSERVE_SERVER_TRANSLATE_STREAM_CALL_H_

#include "attnserve/v1/attnserve.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/service_context.h"

namespace attnserve::server {

// TranslateStream: like Translate, but writes each text's progress as the
// scheduler reports it (greedy: a text delta per token; every text: its final
// hypotheses), then a usage message; messages are written serialized (the
// method is raw, see raw_messages.h). `request` is only read during the call.
grpc::ServerWriteReactor<grpc::ByteBuffer>* StartTranslateStream(
    ServiceContext& service, grpc::CallbackServerContext* context,
    const v1::TranslateRequest& request);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_TRANSLATE_STREAM_CALL_H_
