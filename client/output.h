// Readable and JSON renderings of attnserve responses for attnserve-client.
#ifndef ATTNSERVE_CLIENT_OUTPUT_H_
#define ATTNSERVE_CLIENT_OUTPUT_H_

#include <string>
#include <vector>

#include "attnserve/v1/attnserve.pb.h"
#include "nlohmann/json.hpp"

namespace attnserve::client {

namespace v1 = ::attnserve::v1;

// Lower-case names without the enum prefix: "mean", "encode", "ready",
// "float32".
std::string PoolingName(v1::Pooling pooling);
std::string ModelPoolingName(const v1::ModelInfo& m);
std::string TaskName(v1::Task task);
std::string ModelStateName(v1::ModelState state);
std::string DTypeName(v1::DType dtype);

// Euclidean norm of an embedding, accumulated in double.
double L2Norm(const v1::Embedding& embedding);

nlohmann::json UsageToJson(const v1::Usage& usage);
nlohmann::json EncodeToJson(const v1::EncodeResponse& response);
nlohmann::json TranslationToJson(const v1::Translation& translation);
nlohmann::json TranslateToJson(const v1::TranslateResponse& response);
nlohmann::json StreamMessageToJson(const v1::TranslateStreamResponse& message);
nlohmann::json RerankToJson(const v1::RerankResponse& response);
nlohmann::json ClassifyToJson(const v1::ClassifyResponse& response);
nlohmann::json TokenizeToJson(const v1::TokenizeResponse& response);
nlohmann::json ModelToJson(const v1::ModelInfo& model);
nlohmann::json ModelsToJson(const v1::ListModelsResponse& response);

// Readable renderings, one block per text; `texts` are the request texts
// (echoed, shortened).
std::string FormatEncode(const v1::EncodeResponse& response,
                         const std::vector<std::string>& texts);
// One line per hypothesis: "[i] text  (score S, N tokens)"; n-best as "[i.k]".
std::string FormatTranslation(size_t index, const v1::Translation& translation);
std::string FormatTranslate(const v1::TranslateResponse& response);
// One line per result, best first: "#rank [index] score  \"text\"" (the
// request's text, shortened).
std::string FormatRerank(const v1::RerankResponse& response,
                         const std::vector<std::string>& texts);
// One line per text: "[i] label=score ... tokens=N".
std::string FormatClassify(const v1::ClassifyResponse& response,
                           const std::vector<std::string>& texts);
std::string FormatTokenize(const v1::TokenizeResponse& response);
std::string FormatModel(const v1::ModelInfo& model);
std::string FormatModels(const v1::ListModelsResponse& response);
std::string FormatUsage(const v1::Usage& usage, const std::string& model);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_OUTPUT_H_
