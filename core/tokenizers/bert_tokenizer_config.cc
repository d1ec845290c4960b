#include "core/tokenizers/bert_tokenizer_config.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using Json = nlohmann::json;

// Parses `path` as JSON; an absent file yields a null Json.
absl::StatusOr<Json> ReadOptionalJson(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Json();
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    Json json = Json::parse(text.str());
    if (!json.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path.string(), ": expected a JSON object at the top level"));
    }
    return json;
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": invalid JSON: ", e.what()));
  }
}

absl::Status WrongType(const std::string& file, const std::string& key,
                       const char* expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": \"", key, "\" must be ", expected));
}

absl::Status ReadBool(const Json& json, const std::string& key,
                      const std::string& file, bool* out) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return WrongType(file, key, "true or false");
  *out = it->get<bool>();
  return absl::OkStatus();
}

// A special token is a string, an AddedToken object {"content": ..., "lstrip":
// ...} or null.
absl::StatusOr<std::optional<AddedTokenSpec>> ParseAddedToken(
    const Json& value, const std::string& key, const std::string& file) {
  if (value.is_null()) return std::optional<AddedTokenSpec>();
  AddedTokenSpec spec;
  if (value.is_string()) {
    spec.content = value.get<std::string>();
    return std::optional<AddedTokenSpec>(spec);
  }
  if (!value.is_object() || !value.contains("content") ||
      !value["content"].is_string()) {
    return WrongType(file, key,
                     "a string or an object with a \"content\" string");
  }
  spec.content = value["content"].get<std::string>();
  for (auto [name, field] :
       {std::pair{"special", &spec.special}, std::pair{"lstrip", &spec.lstrip},
        std::pair{"rstrip", &spec.rstrip},
        std::pair{"single_word", &spec.single_word}}) {
    auto it = value.find(name);
    if (it == value.end() || it->is_null()) continue;
    if (!it->is_boolean())
      return WrongType(file, key + "." + name, "true or false");
    *field = it->get<bool>();
  }
  if (auto it = value.find("normalized"); it != value.end() && !it->is_null()) {
    if (!it->is_boolean())
      return WrongType(file, key + ".normalized", "true or false");
    spec.normalized = it->get<bool>();
  }
  return std::optional<AddedTokenSpec>(spec);
}

absl::Status ReadAddedTokensDecoder(const Json& json, const std::string& file,
                                    std::vector<AddedTokenSpec>* out) {
  auto it = json.find("added_tokens_decoder");
  if (it == json.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_object())
    return WrongType(file, "added_tokens_decoder", "an object");
  for (const auto& [id_text, value] : it->items()) {
    int id;
    if (!absl::SimpleAtoi(id_text, &id) || id < 0) {
      return WrongType(file, "added_tokens_decoder key " + id_text,
                       "a non-negative token id");
    }
    absl::StatusOr<std::optional<AddedTokenSpec>> token =
        ParseAddedToken(value, "added_tokens_decoder." + id_text, file);
    if (!token.ok()) return token.status();
    if (!token->has_value()) continue;
    (*token)->id = id;
    out->push_back(**token);
  }
  return absl::OkStatus();
}

AddedTokenSpec DefaultSpecialToken(const char* content) {
  AddedTokenSpec spec;
  spec.content = content;
  return spec;
}

// tokenizer_config.json wins over special_tokens_map.json, which wins over the
// default.
absl::StatusOr<std::optional<AddedTokenSpec>> ResolveSpecialToken(
    const std::string& key, const char* default_content, const Json& config,
    const std::string& config_file, const Json& map,
    const std::string& map_file, const std::vector<AddedTokenSpec>& added) {
  absl::StatusOr<std::optional<AddedTokenSpec>> token =
      std::optional<AddedTokenSpec>(DefaultSpecialToken(default_content));
  if (config.is_object() && config.contains(key)) {
    token = ParseAddedToken(config[key], key, config_file);
  } else if (map.is_object() && map.contains(key)) {
    token = ParseAddedToken(map[key], key, map_file);
  }
  if (!token.ok() || !token->has_value()) return token;
  // transformers reuses the added_tokens_decoder entry (flags and id) of the
  // same content.
  for (const AddedTokenSpec& entry : added) {
    if (entry.content == (*token)->content)
      return std::optional<AddedTokenSpec>(entry);
  }
  (*token)->special = true;
  return token;
}

