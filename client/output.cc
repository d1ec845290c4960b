#include "client/output.h"

#include <cmath>
#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace attnserve::client {
namespace {

// Values shown per embedding in readable output; --json has them all.
constexpr int kShownValues = 6;
constexpr size_t kShownTextChars = 60;

// "POOLING_MEAN" -> "mean" given the prefix "POOLING_".
std::string ShortEnumName(const std::string& full, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(full, prefix));
}

std::string Shorten(const std::string& text) {
  if (text.size() <= kShownTextChars) return text;
  size_t cut = kShownTextChars;
  // Do not cut inside a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return text.substr(0, cut) + "...";
}

}  // namespace

std::string PoolingName(v1::Pooling pooling) {
  return ShortEnumName(v1::Pooling_Name(pooling), "POOLING_");
}
// "cls+mean" for a model that concatenates several modes, else the one mode.
std::string ModelPoolingName(const v1::ModelInfo& m) {
  if (m.pooling_modes_size() < 2) return PoolingName(m.pooling());
  std::string out;
  for (int mode : m.pooling_modes()) {
    if (!out.empty()) out += '+';
    out += PoolingName(static_cast<v1::Pooling>(mode));
  }
  return out;
}
std::string TaskName(v1::Task task) {
  return ShortEnumName(v1::Task_Name(task), "TASK_");
}
std::string ModelStateName(v1::ModelState state) {
  return ShortEnumName(v1::ModelState_Name(state), "MODEL_STATE_");
}
std::string DTypeName(v1::DType dtype) {
  return ShortEnumName(v1::DType_Name(dtype), "DTYPE_");
}

