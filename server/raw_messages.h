#ifndef ATTNSERVE_SERVER_RAW_MESSAGES_H_
#define ATTNSERVE_SERVER_RAW_MESSAGES_H_

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace attnserve::server {

// The text-carrying RPCs are registered as raw (ByteBuffer) callback methods
// because protobuf's parser rejects a proto3 `string` field holding invalid
// UTF-8 before the service sees the call, and gRPC then answers a bare
// UNIMPLEMENTED. Here every top-level string field is first checked on the
// wire (the message's descriptor says which field numbers are strings), so the
// client gets INVALID_ARGUMENT naming the field, e.g.
// "texts[3] is not valid UTF-8 (byte offset 5)"; only then is the message
// parsed. Any other malformed message is INVALID_ARGUMENT too.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes,
                          google::protobuf::Message* request);

// `response` as the ByteBuffer a raw method answers with.
void SerializeResponse(const google::protobuf::Message& response,
                       grpc::ByteBuffer* bytes);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_RAW_MESSAGES_H_
