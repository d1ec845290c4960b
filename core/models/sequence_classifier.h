#ifndef ATTNSERVE_CORE_MODELS_SEQUENCE_CLASSIFIER_H_
#define ATTNSERVE_CORE_MODELS_SEQUENCE_CLASSIFIER_H_

// Cross-encoders (rerankers) and text classifiers: a Hugging Face folder
// whose config.json "architectures" names `<Arch>ForSequenceClassification`
// for a registered encoder architecture (core/models/encoder_architecture.h):
// BERT, RoBERTa, XLM-R, CamemBERT, DistilBERT, MPNet.
//
// One call, as data (what a Rerank or Classify front end does):
//   Tokenize(query, passage) per pair  ->  Classify(batch)  ->  logits
//   -> ApplyScoreActivation(rerank_activation() or classify_activation())
//   -> OrderByScore (best first).
// The policy of each step is here, so the front ends only map fields:
//   - Rerank = sentence-transformers' CrossEncoder(folder).predict(pairs):
//     pairs tokenized with truncation=True (longest_first at
//     max_input_tokens()), an empty passage kept as a pair
//     (EmptyPair::kPair), scores = rerank_activation() of the logits.
//     CrossEncoder.rank refuses models with num_labels() != 1 ("only works
//     for models with num_labels=1"); a Rerank front end should too.
//   - Classify = transformers' pipeline("text-classification", top_k=None):
//     tokenized without truncation unless asked, an empty text_pair is no
//     pair (EmptyPair::kSingle), scores = classify_activation(), labels from
//     labels() (id2label), sorted by score.
// Neither library strips the texts (unlike SentenceTransformer.encode), so
// Tokenize does not either.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/layers/packed_layout.h"
#include "core/tensor.h"
#include "core/tokenizers/encoding.h"
#include "core/tokenizers/hf_tokenizer.h"

namespace attnserve {

class TransformerEncoder;
class ClassificationHead;

// config.json "problem_type" (transformers' PretrainedConfig).
enum class ProblemType {
  kUnspecified,  // absent or null
  kRegression,
  kSingleLabel,  // "single_label_classification"
  kMultiLabel,   // "multi_label_classification"
};

// The function from logits to scores.
enum class ScoreActivation {
  kNone,     // the logits (CrossEncoder's nn.Identity)
  kSigmoid,  // per logit: 1 / (1 + e^-x)
  kSoftmax,  // over a sequence's logits
  kTanh,     // per logit (a CrossEncoder saved with activation_fn=nn.Tanh())
};
std::string_view ScoreActivationName(ScoreActivation a);  // "sigmoid", ...

// The activation transformers' text-classification pipeline applies by
// default (TextClassificationPipeline.postprocess): none for regression;
// sigmoid for multi_label_classification or a single label; softmax
// otherwise.
ScoreActivation PipelineActivation(int num_labels, ProblemType problem_type);
// sentence-transformers' CrossEncoder default when the folder's config names
// no activation (get_default_activation_fn): sigmoid for one label, else none.
ScoreActivation CrossEncoderDefaultActivation(int num_labels);

// scores = activation(logits) of one sequence, in place (computed in double,
// rounded to float once).
void ApplyScoreActivation(ScoreActivation activation, absl::Span<float> scores);
// Indices of `scores`, best first; ties keep their input order (Python's
// sorted(..., reverse=True), which CrossEncoder.rank and the pipeline use).
std::vector<int> OrderByScore(absl::Span<const float> scores);

// How one text or pair is tokenized.
struct PairTokenizeOptions {
  // Over the limit: InvalidArgument unless truncate, then transformers'
  // truncation=True: longest_first for a pair (tokens come off the longer
  // text, so a long passage is cut, not the query), the right end of a
  // single text; special tokens kept.
  bool truncate = false;
  // The limit: max_input_tokens(), or this when lower (a deployment's
  // max_input_tokens); 0 = max_input_tokens().
  int max_tokens = 0;
  // An empty second text: CrossEncoder keeps the pair ([CLS] a [SEP] [SEP]),
  // the pipeline encodes the first text alone.
  HfTokenizer::EmptyPair empty_pair = HfTokenizer::EmptyPair::kPair;
};

// A `*ForSequenceClassification` model: tokenizer + TransformerEncoder (fp32,
// bf16 or int8 per LoadOptions::dtype) + its ClassificationHead (float32).
// Tokenize and the accessors are thread-safe; Classify is called by one
// thread at a time (it reuses the encoder's activation buffers).
class SequenceClassifier {
 public:
  // Reads <folder>/config.json (model_type, "architectures" with
  // "<Arch>ForSequenceClassification", id2label / num_labels, problem_type,
  // sentence-transformers' activation: "sentence_transformers":
  // {"activation_fn": "torch.nn.modules.activation.Sigmoid"}, or before
  // sentence-transformers 4 "sbert_ce_default_activation_function"), the
  // tokenizer files and the weights (FolderWeightSource; the base model's
  // tensors under its prefix, "bert." ..., and the head's). Errors name the
  // file and the key or tensor: a folder that is not a
  // *ForSequenceClassification of a registered architecture is
  // InvalidArgument, missing head weights NotFound, an activation_fn under
  // "torch." that is not Identity/Sigmoid/Tanh/Softmax Unimplemented. An
  // activation_fn outside "torch." is ignored for the default, as
  // CrossEncoder does without trust_remote_code.
  static absl::StatusOr<std::unique_ptr<SequenceClassifier>> Load(
      const std::string& folder, const LoadOptions& options = {});
  ~SequenceClassifier();

