#ifndef ATTNSERVE_CORE_MODELS_SENTENCE_ENCODER_H_
#define ATTNSERVE_CORE_MODELS_SENTENCE_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/tokenizers/encoding.h"

namespace attnserve {

enum class Pooling { kMean, kCls, kMax };

// A sentence-embedding model loaded from a Hugging Face / sentence-transformers folder of any
// registered encoder architecture (core/models/encoder_architecture.h): tokenizer + encoder +
// pooling (+ normalisation), as SentenceTransformer.encode.
// Tokenize and the accessors are thread-safe; Embed is called by one thread at a time (it uses
// the instance's activation arena).
class SentenceEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<SentenceEncoder>> Load(const std::string& folder,
                                                               const LoadOptions& options = {});
  virtual ~SentenceEncoder() = default;

  // The text stripped of Python whitespace at both ends (as sentence-transformers), tokenized
  // with the model's special tokens ([CLS] pieces [SEP], <s> pieces </s>, ...). Over
  // max_input_tokens(): InvalidArgument unless truncate, then the pieces are cut and the special
  // tokens kept. Invalid UTF-8: InvalidArgument.
  virtual absl::StatusOr<Encoding> Tokenize(std::string_view text, bool truncate) const = 0;

  // One embedding per text of the batch (ids from Tokenize), in order.
  virtual absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const absl::Span<const int32_t>> batch, Pooling pooling, bool normalize) = 0;

  virtual std::string architecture() const = 0;  // config.json model_type
  virtual int max_input_tokens() const = 0;      // including special tokens
  virtual int dimensions() const = 0;
  virtual Pooling default_pooling() const = 0;   // 1_Pooling/config.json
  virtual bool default_normalize() const = 0;    // modules.json has Normalize
  virtual DType dtype() const = 0;

  // Bytes Embed holds at once for one batch of texts of these token counts (an upper estimate
  // from the model's dims: the activations live together in a layer, the attention
  // probabilities of every head, the output rows). Admission control compares it with a memory
  // budget before a batch is formed; it must not under-estimate.
  virtual int64_t EstimateEncodeBytes(absl::Span<const int> lengths) const = 0;
  // Parameters (weights) of the model, whatever dtype they are stored in.
  virtual int64_t parameter_count() const = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_SENTENCE_ENCODER_H_
