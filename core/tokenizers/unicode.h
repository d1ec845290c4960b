#ifndef ATTNSERVE_CORE_TOKENIZERS_UNICODE_H_
#define ATTNSERVE_CORE_TOKENIZERS_UNICODE_H_

// UTF-8 decoding/encoding and Python's str.isspace() / str.strip() (what
// sentence-transformers applies before tokenizing).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace attnserve {

// Strict UTF-8 decoding as Python's "utf-8" codec: rejects overlong forms,
// surrogates (U+D800..U+DFFF), code points above U+10FFFF, lone continuation
// bytes and truncated sequences. Error: InvalidArgument("text is not valid
// UTF-8 (byte offset N)").
absl::StatusOr<std::u32string> DecodeUtf8(std::string_view text);
// The byte offset of the first sequence DecodeUtf8 rejects, or -1 when `text`
// is valid UTF-8 (the one UTF-8 check: the server's request validation names
// fields with it).
int64_t FirstInvalidUtf8(std::string_view text);

// Encodes code points (assumed valid scalar values) as UTF-8.
std::string EncodeUtf8(std::u32string_view text);
void AppendUtf8(char32_t cp, std::string* out);

// Python str.isspace(): Unicode category Zs or bidirectional class WS/B/S.
bool IsPythonSpace(char32_t cp);

// Python str.strip() with no argument: `text` without IsPythonSpace at
// either end.
std::u32string_view StripPythonSpace(std::u32string_view text);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_UNICODE_H_
