#ifndef ATTNSERVE_SERVER_TRANSLATE_WORK_H_
#define ATTNSERVE_SERVER_TRANSLATE_WORK_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/decoding/decode_batch.h"
#include "core/models/translator.h"
#include "grpcpp/server_context.h"
#include "server/batching/translate_scheduler.h"
#include "server/model_entry.h"
#include "server/service_context.h"

namespace attnserve::server {

// Shared by Translate and TranslateStream.

// A validated, tokenized TranslateRequest for the scheduler (callbacks not yet
// set), with the model it runs on.
struct PreparedTranslation {
  std::shared_ptr<ModelEntry> model;
  std::shared_ptr<TranslateWork> work;
  uint64_t input_tokens = 0;
};

absl::StatusOr<PreparedTranslation> PrepareTranslation(
    const ServiceContext& service, grpc::CallbackServerContext* context,
    const v1::TranslateRequest& request);

// Fills `translation` (hypotheses best first, detokenized); returns the tokens
// they hold.
uint64_t FillHypotheses(const Translator& translator,
                        const std::vector<Hypothesis>& hypotheses,
                        v1::Translation* translation);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_TRANSLATE_WORK_H_