  // The text, or the pair (text, *pair), with the model's special tokens and
  // token types ([CLS] a [SEP] b [SEP] with types 0..0 1..1 for BERT; <s> a
  // </s></s> b </s> with types 0 for RoBERTa and the others, whose tokenizers
  // give no token_type_ids). Encoding::type_ids always has one per id. Equal
  // to the fast tokenizer's tokenizer(a, b, truncation=...). Invalid UTF-8:
  // InvalidArgument.
  absl::StatusOr<Encoding> Tokenize(std::string_view text,
                                    std::optional<std::string_view> pair,
                                    const PairTokenizeOptions& options) const;

  // Logits (num_labels() each) per sequence, in order. ids[i] and
  // type_ids[i] from Tokenize (type_ids may be empty: all 0). The batch is
  // packed without padding, as SentenceEncoder::Embed.
  absl::StatusOr<std::vector<std::vector<float>>> Classify(
      absl::Span<const absl::Span<const int32_t>> ids,
      absl::Span<const absl::Span<const int32_t>> type_ids);

  std::string architecture() const;  // config.json model_type
  // The config.json "architectures" entry, e.g.
  // "BertForSequenceClassification".
  const std::string& head_class() const { return head_class_; }
  int max_input_tokens() const { return max_tokens_; }  // with special tokens
  int num_labels() const { return static_cast<int>(labels_.size()); }
  // id2label in id order ("LABEL_<i>" where config.json names none).
  const std::vector<std::string>& labels() const { return labels_; }
  ProblemType problem_type() const { return problem_type_; }
  // What CrossEncoder.predict applies (the folder's activation, else
  // CrossEncoderDefaultActivation) and what the text-classification pipeline
  // applies (PipelineActivation).
  ScoreActivation rerank_activation() const { return rerank_activation_; }
  ScoreActivation classify_activation() const {
    return PipelineActivation(num_labels(), problem_type_);
  }
  DType dtype() const;

  // Bytes Classify holds at once for a batch of sequences of these token
  // counts (an upper estimate, as SentenceEncoder::EstimateEncodeBytes).
  int64_t EstimateClassifyBytes(absl::Span<const int> lengths) const;
  // Parameters of the encoder and the head.
  int64_t parameter_count() const;

 private:
  SequenceClassifier() = default;

  std::unique_ptr<HfTokenizer> tokenizer_;
  std::unique_ptr<TransformerEncoder> encoder_;
  std::unique_ptr<ClassificationHead> head_;
  std::string head_class_;
  bool pair_token_types_ = false;
  int max_tokens_ = 0;
  std::vector<std::string> labels_;
  ProblemType problem_type_ = ProblemType::kUnspecified;
  ScoreActivation rerank_activation_ = ScoreActivation::kNone;
  // Classify: the packed batch and its final hidden rows.
  PackedLayout layout_;
  Tensor hidden_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_SEQUENCE_CLASSIFIER_H_
