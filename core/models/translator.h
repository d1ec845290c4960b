#ifndef ATTNSERVE_CORE_MODELS_TRANSLATOR_H_
#define ATTNSERVE_CORE_MODELS_TRANSLATOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/decoding/decode_batch.h"
#include "core/dtype.h"
#include "core/tokenizers/encoding.h"

namespace attnserve {

// An encoder-decoder translation model (Hugging Face Marian / opus-mt folder) with its
// tokenizers and generation defaults. Accessors and tokenization are thread-safe; a DecodeBatch
// is used by one thread at a time.
class Translator {
 public:
  static absl::StatusOr<std::unique_ptr<Translator>> Load(const std::string& folder,
                                                          const LoadOptions& options = {});
  virtual ~Translator() = default;

  // Source pieces + </s>. target_language (e.g. "de") prepends ">>de<<" for multi-target models
  // (InvalidArgument when the model has no such token). Over max_input_tokens(): InvalidArgument
  // unless truncate. Invalid UTF-8: InvalidArgument.
  virtual absl::StatusOr<Encoding> TokenizeSource(std::string_view text, bool truncate,
                                                  std::string_view target_language = {}) const = 0;
  // Target ids -> text, special tokens skipped (HF decode(skip_special_tokens=True)).
  virtual std::string Detokenize(absl::Span<const int32_t> ids) const = 0;

  // Encodes, decodes with `options`, returns num_hypotheses hypotheses per source, best first.
  virtual absl::StatusOr<std::vector<std::vector<Hypothesis>>> Generate(
      absl::Span<const absl::Span<const int32_t>> sources, const GenerationOptions& options) = 0;
  // A continuous-batching decoder over this model (see decode_batch.h).
  virtual std::unique_ptr<DecodeBatch> NewDecodeBatch() = 0;

  virtual GenerationOptions default_options() const = 0;  // generation_config.json
  virtual std::string architecture() const = 0;           // "marian"
  virtual int max_input_tokens() const = 0;                // incl. </s>
  virtual int max_new_tokens_limit() const = 0;            // positions left for the decoder
  virtual std::vector<std::string> source_languages() const = 0;
  virtual std::vector<std::string> target_languages() const = 0;
  virtual DType dtype() const = 0;

  // Bytes one source text of `input_tokens` holds while it is translated with `beams` beams and
  // up to `new_tokens` generated tokens (an upper estimate from the model's dims: its share of
  // the encoder pass, its cross-attention keys/values, the self-attention KV cache of every
  // beam, preallocated for new_tokens, and the per-row decoder activations and logits). Texts
  // add up: a scheduler compares the sum over its running texts with a memory budget.
  virtual int64_t EstimateTranslateBytes(int input_tokens, int beams, int new_tokens) const = 0;
  // Parameters (weights) of the model, whatever dtype they are stored in.
  virtual int64_t parameter_count() const = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_TRANSLATOR_H_
