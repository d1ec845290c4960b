#ifndef ATTNSERVE_CORE_MODELS_SENTENCE_ENCODER_H_
#define ATTNSERVE_CORE_MODELS_SENTENCE_ENCODER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/models/prompts.h"
#include "core/tokenizers/encoding.h"
#include "core/tokenizers/tokenizer.h"

namespace attnserve {

// One sentence-transformers pooling mode (a pooling_mode_* flag of
// 1_Pooling/config.json), declared in the order Pooling.forward concatenates
// them when several flags are set.
enum class Pooling {
  kCls,
  kMax,
  kMean,
  kMeanSqrtLen,
  kWeightedMean,
  kLastToken
};
inline constexpr int kPoolingModeCount = 6;
// "cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"
// (sentence-transformers' names).
std::string_view PoolingName(Pooling mode);

// The set of pooling modes a model (or a request) pools with: the pooled vector
// is each mode's vector concatenated in Pooling's declaration order, as
// sentence-transformers does. One mode converts implicitly (the common case and
// every request override).
class PoolingModes {
 public:
  constexpr PoolingModes() = default;
  constexpr PoolingModes(Pooling mode)
      : bits_(Bit(mode)) {}  // NOLINT(google-explicit-constructor)

  void Add(Pooling mode) { bits_ |= Bit(mode); }
  bool Has(Pooling mode) const { return (bits_ & Bit(mode)) != 0; }
  bool empty() const { return bits_ == 0; }
  int count() const;
  std::vector<Pooling> modes() const;  // in concatenation order
  std::string ToString() const;        // "cls+mean"; "" when empty
  friend bool operator==(PoolingModes a, PoolingModes b) {
    return a.bits_ == b.bits_;
  }
  friend bool operator!=(PoolingModes a, PoolingModes b) {
    return a.bits_ != b.bits_;
  }

 private:
  static constexpr uint8_t Bit(Pooling mode) {
    return static_cast<uint8_t>(1u << static_cast<int>(mode));
  }
  uint8_t bits_ = 0;
};

// How one text of an Encode call is tokenized.
struct TokenizeOptions {
  // Over the limit: InvalidArgument unless truncate, then cut at `side`.
  bool truncate = false;
  TruncationSide side = TruncationSide::kRight;
  // The limit: max_input_tokens(), or this when lower (a deployment's
  // max_input_tokens); 0 = max_input_tokens().
  int max_tokens = 0;
  // Prepended to the text (ResolvePrompt's choice), as
  // SentenceTransformer.encode does before it strips and tokenizes.
  std::string_view prompt;
};

// A sentence-embedding model loaded from a Hugging Face / sentence-transformers
// folder of any registered encoder architecture
// (core/models/encoder_architecture.h): tokenizer + encoder + the modules.json
// pipeline after it (Pooling, Dense, Normalize; core/pooling.h), with the
// folder's prompts, as SentenceTransformer.encode.
// Tokenize and the accessors are thread-safe; Embed is called by one thread at
// a time (it uses the instance's activation arena).
class SentenceEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<SentenceEncoder>> Load(
      const std::string& folder, const LoadOptions& options = {});
  virtual ~SentenceEncoder() = default;

  // options.prompt + text, stripped of Python whitespace at both ends (as
  // sentence-transformers), tokenized with the model's special tokens ([CLS]
  // pieces [SEP], <s> pieces </s>, ...). Over the limit
  // (TokenizeOptions::max_tokens): InvalidArgument unless truncate, then the
  // pieces are cut at options.side and the special tokens kept (a left cut may
  // cut into the prompt, as in sentence-transformers). Invalid UTF-8:
  // InvalidArgument.
  virtual absl::StatusOr<Encoding> Tokenize(
      std::string_view text, const TokenizeOptions& options) const = 0;
  absl::StatusOr<Encoding> Tokenize(std::string_view text,
                                    bool truncate) const {
    TokenizeOptions options;
    options.truncate = truncate;
    return Tokenize(text, options);
  }

