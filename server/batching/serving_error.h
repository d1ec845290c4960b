#ifndef ATTNSERVE_SERVER_BATCHING_SERVING_ERROR_H_
#define ATTNSERVE_SERVER_BATCHING_SERVING_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace attnserve::server {

// An error of the core as the server reports it for a call: RESOURCE_EXHAUSTED
// stays (the client may retry smaller or later), every other code becomes
// INTERNAL (the request was already validated, so it is the server's fault).
// The message is "<context>: <cause's message>" (RESOURCE_EXHAUSTED: and what
// the client can do about it).
absl::Status ServingError(absl::string_view context, const absl::Status& cause);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_BATCHING_SERVING_ERROR_H_
