// Fuzzes HfTokenizer::Encode / EncodePair (Hugging Face `tokenizers` through
// the Rust shim) on the fixture tokenizers of tests/data/tokenizers (WordPiece,
// byte-level BPE, Unigram with its precompiled normalizer) and on bert-tiny
// (vocab.txt only: the tokenizer.json converted from it) with arbitrary
// bytes, truncation on or off and limits from invalid to beyond the text's
// length. A panic in the crate would surface as an error status; a crash or
// a broken contract aborts.

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/tokenizers/hf_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace attnserve::fuzz {
namespace {

// Folders under tests/data.
constexpr std::array<const char*, 5> kFamilies = {
    "tokenizers/wordpiece-bert", "tokenizers/wordpiece-mpnet",
    "tokenizers/bpe-roberta", "tokenizers/unigram-xlmr", "bert-tiny"};
// The most special tokens any of them adds (a pair: <s> a </s></s> b </s>).
constexpr int kMaxAdded = 4;

const HfTokenizer& Tokenizer(size_t family) {
  static std::array<const HfTokenizer*, kFamilies.size()> loaded{};
  if (loaded[family] == nullptr) {
    absl::StatusOr<std::unique_ptr<HfTokenizer>> tok =
        HfTokenizer::Load(TestDataPath(kFamilies[family]));
    Require(tok.ok(), "load a fixture tokenizer");
    loaded[family] = tok->release();
  }
  return *loaded[family];
}

// Encode's contract (hf_tokenizer.h): InvalidArgument for invalid UTF-8 or
// a limit the special tokens do not fit in; with truncation at most
// max_tokens ids (exactly max_tokens when cut); ids inside the vocabulary.
void Check(const HfTokenizer& tok, const std::string& a, const std::string* b,
           bool truncate, int max_tokens) {
  absl::StatusOr<Encoding> enc =
      b != nullptr ? tok.EncodePair(a, *b, truncate, max_tokens)
                   : tok.Encode(a, truncate, max_tokens);
  const bool valid = IsValidUtf8(a) && (b == nullptr || IsValidUtf8(*b));
  if (!valid || max_tokens < 1) {
    Require(absl::IsInvalidArgument(enc.status()),
            "invalid UTF-8 or max_tokens < 1 is InvalidArgument");
    return;
  }
  if (!enc.ok()) {
    Require(absl::IsInvalidArgument(enc.status()),
            "errors are InvalidArgument");
    Require(!truncate || max_tokens < kMaxAdded,
            "Encode(truncate=true) of valid UTF-8 failed with room for the "
            "special tokens");
    return;
  }
  const Encoding& e = *enc;
  Require(e.ids.size() <= static_cast<size_t>(max_tokens),
          "at most max_tokens ids");
  Require(e.pieces.size() == e.ids.size(), "one piece per id");
  Require(!e.truncated || e.ids.size() == static_cast<size_t>(max_tokens),
          "a truncated encoding has exactly max_tokens ids");
  for (int32_t id : e.ids) {
    Require(id >= 0 && id < tok.vocab_size(), "id inside the vocabulary");
  }
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attnserve::fuzz;
  FuzzedDataProvider input(data, size);
  const size_t family =
      input.ConsumeIntegralInRange<size_t>(0, kFamilies.size() - 1);
  const bool truncate = input.ConsumeBool();
  const bool pair = input.ConsumeBool();
  const int max_tokens = input.ConsumeIntegralInRange<int>(-1, 160);
  const std::string b = pair ? input.ConsumeRandomLengthString(256) : "";
  const std::string a = input.ConsumeRemainingBytesAsString();
  const attnserve::HfTokenizer& tok = Tokenizer(family);
  Check(tok, a, pair ? &b : nullptr, truncate, max_tokens);
  // The server's usual call: the model's own limit with truncation.
  Check(tok, a, nullptr, true, tok.model_max_length());
  return 0;
}
