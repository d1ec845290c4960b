#include "server/raw_messages.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/tokenizers/unicode.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "server/request_validation.h"

namespace attnserve::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

std::string Flatten(const grpc::ByteBuffer& bytes) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!bytes.Dump(&slices).ok()) return out;
  out.reserve(bytes.Length());
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

absl::Status Malformed(const Descriptor& type) {
  return absl::InvalidArgumentError(
      absl::StrCat("the request is not a valid ", type.full_name(),
                   " message (check the client's .proto)"));
}

// Parsing as an UnknownFieldSet keeps every field's raw bytes unchecked.
absl::Status CheckStringFields(const std::string& wire,
                               const Descriptor& type) {
  UnknownFieldSet fields;
  if (!fields.ParseFromString(wire)) return Malformed(type);
  std::map<int, int> occurrences;  // field number -> repeated index
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const FieldDescriptor* descriptor = type.FindFieldByNumber(field.number());
    if (descriptor == nullptr ||
        descriptor->type() != FieldDescriptor::TYPE_STRING) {
      continue;
    }
    const int index = occurrences[field.number()]++;
    const int64_t bad_byte = FirstInvalidUtf8(field.length_delimited());
    if (bad_byte < 0) continue;
    const std::string name =
        descriptor->is_repeated()
            ? absl::StrCat(descriptor->name(), "[", index, "]")
            : descriptor->name();
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is not valid UTF-8 (byte offset ", bad_byte, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseRequest(const grpc::ByteBuffer& bytes,
                          google::protobuf::Message* request) {
  const std::string wire = Flatten(bytes);
  const Descriptor& type = *request->GetDescriptor();
  if (absl::Status s = CheckStringFields(wire, type); !s.ok()) return s;
  if (!request->ParseFromString(wire)) return Malformed(type);
  return absl::OkStatus();
}

void SerializeResponse(const google::protobuf::Message& response,
                       grpc::ByteBuffer* bytes) {
  bytes->Clear();  // gRPC's serializer only writes into an empty buffer
  bool own_buffer = false;
  (void)grpc::SerializationTraits<google::protobuf::Message>::Serialize(
      response, bytes, &own_buffer);
}

}  // namespace attnserve::server
