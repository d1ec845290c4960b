// attnserve-classify FOLDER [float32|bfloat16|int8] < request.json >
// result.json
//
// Runs core/models/sequence_classifier.h in process (no server): the
// differential test tools/oracle/diff_cross_encoders.py sends
//   {"inputs": [{"text": "...", "pair": "..." | null}, ...],
//    "truncate": true, "empty_pair": "pair" | "single"}
// and reads back the model's labels and activations and, per input, its ids,
// type ids, logits and both scores (CrossEncoder's and the pipeline's), all
// inputs classified as one packed batch. Errors: a message on stderr, exit 1.
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "core/models/sequence_classifier.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

int Fail(const std::string& message) {
  std::cerr << "attnserve-classify: " << message << "\n";
  return 1;
}

std::vector<float> Activated(std::vector<float> logits, ScoreActivation a) {
  ApplyScoreActivation(a, absl::MakeSpan(logits));
  return logits;
}

int Run(const std::string& folder, DType dtype) {
  LoadOptions options;
  options.dtype = dtype;
  options.threads = 1;
  auto model = SequenceClassifier::Load(folder, options);
  if (!model.ok()) return Fail(std::string(model.status().message()));
  const std::string input((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
  const nlohmann::json request =
      nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.contains("inputs"))
    return Fail("stdin is not a JSON object with \"inputs\"");
  PairTokenizeOptions tokenize;
  tokenize.truncate = request.value("truncate", true);
  tokenize.empty_pair = request.value("empty_pair", "pair") == "single"
                            ? HfTokenizer::EmptyPair::kSingle
                            : HfTokenizer::EmptyPair::kPair;
  std::vector<Encoding> encodings;
  for (const nlohmann::json& in : request.at("inputs")) {
    const std::string text = in.at("text");
    std::string pair;
    std::optional<std::string_view> maybe_pair;
    if (in.contains("pair") && !in.at("pair").is_null()) {
      pair = in.at("pair").get<std::string>();
      maybe_pair = pair;
    }
    auto enc = (*model)->Tokenize(text, maybe_pair, tokenize);
    if (!enc.ok()) return Fail(std::string(enc.status().message()));
    encodings.push_back(*std::move(enc));
  }
  std::vector<absl::Span<const int32_t>> ids, types;
  for (const Encoding& e : encodings) {
    ids.push_back(e.ids);
    types.push_back(e.type_ids);
  }
  auto logits = (*model)->Classify(ids, types);
  if (!logits.ok()) return Fail(std::string(logits.status().message()));
  const SequenceClassifier& m = **model;
  nlohmann::json out = {
      {"num_labels", m.num_labels()},
      {"labels", m.labels()},
      {"rerank_activation", ScoreActivationName(m.rerank_activation())},
      {"classify_activation", ScoreActivationName(m.classify_activation())},
      {"max_input_tokens", m.max_input_tokens()},
      {"results", nlohmann::json::array()}};
  for (size_t i = 0; i < encodings.size(); ++i) {
    const std::vector<float>& l = (*logits)[i];
    out["results"].push_back(
        {{"ids", encodings[i].ids},
         {"type_ids", encodings[i].type_ids},
         {"logits", l},
         {"rerank_scores", Activated(l, m.rerank_activation())},
         {"classify_scores", Activated(l, m.classify_activation())}});
  }
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  using attnserve::DType;
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: attnserve-classify FOLDER [float32|bfloat16|int8] "
                 "< request.json\n";
    return 2;
  }
  const std::string dtype = argc == 3 ? argv[2] : "float32";
  if (dtype != "float32" && dtype != "bfloat16" && dtype != "int8") {
    std::cerr << "attnserve-classify: dtype \"" << dtype
              << "\" is not float32, bfloat16 or int8\n";
    return 2;
  }
  return attnserve::Run(argv[1], dtype == "int8"       ? DType::kInt8
                                 : dtype == "bfloat16" ? DType::kBFloat16
                                                       : DType::kFloat32);
}
