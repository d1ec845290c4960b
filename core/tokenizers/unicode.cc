#include "core/tokenizers/unicode.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

absl::Status InvalidUtf8At(size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("text is not valid UTF-8 (byte offset ", offset, ")"));
}

bool IsContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Decodes the sequence at bytes[i] into *cp: its length in bytes, or 0 when it
// is not valid UTF-8 (continuation or C0/C1/F5..FF lead, truncated, overlong,
// surrogate, above U+10FFFF).
int DecodeOne(const unsigned char* bytes, size_t i, size_t n, char32_t* cp) {
  const unsigned char lead = bytes[i];
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  }
  int extra;
  char32_t min_cp;
  if (lead >= 0xC2 && lead <= 0xDF) {
    extra = 1, *cp = lead & 0x1F, min_cp = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    extra = 2, *cp = lead & 0x0F, min_cp = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    extra = 3, *cp = lead & 0x07, min_cp = 0x10000;
  } else {
    return 0;
  }
  for (int k = 1; k <= extra; ++k) {
    if (i + k >= n || !IsContinuation(bytes[i + k])) return 0;
    *cp = (*cp << 6) | (bytes[i + k] & 0x3F);
  }
  if (*cp < min_cp || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
    return 0;
  }
  return extra + 1;
}

}  // namespace

int64_t FirstInvalidUtf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  char32_t cp;
  for (size_t i = 0; i < text.size();) {
    const int length = DecodeOne(bytes, i, text.size(), &cp);
    if (length == 0) return static_cast<int64_t>(i);
    i += length;
  }
  return -1;
}

absl::StatusOr<std::u32string> DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  char32_t cp;
  for (size_t i = 0; i < text.size();) {
    const int length = DecodeOne(bytes, i, text.size(), &cp);
    if (length == 0) return InvalidUtf8At(i);
    out.push_back(cp);
    i += length;
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

}  // namespace attnserve
