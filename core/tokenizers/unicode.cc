#include "core/tokenizers/unicode.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

absl::Status InvalidUtf8At(size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("text is not valid UTF-8 (byte offset ", offset, ")"));
}

bool IsContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

bool IsAscii(std::u32string_view text) {
  for (char32_t cp : text) {
    if (cp >= 0x80) return false;
  }
  return true;
}

// Runs utf8proc_map with `options` on the UTF-8 form of `text`.
std::u32string MapWithUtf8proc(std::u32string_view text, int options) {
  const std::string utf8 = EncodeUtf8(text);
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                   static_cast<utf8proc_ssize_t>(utf8.size()), &mapped,
                   static_cast<utf8proc_option_t>(options));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped,
                                                                &std::free);
  // The input came from valid scalar values, so utf8proc cannot fail except on
  // allocation failure; keep the text unchanged in that case.
  if (length < 0) return std::u32string(text);
  absl::StatusOr<std::u32string> decoded = DecodeUtf8(std::string_view(
      reinterpret_cast<const char*>(mapped), static_cast<size_t>(length)));
  return decoded.ok() ? *std::move(decoded) : std::u32string(text);
}

}  // namespace

absl::StatusOr<std::u32string> DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      out.push_back(lead);
      ++i;
      continue;
    }
    int extra;
    char32_t cp;
    char32_t min_cp;
    if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1, cp = lead & 0x1F, min_cp = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2, cp = lead & 0x0F, min_cp = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3, cp = lead & 0x07, min_cp = 0x10000;
    } else {
      return InvalidUtf8At(
          i);  // continuation byte, C0/C1 overlong lead, F5..FF
    }
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= n || !IsContinuation(bytes[i + k])) return InvalidUtf8At(i);
      cp = (cp << 6) | (bytes[i + k] & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return InvalidUtf8At(i);
    }
    out.push_back(cp);
    i += extra + 1;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string EncodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) AppendUtf8(cp, &out);
  return out;
}

bool IsPythonSpace(char32_t cp) {
  // CPython's _PyUnicode_IsWhitespace table (category Zs or bidi class WS/B/S).
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) ||
         cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::u32string_view StripPythonSpace(std::u32string_view text) {
  while (!text.empty() && IsPythonSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsPythonSpace(text.back())) text.remove_suffix(1);
  return text;
}

std::vector<std::u32string> SplitOnPythonSpace(std::u32string_view text) {
  std::vector<std::u32string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsPythonSpace(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !IsPythonSpace(text[i])) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

bool IsCategoryC(char32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return true;
    default:
      return false;
  }
}

bool IsCategoryP(char32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool IsCategoryZs(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp)) ==
         UTF8PROC_CATEGORY_ZS;
}

bool IsNonspacingMark(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp)) ==
         UTF8PROC_CATEGORY_MN;
}

void AppendPythonLower(char32_t cp, std::u32string* out) {
  if (cp < 0x80) {
    out->push_back(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
    return;
  }
  // The only unconditional multi-character lower-case mapping in
  // SpecialCasing.txt; utf8proc_tolower gives the simple mapping (plain "i").
  if (cp == 0x0130) {
    out->push_back(U'i');
    out->push_back(0x0307);
    return;
  }
  out->push_back(static_cast<char32_t>(
      utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
}

std::u32string NormalizeNfc(std::u32string_view text) {
  if (IsAscii(text)) return std::u32string(text);
  return MapWithUtf8proc(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
}

std::u32string NormalizeNfd(std::u32string_view text) {
  if (IsAscii(text)) return std::u32string(text);
  return MapWithUtf8proc(text, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
}

}  // namespace attnserve
