// SequenceClassifier::Load: a `<Arch>ForSequenceClassification` folder ->
// tokenizer + TransformerEncoder + ClassificationHead, with the score policy
// of sentence-transformers' CrossEncoder and transformers' pipeline.
#include "core/models/sequence_classifier.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/heads/classification_head.h"
#include "core/models/encoder_architecture.h"
#include "core/models/hf_config.h"
#include "core/models/model_folder.h"
#include "core/models/transformer_encoder.h"
#include "core/status_macros.h"

namespace attnserve {

std::string_view ScoreActivationName(ScoreActivation a) {
  switch (a) {
    case ScoreActivation::kNone:
      return "none";
    case ScoreActivation::kSigmoid:
      return "sigmoid";
    case ScoreActivation::kSoftmax:
      return "softmax";
    case ScoreActivation::kTanh:
      return "tanh";
  }
  return "none";
}

ScoreActivation PipelineActivation(int num_labels, ProblemType problem_type) {
  if (problem_type == ProblemType::kRegression) return ScoreActivation::kNone;
  if (problem_type == ProblemType::kMultiLabel || num_labels == 1)
    return ScoreActivation::kSigmoid;
  return ScoreActivation::kSoftmax;
}

ScoreActivation CrossEncoderDefaultActivation(int num_labels) {
  return num_labels == 1 ? ScoreActivation::kSigmoid : ScoreActivation::kNone;
}

void ApplyScoreActivation(ScoreActivation activation,
                          absl::Span<float> scores) {
  switch (activation) {
    case ScoreActivation::kNone:
      return;
    case ScoreActivation::kSigmoid:
      for (float& s : scores)
        s = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(s))));
      return;
    case ScoreActivation::kTanh:
      for (float& s : scores)
        s = static_cast<float>(std::tanh(static_cast<double>(s)));
      return;
    case ScoreActivation::kSoftmax: {
      if (scores.empty()) return;
      const double max = *std::max_element(scores.begin(), scores.end());
      double sum = 0;
      for (float s : scores) sum += std::exp(s - max);
      for (float& s : scores) s = static_cast<float>(std::exp(s - max) / sum);
      return;
    }
  }
}

std::vector<int> OrderByScore(absl::Span<const float> scores) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return scores[a] > scores[b]; });
  return order;
}

namespace {

// The "<Arch>ForSequenceClassification" entry of config.json "architectures".
absl::StatusOr<std::string> HeadClass(const JsonFile& f) {
  std::string head = SequenceClassificationClass(f);
  if (!head.empty()) return head;
  return absl::InvalidArgumentError(absl::StrCat(
      f.path(),
      ": \"architectures\" names no *ForSequenceClassification (a "
      "cross-encoder or text classifier saved by save_pretrained has one, "
      "e.g. \"BertForSequenceClassification\")"));
}

// PretrainedConfig: id2label ({"0": "neg", ...}) when present, else
// num_labels (default 2) labels named "LABEL_<i>".
absl::StatusOr<std::vector<std::string>> Labels(const JsonFile& f) {
  const nlohmann::json& j = f.json();
  if (!j.contains("id2label") || j.at("id2label").is_null()) {
    ASSIGN_OR_RETURN(int64_t n, f.GetInt("num_labels", 2));
    if (n < 1 || n > (1 << 20)) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.path(), ": \"num_labels\" must be >= 1, got ", n));
    }
    std::vector<std::string> labels;
    for (int64_t i = 0; i < n; ++i) labels.push_back(absl::StrCat("LABEL_", i));
    return labels;
  }
  const nlohmann::json& map = j.at("id2label");
  if (!map.is_object() || map.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        f.path(), ": \"id2label\" must be a non-empty object {\"0\": label}"));
  }
  std::vector<std::string> labels(map.size());
  std::vector<bool> seen(map.size(), false);
  for (const auto& [key, value] : map.items()) {
    size_t id = 0;
    const bool numeric = !key.empty() && key.size() < 9 &&
                         std::all_of(key.begin(), key.end(), [](char c) {
                           return c >= '0' && c <= '9';
                         });
    if (numeric) id = std::stoul(key);
    if (!numeric || id >= labels.size() || seen[id] || !value.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.path(), ": \"id2label\" entry \"", key,
                       "\": keys must be the ids 0..", labels.size() - 1,
                       " once each, values strings"));
    }
    seen[id] = true;
    labels[id] = value.get<std::string>();
  }
  return labels;
}

absl::StatusOr<ProblemType> ReadProblemType(const JsonFile& f) {
  ASSIGN_OR_RETURN(std::string type, f.GetString("problem_type", ""));
  if (type.empty()) return ProblemType::kUnspecified;
  if (type == "regression") return ProblemType::kRegression;
  if (type == "single_label_classification") return ProblemType::kSingleLabel;
  if (type == "multi_label_classification") return ProblemType::kMultiLabel;
  return absl::InvalidArgumentError(
      absl::StrCat(f.path(), ": \"problem_type\" \"", type,
                   "\" is not regression, single_label_classification or "
                   "multi_label_classification"));
}