double L2Norm(const v1::Embedding& embedding) {
  double sum = 0.0;
  for (float v : embedding.values()) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

nlohmann::json UsageToJson(const v1::Usage& usage) {
  return {{"input_tokens", usage.input_tokens()},
          {"output_tokens", usage.output_tokens()}};
}

nlohmann::json EncodeToJson(const v1::EncodeResponse& response) {
  nlohmann::json embeddings = nlohmann::json::array();
  for (const v1::Embedding& e : response.embeddings()) {
    embeddings.push_back({{"values", e.values()},
                          {"input_tokens", e.input_tokens()},
                          {"truncated", e.truncated()}});
  }
  return {{"model", response.model()},
          {"dimensions", response.dimensions()},
          {"embeddings", std::move(embeddings)},
          {"usage", UsageToJson(response.usage())}};
}

nlohmann::json TranslationToJson(const v1::Translation& translation) {
  nlohmann::json hypotheses = nlohmann::json::array();
  for (const v1::Hypothesis& h : translation.hypotheses()) {
    hypotheses.push_back({{"text", h.text()},
                          {"score", h.score()},
                          {"token_ids", h.token_ids()}});
  }
  return {{"hypotheses", std::move(hypotheses)},
          {"input_tokens", translation.input_tokens()},
          {"truncated", translation.truncated()}};
}

nlohmann::json TranslateToJson(const v1::TranslateResponse& response) {
  nlohmann::json translations = nlohmann::json::array();
  for (const v1::Translation& t : response.translations()) {
    translations.push_back(TranslationToJson(t));
  }
  return {{"model", response.model()},
          {"translations", std::move(translations)},
          {"usage", UsageToJson(response.usage())}};
}

nlohmann::json StreamMessageToJson(const v1::TranslateStreamResponse& message) {
  nlohmann::json json = {{"index", message.index()},
                         {"text_delta", message.text_delta()},
                         {"token_ids", message.token_ids()},
                         {"finished", message.finished()}};
  if (message.has_translation()) {
    json["translation"] = TranslationToJson(message.translation());
  }
  if (message.has_usage()) json["usage"] = UsageToJson(message.usage());
  return json;
}

nlohmann::json RerankToJson(const v1::RerankResponse& response) {
  nlohmann::json results = nlohmann::json::array();
  for (const v1::RerankResult& r : response.results()) {
    nlohmann::json result = {{"index", r.index()}, {"score", r.score()}};
    if (!r.text().empty()) result["text"] = r.text();
    results.push_back(std::move(result));
  }
  return {{"model", response.model()},
          {"results", std::move(results)},
          {"usage", UsageToJson(response.usage())}};
}

nlohmann::json ClassifyToJson(const v1::ClassifyResponse& response) {
  nlohmann::json classifications = nlohmann::json::array();
  for (const v1::Classification& c : response.classifications()) {
    nlohmann::json labels = nlohmann::json::array();
    for (const v1::LabelScore& l : c.labels()) {
      labels.push_back(
          {{"label", l.label()}, {"id", l.id()}, {"score", l.score()}});
    }
    classifications.push_back({{"labels", std::move(labels)},
                               {"input_tokens", c.input_tokens()},
                               {"truncated", c.truncated()}});
  }
  return {{"model", response.model()},
          {"classifications", std::move(classifications)},
          {"usage", UsageToJson(response.usage())}};
}

nlohmann::json TokenizeToJson(const v1::TokenizeResponse& response) {
  nlohmann::json texts = nlohmann::json::array();
  for (const v1::TokenizedText& t : response.texts()) {
    nlohmann::json text = {{"token_ids", t.token_ids()},
                           {"pieces", t.pieces()},
                           {"truncated", t.truncated()}};
    if (t.token_type_ids_size() > 0)
      text["token_type_ids"] = t.token_type_ids();
    texts.push_back(std::move(text));
  }
  return {{"texts", std::move(texts)}};
}

namespace {

// By name: a proto map has no order.
std::map<std::string, std::string> SortedPrompts(const v1::ModelInfo& m) {
  std::map<std::string, std::string> prompts;
  for (const auto& [name, text] : m.prompts()) prompts[name] = text;
  return prompts;
}

}  // namespace

nlohmann::json ModelToJson(const v1::ModelInfo& m) {
  return {
      {"name", m.name()},
      {"path", m.path()},
      {"architecture", m.architecture()},
      {"task", TaskName(m.task())},
      {"state", ModelStateName(m.state())},
      {"error", m.error()},
      {"max_input_tokens", m.max_input_tokens()},
      {"embedding_dimensions", m.embedding_dimensions()},
      {"source_languages", m.source_languages()},
      {"target_languages", m.target_languages()},
      {"dtype", DTypeName(m.dtype())},
      {"batching",
       {{"max_batch_size", m.batching().max_batch_size()},
        {"max_batch_tokens", m.batching().max_batch_tokens()},
        {"max_queue_delay_us", m.batching().max_queue_delay_us()},
        {"max_queue_size", m.batching().max_queue_size()},
        {"max_batch_memory_bytes", m.batching().max_batch_memory_bytes()}}},
      {"limits",
       {{"max_texts_per_request", m.limits().max_texts_per_request()},
        {"max_input_tokens", m.limits().max_input_tokens()},
        {"max_new_tokens", m.limits().max_new_tokens()},
        {"max_beam_size", m.limits().max_beam_size()}}},
      {"pooling", ModelPoolingName(m)},
      {"normalize", m.normalize()},
      {"default_beam_size", m.default_beam_size()},
      {"default_max_new_tokens", m.default_max_new_tokens()},
      {"prompts", SortedPrompts(m)},
      {"default_prompt_name", m.default_prompt_name()},
      {"auto_truncate", m.auto_truncate()},
      {"labels", m.labels()},
      {"num_labels", m.num_labels()},
  };
}

nlohmann::json ModelsToJson(const v1::ListModelsResponse& response) {
  nlohmann::json models = nlohmann::json::array();
  for (const v1::ModelInfo& m : response.models()) {
    models.push_back(ModelToJson(m));
  }
  return {{"models", std::move(models)}};
}

std::string FormatUsage(const v1::Usage& usage, const std::string& model) {
  std::string line =
      absl::StrFormat("usage: input_tokens=%d", usage.input_tokens());
  if (usage.output_tokens() > 0) {
    absl::StrAppendFormat(&line, " output_tokens=%d", usage.output_tokens());
  }
  if (!model.empty()) absl::StrAppend(&line, " model=", model);
  return line + "\n";
}

std::string FormatEncode(const v1::EncodeResponse& response,
                         const std::vector<std::string>& texts) {
  std::string out;
  for (int i = 0; i < response.embeddings_size(); ++i) {
    const v1::Embedding& e = response.embeddings(i);
    std::vector<std::string> shown;
    for (int k = 0; k < e.values_size() && k < kShownValues; ++k) {
      shown.push_back(absl::StrFormat("%.6f", e.values(k)));
    }
    if (e.values_size() > kShownValues) shown.push_back("...");
    absl::StrAppendFormat(&out, "[%d] dims=%d norm=%.6f tokens=%d%s [%s]", i,
                          e.values_size(), L2Norm(e), e.input_tokens(),
                          e.truncated() ? " (truncated)" : "",
                          absl::StrJoin(shown, ", "));
    if (static_cast<size_t>(i) < texts.size()) {
      absl::StrAppend(&out, "  \"", Shorten(texts[i]), "\"");
    }
    out += "\n";
  }
  return out + FormatUsage(response.usage(), response.model());
}

std::string FormatTranslation(size_t index,
                              const v1::Translation& translation) {
  std::string out;
  const bool nbest = translation.hypotheses_size() > 1;
  for (int k = 0; k < translation.hypotheses_size(); ++k) {
    const v1::Hypothesis& h = translation.hypotheses(k);
    std::string label =
        nbest ? absl::StrCat(index, ".", k) : absl::StrCat(index);
    absl::StrAppendFormat(&out, "[%s] %s  (score %.4f, %d tokens%s)\n", label,
                          h.text(), h.score(), h.token_ids_size(),
                          translation.truncated() ? ", input truncated" : "");
  }
  return out;
}

std::string FormatTranslate(const v1::TranslateResponse& response) {
  std::string out;
  for (int i = 0; i < response.translations_size(); ++i) {
    out += FormatTranslation(i, response.translations(i));
  }
  return out + FormatUsage(response.usage(), response.model());
}

std::string FormatRerank(const v1::RerankResponse& response,
                         const std::vector<std::string>& texts) {
  std::string out;
  for (int r = 0; r < response.results_size(); ++r) {
    const v1::RerankResult& result = response.results(r);
    absl::StrAppendFormat(&out, "#%d [%d] %.6f", r + 1, result.index(),
                          result.score());
    if (result.index() < texts.size()) {
      absl::StrAppend(&out, "  \"", Shorten(texts[result.index()]), "\"");
    }
    out += "\n";
  }
  return out + FormatUsage(response.usage(), response.model());
}

std::string FormatClassify(const v1::ClassifyResponse& response,
                           const std::vector<std::string>& texts) {
  std::string out;
  for (int i = 0; i < response.classifications_size(); ++i) {
    const v1::Classification& c = response.classifications(i);
    std::vector<std::string> labels;
    for (const v1::LabelScore& l : c.labels()) {
      labels.push_back(absl::StrFormat("%s=%.6f", l.label(), l.score()));
    }
    absl::StrAppendFormat(&out, "[%d] %s tokens=%d%s", i,
                          absl::StrJoin(labels, " "), c.input_tokens(),
                          c.truncated() ? " (truncated)" : "");
    if (static_cast<size_t>(i) < texts.size()) {
      absl::StrAppend(&out, "  \"", Shorten(texts[i]), "\"");
    }
    out += "\n";
  }
  return out + FormatUsage(response.usage(), response.model());
}

std::string FormatTokenize(const v1::TokenizeResponse& response) {
  std::string out;
  for (int i = 0; i < response.texts_size(); ++i) {
    const v1::TokenizedText& t = response.texts(i);
    absl::StrAppendFormat(&out, "[%d] %d tokens%s\n", i, t.token_ids_size(),
                          t.truncated() ? " (truncated)" : "");
    absl::StrAppend(&out, "    ids:    ", absl::StrJoin(t.token_ids(), " "),
                    "\n");
    absl::StrAppend(&out, "    pieces: ", absl::StrJoin(t.pieces(), " "), "\n");
    if (t.token_type_ids_size() > 0) {
      absl::StrAppend(
          &out, "    types:  ", absl::StrJoin(t.token_type_ids(), " "), "\n");
    }
  }
  return out;
}

std::string FormatModel(const v1::ModelInfo& m) {
  std::string out;
  absl::StrAppend(&out, "name:             ", m.name(), "\n");
  absl::StrAppend(&out, "path:             ", m.path(), "\n");
  absl::StrAppend(&out, "architecture:     ", m.architecture(), "\n");
  absl::StrAppend(&out, "task:             ", TaskName(m.task()), "\n");
  absl::StrAppend(&out, "state:            ", ModelStateName(m.state()), "\n");
  if (!m.error().empty()) {
    absl::StrAppend(&out, "error:            ", m.error(), "\n");
  }
  absl::StrAppend(&out, "dtype:            ", DTypeName(m.dtype()), "\n");
  absl::StrAppend(&out, "max_input_tokens: ", m.max_input_tokens(), "\n");
  if (m.task() == v1::TASK_ENCODE) {
    absl::StrAppend(&out, "dimensions:       ", m.embedding_dimensions(), "\n");
    absl::StrAppend(&out, "pooling:          ", ModelPoolingName(m),
                    m.normalize() ? ", normalized" : "", "\n");
    for (const auto& [name, text] : SortedPrompts(m)) {
      absl::StrAppend(&out, "prompt:           ", name, " = \"", text, "\"",
                      name == m.default_prompt_name() ? " (default)" : "",
                      "\n");
    }
    if (m.auto_truncate()) absl::StrAppend(&out, "auto_truncate:    true\n");
  }
  if (m.num_labels() > 0) {
    absl::StrAppend(&out, "labels:           ", absl::StrJoin(m.labels(), ", "),
                    "\n");
  }
  if (m.task() == v1::TASK_TRANSLATE) {
    absl::StrAppend(
        &out, "languages:        ", absl::StrJoin(m.source_languages(), ","),
        " -> ", absl::StrJoin(m.target_languages(), ","), "\n");
    absl::StrAppend(&out, "default beam:     ", m.default_beam_size(),
                    ", max_new_tokens ", m.default_max_new_tokens(), "\n");
  }
  const v1::BatchingConfig& b = m.batching();
  absl::StrAppendFormat(
      &out,
      "batching:         max_batch_size=%d max_batch_tokens=%d "
      "max_queue_delay_us=%d max_queue_size=%d max_batch_memory_bytes=%d\n",
      b.max_batch_size(), b.max_batch_tokens(), b.max_queue_delay_us(),
      b.max_queue_size(), b.max_batch_memory_bytes());
  const v1::LimitsConfig& l = m.limits();
  absl::StrAppendFormat(&out,
                        "limits:           max_texts_per_request=%d "
                        "max_input_tokens=%d max_new_tokens=%d "
                        "max_beam_size=%d\n",
                        l.max_texts_per_request(), l.max_input_tokens(),
                        l.max_new_tokens(), l.max_beam_size());
  return out;
}

std::string FormatModels(const v1::ListModelsResponse& response) {
  std::string out = absl::StrFormat("%-20s %-10s %-8s %-12s %s\n", "NAME",
                                    "TASK", "STATE", "ARCHITECTURE", "DETAILS");
  for (const v1::ModelInfo& m : response.models()) {
    std::string details;
    if (m.task() == v1::TASK_ENCODE) {
      details = absl::StrCat("dims=", m.embedding_dimensions(),
                             " pooling=", ModelPoolingName(m));
    } else if (m.task() == v1::TASK_TRANSLATE) {
      details = absl::StrCat(absl::StrJoin(m.source_languages(), ","), "->",
                             absl::StrJoin(m.target_languages(), ","),
                             " beam=", m.default_beam_size());
    } else if (m.num_labels() > 0) {
      details = absl::StrCat("labels=", absl::StrJoin(m.labels(), ","));
    }
    if (!m.error().empty()) details = absl::StrCat("error: ", m.error());
    absl::StrAppendFormat(&out, "%-20s %-10s %-8s %-12s %s\n", m.name(),
                          TaskName(m.task()), ModelStateName(m.state()),
                          m.architecture(), details);
  }
  return out;
}

}  // namespace attnserve::client
