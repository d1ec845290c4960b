// Fuzzes what the server does with a request before any model compute: the wire
// bytes parsed as EncodeRequest / TranslateRequest / TokenizeRequest /
// GetModelRequest (the first input byte modulo 5 picks which) or, for a first
// byte 0xF0 / 0xF1, RerankRequest / ClassifyRequest; then the server's
// validation (ResolveModel, CheckTextCount, TokenizeText, TokenizePair,
// ResolveGenerationOptions) and the complete Tokenize handler, against a
// repository holding bert-tiny ("bert"), marian-tiny ("marian"), a 1-label
// BERT cross-encoder ("ce") and a 3-label DistilBERT classifier ("cls3"). Under
// ASan the Marian model cannot load (its sentencepiece shim needs
// RTLD_DEEPBIND): it stays FAILED and only the refusal paths run; the non-ASan
// fuzz build covers its tokenization and generation options.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "attnserve/v1/attnserve.pb.h"
#include "core/tokenizers/unicode.h"
#include "server/metrics.h"
#include "server/model_calls.h"
#include "server/model_repository.h"
#include "server/request_validation.h"
#include "server/service_context.h"
#include "tests/fuzz/fuzz_util.h"

namespace attnserve::fuzz {
namespace {

using server::ModelEntry;

struct Server {
  server::Metrics metrics;
  std::unique_ptr<server::ModelRepository> models;
  server::ServiceContext context;
  ModelEntry* bert = nullptr;
  ModelEntry* marian = nullptr;  // nullptr unless READY
  ModelEntry* ce = nullptr;      // cross-encoder (TASK_RERANK)
  ModelEntry* cls3 = nullptr;    // 3-label classifier (TASK_CLASSIFY)
};

Server& TheServer() {
  static Server* s = [] {
    auto* s = new Server();
    v1::ServerConfig config;
    v1::ModelConfig* bert = config.add_model();
    bert->set_name("bert");
    bert->set_path(TestDataPath("bert-tiny"));
    v1::ModelConfig* marian = config.add_model();
    marian->set_name("marian");
    marian->set_path(TestDataPath("marian-tiny"));
    v1::ModelConfig* ce = config.add_model();
    ce->set_name("ce");
    ce->set_path(TestDataPath("cross-encoders/bert-ce-tiny"));
    v1::ModelConfig* cls3 = config.add_model();
    cls3->set_name("cls3");
    cls3->set_path(TestDataPath("cross-encoders/distilbert-cls3-tiny"));
    s->models = std::make_unique<server::ModelRepository>(config, LoadOptions{},
                                                          &s->metrics);
    s->models->LoadAll([](const ModelEntry&) {});
    s->context.models = s->models.get();
    s->context.metrics = &s->metrics;
    s->bert = s->models->Find("bert").get();
    Require(s->bert->state() == v1::MODEL_STATE_READY, "bert-tiny loads");
    s->ce = s->models->Find("ce").get();
    Require(s->ce->state() == v1::MODEL_STATE_READY, "bert-ce-tiny loads");
    s->cls3 = s->models->Find("cls3").get();
    Require(s->cls3->state() == v1::MODEL_STATE_READY,
            "distilbert-cls3-tiny loads");
    ModelEntry* m = s->models->Find("marian").get();
#ifdef ATTNSERVE_ASAN
    Require(m->state() == v1::MODEL_STATE_FAILED,
            "marian-tiny cannot load under ASan");
#else
    Require(m->state() == v1::MODEL_STATE_READY, "marian-tiny loads");
    s->marian = m;
#endif
    return s;
  }();
  return *s;
}

// TokenizeText's contract for a READY model.
void CheckTokenizeText(const ModelEntry& model, const std::string& text,
                       int index, const server::TextOptions& options) {
  const bool truncate = options.truncate;
  const std::string& language = options.target_language;
  absl::StatusOr<Encoding> enc = TokenizeText(model, text, index, options);
  const int64_t bad = attnserve::FirstInvalidUtf8(text);
  Require((bad < 0) == IsValidUtf8(text),
          "FirstInvalidUtf8 agrees with a reference validator");
  Require(bad < static_cast<int>(text.size()),
          "FirstInvalidUtf8 offset inside the text");
  if (bad >= 0) {
    Require(absl::IsInvalidArgument(enc.status()),
            "invalid UTF-8 is INVALID_ARGUMENT");
    return;
  }
  if (truncate && language.empty())
    Require(enc.ok(), "valid UTF-8 with truncate tokenizes");
  if (!enc.ok()) {
    Require(absl::IsInvalidArgument(enc.status()),
            "tokenization errors are INVALID_ARGUMENT");
    return;
  }
  const size_t max = model.limits().max_input_tokens();
  Require(!enc->ids.empty() && enc->ids.size() <= max,
          "1..max_input_tokens ids");
  Require(enc->pieces.empty() || enc->pieces.size() == enc->ids.size(),
          "one piece per id");
}

void CheckEncodeRequest(Server& s, const v1::EncodeRequest& request) {
  (void)server::ResolveModel(*s.models, request.model(), v1::TASK_ENCODE);
  // Validate against the encoder whatever the name says, to reach the text
  // checks.
  if (!server::CheckTextCount(request.texts_size(), *s.bert).ok()) return;
  absl::StatusOr<server::EncodeOptions> options =
      server::ResolveEncodeOptions(request, *s.bert);
  if (!options.ok()) {
    Require(absl::IsInvalidArgument(options.status()),
            "Encode option errors are INVALID_ARGUMENT");
    return;
  }
  Require(options->dimensions >= 0 &&
              options->dimensions <= s.bert->encoder()->dimensions(),
          "dimensions within 0..the model's");
  for (int i = 0; i < request.texts_size(); ++i)
    CheckTokenizeText(*s.bert, request.texts(i), i, options->text);
}

void CheckTranslateRequest(Server& s, const v1::TranslateRequest& request) {
  absl::StatusOr<std::shared_ptr<ModelEntry>> resolved =
      server::ResolveModel(*s.models, request.model(), v1::TASK_TRANSLATE);
  if (s.marian == nullptr) {
    for (const std::string& text : request.texts())
      (void)attnserve::FirstInvalidUtf8(text);
    return;
  }
  absl::StatusOr<GenerationOptions> options =
      server::ResolveGenerationOptions(request, *s.marian);
  if (options.ok()) {
    const v1::LimitsConfig& limits = s.marian->limits();
    Require(
        options->beam_size >= 1 &&
            static_cast<uint32_t>(options->beam_size) <= limits.max_beam_size(),
        "beam_size within 1..max_beam_size");
    Require(options->max_new_tokens >= 1 &&
                static_cast<uint32_t>(options->max_new_tokens) <=
                    limits.max_new_tokens(),
            "max_new_tokens within 1..limit");
    Require(options->num_hypotheses >= 1 &&
                options->num_hypotheses <= options->beam_size,
            "num_hypotheses within 1..beam_size");
    Require(std::isfinite(options->length_penalty), "finite length_penalty");
  }
  if (!server::CheckTextCount(request.texts_size(), *s.marian).ok()) return;
  server::TextOptions text_options;
  text_options.truncate = request.truncate();
  text_options.target_language = request.target_language();
  for (int i = 0; i < request.texts_size(); ++i)
    CheckTokenizeText(*s.marian, request.texts(i), i, text_options);
}

// TokenizePair's contract for a READY classifier.
void CheckTokenizePair(const ModelEntry& model, const std::string& text,
                       const std::string* pair,
                       const server::PairOptions& options) {
  absl::StatusOr<Encoding> enc = server::TokenizePair(
      model, text,
      pair != nullptr ? std::optional<absl::string_view>(*pair) : std::nullopt,
      options);
  const bool valid =
      IsValidUtf8(text) && (pair == nullptr || IsValidUtf8(*pair));
  if (!valid || !enc.ok()) {
    Require(absl::IsInvalidArgument(enc.status()),
            "pair tokenization errors are INVALID_ARGUMENT");
    if (options.truncate && valid)
      Require(enc.ok(), "truncated pairs tokenize");
    return;
  }
  const size_t max = model.limits().max_input_tokens();
  Require(!enc->ids.empty() && enc->ids.size() <= max,
          "1..max_input_tokens ids");
  Require(enc->type_ids.size() == enc->ids.size(), "one token type per id");
}

void CheckRerankRequest(Server& s, const v1::RerankRequest& request) {
  (void)server::ResolveClassifierModel(*s.models, request.model(),
                                       /*rerank=*/true);
  Require(absl::IsInvalidArgument(
              server::ResolveClassifierModel(*s.models, "cls3", true).status()),
          "Rerank on a 3-label model is INVALID_ARGUMENT");
  if (!server::CheckQuery(request.query()).ok()) return;
  if (!server::CheckTextCount(request.texts_size(), *s.ce).ok()) return;
  server::PairOptions options{.truncate = request.truncate(),
                              .text_field = "query",
                              .pair_field = "texts[i]"};
  for (const std::string& text : request.texts())
    CheckTokenizePair(*s.ce, request.query(), &text, options);
}

void CheckClassifyRequest(Server& s, const v1::ClassifyRequest& request) {
  (void)server::ResolveClassifierModel(*s.models, request.model(),
                                       /*rerank=*/false);
  if (!server::CheckTextCount(request.texts_size(), *s.cls3).ok()) return;
  if (!server::CheckTextPairCount(request.text_pairs_size(),
                                  request.texts_size())
           .ok()) {
    return;
  }
  server::PairOptions options{.truncate = request.truncate(),
                              .empty_pair = HfTokenizer::EmptyPair::kSingle,
                              .text_field = "texts[i]",
                              .pair_field = "text_pairs[i]"};
  for (int i = 0; i < request.texts_size(); ++i) {
    const std::string* pair =
        request.text_pairs_size() > 0 ? &request.text_pairs(i) : nullptr;
    CheckTokenizePair(*s.cls3, request.texts(i), pair, options);
  }
}

void CheckTokenizeRequest(Server& s, const v1::TokenizeRequest& request) {
  v1::TokenizeResponse response;
  absl::Status status = server::Tokenize(s.context, request, &response);
  if (status.ok()) {
    Require(response.texts_size() == request.texts_size(),
            "one TokenizedText per text");
  }
  (void)server::ToGrpcStatus(status);
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attnserve;
  fuzz::Server& s = fuzz::TheServer();
  if (size == 0) return 0;
  const uint8_t* body = data + 1;
  const int body_size = static_cast<int>(size - 1);
  if (data[0] == 0xF0) {
    v1::RerankRequest request;
    if (request.ParseFromArray(body, body_size))
      fuzz::CheckRerankRequest(s, request);
    return 0;
  }
  if (data[0] == 0xF1) {
    v1::ClassifyRequest request;
    if (request.ParseFromArray(body, body_size))
      fuzz::CheckClassifyRequest(s, request);
    return 0;
  }
  switch (data[0] % 5) {
    case 0: {
      v1::EncodeRequest request;
      if (request.ParseFromArray(body, body_size))
        fuzz::CheckEncodeRequest(s, request);
      break;
    }
    case 1: {
      v1::TranslateRequest request;
      if (request.ParseFromArray(body, body_size))
        fuzz::CheckTranslateRequest(s, request);
      break;
    }
    case 2: {
      v1::TokenizeRequest request;
      if (request.ParseFromArray(body, body_size))
        fuzz::CheckTokenizeRequest(s, request);
      break;
    }
    case 3: {
      // Raw bytes straight into TokenizeText: protobuf already refuses invalid
      // UTF-8 in string fields, so only this reaches the server's own UTF-8
      // check (its defence in depth).
      const std::string text(reinterpret_cast<const char*>(body), size - 1);
      server::TextOptions options;
      options.truncate = (data[0] & 0x80) != 0;
      fuzz::CheckTokenizeText(*s.bert, text, 0, options);
      if (s.marian != nullptr)
        fuzz::CheckTokenizeText(*s.marian, text, 0, options);
      break;
    }
    default: {
      v1::GetModelRequest request;
      v1::ModelInfo info;
      if (request.ParseFromArray(body, body_size)) {
        (void)server::GetModel(s.context, request, &info);
      }
      break;
    }
  }
  return 0;
}
