#ifndef ATTNSERVE_CORE_MODELS_MODEL_FOLDER_H_
#define ATTNSERVE_CORE_MODELS_MODEL_FOLDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/models/hf_config.h"

namespace attnserve {

// What a Hugging Face folder's model does, decided by config.json: "marian"
// translates (Translator); a registered encoder architecture whose
// "architectures" names a *ForSequenceClassification (and that is no
// sentence-transformers folder: no modules.json) scores texts and pairs
// (SequenceClassifier: Rerank and Classify); the other encoder folders embed
// (SentenceEncoder).
enum class ModelTask { kEncode, kTranslate, kClassify };

struct ModelKind {
  std::string model_type;  // config.json model_type
  ModelTask task = ModelTask::kEncode;
};

// The "<Arch>ForSequenceClassification" entry of config.json
// "architectures" (what CrossEncoder checks to use the trained head), or ""
// when there is none.
std::string SequenceClassificationClass(const JsonFile& config);

// Reads <folder>/config.json. Missing folder/file: NotFound; a model_type no
// model supports: InvalidArgument listing the supported ones per task.
absl::StatusOr<ModelKind> ReadModelKind(const std::string& folder);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_MODEL_FOLDER_H_
