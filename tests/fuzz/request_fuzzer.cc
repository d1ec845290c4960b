// Fuzzes what the server does with a request before any model compute: the wire
// bytes parsed as EncodeRequest / TranslateRequest / TokenizeRequest /
// GetModelRequest (the first input byte picks which), then the server's
// validation (ResolveModel, CheckTextCount, TokenizeText,
// ResolveGenerationOptions) and the complete Tokenize handler, against a
// repository holding bert-tiny ("bert") and marian-tiny ("marian"). Under ASan
// the Marian model cannot load (its sentencepiece shim needs RTLD_DEEPBIND): it
// stays FAILED and only the refusal paths run; the non-ASan fuzz build covers
// its tokenization and generation options.

#include <cmath>
#include <cstddef>
#include <cstdint>
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
    s->models = std::make_unique<server::ModelRepository>(config, LoadOptions{},
                                                          &s->metrics);
    s->models->LoadAll([](const ModelEntry&) {});
    s->context.models = s->models.get();
    s->context.metrics = &s->metrics;
    s->bert = s->models->Find("bert").get();
    Require(s->bert->state() == v1::MODEL_STATE_READY, "bert-tiny loads");
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
