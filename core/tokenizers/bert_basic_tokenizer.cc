#include "core/tokenizers/bert_basic_tokenizer.h"

#include "core/tokenizers/unicode.h"

namespace attnserve {
namespace {

// transformers' _is_whitespace.
bool IsBertWhitespace(char32_t cp) {
  return cp == U' ' || cp == U'\t' || cp == U'\n' || cp == U'\r' ||
         IsCategoryZs(cp);
}

// transformers' _is_control: any C* category except the whitespace controls.
bool IsBertControl(char32_t cp) {
  if (cp == U'\t' || cp == U'\n' || cp == U'\r') return false;
  return IsCategoryC(cp);
}

// _clean_text + _tokenize_chinese_chars.
std::u32string CleanText(std::u32string_view text, bool isolate_chinese) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp == 0 || cp == 0xFFFD || IsBertControl(cp)) continue;
    if (IsBertWhitespace(cp)) {
      out.push_back(U' ');
    } else if (isolate_chinese && IsBertChineseChar(cp)) {
      out.push_back(U' ');
      out.push_back(cp);
      out.push_back(U' ');
    } else {
      out.push_back(cp);
    }
  }
  return out;
}

std::u32string StripAccents(const std::u32string& word) {
  std::u32string out;
  for (char32_t cp : NormalizeNfd(word)) {
    if (!IsNonspacingMark(cp)) out.push_back(cp);
  }
  return out;
}

}  // namespace

bool IsBertChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool IsBertPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) ||
      (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  return IsCategoryP(cp);
}

std::vector<std::u32string> BertBasicTokenizer::Tokenize(
    std::u32string_view text) const {
  const std::u32string normalized =
      NormalizeNfc(CleanText(text, options_.tokenize_chinese_chars));
  std::vector<std::u32string> words;
  for (std::u32string& word : SplitOnPythonSpace(normalized)) {
    if (options_.never_split.contains(EncodeUtf8(word))) {
      words.push_back(std::move(word));
      continue;
    }
    if (options_.strip_accents) word = StripAccents(word);
    // _run_split_on_punc checks never_split again, on the accent-stripped word.
    if (options_.split_on_punctuation &&
        !options_.never_split.contains(EncodeUtf8(word))) {
      SplitOnPunctuation(word, &words);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
    }
  }
  // transformers re-splits " ".join(words) on whitespace; only empty words (a
  // token made only of combining marks) can disappear there, which the code
  // above already skips.
  return words;
}

void BertBasicTokenizer::SplitOnPunctuation(
    const std::u32string& word, std::vector<std::u32string>* out) const {
  bool start_new_word = true;
  for (char32_t cp : word) {
    if (IsBertPunctuation(cp)) {
      out->push_back(std::u32string(1, cp));
      start_new_word = true;
    } else {
      if (start_new_word) out->emplace_back();
      start_new_word = false;
      out->back().push_back(cp);
    }
  }
}

}  // namespace attnserve
