#ifndef ATTNSERVE_CORE_MODELS_MODEL_FOLDER_H_
#define ATTNSERVE_CORE_MODELS_MODEL_FOLDER_H_

#include <string>

#include "absl/status/statusor.h"

namespace attnserve {

// What a Hugging Face folder's model does, decided by config.json
// model_type: the registered encoder architectures embed
// (SentenceEncoder), "marian" translates (Translator).
enum class ModelTask { kEncode, kTranslate };

struct ModelKind {
  std::string model_type;  // config.json model_type
  ModelTask task = ModelTask::kEncode;
};

// Reads <folder>/config.json. Missing folder/file: NotFound; a model_type no
// model supports: InvalidArgument listing the supported ones per task.
absl::StatusOr<ModelKind> ReadModelKind(const std::string& folder);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_MODEL_FOLDER_H_
