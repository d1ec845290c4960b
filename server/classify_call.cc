#include "server/classify_call.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/models/sequence_classifier.h"
#include "server/batched_call.h"

namespace attnserve::server {
namespace {

class ClassifyReactor : public BatchedCall<v1::ClassifyResponse> {
 public:
  ClassifyReactor(ServiceContext& service, grpc::CallbackServerContext* context,
                  const v1::ClassifyRequest& request,
                  grpc::ByteBuffer* response)
      : BatchedCall(service, kMethodClassify, request.model(), response),
        top_k_(request.top_k()),
        raw_scores_(request.raw_scores()) {
    absl::Status status = Start(service, context, request);
    if (!status.ok()) Complete(status);
  }

 private:
  absl::Status Start(ServiceContext& service,
                     grpc::CallbackServerContext* context,
                     const v1::ClassifyRequest& request) {
    if (absl::Status s = service.CheckAcceptingCalls(); !s.ok()) return s;
    absl::StatusOr<std::shared_ptr<ModelEntry>> model = ResolveClassifierModel(
        *service.models, request.model(), /*rerank=*/false);
    if (!model.ok()) return model.status();
    model_ = *model;
    if (absl::Status s = CheckTextCount(request.texts_size(), *model_); !s.ok())
      return s;
    const bool pairs = request.text_pairs_size() > 0;
    if (absl::Status s =
            CheckTextPairCount(request.text_pairs_size(), request.texts_size());
        !s.ok()) {
      return s;
    }
    // The pipeline's pairs: an empty text_pair is the text alone.
    PairOptions options{.truncate = request.truncate(),
                        .empty_pair = HfTokenizer::EmptyPair::kSingle};
    for (int i = 0; i < request.texts_size(); ++i) {
      options.text_field = absl::StrCat("texts[", i, "]");
      options.pair_field = absl::StrCat("text_pairs[", i, "]");
      absl::StatusOr<Encoding> encoding = TokenizePair(
          *model_, request.texts(i),
          pairs ? std::optional<absl::string_view>(request.text_pairs(i))
                : std::nullopt,
          options);
      if (!encoding.ok()) return encoding.status();
      v1::Classification* classification = response_.add_classifications();
      classification->set_input_tokens(
          static_cast<uint32_t>(encoding->ids.size()));
      classification->set_truncated(encoding->truncated);
      AddSequence(*std::move(encoding));
    }
    return Submit(context);
  }

  void OnOutputs() override {
    const SequenceClassifier& classifier = *model_->classifier();
    for (size_t i = 0; i < job_->outputs.size(); ++i) {
      std::vector<float>& scores = job_->outputs[i];
      if (!raw_scores_) {
        ApplyScoreActivation(classifier.classify_activation(),
                             absl::MakeSpan(scores));
      }
      std::vector<int> order = OrderByScore(scores);
      if (top_k_ > 0 && top_k_ < order.size()) order.resize(top_k_);
      v1::Classification* classification =
          response_.mutable_classifications(static_cast<int>(i));
      for (int id : order) {
        v1::LabelScore* label = classification->add_labels();
        label->set_label(classifier.labels()[id]);
        label->set_id(static_cast<uint32_t>(id));
        label->set_score(scores[id]);
      }
    }
  }

  const uint32_t top_k_;  // 0 = all
  const bool raw_scores_;
};

}  // namespace

grpc::ServerUnaryReactor* StartClassify(ServiceContext& service,
                                        grpc::CallbackServerContext* context,
                                        const v1::ClassifyRequest& request,
                                        grpc::ByteBuffer* response) {
  return new ClassifyReactor(service, context, request, response);
}

}  // namespace attnserve::server
