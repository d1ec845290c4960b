#include "core/tokenizers/hf_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/tokenizers/bert_tokenizer_config.h"
#include "core/tokenizers/bert_tokenizer_json.h"
#include "core/tokenizers/unicode.h"
#include "core/tokenizers/vocabulary.h"

namespace attnserve {
namespace {

// Takes ownership of a shim error string.
std::string TakeError(char* error) {
  std::string message = error != nullptr ? error : "unknown error";
  attnserve_hf_free_string(error);
  return message;
}

// Releases the shim's arrays however Encode returns.
class EncodingGuard {
 public:
  EncodingGuard() = default;
  EncodingGuard(const EncodingGuard&) = delete;
  EncodingGuard& operator=(const EncodingGuard&) = delete;
  ~EncodingGuard() { attnserve_hf_encoding_free(&raw_); }
  AttnserveHfEncoding* get() { return &raw_; }

 private:
  AttnserveHfEncoding raw_{};
};

Encoding ToEncoding(const AttnserveHfEncoding& raw) {
  Encoding encoding;
  encoding.ids.reserve(raw.count);
  encoding.type_ids.reserve(raw.count);
  encoding.pieces.reserve(raw.count);
  size_t begin = 0;
  for (size_t i = 0; i < raw.count; ++i) {
    encoding.ids.push_back(static_cast<int32_t>(raw.ids[i]));
    encoding.type_ids.push_back(static_cast<int32_t>(raw.type_ids[i]));
    encoding.pieces.emplace_back(raw.pieces + begin, raw.piece_ends[i] - begin);
    begin = raw.piece_ends[i];
  }
  encoding.truncated = raw.truncated != 0;
  return encoding;
}

// The id of a configured special token, when the tokenizer knows it.
std::optional<int> SpecialId(const HfTokenizer& tok,
                             const std::optional<AddedTokenSpec>& spec) {
  if (!spec.has_value()) return std::nullopt;
  return tok.TokenToId(spec->content);
}

absl::Status CheckShimVersion() {
  if (attnserve_hf_abi_version() == ATTNSERVE_HF_ABI_VERSION)
    return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the linked tokenizers shim has ABI version ", attnserve_hf_abi_version(),
      ", this build expects ", ATTNSERVE_HF_ABI_VERSION,
      "; rebuild core/tokenizers/hf_shim"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::Load(
    const std::string& folder) {
  if (absl::Status s = CheckShimVersion(); !s.ok()) return s;
  absl::StatusOr<BertTokenizerConfig> config = LoadBertTokenizerConfig(folder);
  if (!config.ok()) return config.status();
  const std::filesystem::path dir(folder);
  std::string path = (dir / "tokenizer.json").string();
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    char* error = nullptr;
    AttnserveHfTokenizer* handle = attnserve_hf_load(path.c_str(), &error);
    return Wrap(handle, error, *config, std::move(path));
  }
  const std::string vocab_path = (dir / "vocab.txt").string();
  if (!std::filesystem::is_regular_file(vocab_path, ec)) {
    return absl::NotFoundError(absl::StrCat(
        path, " not found, nor a WordPiece ", vocab_path,
        "; the folder needs the files the tokenizer's save_pretrained writes"));
  }
  absl::StatusOr<Vocabulary> vocab = Vocabulary::LoadFile(vocab_path);
  if (!vocab.ok()) return vocab.status();
  absl::StatusOr<std::string> json = BertTokenizerJson(*vocab, *config, folder);
  if (!json.ok()) return json.status();
  return FromJson(*json, *config, vocab_path);
}

absl::StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::FromJson(
    std::string_view json, const BertTokenizerConfig& config,
    std::string source) {
  if (absl::Status s = CheckShimVersion(); !s.ok()) return s;
  char* error = nullptr;
  AttnserveHfTokenizer* handle =
      attnserve_hf_load_json(json.data(), json.size(), &error);
  return Wrap(handle, error, config, std::move(source));
}

absl::StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::Wrap(
    AttnserveHfTokenizer* handle, char* error,
    const BertTokenizerConfig& config, std::string source) {
  if (handle == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": cannot load the tokenizer: ", TakeError(error)));
  }
  std::unique_ptr<HfTokenizer> tok(new HfTokenizer(handle, std::move(source)));
  tok->vocab_size_ = static_cast<int>(std::min<size_t>(
      attnserve_hf_vocab_size(handle), std::numeric_limits<int>::max()));
  tok->model_max_length_ =
      config.model_max_length > 0
          ? static_cast<int>(std::min<long long>(
                config.model_max_length, std::numeric_limits<int>::max()))
          : std::numeric_limits<int>::max();
  tok->pad_id_ = SpecialId(*tok, config.pad_token);
  tok->cls_id_ = SpecialId(*tok, config.cls_token);
  tok->sep_id_ = SpecialId(*tok, config.sep_token);
  for (const std::optional<AddedTokenSpec>& spec :
       {config.unk_token, config.sep_token, config.pad_token, config.cls_token,
        config.mask_token}) {
    if (std::optional<int> id = SpecialId(*tok, spec)) {
      tok->special_ids_.push_back(*id);
    }
  }
  for (const AddedTokenSpec& spec : config.additional_special_tokens) {
    if (std::optional<int> id = tok->TokenToId(spec.content)) {
      tok->special_ids_.push_back(*id);
    }
  }
  return tok;
}

