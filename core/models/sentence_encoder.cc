// SentenceEncoder::Load: a sentence-transformers folder of any registered
// encoder architecture -> TransformerSentenceEncoder (tokenizer +
// TransformerEncoder + pooling), as SentenceTransformer.encode.
#include "core/models/sentence_encoder.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/models/hf_config.h"
#include "core/models/transformer_encoder.h"
#include "core/pooling.h"
#include "core/status_guard.h"
#include "core/tokenizers/hf_tokenizer.h"
#include "core/tokenizers/tokenizer.h"
#include "core/tokenizers/unicode.h"

namespace attnserve {
namespace {

class TransformerSentenceEncoder : public SentenceEncoder {
 public:
  TransformerSentenceEncoder(std::string folder,
                             std::unique_ptr<Tokenizer> tokenizer,
                             std::unique_ptr<TransformerEncoder> model,
                             PoolingConfig pooling)
      : folder_(std::move(folder)),
        tokenizer_(std::move(tokenizer)),
        model_(std::move(model)),
        pooling_(pooling) {
    max_tokens_ =
        std::min(model_->config().max_tokens(), tokenizer_->model_max_length());
    if (pooling_.max_seq_length > 0)
      max_tokens_ = std::min(max_tokens_, pooling_.max_seq_length);
  }

  // sentence-transformers strips each text (Python str.strip()) before its
  // tokenizer sees it; byte-level BPE would otherwise keep the spaces.
  absl::StatusOr<Encoding> Tokenize(std::string_view text,
                                    bool truncate) const override {
    absl::StatusOr<std::u32string> decoded = DecodeUtf8(text);
    if (!decoded.ok()) return decoded.status();
    const std::u32string_view stripped = StripPythonSpace(*decoded);
    if (stripped.size() == decoded->size())
      return tokenizer_->Encode(text, truncate, max_tokens_);
    return tokenizer_->Encode(EncodeUtf8(stripped), truncate, max_tokens_);
  }

  absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const absl::Span<const int32_t>> batch, Pooling pooling,
      bool normalize) override {
    std::vector<std::vector<float>> out;
    if (batch.empty()) return out;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].empty() ||
          batch[i].size() > static_cast<size_t>(max_tokens_)) {
        return absl::InvalidArgumentError(
            absl::StrCat("Embed: text ", i, " has ", batch[i].size(),
                         " tokens; need 1..", max_tokens_));
      }
    }
    // layout_ and hidden_ are only reused buffers: a forward that throws
    // leaves nothing the next one reads.
    absl::Status s = CatchToStatus(
        [&] {
          return absl::StrCat("encoder forward of ", folder_, " (",
                              batch.size(), " texts)");
        },
        [&] {
          // Unpadded: the encoder runs on the real tokens only (PackedLayout).
          absl::Status forward =
              model_->ForwardPacked(batch, &layout_, &hidden_);
          if (forward.ok())
            PoolPackedRows(hidden_, layout_, pooling, normalize, &out);
          return forward;
        });
    if (!s.ok()) return s;
    return out;
  }

  std::string architecture() const override {
    return model_->config().model_type;
  }
  int max_input_tokens() const override { return max_tokens_; }
  int dimensions() const override { return model_->config().hidden_size; }
  Pooling default_pooling() const override { return pooling_.mode; }
  bool default_normalize() const override { return pooling_.normalize; }
  DType dtype() const override { return model_->dtype(); }

  int64_t EstimateEncodeBytes(absl::Span<const int> lengths) const override {
    return EstimateEncoderForwardBytes(model_->config(), lengths);
  }
  int64_t parameter_count() const override {
    return EncoderParameterCount(model_->config());
  }

 private:
  std::string folder_;  // for error messages
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<TransformerEncoder> model_;
  PoolingConfig pooling_;
  int max_tokens_ = 0;
  PackedLayout layout_;  // where each text's rows are; buffers reused
  Tensor hidden_;
};

}  // namespace

namespace {

// What sentence-transformers runs: the fast tokenizer of tokenizer.json, or
// the one transformers converts from vocab.txt when the folder has no
// tokenizer.json (HfTokenizer::Load does both).
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(
    const std::string& folder) {
  auto hf = HfTokenizer::Load(folder);
  if (!hf.ok()) return hf.status();
  return std::unique_ptr<Tokenizer>(*std::move(hf));
}

absl::StatusOr<std::unique_ptr<SentenceEncoder>> LoadTransformerSentenceEncoder(
    const std::string& folder, const LoadOptions& options) {
  // Rejects an unknown model_type first, and bfloat16 on CPUs without it.
  auto model = TransformerEncoder::Load(folder, options);
  if (!model.ok()) return model.status();
  auto tokenizer = LoadTokenizer(folder);
  if (!tokenizer.ok()) return tokenizer.status();
  if ((*tokenizer)->vocab_size() > (*model)->config().vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(folder, ": tokenizer has ", (*tokenizer)->vocab_size(),
                     " tokens but config.json vocab_size is ",
                     (*model)->config().vocab_size));
  }
  auto pooling = ReadPoolingConfig(folder);
  if (!pooling.ok()) return pooling.status();
  return std::unique_ptr<SentenceEncoder>(new TransformerSentenceEncoder(
      folder, std::move(*tokenizer), std::move(*model), *pooling));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SentenceEncoder>> SentenceEncoder::Load(
    const std::string& folder, const LoadOptions& options) {
  return CatchToStatus(absl::StrCat("loading the encoder from ", folder), [&] {
    return LoadTransformerSentenceEncoder(folder, options);
  });
}

}  // namespace attnserve
