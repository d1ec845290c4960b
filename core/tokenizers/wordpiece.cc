#include "core/tokenizers/wordpiece.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/tokenizers/bert_tokenizer_config.h"
#include "core/tokenizers/unicode.h"

namespace attnserve {
namespace {

// transformers' WordpieceTokenizer.max_input_chars_per_word (BertTokenizer
// never changes it).
constexpr int kMaxInputCharsPerWord = 100;

std::u32string LowerPerCodePoint(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) AppendPythonLower(cp, &out);
  return out;
}

bool StartsWithAt(std::u32string_view text, size_t pos,
                  std::u32string_view prefix) {
  return !prefix.empty() && text.size() - pos >= prefix.size() &&
         text.compare(pos, prefix.size(), prefix) == 0;
}

std::u32string StripPythonSpace(std::u32string_view text, bool left,
                                bool right) {
  size_t begin = 0, end = text.size();
  while (left && begin < end && IsPythonSpace(text[begin])) ++begin;
  while (right && end > begin && IsPythonSpace(text[end - 1])) --end;
  return std::u32string(text.substr(begin, end - begin));
}

}  // namespace

// Collects body pieces, up to `budget` of them; remembers whether more were
// offered.
class WordpieceTokenizer::PieceSink {
 public:
  PieceSink(Encoding* encoding, int budget)
      : encoding_(encoding), budget_(budget) {}

  void Add(const std::string& piece, int id) {
    if (count_ >= budget_) {
      overflowed_ = true;
      return;
    }
    encoding_->pieces.push_back(piece);
    encoding_->ids.push_back(id);
    ++count_;
  }
  bool overflowed() const { return overflowed_; }
  int count() const { return count_; }

 private:
  Encoding* encoding_;
  int budget_;
  int count_ = 0;
  bool overflowed_ = false;
};

absl::StatusOr<std::unique_ptr<WordpieceTokenizer>> WordpieceTokenizer::Load(
    const std::string& folder) {
  const std::string vocab_path =
      (std::filesystem::path(folder) / "vocab.txt").string();
  absl::StatusOr<Vocabulary> vocab = Vocabulary::LoadFile(vocab_path);
  if (!vocab.ok()) return vocab.status();
  absl::StatusOr<BertTokenizerConfig> config = LoadBertTokenizerConfig(folder);
  if (!config.ok()) return config.status();

  std::unique_ptr<WordpieceTokenizer> tok(
      new WordpieceTokenizer(*std::move(vocab)));
  // BertTokenizer.do_lower_case reads basic_tokenizer.do_lower_case; without a
  // basic tokenizer the attribute is missing and tokenize() skips lower-casing.
  tok->lower_case_ = config->do_basic_tokenize && config->do_lower_case;
  tok->never_split_.insert(config->never_split.begin(),
                           config->never_split.end());

  // Added tokens: added_tokens_decoder first (ids given), then the special
  // tokens.
  for (const AddedTokenSpec& spec : config->added_tokens_decoder) {
    std::u32string content = DecodeUtf8(spec.content).value_or(U"");
    if (!spec.special && spec.normalizes() && tok->lower_case_) {
      content = LowerPerCodePoint(content);  // as transformers' _add_tokens
    }
    if (content.empty()) continue;
    AddedToken token{content,     EncodeUtf8(content), *spec.id,
                     spec.lstrip, spec.rstrip,         spec.single_word};
    tok->added_index_[token.content_utf8] =
        static_cast<int>(tok->added_tokens_.size());
    tok->added_tokens_.push_back(std::move(token));
    if (!spec.special && spec.normalizes())
      tok->lowercase_protected_.push_back(content);
  }
  std::vector<std::pair<std::string, const AddedTokenSpec*>> specials;
  for (auto [name, spec] : {std::pair{"unk_token", &config->unk_token},
                            std::pair{"sep_token", &config->sep_token},
                            std::pair{"pad_token", &config->pad_token},
                            std::pair{"cls_token", &config->cls_token},
                            std::pair{"mask_token", &config->mask_token}}) {
    if (spec->has_value()) specials.emplace_back(name, &**spec);
  }
  for (const AddedTokenSpec& spec : config->additional_special_tokens) {
    specials.emplace_back("additional_special_tokens", &spec);
  }
  std::vector<std::u32string> special_contents;
  for (const auto& [name, spec] : specials) {
    if (spec->content.empty()) continue;
    const std::u32string content = DecodeUtf8(spec->content).value_or(U"");
    special_contents.push_back(content);
    if (tok->added_index_.contains(spec->content)) continue;
    std::optional<int> id = tok->vocab_.Find(spec->content);
    if (!id.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " \"", spec->content, "\" is neither a line of ", vocab_path,
          " nor listed in added_tokens_decoder of tokenizer_config.json"));
    }
    tok->added_index_[spec->content] =
        static_cast<int>(tok->added_tokens_.size());
    tok->added_tokens_.push_back(AddedToken{content, spec->content, *id,
                                            spec->lstrip, spec->rstrip,
                                            spec->single_word});
  }
  tok->lowercase_protected_.insert(tok->lowercase_protected_.begin(),
                                   special_contents.begin(),
                                   special_contents.end());

  if (config->do_basic_tokenize) {
    BertBasicTokenizer::Options options;
    options.strip_accents = config->strips_accents();
    options.tokenize_chinese_chars = config->tokenize_chinese_chars;
    options.split_on_punctuation = config->do_split_on_punc;
    options.never_split = tok->never_split_;
    // _tokenize passes all_special_tokens as never_split to the basic
    // tokenizer.
    for (const std::u32string& s : special_contents)
      options.never_split.insert(EncodeUtf8(s));
    tok->basic_.emplace(std::move(options));
  }

  for (auto [name, spec, piece, id] :
       {std::tuple{"unk_token", &config->unk_token, &tok->unk_piece_,
                   &tok->unk_id_},
        std::tuple{"cls_token", &config->cls_token, &tok->cls_piece_,
                   &tok->cls_id_},
        std::tuple{"sep_token", &config->sep_token, &tok->sep_piece_,
                   &tok->sep_id_},
        std::tuple{"pad_token", &config->pad_token,
                   static_cast<std::string*>(nullptr), &tok->pad_id_}}) {
    if (!spec->has_value() || (*spec)->content.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(folder, ": ", name,
                       " is null or empty in tokenizer_config.json / "
                       "special_tokens_map.json; a BERT tokenizer needs it"));
    }
    *id = tok->added_tokens_[tok->added_index_.at((*spec)->content)].id;
    if (piece != nullptr) *piece = (*spec)->content;
  }

  tok->vocab_size_ = tok->vocab_.num_lines();
  for (const AddedToken& token : tok->added_tokens_) {
    tok->vocab_size_ = std::max(tok->vocab_size_, token.id + 1);
  }
  tok->model_max_length_ =
      config->model_max_length > 0
          ? static_cast<int>(std::min<long long>(
                config->model_max_length, std::numeric_limits<int>::max()))
          : std::numeric_limits<int>::max();
  return tok;
}

