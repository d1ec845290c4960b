#include "server/request_validation.h"

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/tokenizers/unicode.h"

namespace attnserve::server {
namespace {

std::string ConfiguredNames(const ModelRepository& models) {
  std::vector<std::string> names;
  for (const auto& model : models.models()) names.push_back(model->name());
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

absl::string_view TaskRpcs(v1::Task task) {
  switch (task) {
    case v1::TASK_ENCODE:
      return "Encode";
    case v1::TASK_RERANK:
      return "Rerank or Classify";
    case v1::TASK_CLASSIFY:
      return "Classify";
    default:
      return "Translate or TranslateStream";
  }
}

absl::Status CheckUtf8(absl::string_view text, absl::string_view field) {
  const int64_t bad_byte =
      FirstInvalidUtf8(std::string_view(text.data(), text.size()));
  if (bad_byte < 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " is not valid UTF-8 (byte offset ", bad_byte, ")"));
}

// The core's pooling modes and the proto's: one table for both directions.
constexpr std::pair<Pooling, v1::Pooling> kPoolings[] = {
    {Pooling::kMean, v1::POOLING_MEAN},
    {Pooling::kCls, v1::POOLING_CLS},
    {Pooling::kMax, v1::POOLING_MAX},
    {Pooling::kMeanSqrtLen, v1::POOLING_MEAN_SQRT_LEN},
    {Pooling::kWeightedMean, v1::POOLING_WEIGHTED_MEAN},
    {Pooling::kLastToken, v1::POOLING_LAST_TOKEN},
};

// The request's pooling; the model's for POOLING_UNSPECIFIED.
PoolingModes ResolvePooling(v1::Pooling requested, PoolingModes model_default) {
  for (const auto& [core, proto] : kPoolings) {
    if (proto == requested) return core;
  }
  return model_default;
}

absl::StatusOr<TruncationSide> ResolveTruncationSide(
    v1::TruncationDirection direction, const ModelEntry& model) {
  if (direction != v1::TRUNCATION_DIRECTION_LEFT) return TruncationSide::kRight;
  if (model.task() != v1::TASK_ENCODE) {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncation_direction LEFT is only for encoder models; model '",
        model.name(), "' (", v1::Task_Name(model.task()),
        ") cuts its inputs on the right",
        model.classifier() != nullptr ? " (pairs: the longer text first)"
                                      : ""));
  }
  return TruncationSide::kLeft;
}

// The translator's source ids under `max` (the deployment's limit may be below
// the model's own, to which the translator cuts): the tail is cut keeping the
// final </s>, as the model's own truncation does.
absl::StatusOr<Encoding> TokenizeSource(const Translator& translator,
                                        absl::string_view text,
                                        const std::string& target_language,
                                        size_t max) {
  absl::StatusOr<Encoding> encoding =
      translator.TokenizeSource(std::string_view(text.data(), text.size()),
                                /*truncate=*/true, target_language);
  if (!encoding.ok() || encoding->ids.size() <= max) return encoding;
  encoding->ids[max - 1] = encoding->ids.back();
  encoding->ids.resize(max);
  if (encoding->pieces.size() > max) {
    encoding->pieces[max - 1] = encoding->pieces.back();
    encoding->pieces.resize(max);
  }
  encoding->truncated = true;
  return encoding;
}

}  // namespace

v1::Pooling ToProtoPooling(Pooling pooling) {
  for (const auto& [core, proto] : kPoolings) {
    if (core == pooling) return proto;
  }
  return v1::POOLING_UNSPECIFIED;
}

absl::StatusOr<std::shared_ptr<ModelEntry>> ResolveModel(
    const ModelRepository& models, absl::string_view name, v1::Task task) {
  std::shared_ptr<ModelEntry> model = models.Find(name);
  if (model == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "model '", name, "' is not configured on this server (configured: ",
        ConfiguredNames(models), ")"));
  }
  switch (model->state()) {
    case v1::MODEL_STATE_READY:
      break;
    case v1::MODEL_STATE_FAILED:
      return absl::FailedPreconditionError(absl::StrCat(
          "model '", name, "' failed to load: ", model->info().error()));
    default:
      return absl::UnavailableError(
          absl::StrCat("model '", name, "' is still loading; retry shortly"));
  }
  if (task != v1::TASK_UNSPECIFIED && model->task() != task) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model '", name, "' is a ", model->info().architecture(), " model for ",
        TaskRpcs(model->task()), ", not for ", TaskRpcs(task)));
  }
  return model;
}

