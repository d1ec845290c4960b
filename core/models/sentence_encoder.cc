// SentenceEncoder::Load: a sentence-transformers folder of any registered
// encoder architecture -> TransformerSentenceEncoder (tokenizer +
// TransformerEncoder + the modules.json pipeline), as
// SentenceTransformer.encode.
#include "core/models/sentence_encoder.h"

#include <algorithm>
#include <bit>
#include <cmath>
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
                             SentencePipeline pipeline, Prompts prompts)
      : folder_(std::move(folder)),
        tokenizer_(std::move(tokenizer)),
        model_(std::move(model)),
        pipeline_(std::move(pipeline)),
        prompts_(std::move(prompts)) {
    max_tokens_ =
        std::min(model_->config().max_tokens(), tokenizer_->model_max_length());
    if (pipeline_.max_seq_length > 0)
      max_tokens_ = std::min(max_tokens_, pipeline_.max_seq_length);
  }

  // sentence-transformers prepends the prompt, then strips each text (Python
  // str.strip()) before its tokenizer sees it; byte-level BPE would otherwise
  // keep the spaces.
  absl::StatusOr<Encoding> Tokenize(
      std::string_view text, const TokenizeOptions& options) const override {
    const int limit = options.max_tokens > 0
                          ? std::min(options.max_tokens, max_tokens_)
                          : max_tokens_;
    std::string joined;
    if (!options.prompt.empty()) {
      // (std::string_view: Debian's Abseil has its own string_view.)
      joined.reserve(options.prompt.size() + text.size());
      joined.append(options.prompt).append(text);
      text = joined;
    }
    absl::StatusOr<std::u32string> decoded = DecodeUtf8(text);
    if (!decoded.ok()) return decoded.status();
    const std::u32string_view stripped = StripPythonSpace(*decoded);
    if (stripped.size() == decoded->size())
      return tokenizer_->Encode(text, options.truncate, limit, options.side);
    return tokenizer_->Encode(EncodeUtf8(stripped), options.truncate, limit,
                              options.side);
  }

  // SentenceTransformer._get_prompt_length: tokenize([prompt]) (stripped,
  // truncated to the model's limit), minus a final special token ([SEP],
  // </s>).
  absl::StatusOr<int> ExcludedPromptTokens(
      std::string_view prompt) const override {
    if (pipeline_.include_prompt || prompt.empty()) return 0;
    TokenizeOptions options;
    options.truncate = true;
    absl::StatusOr<Encoding> alone = Tokenize(prompt, options);
    if (!alone.ok()) return alone.status();
    int tokens = static_cast<int>(alone->ids.size());
    if (tokens > 0 && tokenizer_->IsSpecial(alone->ids.back())) --tokens;
    return tokens;
  }

  absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const absl::Span<const int32_t>> batch,
      absl::Span<const int> excluded_prompt_tokens, PoolingModes pooling,
      bool normalize) override {
    std::vector<std::vector<float>> out;
    if (batch.empty()) return out;
    if (absl::Status s = CheckPooling(pooling); !s.ok()) return s;
    if (!excluded_prompt_tokens.empty() &&
        excluded_prompt_tokens.size() != batch.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Embed: ", excluded_prompt_tokens.size(),
          " excluded prompt token counts for ", batch.size(), " texts"));
    }
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
          PoolPackedRows(hidden_, layout_, excluded_prompt_tokens, pooling,
                         /*normalize=*/false, &out);
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
  int dimensions(PoolingModes pooling) const override {
    return pipeline_.Dimensions(pooling, model_->config().hidden_size);
  }
  PoolingModes default_pooling() const override { return pipeline_.pooling; }
  bool default_normalize() const override { return pipeline_.normalize(); }
  const Prompts& prompts() const override { return prompts_; }
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
  Prompts prompts_;
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
  // config_sentence_transformers.json is in the package's folder, beside
  // modules.json.
  ASSIGN_OR_RETURN(Prompts prompts, ReadPrompts(folder));
  return std::unique_ptr<SentenceEncoder>(new TransformerSentenceEncoder(
      folder, std::move(*tokenizer), std::move(*model), std::move(pipeline),
      std::move(prompts)));
}

}  // namespace

absl::Status CheckDimensions(int64_t dimensions, int model_dimensions) {
  if (dimensions >= 0 && dimensions <= model_dimensions)
    return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "dimensions ", dimensions, " is more than the model's ", model_dimensions,
      " embedding dimensions; ask for 1..", model_dimensions, " (0 = all)"));
}

void TruncateEmbedding(int dimensions, bool renormalize,
                       std::vector<float>* embedding) {
  if (dimensions > 0 && static_cast<size_t>(dimensions) < embedding->size())
    embedding->resize(dimensions);
  if (!renormalize) return;
  double sq = 0;
  for (float x : *embedding) sq += static_cast<double>(x) * x;
  const float norm = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
  for (float& x : *embedding) x /= norm;
}

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
