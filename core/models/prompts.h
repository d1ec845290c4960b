#ifndef ATTNSERVE_CORE_MODELS_PROMPTS_H_
#define ATTNSERVE_CORE_MODELS_PROMPTS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace attnserve {

// The prompts of a sentence-transformers folder:
// config_sentence_transformers.json "prompts" and "default_prompt_name", as
// SentenceTransformer (5.1) loads them.
struct Prompts {
  // Name -> text prepended to every text. Always has "query" and "document"
  // ("" unless the folder sets them): SentenceTransformer starts from those
  // two, so encode(prompt_name="query") works on every model.
  std::map<std::string, std::string> by_name;
  std::string default_name;  // "" = none
};

// Reads <folder>/config_sentence_transformers.json (absent: no prompts but the
// two empty ones). A default_prompt_name that names no prompt fails, as
// SentenceTransformer's constructor does; errors name the file.
absl::StatusOr<Prompts> ReadPrompts(const std::string& folder);

// The text an Encode call prepends, as SentenceTransformer.encode picks it: the
// literal `prompt`; else the prompt named `name`; else the default prompt's;
// else "". An unknown name is InvalidArgument listing the known ones; giving
// both is InvalidArgument (sentence-transformers would only warn and ignore
// the name: a server says so instead).
absl::StatusOr<std::string> ResolvePrompt(
    const Prompts& prompts, const std::optional<std::string_view>& name,
    const std::optional<std::string_view>& prompt);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_PROMPTS_H_