absl::StatusOr<std::shared_ptr<ModelEntry>> ResolveClassifierModel(
    const ModelRepository& models, absl::string_view name, bool rerank) {
  absl::StatusOr<std::shared_ptr<ModelEntry>> model =
      ResolveModel(models, name, v1::TASK_UNSPECIFIED);
  if (!model.ok()) return model;
  const ModelEntry& entry = **model;
  const v1::Task wanted = rerank ? v1::TASK_RERANK : v1::TASK_CLASSIFY;
  if (entry.task() != v1::TASK_RERANK && entry.task() != v1::TASK_CLASSIFY) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model '", name, "' is a ", entry.info().architecture(), " model for ",
        TaskRpcs(entry.task()), ", not for ", TaskRpcs(wanted)));
  }
  if (rerank && entry.task() != v1::TASK_RERANK) {
    const SequenceClassifier& classifier = *entry.classifier();
    return absl::InvalidArgumentError(absl::StrCat(
        "model: '", name, "' is a classifier with ", classifier.num_labels(),
        " labels (", absl::StrJoin(classifier.labels(), ", "),
        "); Rerank needs a 1-label cross-encoder (as CrossEncoder.rank); use "
        "Classify on this model"));
  }
  return model;
}

absl::Status CheckTextPairCount(int pairs, int texts) {
  if (pairs == 0 || pairs == texts) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("text_pairs has ", pairs, " entries for ", texts,
                   " texts; send none or one per text"));
}

absl::Status CheckQuery(absl::string_view query) {
  if (!query.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "query is empty; Rerank scores each text against a non-empty query");
}

absl::Status CheckTextCount(int count, const ModelEntry& model) {
  const int max = static_cast<int>(model.limits().max_texts_per_request());
  if (count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("texts is empty; send 1..", max, " texts per call"));
  }
  if (count > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("texts has ", count, " entries, model '", model.name(),
                     "' accepts at most ", max, " per call; split the call"));
  }
  return absl::OkStatus();
}

absl::StatusOr<EncodeOptions> ResolveEncodeOptions(
    const v1::EncodeRequest& request, const ModelEntry& model) {
  const SentenceEncoder& encoder = *model.encoder();
  EncodeOptions options;
  absl::StatusOr<TruncationSide> side =
      ResolveTruncationSide(request.truncation_direction(), model);
  if (!side.ok()) return side.status();
  options.text.side = *side;
  options.text.truncate = request.truncate() || model.auto_truncate();
  absl::StatusOr<std::string> prompt = encoder.ResolvePrompt(
      request.has_prompt_name()
          ? std::optional<std::string_view>(request.prompt_name())
          : std::nullopt,
      request.has_prompt() ? std::optional<std::string_view>(request.prompt())
                           : std::nullopt);
  if (!prompt.ok()) return prompt.status();
  options.text.prompt = *std::move(prompt);
  absl::StatusOr<int> excluded =
      encoder.ExcludedPromptTokens(options.text.prompt);
  if (!excluded.ok()) {
    return absl::Status(excluded.status().code(),
                        absl::StrCat("prompt: ", excluded.status().message()));
  }
  options.excluded_prompt_tokens = *excluded;
  options.pooling =
      ResolvePooling(request.pooling(), encoder.default_pooling());
  if (absl::Status s = encoder.CheckPooling(options.pooling); !s.ok()) return s;
  options.normalize = request.has_normalize() ? request.normalize()
                                              : encoder.default_normalize();
  // A pooling override can change the size (a cls+mean model asked for mean).
  if (absl::Status s = CheckDimensions(request.dimensions(),
                                       encoder.dimensions(options.pooling));
      !s.ok()) {
    return s;
  }
  options.dimensions = static_cast<int>(request.dimensions());
  options.renormalize =
      options.dimensions > 0 && request.has_normalize() && request.normalize();
  return options;
}

absl::StatusOr<TextOptions> ResolveTokenizeOptions(
    const v1::TokenizeRequest& request, const ModelEntry& model) {
  TextOptions options;
  absl::StatusOr<TruncationSide> side =
      ResolveTruncationSide(request.truncation_direction(), model);
  if (!side.ok()) return side.status();
  options.side = *side;
  options.truncate = request.truncate() || model.auto_truncate();
  options.target_language = request.target_language();
  return options;
}