absl::Status ReadAdditionalSpecialTokens(const Json& json,
                                         const std::string& file,
                                         std::vector<AddedTokenSpec>* out) {
  auto it = json.find("additional_special_tokens");
  if (it == json.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array())
    return WrongType(file, "additional_special_tokens", "a list");
  out->clear();
  for (const Json& value : *it) {
    absl::StatusOr<std::optional<AddedTokenSpec>> token =
        ParseAddedToken(value, "additional_special_tokens", file);
    if (!token.ok()) return token.status();
    if (token->has_value()) out->push_back(**token);
  }
  return absl::OkStatus();
}

absl::Status ReadSettings(const Json& config, const std::string& file,
                          BertTokenizerConfig* out) {
  for (auto [key, field] :
       {std::pair{"do_lower_case", &out->do_lower_case},
        std::pair{"do_basic_tokenize", &out->do_basic_tokenize},
        std::pair{"tokenize_chinese_chars", &out->tokenize_chinese_chars},
        std::pair{"do_split_on_punc", &out->do_split_on_punc}}) {
    if (absl::Status s = ReadBool(config, key, file, field); !s.ok()) return s;
  }
  if (auto it = config.find("strip_accents");
      it != config.end() && !it->is_null()) {
    if (!it->is_boolean())
      return WrongType(file, "strip_accents", "true, false or null");
    out->strip_accents = it->get<bool>();
  }
  if (auto it = config.find("never_split");
      it != config.end() && !it->is_null()) {
    if (!it->is_array())
      return WrongType(file, "never_split", "a list of strings or null");
    for (const Json& token : *it) {
      if (!token.is_string())
        return WrongType(file, "never_split", "a list of strings");
      out->never_split.push_back(token.get<std::string>());
    }
  }
  if (auto it = config.find("model_max_length");
      it != config.end() && !it->is_null()) {
    if (!it->is_number())
      return WrongType(file, "model_max_length", "a number");
    // Hub files often hold int(1e30) ("no limit"); clamp instead of
    // overflowing.
    const double value = it->get<double>();
    if (value < 1) return WrongType(file, "model_max_length", "positive");
    out->model_max_length =
        value >= static_cast<double>(std::numeric_limits<int>::max())
            ? std::numeric_limits<int>::max()
            : static_cast<long long>(value);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BertTokenizerConfig> LoadBertTokenizerConfig(
    const std::string& folder) {
  const std::filesystem::path dir(folder);
  const std::string config_file = (dir / "tokenizer_config.json").string();
  const std::string map_file = (dir / "special_tokens_map.json").string();
  absl::StatusOr<Json> config = ReadOptionalJson(config_file);
  if (!config.ok()) return config.status();
  absl::StatusOr<Json> map = ReadOptionalJson(map_file);
  if (!map.ok()) return map.status();

  BertTokenizerConfig out;
  if (config->is_object()) {
    if (absl::Status s = ReadSettings(*config, config_file, &out); !s.ok())
      return s;
    if (absl::Status s = ReadAddedTokensDecoder(*config, config_file,
                                                &out.added_tokens_decoder);
        !s.ok()) {
      return s;
    }
  }
  struct Slot {
    const char* key;
    const char* default_content;
    std::optional<AddedTokenSpec>* field;
  };
  for (const Slot& slot : {Slot{"unk_token", "[UNK]", &out.unk_token},
                           Slot{"sep_token", "[SEP]", &out.sep_token},
                           Slot{"pad_token", "[PAD]", &out.pad_token},
                           Slot{"cls_token", "[CLS]", &out.cls_token},
                           Slot{"mask_token", "[MASK]", &out.mask_token}}) {
    absl::StatusOr<std::optional<AddedTokenSpec>> token = ResolveSpecialToken(
        slot.key, slot.default_content, *config, config_file, *map, map_file,
        out.added_tokens_decoder);
    if (!token.ok()) return token.status();
    *slot.field = *std::move(token);
  }
  if (map->is_object()) {
    if (absl::Status s = ReadAdditionalSpecialTokens(
            *map, map_file, &out.additional_special_tokens);
        !s.ok()) {
      return s;
    }
  }
  if (config->is_object() && config->contains("additional_special_tokens")) {
    if (absl::Status s = ReadAdditionalSpecialTokens(
            *config, config_file, &out.additional_special_tokens);
        !s.ok()) {
      return s;
    }
  }
  return out;
}

}  // namespace attnserve
