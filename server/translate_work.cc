#include "server/translate_work.h"

#include "server/request_validation.h"

namespace attnserve::server {

absl::StatusOr<PreparedTranslation> PrepareTranslation(
    const ServiceContext& service, grpc::CallbackServerContext* context,
    const v1::TranslateRequest& request) {
  if (absl::Status s = service.CheckAcceptingCalls(); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<ModelEntry>> model =
      ResolveModel(*service.models, request.model(), v1::TASK_TRANSLATE);
  if (!model.ok()) return model.status();
  if (absl::Status s = CheckTextCount(request.texts_size(), **model); !s.ok())
    return s;
  absl::StatusOr<GenerationOptions> options =
      ResolveGenerationOptions(request, **model);
  if (!options.ok()) return options.status();

  PreparedTranslation prepared;
  prepared.model = *model;
  prepared.work = std::make_shared<TranslateWork>();
  TranslateWork& work = *prepared.work;
  work.options = *options;
  work.deadline = CallDeadline(context->deadline());
  work.sources.reserve(request.texts_size());
  // Translate sources are always cut to max_input_tokens (reported as
  // Translation.truncated), whatever request.truncate says: this is what
  // Hugging Face's Marian pipeline does (tokenizer(..., truncation=True)) and
  // what the acceptance checks expect of the API.
  TextOptions text_options;
  text_options.truncate = true;
  text_options.target_language = request.target_language();
  for (int i = 0; i < request.texts_size(); ++i) {
    absl::StatusOr<Encoding> encoding =
        TokenizeText(**model, request.texts(i), i, text_options);
    if (!encoding.ok()) return encoding.status();
    prepared.input_tokens += encoding->ids.size();
    work.sources.push_back(*std::move(encoding));
  }
  if (absl::Status s = CheckDeadline(work.deadline); !s.ok()) return s;
  work.enqueued = absl::Now();
  return prepared;
}

uint64_t FillHypotheses(const Translator& translator,
                        const std::vector<Hypothesis>& hypotheses,
                        v1::Translation* translation) {
  uint64_t tokens = 0;
  for (const Hypothesis& hypothesis : hypotheses) {
    v1::Hypothesis* out = translation->add_hypotheses();
    out->set_text(translator.Detokenize(hypothesis.ids));
    out->set_score(hypothesis.score);
    for (int32_t id : hypothesis.ids)
      out->add_token_ids(static_cast<uint32_t>(id));
    tokens += hypothesis.ids.size();
  }
  return tokens;
}

}  // namespace attnserve::server