std::optional<int> HfTokenizer::TokenToId(std::string_view token) const {
  uint32_t id = 0;
  if (attnserve_hf_token_to_id(handle_.get(), token.data(), token.size(),
                               &id) == 0) {
    return std::nullopt;
  }
  return static_cast<int>(id);
}

absl::StatusOr<Encoding> HfTokenizer::Encode(std::string_view text,
                                             bool truncate, int max_tokens,
                                             TruncationSide side) const {
  return EncodeChecked(text, nullptr, truncate, max_tokens, side,
                       EmptyPair::kSingle);
}

absl::StatusOr<Encoding> HfTokenizer::EncodePair(std::string_view a,
                                                 std::string_view b,
                                                 bool truncate, int max_tokens,
                                                 EmptyPair empty) const {
  return EncodeChecked(a, &b, truncate, max_tokens, TruncationSide::kRight,
                       empty);
}

absl::StatusOr<Encoding> HfTokenizer::EncodeChecked(
    std::string_view a, const std::string_view* b, bool truncate,
    int max_tokens, TruncationSide side, EmptyPair empty) const {
  if (max_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens must be at least 1, got ", max_tokens));
  }
  // The project's one UTF-8 check, so the message (and byte offset) is the
  // same as for every other tokenizer.
  if (absl::Status s = DecodeUtf8(a).status(); !s.ok()) return s;
  // transformers' tok(text, "") tests `if text_pair`: no second separator.
  if (b != nullptr && b->empty() && empty == EmptyPair::kSingle) b = nullptr;
  if (b != nullptr) {
    if (absl::Status s = DecodeUtf8(*b).status(); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("second text of the pair: ", s.message()));
    }
  }
  EncodingGuard raw;
  char* error = nullptr;
  if (attnserve_hf_encode(
          handle_.get(), a.data(), a.size(),
          // NULL is "no pair" to the shim: a kept empty pair needs a pointer.
          b == nullptr ? nullptr : (b->data() != nullptr ? b->data() : ""),
          b != nullptr ? b->size() : 0, truncate ? 1 : 0,
          static_cast<size_t>(max_tokens),
          side == TruncationSide::kLeft ? 1 : 0, raw.get(), &error) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": cannot encode the text (max_tokens ", max_tokens,
                     "): ", TakeError(error)));
  }
  if (!truncate && raw.get()->count > static_cast<size_t>(max_tokens)) {
    return absl::InvalidArgumentError(absl::StrCat(
        b != nullptr ? "text pair is " : "text is ", raw.get()->count,
        " tokens long including the special tokens, more than the maximum "
        "of ",
        max_tokens, "; shorten it or enable truncation"));
  }
  return ToEncoding(*raw.get());
}

}  // namespace attnserve
