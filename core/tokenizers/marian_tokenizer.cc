#include "core/tokenizers/marian_tokenizer.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

constexpr char kSpieceUnderline[] = "\xE2\x96\x81";  // "▁"

absl::StatusOr<nlohmann::json> ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON in ", path.string(), ": ", e.what()));
  }
}

// Special tokens are stored either as "</s>" or as {"content": "</s>", ...}.
std::string TokenContent(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") &&
      value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return {};
}

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
// Returns the byte offset of the first invalid sequence, or npos when `s` is
// valid.
size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong =
        (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return i;
    i += len;
  }
  return std::string_view::npos;
}

// Python's str.isspace() for the code points it accepts.
bool IsPythonSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) ||
         cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Decodes the code point of a valid UTF-8 sequence starting at s[i].
uint32_t CodePointAt(std::string_view s, size_t i, size_t* len) {
  const auto c = static_cast<unsigned char>(s[i]);
  *len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  uint32_t cp = *len == 1 ? c : c & (0xFF >> (*len + 1));
  for (size_t k = 1; k < *len && i + k < s.size(); ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  }
  return cp;
}

// Python str.strip() (Unicode whitespace) on UTF-8 text.
std::string PythonStrip(std::string_view s) {
  size_t begin = 0;
  while (begin < s.size()) {
    size_t len = 0;
    if (!IsPythonSpace(CodePointAt(s, begin, &len))) break;
    begin += len;
  }
  size_t end = s.size();
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin &&
           (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
      --start;
    size_t len = 0;
    if (!IsPythonSpace(CodePointAt(s, start, &len))) break;
    end = start;
  }
  return std::string(s.substr(begin, end - begin));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MarianTokenizer>> MarianTokenizer::Load(
    const std::string& folder) {
  std::unique_ptr<MarianTokenizer> tokenizer(new MarianTokenizer());
  if (absl::Status s = tokenizer->ReadConfig(folder); !s.ok()) return s;
  if (absl::Status s = tokenizer->ReadVocabs(folder); !s.ok()) return s;
  if (absl::Status s = tokenizer->ResolveSpecialTokens(); !s.ok()) return s;

  absl::StatusOr<std::shared_ptr<const SpmShim>> shim = SpmShim::Load();
  if (!shim.ok()) return shim.status();
  const std::filesystem::path dir(folder);
  absl::StatusOr<std::unique_ptr<SpmModel>> source =
      SpmModel::Load(*shim, (dir / "source.spm").string());
  if (!source.ok()) return source.status();
  absl::StatusOr<std::unique_ptr<SpmModel>> target =
      SpmModel::Load(*shim, (dir / "target.spm").string());
  if (!target.ok()) return target.status();
  tokenizer->source_spm_ = *std::move(source);
  tokenizer->target_spm_ = *std::move(target);
  return tokenizer;
}

absl::Status MarianTokenizer::ReadConfig(const std::string& folder) {
  const std::filesystem::path dir(folder);
  const std::filesystem::path config_path = dir / "tokenizer_config.json";
  absl::StatusOr<nlohmann::json> config = ReadJson(config_path);
  if (!config.ok()) return config.status();
  nlohmann::json special_map = nlohmann::json::object();
  if (std::filesystem::exists(dir / "special_tokens_map.json")) {
    absl::StatusOr<nlohmann::json> parsed =
        ReadJson(dir / "special_tokens_map.json");
    if (!parsed.ok()) return parsed.status();
    special_map = *std::move(parsed);
  }
  try {
    const nlohmann::json& c = *config;
    source_lang_ = c.value("source_lang", std::string());
    target_lang_ = c.value("target_lang", std::string());
    separate_vocabs_ = c.value("separate_vocabs", false);
    if (c.contains("model_max_length") && c["model_max_length"].is_number()) {
      // HF writes a huge float (1e30) for "no limit".
      const double max_length = c["model_max_length"].get<double>();
      model_max_length_ =
          max_length >= INT_MAX ? INT_MAX : static_cast<int>(max_length);
    }
    // special_tokens_map.json wins over tokenizer_config.json, as in
    // from_pretrained.
    auto special = [&](const char* key, std::string* out) {
      if (special_map.contains(key)) {
        *out = TokenContent(special_map[key]);
      } else if (c.contains(key)) {
        *out = TokenContent(c[key]);
      }
    };
    special("eos_token", &eos_token_);
    special("unk_token", &unk_token_);
    special("pad_token", &pad_token_);
    const nlohmann::json& extra =
        special_map.contains("additional_special_tokens")
            ? special_map["additional_special_tokens"]
            : c.value("additional_special_tokens", nlohmann::json());
    if (extra.is_array()) {
      for (const nlohmann::json& token : extra) {
        additional_special_tokens_.push_back(TokenContent(token));
      }
    }
    if (c.contains("added_tokens_decoder") &&
        c["added_tokens_decoder"].is_object()) {
      for (const auto& [id, token] : c["added_tokens_decoder"].items()) {
        const std::string content = TokenContent(token);
        added_tokens_[content] = std::stoi(id);
        added_tokens_by_id_[std::stoi(id)] = content;
      }
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected content in ", config_path.string(), ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status MarianTokenizer::ReadVocabs(const std::string& folder) {
  const std::filesystem::path dir(folder);
  auto read_vocab =
      [](const std::filesystem::path& path,
         absl::flat_hash_map<std::string, int32_t>* vocab) -> absl::Status {
    absl::StatusOr<nlohmann::json> json = ReadJson(path);
    if (!json.ok()) return json.status();
    if (!json->is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path.string(), " must be a JSON object mapping pieces to ids"));
    }
    for (const auto& [piece, id] : json->items()) {
      if (!id.is_number_integer()) {
        return absl::InvalidArgumentError(absl::StrCat(
            path.string(), ": id of piece \"", piece, "\" is not an integer"));
      }
      (*vocab)[piece] = id.get<int32_t>();
    }
    return absl::OkStatus();
  };
  if (absl::Status s = read_vocab(dir / "vocab.json", &encoder_); !s.ok())
    return s;
  absl::flat_hash_map<std::string, int32_t> target_vocab;
  if (separate_vocabs_) {
    if (absl::Status s = read_vocab(dir / "target_vocab.json", &target_vocab);
        !s.ok())
      return s;
  }
  for (const auto& [piece, id] : separate_vocabs_ ? target_vocab : encoder_) {
    decoder_[id] = piece;
  }
  std::vector<std::pair<int32_t, std::string>> languages;
  for (const auto& [piece, id] : encoder_) {
    if (piece.size() >= 4 && piece.starts_with(">>") && piece.ends_with("<<")) {
      languages.emplace_back(id, piece);
    }
  }
  std::sort(languages.begin(), languages.end());
  for (auto& [id, piece] : languages)
    language_tokens_.push_back(std::move(piece));
  return absl::OkStatus();
}

absl::Status MarianTokenizer::ResolveSpecialTokens() {
  if (!encoder_.contains(unk_token_) && !added_tokens_.contains(unk_token_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown token \"", unk_token_, "\" is missing from vocab.json"));
  }
  unk_id_ = TokenToId(unk_token_);
  eos_id_ = TokenToId(eos_token_);
  pad_id_ = TokenToId(pad_token_);
  special_tokens_ = {eos_token_, unk_token_, pad_token_};
  for (const std::string& token : additional_special_tokens_)
    special_tokens_.insert(token);
  for (const std::string& token : special_tokens_)
    special_ids_.insert(TokenToId(token));
  // Literal matching covers every added token and every special token (HF's
  // tokens_trie).
  absl::flat_hash_set<std::string> literal(special_tokens_.begin(),
                                           special_tokens_.end());
  for (const auto& [token, id] : added_tokens_) literal.insert(token);
  literal.erase("");
  split_tokens_.assign(literal.begin(), literal.end());
  std::sort(split_tokens_.begin(), split_tokens_.end(),
            [](const auto& a, const auto& b) {
              return a.size() != b.size() ? a.size() > b.size() : a < b;
            });
  return absl::OkStatus();
}

