#ifndef ATTNSERVE_CORE_HEADS_CLASSIFICATION_HEAD_H_
#define ATTNSERVE_CORE_HEADS_CLASSIFICATION_HEAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/models/weight_reader.h"
#include "core/ops/activation.h"

namespace attnserve {

// The head of a Hugging Face `*ForSequenceClassification` model on the first
// token's final hidden state: logits = out(activation(dense(x))). BERT's
// pooler + classifier, RoBERTa's classifier.dense/out_proj, DistilBERT's
// pre_classifier + ReLU + classifier all have this shape (the names are the
// architecture's, core/models/encoder_architecture.h).
//
// It stays float32 whatever LoadOptions::dtype the encoder runs in: it is
// hidden² + labels·hidden weights applied once per sequence (MiniLM-L6: 150k
// multiply-adds against the encoder's ~22M per token), and f32 keeps the
// scores closest to the reference. Thread-safe (const).
class ClassificationHead {
 public:
  // Reads "<dense>.weight" [hidden, hidden], "<dense>.bias" [hidden],
  // "<out>.weight" [num_labels, hidden], "<out>.bias" [num_labels]. A missing
  // or mis-shaped tensor: the reader's error (it names the file and tensor).
  static absl::StatusOr<ClassificationHead> Read(const WeightReader& reader,
                                                 const std::string& dense,
                                                 Activation activation,
                                                 const std::string& out,
                                                 int hidden, int num_labels);
  // From memory (tests): weights row-major [out, in] as nn.Linear stores them.
  ClassificationHead(int hidden, int num_labels, Activation activation,
                     std::vector<float> dense_w, std::vector<float> dense_b,
                     std::vector<float> out_w, std::vector<float> out_b);

  int hidden() const { return hidden_; }
  int num_labels() const { return num_labels_; }
  int64_t parameter_count() const {
    return static_cast<int64_t>(dense_w_.size() + dense_b_.size() +
                                out_w_.size() + out_b_.size());
  }

  // The logits (num_labels() values) of one sequence from its first token's
  // hidden state (hidden() values).
  void Apply(absl::Span<const float> first_token,
             std::vector<float>* logits) const;

 private:
  int hidden_ = 0;
  int num_labels_ = 0;
  Activation activation_ = Activation::kTanh;
  std::vector<float> dense_w_, dense_b_;  // [hidden, hidden], [hidden]
  std::vector<float> out_w_, out_b_;      // [labels, hidden], [labels]
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_HEADS_CLASSIFICATION_HEAD_H_
