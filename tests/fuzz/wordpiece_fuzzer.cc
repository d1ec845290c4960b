// Fuzzes WordpieceTokenizer::Encode (HF slow BertTokenizer) on bert-tiny with
// arbitrary bytes, truncation on or off and limits from invalid (< 2) to beyond
// the text's length.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/tokenizers/wordpiece.h"
#include "tests/fuzz/fuzz_util.h"

namespace attnserve::fuzz {
namespace {

const WordpieceTokenizer& Tokenizer() {
  static const WordpieceTokenizer* tokenizer = [] {
    absl::StatusOr<std::unique_ptr<WordpieceTokenizer>> loaded =
        WordpieceTokenizer::Load(TestDataPath("bert-tiny"));
    Require(loaded.ok(), "load the bert-tiny tokenizer");
    return loaded->release();
  }();
  return *tokenizer;
}

// Encode's contract (wordpiece.h): [CLS] pieces [SEP], at most max_tokens with
// truncation, InvalidArgument for invalid UTF-8 or a limit below 2, ids inside
// the vocabulary.
void CheckEncode(const WordpieceTokenizer& tokenizer, const std::string& text,
                 bool truncate, int max_tokens) {
  absl::StatusOr<Encoding> enc = tokenizer.Encode(text, truncate, max_tokens);
  const bool valid = IsValidUtf8(text);
  if (!valid || max_tokens < 2) {
    Require(!enc.ok(), "Encode accepted invalid UTF-8 or max_tokens < 2");
    Require(absl::IsInvalidArgument(enc.status()),
            "Encode rejects with InvalidArgument");
    return;
  }
  if (truncate)
    Require(enc.ok(), "Encode(truncate=true) of valid UTF-8 failed");
  if (!enc.ok()) {
    Require(absl::IsInvalidArgument(enc.status()),
            "too long text is InvalidArgument");
    return;
  }
  const Encoding& e = *enc;
  Require(e.ids.size() >= 2 && e.ids.size() <= static_cast<size_t>(max_tokens),
          "Encode returned 2..max_tokens ids");
  Require(e.pieces.size() == e.ids.size(), "one piece per id");
  Require(
      e.ids.front() == tokenizer.cls_id() && e.ids.back() == tokenizer.sep_id(),
      "[CLS] first and [SEP] last");
  Require(!e.truncated || e.ids.size() == static_cast<size_t>(max_tokens),
          "a truncated encoding has exactly max_tokens ids");
  for (int32_t id : e.ids) {
    Require(id >= 0 && id < tokenizer.vocab_size(), "id inside the vocabulary");
  }
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attnserve::fuzz;
  FuzzedDataProvider input(data, size);
  const bool truncate = input.ConsumeBool();
  const int max_tokens = input.ConsumeIntegralInRange<int>(-1, 160);
  const std::string text = input.ConsumeRemainingBytesAsString();
  const attnserve::WordpieceTokenizer& tokenizer = Tokenizer();
  CheckEncode(tokenizer, text, truncate, max_tokens);
  // The server's usual call: the model's own limit with truncation.
  CheckEncode(tokenizer, text, true, tokenizer.model_max_length());
  return 0;
}
