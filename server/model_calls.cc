#include "server/model_calls.h"

#include "absl/strings/str_cat.h"
#include "server/request_validation.h"

namespace attnserve::server {

absl::Status Tokenize(const ServiceContext& service,
                      const v1::TokenizeRequest& request,
                      v1::TokenizeResponse* response) {
  absl::StatusOr<std::shared_ptr<ModelEntry>> model =
      ResolveModel(*service.models, request.model(), v1::TASK_UNSPECIFIED);
  if (!model.ok()) return model.status();
  if (request.has_target_language() && (*model)->task() != v1::TASK_TRANSLATE) {
    return absl::InvalidArgumentError(
        absl::StrCat("target_language is only for translation models; model '",
                     request.model(), "' is an encoder"));
  }
  if (absl::Status s = CheckTextCount(request.texts_size(), **model); !s.ok())
    return s;
  if (request.text_pairs_size() > 0 && (*model)->classifier() == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "text_pairs is only for Rerank/Classify models; model '",
        request.model(), "' is ", v1::Task_Name((*model)->task())));
  }
  if (absl::Status s =
          CheckTextPairCount(request.text_pairs_size(), request.texts_size());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<TextOptions> options =
      ResolveTokenizeOptions(request, **model);
  if (!options.ok()) return options.status();
  for (int i = 0; i < request.texts_size(); ++i) {
    // Pairs as Classify tokenizes them (an empty second text is no pair).
    absl::StatusOr<Encoding> encoding =
        request.text_pairs_size() > 0
            ? TokenizePair(
                  **model, request.texts(i), request.text_pairs(i),
                  PairOptions{
                      .truncate = options->truncate,
                      .empty_pair = HfTokenizer::EmptyPair::kSingle,
                      .text_field = absl::StrCat("texts[", i, "]"),
                      .pair_field = absl::StrCat("text_pairs[", i, "]")})
            : TokenizeText(**model, request.texts(i), i, *options);
    if (!encoding.ok()) return encoding.status();
    v1::TokenizedText* text = response->add_texts();
    for (int32_t id : encoding->ids)
      text->add_token_ids(static_cast<uint32_t>(id));
    for (std::string& piece : encoding->pieces)
      text->add_pieces(std::move(piece));
    text->set_truncated(encoding->truncated);
    for (int32_t type : encoding->type_ids)
      text->add_token_type_ids(static_cast<uint32_t>(type));
  }
  return absl::OkStatus();
}

absl::Status ListModels(const ServiceContext& service,
                        v1::ListModelsResponse* response) {
  for (const auto& model : service.models->models())
    *response->add_models() = model->info();
  return absl::OkStatus();
}

absl::Status GetModel(const ServiceContext& service,
                      const v1::GetModelRequest& request,
                      v1::ModelInfo* response) {
  const std::shared_ptr<ModelEntry> model =
      service.models->Find(request.name());
  if (model == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "model '", request.name(), "' is not configured on this server"));
  }
  *response = model->info();
  return absl::OkStatus();
}

}  // namespace attnserve::server