absl::StatusOr<Encoding> WordpieceTokenizer::Encode(std::string_view text,
                                                    bool truncate,
                                                    int max_tokens) const {
  if (max_tokens < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_tokens must be at least 2 (room for [CLS] and [SEP]), got ",
        max_tokens));
  }
  absl::StatusOr<std::u32string> chars = DecodeUtf8(text);
  if (!chars.ok()) return chars.status();
  if (lower_case_) *chars = LowerCaseOutsideProtected(*chars);
  std::vector<std::u32string> chunks = SplitOnAddedTokens(*chars);
  ApplyAddedTokenStripping(&chunks);

  Encoding encoding;
  encoding.ids.push_back(cls_id_);
  encoding.pieces.push_back(cls_piece_);
  // Without truncation tokenize everything, so the error can report the full
  // length.
  PieceSink sink(&encoding,
                 truncate ? max_tokens - 2 : std::numeric_limits<int>::max());
  for (const std::u32string& chunk : chunks) {
    if (sink.overflowed()) break;
    if (chunk.empty()) continue;
    const std::string utf8 = EncodeUtf8(chunk);
    if (const AddedToken* added = FindAddedToken(utf8)) {
      sink.Add(added->content_utf8, added->id);
    } else {
      TokenizeChunk(chunk, &sink);
    }
  }
  if (!truncate && sink.count() + 2 > max_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "text is ", sink.count() + 2,
        " tokens long including [CLS] and [SEP], more than ", "the maximum of ",
        max_tokens, "; shorten it or enable truncation"));
  }
  encoding.truncated = sink.overflowed();
  encoding.ids.push_back(sep_id_);
  encoding.pieces.push_back(sep_piece_);
  return encoding;
}

// PreTrainedTokenizer.tokenize: re.sub("(special|...)|(.+?)", keep or lower)
// lower-cases one code point at a time (so no final-sigma rule), leaving
// special tokens intact.
std::u32string WordpieceTokenizer::LowerCaseOutsideProtected(
    std::u32string_view text) const {
  std::u32string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const std::u32string* match = nullptr;
    for (const std::u32string& token : lowercase_protected_) {
      if (StartsWithAt(text, pos, token)) {
        match = &token;
        break;
      }
    }
    if (match != nullptr) {
      out.append(*match);
      pos += match->size();
    } else {
      AppendPythonLower(text[pos], &out);
      ++pos;
    }
  }
  return out;
}

