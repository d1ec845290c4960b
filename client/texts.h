// Where the texts of a command come from: arguments, a file, or standard input.
#ifndef ATTNSERVE_CLIENT_TEXTS_H_
#define ATTNSERVE_CLIENT_TEXTS_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::client {

// One text per line; a trailing "\r" is removed (CRLF files); no other
// trimming, since whitespace is part of a text. A final newline does not make
// an extra empty text.
std::vector<std::string> ReadLines(std::istream& in);

// Texts = `operands`, then the lines of `file` ("-" = `stdin`). When neither
// gives a text and `stdin_is_tty` is false, the lines of `stdin`. Fails when no
// text was found.
absl::StatusOr<std::vector<std::string>> CollectTexts(
    const std::vector<std::string>& operands, const std::string& file,
    std::istream& stdin_stream, bool stdin_is_tty);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_TEXTS_H_
