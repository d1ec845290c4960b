// Fuzzes the Hugging Face JSON/text configuration readers. The first input byte
// picks the file, the rest is its content: it replaces that file in a scratch
// copy of a golden model folder and the public loader that reads it runs (BERT
// config.json, tokenizer_config.json, special_tokens_map.json, vocab.txt,
// modules.json, 1_Pooling/config.json, sentence_bert_config.json), or, for
// Marian, the in-memory JsonFile::Parse + config parsers.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/models/encoder_architecture.h"
#include "core/models/hf_config.h"
#include "core/models/marian_config.h"
#include "core/pooling.h"
#include "core/tokenizers/bert_tokenizer_config.h"
#include "core/tokenizers/hf_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace attnserve::fuzz {
namespace {

enum Target : uint8_t {
  kBertConfig,
  kTokenizerConfig,
  kSpecialTokensMap,
  kVocab,
  kModules,
  kPoolingConfig,
  kSentenceBertConfig,
  kMarianConfig,
  kMarianGenerationConfig,
  kTargetCount
};

const char* BertFileName(Target target) {
  switch (target) {
    case kBertConfig:
      return "config.json";
    case kTokenizerConfig:
      return "tokenizer_config.json";
    case kSpecialTokensMap:
      return "special_tokens_map.json";
    case kVocab:
      return "vocab.txt";
    case kModules:
      return "modules.json";
    case kPoolingConfig:
      return "1_Pooling/config.json";
    case kSentenceBertConfig:
      return "sentence_bert_config.json";
    default:
      return nullptr;
  }
}

// A tokenizer that loaded from fuzzed settings must still honour Encode's
// contract.
void CheckTokenizer(const HfTokenizer& tokenizer) {
  for (std::string_view text :
       {"Hello, world! [SEP] naïve 東京", "", "[MASK][UNK]x"}) {
    absl::StatusOr<Encoding> enc =
        tokenizer.Encode(text, /*truncate=*/true, /*max_tokens=*/8);
    if (!enc.ok())
      continue;  // e.g. a config that drops [CLS]: a clean error is fine
    Require(enc->ids.size() <= 8,
            "Encode(truncate, 8) returned more than 8 ids");
    for (int32_t id : enc->ids) {
      Require(id >= 0 && id < tokenizer.vocab_size(),
              "Encode returned an id outside the vocab");
    }
  }
}

void RunBertFolderLoaders(const ScratchFolder& folder, Target target) {
  const std::string& path = folder.path();
  switch (target) {
    case kBertConfig: {
      absl::StatusOr<EncoderConfig> config = ReadEncoderConfig(path);
      if (config.ok()) {
        Require(config->hidden_size > 0 && config->num_heads > 0 &&
                    config->hidden_size % config->num_heads == 0 &&
                    config->vocab_size > 0 &&
                    config->max_position_embeddings > 0 &&
                    config->num_layers >= 0 && config->max_tokens() > 0,
                "ReadEncoderConfig accepted an unusable architecture");
      }
      break;
    }
    case kTokenizerConfig:
    case kSpecialTokensMap:
    case kVocab: {
      (void)LoadBertTokenizerConfig(path);
      // bert-tiny has no tokenizer.json: this builds the converted one.
      absl::StatusOr<std::unique_ptr<HfTokenizer>> tokenizer =
          HfTokenizer::Load(path);
      if (tokenizer.ok()) CheckTokenizer(**tokenizer);
      break;
    }
    default:
      (void)ReadSentencePipeline(path);
      break;
  }
}

void RunMarianParsers(Target target, std::string_view bytes) {
  static const std::string* golden_config = [] {
    absl::StatusOr<JsonFile> f =
        JsonFile::Read(TestDataPath("marian-tiny/config.json"));
    Require(f.ok(), "golden marian-tiny/config.json parses");
    return new std::string(f->json().dump());
  }();
  if (target == kMarianConfig) {
    absl::StatusOr<JsonFile> config =
        JsonFile::Parse(std::string(bytes), "config.json");
    if (!config.ok()) return;
    absl::StatusOr<MarianConfig> model = ParseMarianConfig(*config);
    if (!model.ok()) return;
    (void)ParseMarianGenerationConfig(nullptr, *config, *model);
    return;
  }
  absl::StatusOr<JsonFile> config =
      JsonFile::Parse(*golden_config, "config.json");
  Require(config.ok(), "golden config re-parses");
  absl::StatusOr<MarianConfig> model = ParseMarianConfig(*config);
  Require(model.ok(), "golden MarianConfig parses");
  absl::StatusOr<JsonFile> generation =
      JsonFile::Parse(std::string(bytes), "generation_config.json");
  if (!generation.ok()) return;
  (void)ParseMarianGenerationConfig(&*generation, *config, *model);
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attnserve::fuzz;
  static const ScratchFolder bert_folder(TestDataPath("bert-tiny"));
  const ScratchFolder* bert = &bert_folder;
  if (size == 0) return 0;
  const auto target = static_cast<Target>(data[0] % kTargetCount);
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1),
                               size - 1);
  if (const char* name = BertFileName(target); name != nullptr) {
    bert->Write(name, bytes);
    RunBertFolderLoaders(*bert, target);
    bert->Restore(name);
  } else {
    RunMarianParsers(target, bytes);
  }
  return 0;
}
