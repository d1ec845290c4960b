#ifndef ATTNSERVE_SERVER_MODEL_CALLS_H_
#define ATTNSERVE_SERVER_MODEL_CALLS_H_

#include "absl/status/status.h"
#include "attnserve/v1/attnserve.pb.h"
#include "server/service_context.h"

namespace attnserve::server {

// The calls answered right in the handler (no batching): Tokenize, ListModels,
// GetModel.
absl::Status Tokenize(const ServiceContext& service,
                      const v1::TokenizeRequest& request,
                      v1::TokenizeResponse* response);
absl::Status ListModels(const ServiceContext& service,
                        v1::ListModelsResponse* response);
absl::Status GetModel(const ServiceContext& service,
                      const v1::GetModelRequest& request,
                      v1::ModelInfo* response);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_MODEL_CALLS_H_
