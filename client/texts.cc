#include "client/texts.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::client {

std::vector<std::string> ReadLines(std::istream& in) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    line.clear();
  }
  return lines;
}

absl::StatusOr<std::vector<std::string>> CollectTexts(
    const std::vector<std::string>& operands, const std::string& file,
    std::istream& stdin_stream, bool stdin_is_tty) {
  std::vector<std::string> texts = operands;
  if (file == "-") {
    std::vector<std::string> lines = ReadLines(stdin_stream);
    texts.insert(texts.end(), lines.begin(), lines.end());
  } else if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("--file ", file, ": cannot open it"));
    }
    std::vector<std::string> lines = ReadLines(in);
    texts.insert(texts.end(), lines.begin(), lines.end());
  } else if (texts.empty() && !stdin_is_tty) {
    texts = ReadLines(stdin_stream);
  }
  if (texts.empty()) {
    return absl::InvalidArgumentError(
        "no texts: give them as arguments, with --file PATH (one per line, "
        "\"-\" = stdin) or on standard input");
  }
  return texts;
}

}  // namespace attnserve::client