int32_t MarianTokenizer::TokenToId(const std::string& token) const {
  if (auto it = added_tokens_.find(token); it != added_tokens_.end())
    return it->second;
  if (auto it = encoder_.find(token); it != encoder_.end()) return it->second;
  return unk_id_;
}

absl::Status MarianTokenizer::TokenizeSegment(
    std::string_view segment, std::vector<std::string>* pieces) const {
  // HF remove_language_code: a leading ">>xx<<" is kept as one token, not
  // sentencepiece'd.
  if (segment.starts_with(">>")) {
    if (size_t end = segment.find("<<"); end != std::string_view::npos) {
      pieces->emplace_back(segment.substr(0, end + 2));
      segment.remove_prefix(end + 2);
    }
  }
  absl::StatusOr<std::vector<std::string>> encoded =
      source_spm_->EncodePieces(segment);
  if (!encoded.ok()) return encoded.status();
  for (std::string& piece : *encoded) pieces->push_back(std::move(piece));
  return absl::OkStatus();
}

absl::StatusOr<std::string> MarianTokenizer::LanguageToken(
    std::string_view language_view) const {
  // Bookworm's Abseil has its own string_view type: work with std::string here.
  const std::string language(language_view);
  const std::string token =
      language.starts_with(">>") && language.ends_with("<<")
          ? language
          : absl::StrCat(">>", language, "<<");
  if (encoder_.contains(token)) return token;
  if (language_tokens_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target language \"", language,
        "\" requested, but this model has a single target language (",
        target_lang_, "): leave the target language empty"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("target language \"", language,
                   "\" is not supported by this model; use one of ",
                   absl::StrJoin(language_tokens_, ", ")));
}

