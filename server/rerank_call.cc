#include "server/rerank_call.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/models/sequence_classifier.h"
#include "server/batched_call.h"

namespace attnserve::server {
namespace {

class RerankReactor : public BatchedCall<v1::RerankResponse> {
 public:
  RerankReactor(ServiceContext& service, grpc::CallbackServerContext* context,
                const v1::RerankRequest& request, grpc::ByteBuffer* response)
      : BatchedCall(service, kMethodRerank, request.model(), response),
        top_n_(request.top_n()),
        raw_scores_(request.raw_scores()) {
    absl::Status status = Start(service, context, request);
    if (!status.ok()) Complete(status);
  }

 private:
  absl::Status Start(ServiceContext& service,
                     grpc::CallbackServerContext* context,
                     const v1::RerankRequest& request) {
    if (absl::Status s = service.CheckAcceptingCalls(); !s.ok()) return s;
    absl::StatusOr<std::shared_ptr<ModelEntry>> model = ResolveClassifierModel(
        *service.models, request.model(), /*rerank=*/true);
    if (!model.ok()) return model.status();
    model_ = *model;
    if (absl::Status s = CheckQuery(request.query()); !s.ok()) return s;
    if (absl::Status s = CheckTextCount(request.texts_size(), *model_); !s.ok())
      return s;
    // CrossEncoder's pairs: an empty passage stays a pair.
    PairOptions options{.truncate = request.truncate(),
                        .empty_pair = HfTokenizer::EmptyPair::kPair,
                        .text_field = "query"};
    for (int i = 0; i < request.texts_size(); ++i) {
      options.pair_field = absl::StrCat("texts[", i, "]");
      absl::StatusOr<Encoding> encoding =
          TokenizePair(*model_, request.query(), request.texts(i), options);
      if (!encoding.ok()) return encoding.status();
      AddSequence(*std::move(encoding));
      if (request.return_texts()) texts_.push_back(request.texts(i));
    }
    return Submit(context);
  }

  void OnOutputs() override {
    const SequenceClassifier& classifier = *model_->classifier();
    std::vector<float> scores;
    scores.reserve(job_->outputs.size());
    for (std::vector<float>& logits : job_->outputs) {
      if (!raw_scores_) {
        ApplyScoreActivation(classifier.rerank_activation(),
                             absl::MakeSpan(logits));
      }
      scores.push_back(logits[0]);
    }
    std::vector<int> order = OrderByScore(scores);
    if (top_n_ > 0 && top_n_ < order.size()) order.resize(top_n_);
    for (int index : order) {
      v1::RerankResult* result = response_.add_results();
      result->set_index(static_cast<uint32_t>(index));
      result->set_score(scores[index]);
      if (!texts_.empty()) result->set_text(std::move(texts_[index]));
    }
  }

  const uint32_t top_n_;  // 0 = all
  const bool raw_scores_;
  std::vector<std::string> texts_;  // when return_texts
};

}  // namespace

grpc::ServerUnaryReactor* StartRerank(ServiceContext& service,
                                      grpc::CallbackServerContext* context,
                                      const v1::RerankRequest& request,
                                      grpc::ByteBuffer* response) {
  return new RerankReactor(service, context, request, response);
}

}  // namespace attnserve::server
