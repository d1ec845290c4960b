// SentenceEncoder::Load: a sentence-transformers folder of any registered
// encoder architecture -> TransformerSentenceEncoder (tokenizer +
// TransformerEncoder + the modules.json pipeline), as
// SentenceTransformer.encode.
#include "core/models/sentence_encoder.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/models/hf_config.h"
#include "core/models/transformer_encoder.h"
#include "core/pooling.h"
#include "core/status_guard.h"
#include "core/status_macros.h"
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
                             SentencePipeline pipeline)
      : folder_(std::move(folder)),
        tokenizer_(std::move(tokenizer)),
        model_(std::move(model)),
        pipeline_(std::move(pipeline)) {
    max_tokens_ =
        std::min(model_->config().max_tokens(), tokenizer_->model_max_length());
    if (pipeline_.max_seq_length > 0)
      max_tokens_ = std::min(max_tokens_, pipeline_.max_seq_length);
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
      absl::Span<const absl::Span<const int32_t>> batch, PoolingModes pooling,
      bool normalize) override {
    std::vector<std::vector<float>> out;
    if (batch.empty()) return out;
    if (absl::Status s = CheckPooling(pooling); !s.ok()) return s;
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
          if (!forward.ok()) return forward;
          PoolPackedRows(hidden_, layout_, pooling, /*normalize=*/false, &out);
          for (std::vector<float>& v : out) pipeline_.Apply(normalize, &v);
          return forward;
        });
    if (!s.ok()) return s;
    return out;
  }

  std::string architecture() const override {
    return model_->config().model_type;
  }
  int max_input_tokens() const override { return max_tokens_; }
  absl::Status CheckPooling(PoolingModes pooling) const override {
    return pipeline_.CheckPooling(pooling, model_->config().hidden_size);
  }
  int dimensions() const override {
    return pipeline_.Dimensions(pipeline_.pooling,
                                model_->config().hidden_size);
  }
  PoolingModes default_pooling() const override { return pipeline_.pooling; }
  bool default_normalize() const override { return pipeline_.normalize(); }
  DType dtype() const override { return model_->dtype(); }

  int64_t EstimateEncodeBytes(absl::Span<const int> lengths) const override {
    return EstimateEncoderForwardBytes(model_->config(), lengths);
  }
  int64_t parameter_count() const override {
    return EncoderParameterCount(model_->config()) +
           pipeline_.parameter_count();
  }

 private:
  std::string folder_;  // for error messages
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<TransformerEncoder> model_;
  SentencePipeline pipeline_;  // the modules after the Transformer
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
  // modules.json first: it says where the Transformer module's files are (""
  // for the folder itself, "0_Transformer" in older packages).
  ASSIGN_OR_RETURN(SentencePipeline pipeline, ReadSentencePipeline(folder));
  const std::string encoder_folder =
      JoinPath(folder, pipeline.transformer_path);
  // Rejects an unknown model_type first, and bfloat16 on CPUs without it.
  auto model = TransformerEncoder::Load(encoder_folder, options);
  if (!model.ok()) return model.status();
  auto tokenizer = LoadTokenizer(encoder_folder);
  if (!tokenizer.ok()) return tokenizer.status();
  if ((*tokenizer)->vocab_size() > (*model)->config().vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        encoder_folder, ": tokenizer has ", (*tokenizer)->vocab_size(),
        " tokens but config.json vocab_size is ",
        (*model)->config().vocab_size));
  }
  if (absl::Status s = pipeline.CheckPooling(pipeline.pooling,
                                             (*model)->config().hidden_size);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(folder, ": ", s.message()));
  }
  return std::unique_ptr<SentenceEncoder>(new TransformerSentenceEncoder(
      folder, std::move(*tokenizer), std::move(*model), std::move(pipeline)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SentenceEncoder>> SentenceEncoder::Load(
    const std::string& folder, const LoadOptions& options) {
  return CatchToStatus(absl::StrCat("loading the encoder from ", folder), [&] {
    return LoadTransformerSentenceEncoder(folder, options);
  });
}

std::string_view PoolingName(Pooling mode) {
  switch (mode) {
    case Pooling::kCls:
      return "cls";
    case Pooling::kMax:
      return "max";
    case Pooling::kMean:
      return "mean";
    case Pooling::kMeanSqrtLen:
      return "mean_sqrt_len_tokens";
    case Pooling::kWeightedMean:
      return "weightedmean";
    case Pooling::kLastToken:
      return "lasttoken";
  }
  return "?";
}

int PoolingModes::count() const { return std::popcount(bits_); }

std::vector<Pooling> PoolingModes::modes() const {
  std::vector<Pooling> out;
  for (int m = 0; m < kPoolingModeCount; ++m) {
    if (Has(static_cast<Pooling>(m))) out.push_back(static_cast<Pooling>(m));
  }
  return out;
}

std::string PoolingModes::ToString() const {
  std::string out;
  for (Pooling mode : modes()) {
    if (!out.empty()) out += '+';
    out += PoolingName(mode);
  }
  return out;
}

}  // namespace attnserve
