#ifndef ATTNSERVE_SERVER_REQUEST_VALIDATION_H_
#define ATTNSERVE_SERVER_REQUEST_VALIDATION_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/decoding/decode_batch.h"
#include "core/tokenizers/encoding.h"
#include "core/tokenizers/tokenizer.h"
#include "grpcpp/support/status.h"
#include "server/model_entry.h"
#include "server/model_repository.h"

namespace attnserve::server {

// The READY model `name` serving `task`: NOT_FOUND for an unknown name,
// UNAVAILABLE while it loads, FAILED_PRECONDITION when it failed to load or
// serves the other task. The call keeps the returned version to its end (a
// reload may switch the name to a newer one meanwhile).
absl::StatusOr<std::shared_ptr<ModelEntry>> ResolveModel(
    const ModelRepository& models, absl::string_view name, v1::Task task);

// The READY classifier `name` for Rerank (rerank: a 1-label cross-encoder,
// as CrossEncoder.rank requires; a classifier with more labels is
// INVALID_ARGUMENT naming its label count) or Classify (either); other errors
// as ResolveModel.
absl::StatusOr<std::shared_ptr<ModelEntry>> ResolveClassifierModel(
    const ModelRepository& models, absl::string_view name, bool rerank);

// 1..max_texts_per_request texts.
absl::Status CheckTextCount(int count, const ModelEntry& model);
// `pairs` text_pairs: none, or one per text.
absl::Status CheckTextPairCount(int pairs, int texts);
// RerankRequest.query: non-empty.
absl::Status CheckQuery(absl::string_view query);

// How the texts of one Encode or Tokenize call are tokenized.
struct TextOptions {
  // The call's truncate, or the model's auto_truncate.
  bool truncate = false;
  TruncationSide side = TruncationSide::kRight;  // encoder models
  std::string prompt;                            // encoder models
  std::string target_language;                   // translation models
};

// The proto's name of a core pooling mode (ModelInfo.pooling_modes).
v1::Pooling ToProtoPooling(Pooling pooling);

// An Encode call's options resolved against the model by the core's rules
// (SentenceEncoder::ResolvePrompt, ExcludedPromptTokens, CheckPooling,
// CheckDimensions): INVALID_ARGUMENT naming the field.
struct EncodeOptions {
  TextOptions text;
  int excluded_prompt_tokens = 0;  // leading tokens the pooling leaves out
  PoolingModes pooling;            // the request's, else the model's
  bool normalize = false;          // the request's, else the model's
  int dimensions = 0;              // 0 = all
  bool renormalize = false;        // normalize the cut vector
};
absl::StatusOr<EncodeOptions> ResolveEncodeOptions(
    const v1::EncodeRequest& request, const ModelEntry& model);
absl::StatusOr<TextOptions> ResolveTokenizeOptions(
    const v1::TokenizeRequest& request, const ModelEntry& model);

// Tokenizes texts[index] for `model` (either task) under the model's
// max_input_tokens: over it, INVALID_ARGUMENT unless options.truncate, then cut
// (encoder models: by the core, at options.side, after the prompt is
// prepended) keeping the special tokens.
absl::StatusOr<Encoding> TokenizeText(const ModelEntry& model,
                                      absl::string_view text, int index,
                                      const TextOptions& options);

// How a classifier's pair is tokenized (SequenceClassifier::Tokenize).
struct PairOptions {
  bool truncate = false;
  // Rerank keeps an empty second text as a pair (CrossEncoder), Classify and
  // Tokenize drop it (the text-classification pipeline).
  HfTokenizer::EmptyPair empty_pair = HfTokenizer::EmptyPair::kPair;
  // Field names for messages: "texts[3]" and "query" or "text_pairs[3]".
  std::string text_field;
  std::string pair_field;
};
// Tokenizes (text, *pair) — or text alone — for a classifier `model` under
// its max_input_tokens: invalid UTF-8 or, unless options.truncate, more tokens
// than the limit is INVALID_ARGUMENT naming the fields; with truncate the
// core's longest_first cut.
absl::StatusOr<Encoding> TokenizePair(const ModelEntry& model,
                                      absl::string_view text,
                                      std::optional<absl::string_view> pair,
                                      const PairOptions& options);

// The model's generation defaults overridden by the request, within the model's
// limits.
absl::StatusOr<GenerationOptions> ResolveGenerationOptions(
    const v1::TranslateRequest& request, const ModelEntry& model);

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_REQUEST_VALIDATION_H_