  // The prompt an Encode call prepends (core/models/prompts.h ResolvePrompt
  // over the folder's prompts): InvalidArgument for an unknown name or both
  // given.
  absl::StatusOr<std::string> ResolvePrompt(
      const std::optional<std::string_view>& name,
      const std::optional<std::string_view>& prompt) const {
    return attnserve::ResolvePrompt(prompts(), name, prompt);
  }
  // How many leading tokens of each text tokenized with `prompt` the pooling
  // leaves out: with include_prompt false in 1_Pooling/config.json,
  // sentence-transformers' prompt_length (the stripped prompt tokenized alone,
  // the leading special token counted, a final special token not); otherwise,
  // or for an empty prompt, 0. The tokens still pass through the encoder.
  virtual absl::StatusOr<int> ExcludedPromptTokens(
      std::string_view prompt) const = 0;

  // One embedding per text of the batch (ids from Tokenize), in order: the
  // encoder, then `pooling`, then the folder's modules after its Pooling
  // (Dense, ...). normalize: false drops the folder's Normalize modules, true
  // adds one at the end when it has none. excluded_prompt_tokens: empty, or per
  // text the leading tokens left out of the pool (ExcludedPromptTokens of its
  // prompt), as sentence-transformers' Pooling zeroes their attention mask.
  virtual absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const absl::Span<const int32_t>> batch,
      absl::Span<const int> excluded_prompt_tokens, PoolingModes pooling,
      bool normalize) = 0;
  absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const absl::Span<const int32_t>> batch, PoolingModes pooling,
      bool normalize) {
    return Embed(batch, {}, pooling, normalize);
  }
  // InvalidArgument when Embed cannot pool with these modes: the folder's first
  // Dense module takes a fixed number of values (e.g. a cls+mean model's Dense
  // cannot take a mean alone).
  virtual absl::Status CheckPooling(PoolingModes pooling) const = 0;

  virtual std::string architecture() const = 0;  // config.json model_type
  virtual int max_input_tokens() const = 0;      // including special tokens
  // Size of the embeddings pooled with `pooling` (CheckPooling passed): the
  // last Dense module's out_features, or the number of pooling modes x the
  // encoder's hidden size. dimensions(): with the default pooling.
  virtual int dimensions(PoolingModes pooling) const = 0;
  int dimensions() const { return dimensions(default_pooling()); }
  virtual PoolingModes default_pooling() const = 0;  // 1_Pooling/config.json
  virtual bool default_normalize() const = 0;  // modules.json has Normalize
  virtual const Prompts& prompts()
      const = 0;  // config_sentence_transformers.json
  virtual DType dtype() const = 0;

  // Bytes Embed holds at once for one batch of texts of these token counts (an
  // upper estimate from the model's dims: the activations live together in a
  // layer, the attention probabilities of every head, the output rows).
  // Admission control compares it with a memory budget before a batch is
  // formed; it must not under-estimate.
  virtual int64_t EstimateEncodeBytes(absl::Span<const int> lengths) const = 0;
  // Parameters (weights) of the model, whatever dtype they are stored in.
  virtual int64_t parameter_count() const = 0;
};

// `dimensions` above the model's (0: every value) is InvalidArgument naming
// both numbers. sentence-transformers ignores a truncate_dim above the size; a
// server says so instead.
absl::Status CheckDimensions(int64_t dimensions, int model_dimensions);

// The first `dimensions` values of `embedding` (0: all), as
// SentenceTransformer.encode(truncate_dim=N) cuts after the whole pipeline,
// Normalize included, without normalising again; `renormalize` then scales
// the cut vector to unit L2 norm (x / max(||x||, 1e-12), encode's
// normalize_embeddings=True), as the OpenAI API's `dimensions` does.
void TruncateEmbedding(int dimensions, bool renormalize,
                       std::vector<float>* embedding);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_SENTENCE_ENCODER_H_
