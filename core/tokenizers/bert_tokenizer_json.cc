#include "core/tokenizers/bert_tokenizer_json.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using Json = nlohmann::json;

// transformers' special_tokens_map_extended order (SPECIAL_TOKENS_ATTRIBUTES
// of BERT: unk, sep, pad, cls, mask, then the additional ones), first of each
// content only, as all_special_tokens_extended.
std::vector<AddedTokenSpec> SpecialTokens(const BertTokenizerConfig& config) {
  std::vector<AddedTokenSpec> all;
  absl::flat_hash_set<std::string> seen;
  auto add = [&](const AddedTokenSpec& spec) {
    if (seen.insert(spec.content).second) all.push_back(spec);
  };
  for (const std::optional<AddedTokenSpec>* slot :
       {&config.unk_token, &config.sep_token, &config.pad_token,
        &config.cls_token, &config.mask_token}) {
    if (slot->has_value()) add(**slot);
  }
  for (const AddedTokenSpec& spec : config.additional_special_tokens) add(spec);
  return all;
}

// What PreTrainedTokenizerFast.__init__ passes to add_tokens: the entries of
// added_tokens_decoder by id, then the special tokens not among them; each
// special when flagged so or when it is one of the special tokens.
std::vector<AddedTokenSpec> TokensToAdd(const BertTokenizerConfig& config) {
  std::vector<AddedTokenSpec> decoder = config.added_tokens_decoder;
  std::stable_sort(decoder.begin(), decoder.end(),
                   [](const AddedTokenSpec& a, const AddedTokenSpec& b) {
                     return a.id.value_or(0) < b.id.value_or(0);
                   });
  const std::vector<AddedTokenSpec> specials = SpecialTokens(config);
  absl::flat_hash_set<std::string> special_contents;
  for (const AddedTokenSpec& spec : specials)
    special_contents.insert(spec.content);

  std::vector<AddedTokenSpec> tokens;
  absl::flat_hash_set<std::string> listed;
  const std::vector<AddedTokenSpec>* groups[] = {&decoder, &specials};
  for (const std::vector<AddedTokenSpec>* group : groups) {
    for (AddedTokenSpec spec : *group) {
      if (spec.content.empty() || !listed.insert(spec.content).second) continue;
      spec.special = spec.special || special_contents.contains(spec.content);
      tokens.push_back(std::move(spec));
    }
  }
  return tokens;
}

// The ids the tokenizers crate gives them (AddedVocabulary::add_tokens): the
// vocabulary's id when the token is in vocab.txt, else the next one after the
// vocabulary.
Json AddedTokensJson(const std::vector<AddedTokenSpec>& tokens,
                     const Vocabulary& vocab, int model_size,
                     absl::flat_hash_map<std::string, int>* ids) {
  Json out = Json::array();
  int next_id = model_size;
  for (const AddedTokenSpec& spec : tokens) {
    const std::optional<int> in_vocab = vocab.Find(spec.content);
    const int id = in_vocab.has_value() ? *in_vocab : next_id++;
    (*ids)[spec.content] = id;
    out.push_back({{"id", id},
                   {"content", spec.content},
                   {"single_word", spec.single_word},
                   {"lstrip", spec.lstrip},
                   {"rstrip", spec.rstrip},
                   {"normalized", spec.normalizes()},
                   {"special", spec.special}});
  }
  return out;
}

Json TemplatePiece(const std::string& kind, const std::string& id,
                   int type_id) {
  return {{kind, {{"id", id}, {"type_id", type_id}}}};
}

Json PostProcessorJson(const std::string& cls, int cls_id,
                       const std::string& sep, int sep_id) {
  Json special = Json::object();
  special[cls] = {{"id", cls},
                  {"ids", Json::array({cls_id})},
                  {"tokens", Json::array({cls})}};
  special[sep] = {{"id", sep},
                  {"ids", Json::array({sep_id})},
                  {"tokens", Json::array({sep})}};
  return {{"type", "TemplateProcessing"},
          {"single", Json::array({TemplatePiece("SpecialToken", cls, 0),
                                  TemplatePiece("Sequence", "A", 0),
                                  TemplatePiece("SpecialToken", sep, 0)})},
          {"pair", Json::array({TemplatePiece("SpecialToken", cls, 0),
                                TemplatePiece("Sequence", "A", 0),
                                TemplatePiece("SpecialToken", sep, 0),
                                TemplatePiece("Sequence", "B", 1),
                                TemplatePiece("SpecialToken", sep, 1)})},
          {"special_tokens", special}};
}

Json NormalizerJson(const BertTokenizerConfig& config) {
  // BertTokenizerFast.__init__ replaces the converter's normalizer settings
  // with its own arguments; strip_accents null follows lowercase.
  return {{"type", "BertNormalizer"},
          {"clean_text", true},
          {"handle_chinese_chars", config.tokenize_chinese_chars},
          {"strip_accents", config.strip_accents.has_value()
                                ? Json(*config.strip_accents)
                                : Json(nullptr)},
          {"lowercase", config.do_lower_case}};
}

absl::StatusOr<std::string> Required(const std::optional<AddedTokenSpec>& token,
                                     const char* key,
                                     const std::string& folder) {
  if (token.has_value() && !token->content.empty()) return token->content;
  return absl::InvalidArgumentError(absl::StrCat(
      folder, ": ", key,
      " is null or empty in tokenizer_config.json / special_tokens_map.json; "
      "a BERT "
      "tokenizer built from vocab.txt needs it (set it, or ship the "
      "tokenizer.json written by save_pretrained)"));
}

}  // namespace

absl::StatusOr<std::string> BertTokenizerJson(const Vocabulary& vocab,
                                              const BertTokenizerConfig& config,
                                              const std::string& folder) {
  absl::StatusOr<std::string> unk =
      Required(config.unk_token, "unk_token", folder);
  if (!unk.ok()) return unk.status();
  absl::StatusOr<std::string> cls =
      Required(config.cls_token, "cls_token", folder);
  if (!cls.ok()) return cls.status();
  absl::StatusOr<std::string> sep =
      Required(config.sep_token, "sep_token", folder);
  if (!sep.ok()) return sep.status();

  // transformers' load_vocab: a repeated token keeps its last line's id.
  Json model_vocab = Json::object();
  for (int id = 0; id < vocab.num_lines(); ++id)
    model_vocab[vocab.token(id)] = id;
  absl::flat_hash_map<std::string, int> added_ids;
  Json added =
      AddedTokensJson(TokensToAdd(config), vocab,
                      static_cast<int>(model_vocab.size()), &added_ids);
  Json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", std::move(added)},
      {"normalizer", NormalizerJson(config)},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      // The special tokens are among the added tokens (TokensToAdd).
      {"post_processor",
       PostProcessorJson(*cls, added_ids.at(*cls), *sep, added_ids.at(*sep))},
      {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", *unk},
        {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100},
        {"vocab", std::move(model_vocab)}}}};
  try {
    return tokenizer.dump();
  } catch (const Json::exception& e) {
    // Only invalid UTF-8 in a token can fail here.
    return absl::InvalidArgumentError(absl::StrCat(
        folder, ": cannot write the converted tokenizer.json: ", e.what()));
  }
}

}  // namespace attnserve
