#include "server/batching/serving_error.h"

#include "absl/strings/str_cat.h"

namespace attnserve::server {

absl::Status ServingError(absl::string_view context,
                          const absl::Status& cause) {
  if (cause.code() == absl::StatusCode::kResourceExhausted) {
    return absl::ResourceExhaustedError(
        absl::StrCat(context, ": ", cause.message(),
                     "; retry later or with fewer or shorter texts"));
  }
  return absl::InternalError(absl::StrCat(context, ": ", cause.message()));
}

}  // namespace attnserve::server