// CrossEncoder.get_default_activation_fn: config.json
// "sentence_transformers": {"activation_fn": <class path>} (ST >= 4), else
// "sbert_ce_default_activation_function" (older); a path outside "torch." is
// not imported without trust_remote_code (ST warns and uses the default).
absl::StatusOr<ScoreActivation> CrossEncoderActivation(const JsonFile& f,
                                                       int num_labels) {
  const nlohmann::json& j = f.json();
  std::string path, key;
  if (j.contains("sentence_transformers") &&
      j.at("sentence_transformers").is_object() &&
      j.at("sentence_transformers").contains("activation_fn") &&
      j.at("sentence_transformers").at("activation_fn").is_string()) {
    key = "sentence_transformers.activation_fn";
    path = j.at("sentence_transformers").at("activation_fn");
  } else if (j.contains("sbert_ce_default_activation_function") &&
             j.at("sbert_ce_default_activation_function").is_string()) {
    key = "sbert_ce_default_activation_function";
    path = j.at("sbert_ce_default_activation_function");
  }
  if (!absl::StartsWith(path, "torch."))
    return CrossEncoderDefaultActivation(num_labels);
  // torch.nn.Sigmoid and torch.nn.modules.activation.Sigmoid name one class.
  const std::string name = path.substr(path.rfind('.') + 1);
  if (absl::StartsWith(path, "torch.nn.")) {
    if (name == "Identity") return ScoreActivation::kNone;
    if (name == "Sigmoid") return ScoreActivation::kSigmoid;
    if (name == "Tanh") return ScoreActivation::kTanh;
    // nn.Softmax() (dim=None) on [batch, labels] logits: over the labels.
    if (name == "Softmax") return ScoreActivation::kSoftmax;
  }
  return absl::UnimplementedError(absl::StrCat(
      f.path(), ": ", key, " \"", path,
      "\" is not supported (supported: torch.nn Identity, Sigmoid, Tanh, "
      "Softmax)"));
}

}  // namespace

SequenceClassifier::~SequenceClassifier() = default;

absl::StatusOr<std::unique_ptr<SequenceClassifier>> SequenceClassifier::Load(
    const std::string& folder, const LoadOptions& options) {
  ASSIGN_OR_RETURN(JsonFile f, JsonFile::Read(JoinPath(folder, "config.json")));
  std::unique_ptr<SequenceClassifier> m(new SequenceClassifier());
  ASSIGN_OR_RETURN(m->head_class_, HeadClass(f));
  ASSIGN_OR_RETURN(m->labels_, Labels(f));
  ASSIGN_OR_RETURN(m->problem_type_, ReadProblemType(f));
  ASSIGN_OR_RETURN(m->rerank_activation_,
                   CrossEncoderActivation(f, m->num_labels()));
  // Refuses an unregistered model_type, naming the supported ones.
  ASSIGN_OR_RETURN(EncoderConfig config, ReadEncoderConfig(folder));
  const EncoderArchitecture& arch = *FindEncoderArchitecture(config.model_type);
  m->pair_token_types_ = arch.pair_token_types;
  ASSIGN_OR_RETURN(m->tokenizer_, HfTokenizer::Load(folder));

  ASSIGN_OR_RETURN(WeightSource source, FolderWeightSource(folder));
  ASSIGN_OR_RETURN(EncoderWeights weights, ReadEncoderWeights(source, config));
  const ClassificationHeadNames& names = arch.classifier;
  ASSIGN_OR_RETURN(ClassificationHead head,
                   ClassificationHead::Read(
                       WeightReader(&source), names.dense, names.activation,
                       names.out, config.hidden_size, m->num_labels()));
  m->head_ = std::make_unique<ClassificationHead>(std::move(head));
  ASSIGN_OR_RETURN(m->encoder_, TransformerEncoder::Create(
                                    config, std::move(weights), options));
  // CrossEncoder: tokenizer.model_max_length = min(model_max_length,
  // max_position_embeddings); the position table of RoBERTa-family models
  // holds 2 fewer (max_tokens()).
  m->max_tokens_ =
      std::min({m->tokenizer_->model_max_length(),
                config.max_position_embeddings, config.max_tokens()});
  return m;
}

std::string SequenceClassifier::architecture() const {
  return encoder_->config().model_type;
}

DType SequenceClassifier::dtype() const { return encoder_->dtype(); }

absl::StatusOr<Encoding> SequenceClassifier::Tokenize(
    std::string_view text, std::optional<std::string_view> pair,
    const PairTokenizeOptions& options) const {
  const int limit = options.max_tokens > 0
                        ? std::min(options.max_tokens, max_tokens_)
                        : max_tokens_;
  absl::StatusOr<Encoding> encoding =
      pair.has_value() ? tokenizer_->EncodePair(text, *pair, options.truncate,
                                                limit, options.empty_pair)
                       : tokenizer_->Encode(text, options.truncate, limit);
  if (!encoding.ok()) return encoding.status();
  // RoBERTa's and the others' fast tokenizers return no token_type_ids (the
  // model sees 0s) even where the post-processor numbers the second text 1.
  if (!pair_token_types_) {
    encoding->type_ids.assign(encoding->ids.size(), 0);
  }
  return encoding;
}

absl::StatusOr<std::vector<std::vector<float>>> SequenceClassifier::Classify(
    absl::Span<const absl::Span<const int32_t>> ids,
    absl::Span<const absl::Span<const int32_t>> type_ids) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sequence ", i, " has no tokens (Tokenize adds the special tokens)"));
    }
  }
  RETURN_IF_ERROR(encoder_->ForwardPacked(ids, type_ids, &layout_, &hidden_));
  const int64_t h = encoder_->config().hidden_size;
  std::vector<std::vector<float>> logits(ids.size());
  for (int i = 0; i < layout_.sequences(); ++i) {
    const float* first = hidden_.data() + layout_.first_row(i) * h;
    head_->Apply(absl::MakeConstSpan(first, h), &logits[i]);
  }
  return logits;
}

int64_t SequenceClassifier::EstimateClassifyBytes(
    absl::Span<const int> lengths) const {
  // The head's vectors (hidden + labels floats per sequence) are within the
  // encoder estimate's per-sequence pooled rows.
  return EstimateEncoderForwardBytes(encoder_->config(), lengths);
}

int64_t SequenceClassifier::parameter_count() const {
  return EncoderParameterCount(encoder_->config()) + head_->parameter_count();
}

}  // namespace attnserve