absl::StatusOr<Encoding> MarianTokenizer::EncodeSource(
    std::string_view text, bool truncate, int max_tokens,
    std::string_view target_language) const {
  if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("source text is not valid UTF-8 (byte offset ", bad, ")"));
  }
  if (max_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_tokens must be at least 1 (room for </s>), got ", max_tokens));
  }
  std::vector<std::string> pieces;
  if (!target_language.empty()) {
    absl::StatusOr<std::string> language = LanguageToken(target_language);
    if (!language.ok()) return language.status();
    pieces.push_back(*std::move(language));
  }
  // Split out literal special tokens (leftmost, then longest match), tokenize
  // the rest.
  size_t segment_start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const std::string* match = nullptr;
    for (const std::string& token : split_tokens_) {
      if (text.substr(i).starts_with(token)) {
        match = &token;
        break;
      }
    }
    if (match == nullptr && i < text.size()) continue;
    if (i > segment_start) {
      if (absl::Status s = TokenizeSegment(
              text.substr(segment_start, i - segment_start), &pieces);
          !s.ok()) {
        return s;
      }
    }
    if (match == nullptr) break;
    pieces.push_back(*match);
    i += match->size() - 1;
    segment_start = i + 1;
  }

  Encoding encoding;
  if (static_cast<int64_t>(pieces.size()) + 1 > max_tokens) {
    if (!truncate) {
      return absl::InvalidArgumentError(
          absl::StrCat("source text has ", pieces.size() + 1,
                       " tokens (incl. </s>), more than the limit ", max_tokens,
                       ": shorten it or enable truncation"));
    }
    pieces.resize(max_tokens - 1);
    encoding.truncated = true;
  }
  pieces.push_back(eos_token_);
  encoding.ids.reserve(pieces.size());
  for (const std::string& piece : pieces)
    encoding.ids.push_back(TokenToId(piece));
  encoding.pieces = std::move(pieces);
  return encoding;
}

std::string MarianTokenizer::Decode(absl::Span<const int32_t> ids) const {
  // HF PreTrainedTokenizer._decode: non-special added tokens become their own
  // sub-texts, everything else is detokenized in runs; sub-texts are joined
  // with spaces.
  std::vector<std::string> sub_texts;
  std::vector<std::string> run;
  auto flush_run = [&]() -> std::string {
    absl::StatusOr<std::string> text = target_spm_->DecodePieces(run);
    // DecodePieces only fails on a broken model; fall back to the raw pieces
    // then.
    std::string joined = text.ok() ? *std::move(text) : absl::StrJoin(run, "");
    run.clear();
    return PythonStrip(absl::StrReplaceAll(joined, {{kSpieceUnderline, " "}}));
  };
  for (const int32_t id : ids) {
    if (special_ids_.contains(id)) continue;
    std::string token;
    if (auto it = added_tokens_by_id_.find(id);
        it != added_tokens_by_id_.end()) {
      token = it->second;
    } else if (auto it = decoder_.find(id); it != decoder_.end()) {
      token = it->second;
    } else {
      token = unk_token_;
    }
    if (special_tokens_.contains(token)) continue;
    if (added_tokens_.contains(token)) {
      if (!run.empty()) {
        std::string text = flush_run();
        if (!text.empty()) sub_texts.push_back(std::move(text));
      }
      sub_texts.push_back(std::move(token));
    } else {
      run.push_back(std::move(token));
    }
  }
  if (!run.empty()) sub_texts.push_back(flush_run());
  return absl::StrJoin(sub_texts, " ");
}

}  // namespace attnserve
