// Translator::Load: Hugging Face Marian / opus-mt folders (MarianTokenizer +
// MarianModel + generation_config.json defaults).
#include "core/models/translator.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/decoding/logits_rules.h"
#include "core/decoding/marian_decode_batch.h"
#include "core/models/hf_config.h"
#include "core/models/marian.h"
#include "core/models/marian_config.h"
#include "core/status_guard.h"
#include "core/tokenizers/marian_tokenizer.h"

namespace attnserve {
namespace {

class MarianTranslator : public Translator {
 public:
  MarianTranslator(std::string folder,
                   std::unique_ptr<MarianTokenizer> tokenizer,
                   std::unique_ptr<MarianModel> model,
                   MarianGenerationConfig generation)
      : folder_(std::move(folder)),
        tokenizer_(std::move(tokenizer)),
        model_(std::move(model)),
        generation_(std::move(generation)) {}

  absl::StatusOr<Encoding> TokenizeSource(
      std::string_view text, bool truncate,
      std::string_view target_language) const override {
    return tokenizer_->EncodeSource(text, truncate, max_input_tokens(),
                                    target_language);
  }

  std::string Detokenize(absl::Span<const int32_t> ids) const override {
    return tokenizer_->Decode(ids);
  }

  absl::StatusOr<std::vector<std::vector<Hypothesis>>> Generate(
      absl::Span<const absl::Span<const int32_t>> sources,
      const GenerationOptions& options) override {
    // Add and Step turn their own exceptions into a Status; this catches the
    // rest (the batch, the bookkeeping here).
    return CatchToStatus(
        [&] {
          return absl::StrCat("translating ", sources.size(), " texts with ",
                              folder_);
        },
        [&] { return GenerateUnguarded(sources, options); });
  }

  std::unique_ptr<DecodeBatch> NewDecodeBatch() override {
    return std::make_unique<MarianDecodeBatch>(
        model_.get(), folder_, generation_.decoder_start_token_id,
        LogitsRules(generation_.bad_words_ids, generation_.forced_eos_token_id,
                    generation_.eos_token_ids));
  }

  GenerationOptions default_options() const override {
    GenerationOptions o;
    o.beam_size = generation_.num_beams;
    // HF: max_length counts the decoder start token; max_new_tokens wins when
    // set.
    const int max_new = generation_.max_new_tokens > 0
                            ? generation_.max_new_tokens
                            : generation_.max_length - 1;
    o.max_new_tokens = std::clamp(max_new, 1, max_new_tokens_limit());
    o.length_penalty = generation_.length_penalty;
    o.num_hypotheses =
        std::clamp(generation_.num_return_sequences, 1, o.beam_size);
    o.early_stopping = generation_.early_stopping;
    return o;
  }

  std::string architecture() const override { return "marian"; }

  int max_input_tokens() const override {
    return std::min(tokenizer_->model_max_length(),
                    model_->config().max_position_embeddings);
  }

  // Generating token k feeds decoder positions 0..k-1.
  int max_new_tokens_limit() const override {
    return model_->config().max_position_embeddings;
  }

  std::vector<std::string> source_languages() const override {
    const std::string lang = tokenizer_->source_lang();
    if (lang.empty()) return {};
    return {lang};
  }

  std::vector<std::string> target_languages() const override {
    std::vector<std::string> out;
    for (const std::string& token : tokenizer_->target_language_tokens()) {
      absl::string_view t = token;
      if (absl::ConsumePrefix(&t, ">>") && absl::ConsumeSuffix(&t, "<<"))
        out.emplace_back(t);
    }
    if (out.empty() && !tokenizer_->target_lang().empty())
      out.push_back(tokenizer_->target_lang());
    return out;
  }

  DType dtype() const override { return model_->precision().dtype; }

  int64_t EstimateTranslateBytes(int input_tokens, int beams,
                                 int new_tokens) const override {
    return EstimateMarianTextBytes(model_->config(), input_tokens, beams,
                                   new_tokens);
  }
  int64_t parameter_count() const override {
    return MarianParameterCount(model_->config());
  }

 private:
  absl::StatusOr<std::vector<std::vector<Hypothesis>>> GenerateUnguarded(
      absl::Span<const absl::Span<const int32_t>> sources,
      const GenerationOptions& options) {
    std::unique_ptr<DecodeBatch> batch = NewDecodeBatch();
    const std::vector<GenerationOptions> per_source(sources.size(), options);
    auto ids = batch->Add(sources, per_source);
    if (!ids.ok()) return ids.status();
    std::map<DecodeBatch::SeqId, std::vector<Hypothesis>> done;
    while (batch->num_sequences() > 0) {
      auto events = batch->Step();
      if (!events.ok()) return events.status();
      for (DecodeBatch::Event& e : *events) {
        if (e.finished) done[e.id] = std::move(e.hypotheses);
      }
    }
    std::vector<std::vector<Hypothesis>> out;
    out.reserve(ids->size());
    for (DecodeBatch::SeqId id : *ids) out.push_back(std::move(done[id]));
    return out;
  }

  std::string folder_;  // for error messages
  std::unique_ptr<MarianTokenizer> tokenizer_;
  std::unique_ptr<MarianModel> model_;
  MarianGenerationConfig generation_;
};

absl::StatusOr<std::unique_ptr<Translator>> LoadMarianTranslator(
    const std::string& folder, const LoadOptions& options) {
  auto config_json = JsonFile::Read(JoinPath(folder, "config.json"));
  if (!config_json.ok()) return config_json.status();
  auto config = ParseMarianConfig(*config_json);
  if (!config.ok()) return config.status();
  std::unique_ptr<JsonFile> generation_json;
  const std::string generation_path =
      JoinPath(folder, "generation_config.json");
  if (FileExists(generation_path)) {
    auto g = JsonFile::Read(generation_path);
    if (!g.ok()) return g.status();
    generation_json = std::make_unique<JsonFile>(*std::move(g));
  }
  auto generation =
      ParseMarianGenerationConfig(generation_json.get(), *config_json, *config);
  if (!generation.ok()) return generation.status();
  auto tokenizer = MarianTokenizer::Load(folder);
  if (!tokenizer.ok()) return tokenizer.status();
  if ((*tokenizer)->vocab_size() > config->vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        folder, ": tokenizer vocabulary (", (*tokenizer)->vocab_size(),
        " entries) is larger than the model's vocab_size ",
        config->vocab_size));
  }
  auto model = MarianModel::Load(folder, options);
  if (!model.ok()) return model.status();
  return std::unique_ptr<Translator>(
      new MarianTranslator(folder, *std::move(tokenizer), *std::move(model),
                           *std::move(generation)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Translator>> Translator::Load(
    const std::string& folder, const LoadOptions& options) {
  return CatchToStatus(absl::StrCat("loading the translator from ", folder),
                       [&] { return LoadMarianTranslator(folder, options); });
}

}  // namespace attnserve