absl::StatusOr<Encoding> TokenizeText(const ModelEntry& model,
                                      absl::string_view text, int index,
                                      const TextOptions& options) {
  if (model.classifier() != nullptr) {
    return TokenizePair(
        model, text, std::nullopt,
        PairOptions{.truncate = options.truncate,
                    .text_field = absl::StrCat("texts[", index, "]")});
  }
  if (absl::Status s = CheckUtf8(text, absl::StrCat("texts[", index, "]"));
      !s.ok()) {
    return s;
  }
  const size_t max = model.limits().max_input_tokens();
  // Cut to the limit whatever the call asked: whether it was needed decides
  // below between the error and the cut text.
  absl::StatusOr<Encoding> encoding =
      model.task() == v1::TASK_ENCODE
          ? model.encoder()->Tokenize(
                std::string_view(text.data(), text.size()),
                TokenizeOptions{.truncate = true,
                                .side = options.side,
                                .max_tokens = static_cast<int>(max),
                                .prompt = options.prompt})
          : TokenizeSource(*model.translator(), text, options.target_language,
                           max);
  if (!encoding.ok()) {
    return absl::Status(
        encoding.status().code(),
        absl::StrCat("texts[", index, "]: ", encoding.status().message()));
  }
  if (encoding->truncated && !options.truncate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "texts[", index, "] has more than ", encoding->ids.size(), " tokens",
        options.prompt.empty() ? "" : " with its prompt", ", model '",
        model.name(), "' accepts at most ", max,
        "; set truncate=true or shorten it"));
  }
  return encoding;
}

absl::StatusOr<Encoding> TokenizePair(const ModelEntry& model,
                                      absl::string_view text,
                                      std::optional<absl::string_view> pair,
                                      const PairOptions& options) {
  if (absl::Status s = CheckUtf8(text, options.text_field); !s.ok()) return s;
  if (pair.has_value()) {
    if (absl::Status s = CheckUtf8(*pair, options.pair_field); !s.ok())
      return s;
  }
  const std::string fields =
      pair.has_value()
          ? absl::StrCat(options.text_field, " with ", options.pair_field)
          : options.text_field;
  const int max = static_cast<int>(model.limits().max_input_tokens());
  // Cut to the limit whatever the call asked: whether it was needed decides
  // below between the error and the cut pair.
  absl::StatusOr<Encoding> encoding = model.classifier()->Tokenize(
      std::string_view(text.data(), text.size()),
      pair.has_value() ? std::optional<std::string_view>(
                             std::string_view(pair->data(), pair->size()))
                       : std::nullopt,
      PairTokenizeOptions{.truncate = true,
                          .max_tokens = max,
                          .empty_pair = options.empty_pair});
  if (!encoding.ok()) {
    return absl::Status(
        encoding.status().code(),
        absl::StrCat(fields, ": ", encoding.status().message()));
  }
  if (encoding->truncated && !options.truncate) {
    return absl::InvalidArgumentError(absl::StrCat(
        fields, " has more than ", encoding->ids.size(), " tokens, model '",
        model.name(), "' accepts at most ", max,
        "; set truncate=true (the longer text is cut) or shorten it"));
  }
  return encoding;
}

absl::StatusOr<GenerationOptions> ResolveGenerationOptions(
    const v1::TranslateRequest& request, const ModelEntry& model) {
  GenerationOptions options = model.generation_defaults();
  const v1::LimitsConfig& limits = model.limits();
  if (request.beam_size() != 0) {
    if (request.beam_size() > limits.max_beam_size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "beam_size ", request.beam_size(), " exceeds the maximum ",
          limits.max_beam_size(), " of model '", model.name(), "'"));
    }
    options.beam_size = static_cast<int>(request.beam_size());
  }
  if (request.max_new_tokens() != 0) {
    if (request.max_new_tokens() > limits.max_new_tokens()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_new_tokens ", request.max_new_tokens(), " exceeds the limit ",
          limits.max_new_tokens(), " of model '", model.name(), "'"));
    }
    options.max_new_tokens = static_cast<int>(request.max_new_tokens());
  }
  if (request.has_length_penalty()) {
    if (!std::isfinite(request.length_penalty())) {
      return absl::InvalidArgumentError(
          "length_penalty must be a finite number");
    }
    options.length_penalty = request.length_penalty();
  }
  if (request.has_early_stopping())
    options.early_stopping = request.early_stopping();
  // Compared as the unsigned wire value: a cast to int first turned values
  // above INT_MAX negative and let them through (found by the request fuzzer).
  const uint32_t hypotheses =
      request.num_hypotheses() == 0 ? 1 : request.num_hypotheses();
  if (hypotheses > static_cast<uint32_t>(options.beam_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_hypotheses ", hypotheses, " exceeds beam_size ", options.beam_size,
        "; ask for at most beam_size hypotheses or widen the beam"));
  }
  options.num_hypotheses = static_cast<int>(hypotheses);
  return options;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace attnserve::server
