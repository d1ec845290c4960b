#include "core/heads/classification_head.h"

#include <utility>

#include "core/status_macros.h"

namespace attnserve {
namespace {

std::vector<float> ToVector(const Tensor& t) {
  return std::vector<float>(t.data(), t.data() + t.numel());
}

// y = W x + b for W [out, in] row-major; the sum in double, rounded once (the
// reference's float32 blocked sums differ from it by ~1e-7 relative).
void Linear(const std::vector<float>& w, const std::vector<float>& b,
            absl::Span<const float> x, std::vector<float>* y) {
  const size_t in = x.size(), out = b.size();
  y->resize(out);
  for (size_t o = 0; o < out; ++o) {
    const float* row = w.data() + o * in;
    double sum = 0;
    for (size_t i = 0; i < in; ++i)
      sum += static_cast<double>(row[i]) * static_cast<double>(x[i]);
    (*y)[o] = static_cast<float>(sum + static_cast<double>(b[o]));
  }
}

}  // namespace

absl::StatusOr<ClassificationHead> ClassificationHead::Read(
    const WeightReader& reader, const std::string& dense, Activation activation,
    const std::string& out, int hidden, int num_labels) {
  Tensor dw, db, ow, ob;
  RETURN_IF_ERROR(reader.ReadLinear(dense, hidden, hidden, &dw, &db));
  RETURN_IF_ERROR(reader.ReadLinear(out, num_labels, hidden, &ow, &ob));
  return ClassificationHead(hidden, num_labels, activation, ToVector(dw),
                            ToVector(db), ToVector(ow), ToVector(ob));
}

ClassificationHead::ClassificationHead(int hidden, int num_labels,
                                       Activation activation,
                                       std::vector<float> dense_w,
                                       std::vector<float> dense_b,
                                       std::vector<float> out_w,
                                       std::vector<float> out_b)
    : hidden_(hidden),
      num_labels_(num_labels),
      activation_(activation),
      dense_w_(std::move(dense_w)),
      dense_b_(std::move(dense_b)),
      out_w_(std::move(out_w)),
      out_b_(std::move(out_b)) {}

void ClassificationHead::Apply(absl::Span<const float> first_token,
                               std::vector<float>* logits) const {
  std::vector<float> x;
  Linear(dense_w_, dense_b_, first_token, &x);
  for (float& v : x) v = ApplyActivation(activation_, v);
  Linear(out_w_, out_b_, x, logits);
}

}  // namespace attnserve
