#include "client/loadgen_config.h"

#include <cmath>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/texts.h"

namespace attnserve::client {

const char* RequestKindName(RequestKind kind) {
  switch (kind) {
    case RequestKind::kEncode:
      return "encode";
    case RequestKind::kTranslate:
      return "translate";
    case RequestKind::kTranslateStream:
      return "stream";
  }
  return "unknown";
}

RequestKind Mix::Pick(double u) const {
  double cumulative = 0.0;
  int last_nonzero = 0;
  for (int k = 0; k < kNumRequestKinds; ++k) {
    if (weights[k] <= 0.0) continue;
    last_nonzero = k;
    cumulative += weights[k];
    if (u < cumulative) return static_cast<RequestKind>(k);
  }
  // Rounding can leave the sum a hair below 1.
  return static_cast<RequestKind>(last_nonzero);
}

absl::StatusOr<Mix> ParseMix(absl::string_view spec) {
  Mix mix;
  for (double& w : mix.weights) w = 0.0;
  double total = 0.0;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    absl::string_view name = absl::StripAsciiWhitespace(kv.first);
    double weight = 0.0;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(kv.second), &weight) ||
        !std::isfinite(weight) || weight < 0.0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--mix: \"", item, "\" needs KIND=WEIGHT with a weight >= 0"));
    }
    int index;
    if (name == "encode") {
      index = 0;
    } else if (name == "translate") {
      index = 1;
    } else if (name == "stream" || name == "translate_stream") {
      index = 2;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--mix: unknown kind \"", name, "\"; use encode, translate, stream"));
    }
    mix.weights[index] += weight;
    total += weight;
  }
  if (total <= 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--mix=\"", spec, "\" has no positive weight"));
  }
  for (double& w : mix.weights) w /= total;
  return mix;
}

absl::Status ValidateConfig(const LoadgenConfig& config) {
  if (config.concurrency < 1 || config.concurrency > 4096) {
    return absl::InvalidArgumentError("--concurrency must be in 1..4096");
  }
  if (!std::isfinite(config.rate) || config.rate < 0.0) {
    return absl::InvalidArgumentError("--rate must be >= 0 (0 = closed loop)");
  }
  if (config.duration < absl::ZeroDuration() ||
      config.duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("--duration must be finite and >= 0");
  }
  if (config.duration == absl::ZeroDuration() && config.requests == 0) {
    return absl::InvalidArgumentError(
        "the load must stop by itself: set --duration > 0 or --requests > 0");
  }
  if (config.texts_per_request < 1) {
    return absl::InvalidArgumentError("--texts_per_request must be >= 1");
  }
  if (config.texts.empty()) {
    return absl::InvalidArgumentError("no texts to send");
  }
  if (config.mix.weight(RequestKind::kEncode) > 0 &&
      config.encode_model.empty()) {
    return absl::InvalidArgumentError(
        "the mix has encode but no --encode_model");
  }
  const bool translates = config.mix.weight(RequestKind::kTranslate) > 0 ||
                          config.mix.weight(RequestKind::kTranslateStream) > 0;
  if (translates && config.translate_model.empty()) {
    return absl::InvalidArgumentError(
        "the mix has translate/stream but no --translate_model");
  }
  if (absl::Status s = ValidateFaultConfig(config.faults); !s.ok()) return s;
  if (config.faults.slow_reader_fraction > 0 &&
      config.translate_model.empty()) {
    return absl::InvalidArgumentError(
        "--slow_reader_fraction needs a --translate_model (slow readers read "
        "TranslateStream)");
  }
  if (config.faults.disconnect_fraction > 0 && config.target.empty()) {
    return absl::InvalidArgumentError(
        "--disconnect_fraction needs the target address");
  }
  return absl::OkStatus();
}

std::vector<std::string> BuiltinTexts() {
  return {
      "Hello world.",
      "The quick brown fox jumps over the lazy dog.",
      "Please restart the service after changing its configuration file.",
      "Where is the nearest train station?",
      "This package provides the shared libraries for the library.",
      "Error: could not open the file for reading.",
      "The weather today is sunny, with a light breeze from the west.",
      "It works.",
      "Install the package with the command shown below, then run the "
      "program with the default options and check the log output.",
      "Version 2.4.1 fixes three bugs and adds support for 64-bit systems.",
      "Do you want to continue? [Y/n]",
      "The manual describes every option; see the section on networking "
      "for the settings that control timeouts, retries and proxies.",
      "Thank you!",
      "A long sentence that keeps going, listing apples, pears, plums, "
      "cherries, grapes, oranges, lemons and many other fruits, so that "
      "the encoder sees a text of a few dozen tokens.",
      "Files are copied to the destination directory.",
      "No such file or directory",
  };
}

absl::StatusOr<std::vector<std::string>> ReadTextsFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("--texts_file ", path, ": cannot open it"));
  }
  std::vector<std::string> texts;
  for (std::string& line : ReadLines(in)) {
    if (!line.empty()) texts.push_back(std::move(line));
  }
  if (texts.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--texts_file ", path, " has no non-empty line"));
  }
  return texts;
}

}  // namespace attnserve::client
