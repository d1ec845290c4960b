// Fuzzes MarianTokenizer (sentencepiece through the dlopen'ed shim) on
// marian-tiny: EncodeSource with arbitrary bytes, truncation, limits and target
// languages, then Decode of the result and of arbitrary in-vocabulary id
// sequences. Not built under ASan: the shim needs RTLD_DEEPBIND, which ASan
// rejects (see core/tokenizers/sentencepiece.h); the non-ASan fuzz build runs
// it with UBSan.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tokenizers/marian_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace attnserve::fuzz {
namespace {

const MarianTokenizer& Tokenizer() {
  static const MarianTokenizer* tokenizer = [] {
    absl::StatusOr<std::unique_ptr<MarianTokenizer>> loaded =
        MarianTokenizer::Load(TestDataPath("marian-tiny"));
    Require(loaded.ok(), "load the marian-tiny tokenizer");
    return loaded->release();
  }();
  return *tokenizer;
}

void CheckEncode(const MarianTokenizer& tokenizer, const std::string& text,
                 bool truncate, int max_tokens, const std::string& language) {
  absl::StatusOr<Encoding> enc =
      tokenizer.EncodeSource(text, truncate, max_tokens, language);
  if (!IsValidUtf8(text) || max_tokens < 1) {
    Require(!enc.ok() && absl::IsInvalidArgument(enc.status()),
            "EncodeSource rejects invalid UTF-8 / max_tokens < 1 with "
            "InvalidArgument");
    return;
  }
  if (truncate && language.empty())
    Require(enc.ok(), "EncodeSource(truncate) of valid UTF-8");
  if (!enc.ok()) {
    Require(absl::IsInvalidArgument(enc.status()),
            "EncodeSource errors are InvalidArgument");
    return;
  }
  const Encoding& e = *enc;
  Require(!e.ids.empty() && e.ids.back() == tokenizer.eos_id(), "</s> last");
  Require(e.ids.size() <=
              static_cast<size_t>(max_tokens) + (language.empty() ? 0 : 1),
          "at most max_tokens ids (+ the language token)");
  for (int32_t id : e.ids) {
    Require(id >= 0 && id < tokenizer.vocab_size(), "id inside the vocabulary");
  }
  (void)tokenizer.Decode(e.ids);
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attnserve::fuzz;
  const attnserve::MarianTokenizer& tokenizer = Tokenizer();
  FuzzedDataProvider input(data, size);
  const bool truncate = input.ConsumeBool();
  const int max_tokens = input.ConsumeIntegralInRange<int>(0, 160);
  const std::string language =
      input.ConsumeBool() ? input.ConsumeRandomLengthString(8) : "";
  std::vector<int32_t> ids;
  const size_t id_count = input.ConsumeIntegralInRange<size_t>(0, 32);
  for (size_t i = 0; i < id_count; ++i) {
    ids.push_back(
        input.ConsumeIntegralInRange<int32_t>(0, tokenizer.vocab_size() - 1));
  }
  const std::string text = input.ConsumeRemainingBytesAsString();
  CheckEncode(tokenizer, text, truncate, max_tokens, language);
  CheckEncode(tokenizer, text, true, tokenizer.model_max_length(), "");
  (void)tokenizer.Decode(ids);
  return 0;
}