// tokens_trie.split: leftmost, then longest, match of any added token; no empty
// pieces.
std::vector<std::u32string> WordpieceTokenizer::SplitOnAddedTokens(
    std::u32string_view text) const {
  std::vector<std::u32string> chunks;
  size_t plain_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t best = 0;
    for (const AddedToken& token : added_tokens_) {
      if (token.content.size() > best &&
          StartsWithAt(text, pos, token.content)) {
        best = token.content.size();
      }
    }
    if (best == 0) {
      ++pos;
      continue;
    }
    if (pos > plain_start)
      chunks.emplace_back(text.substr(plain_start, pos - plain_start));
    chunks.emplace_back(text.substr(pos, best));
    pos += best;
    plain_start = pos;
  }
  if (pos > plain_start)
    chunks.emplace_back(text.substr(plain_start, pos - plain_start));
  return chunks;
}

// The lstrip / rstrip / single_word handling of PreTrainedTokenizer.tokenize,
// step by step (later steps see the edits of earlier ones, as in Python).
void WordpieceTokenizer::ApplyAddedTokenStripping(
    std::vector<std::u32string>* chunks) const {
  std::vector<std::u32string>& tokens = *chunks;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const AddedToken* added = FindAddedToken(EncodeUtf8(tokens[i]));
    if (added == nullptr) continue;
    const std::u32string token = tokens[i];
    const std::u32string left = i > 0 ? tokens[i - 1] : U"";
    const std::u32string right = i + 1 < tokens.size() ? tokens[i + 1] : U"";
    if (added->rstrip && !right.empty())
      tokens[i + 1] = StripPythonSpace(right, true, false);
    if (added->lstrip && !left.empty())
      tokens[i - 1] = StripPythonSpace(left, false, true);
    if (added->single_word && !left.empty() && left.back() != U' ') {
      tokens[i - 1] += token;
      tokens[i].clear();
    } else if (added->single_word && !right.empty() && right.front() != U' ') {
      tokens[i + 1] = token + tokens[i + 1];
      tokens[i].clear();
    }
  }
}

const WordpieceTokenizer::AddedToken* WordpieceTokenizer::FindAddedToken(
    std::string_view utf8) const {
  auto it = added_index_.find(absl::string_view(utf8.data(), utf8.size()));
  return it == added_index_.end() ? nullptr : &added_tokens_[it->second];
}

// BertTokenizer._tokenize for text without added tokens.
void WordpieceTokenizer::TokenizeChunk(const std::u32string& chunk,
                                       PieceSink* sink) const {
  if (!basic_.has_value()) {
    for (const std::u32string& word : SplitOnPythonSpace(chunk)) {
      if (sink->overflowed()) return;
      AppendWordPieces(word, sink);
    }
    return;
  }
  for (const std::u32string& word : basic_->Tokenize(chunk)) {
    if (sink->overflowed()) return;
    std::string utf8 = EncodeUtf8(word);
    if (never_split_.contains(utf8)) {
      sink->Add(utf8,
                TokenToId(utf8));  // kept whole, id via convert_tokens_to_ids
    } else {
      AppendWordPieces(word, sink);
    }
  }
}

// WordpieceTokenizer.tokenize for one word: greedy longest-match-first, "##"
// continuations; an over-long word or one with an unmatched remainder is a
// single unk token.
void WordpieceTokenizer::AppendWordPieces(const std::u32string& word,
                                          PieceSink* sink) const {
  const int n = static_cast<int>(word.size());
  if (n > kMaxInputCharsPerWord) {
    sink->Add(unk_piece_, unk_id_);
    return;
  }
  std::string utf8;
  std::vector<size_t> offsets;  // byte offset of each code point, plus the end
  offsets.reserve(n + 1);
  for (char32_t cp : word) {
    offsets.push_back(utf8.size());
    AppendUtf8(cp, &utf8);
  }
  offsets.push_back(utf8.size());

  std::vector<std::string> pieces;
  std::string candidate;
  int start = 0;
  while (start < n) {
    bool matched = false;
    // Pieces longer than the longest vocabulary entry cannot match: start below
    // that.
    for (int end = std::min(n, start + vocab_.max_token_chars()); end > start;
         --end) {
      candidate.assign(start > 0 ? "##" : "");
      candidate.append(utf8, offsets[start], offsets[end] - offsets[start]);
      if (vocab_.Find(candidate).has_value()) {
        pieces.push_back(candidate);
        start = end;
        matched = true;
        break;
      }
    }
    if (!matched) {
      sink->Add(unk_piece_, unk_id_);
      return;
    }
  }
  for (const std::string& piece : pieces) sink->Add(piece, TokenToId(piece));
}

// convert_tokens_to_ids: added tokens first, then the vocabulary, else the unk
// id.
int WordpieceTokenizer::TokenToId(const std::string& token) const {
  if (const AddedToken* added = FindAddedToken(token)) return added->id;
  return vocab_.Find(token).value_or(unk_id_);
}

}  // namespace attnserve
