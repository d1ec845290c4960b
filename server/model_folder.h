#ifndef ATTNSERVE_SERVER_MODEL_FOLDER_H_
#define ATTNSERVE_SERVER_MODEL_FOLDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "attnserve/v1/attnserve.pb.h"

namespace attnserve::server {

// config.json model_type of a Hugging Face model folder, e.g. "bert", "marian".
absl::StatusOr<std::string> ReadModelType(const std::string& folder);

// The task a model_type serves; InvalidArgument naming the supported types
// otherwise.
absl::StatusOr<v1::Task> TaskForModelType(const std::string& model_type,
                                          const std::string& folder);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_MODEL_FOLDER_H_
