#include "client/commands.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/output.h"

namespace attnserve::client {
namespace {

int PrintRpcError(const absl::Status& status, std::ostream& err) {
  err << "error: " << absl::StatusCodeToString(status.code()) << ": "
      << status.message() << "\n";
  return kExitRpcError;
}

int PrintUsageError(absl::string_view message, std::ostream& err) {
  err << "usage error: " << message << "\n";
  return kExitUsage;
}

// The model for a command: --model, or else the server's only model serving
// `task` (kTaskUnspecified = any task).
struct ModelChoice {
  std::string name;
  int exit_code = kExitOk;
};

ModelChoice ChooseModel(const CommandOptions& options, v1::Task task,
                        InferenceClient& client, std::ostream& err) {
  if (!options.model.empty()) return {options.model};
  absl::StatusOr<v1::ListModelsResponse> models = client.ListModels();
  if (!models.ok()) return {"", PrintRpcError(models.status(), err)};
  std::vector<std::string> matching, all;
  for (const v1::ModelInfo& m : models->models()) {
    all.push_back(absl::StrCat(m.name(), " (", TaskName(m.task()), ")"));
    // A cross-encoder (TASK_RERANK) also classifies.
    if (task == v1::TASK_UNSPECIFIED || m.task() == task ||
        (task == v1::TASK_CLASSIFY && m.task() == v1::TASK_RERANK)) {
      matching.push_back(m.name());
    }
  }
  if (matching.size() == 1) return {matching[0]};
  return {"",
          PrintUsageError(absl::StrCat("--model is required: the server has ",
                                       all.empty() ? "no models"
                                                   : absl::StrJoin(all, ", ")),
                          err)};
}

int RunHealth(const std::vector<std::string>& args,
              const CommandOptions& options, InferenceClient& client,
              std::ostream& out, std::ostream& err) {
  const std::string service = args.empty() ? "" : args[0];
  auto status = client.Health(service);
  if (!status.ok()) return PrintRpcError(status.status(), err);
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(*status);
  if (options.json) {
    out << nlohmann::json{{"service", service}, {"status", name}}.dump()
        << "\n";
  } else {
    out << name << "\n";
  }
  return *status == grpc::health::v1::HealthCheckResponse::SERVING
             ? kExitOk
             : kExitNotServing;
}

int RunModels(const CommandOptions& options, InferenceClient& client,
              std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::ListModelsResponse> models = client.ListModels();
  if (!models.ok()) return PrintRpcError(models.status(), err);
  out << (options.json ? ModelsToJson(*models).dump() + "\n"
                       : FormatModels(*models));
  return kExitOk;
}

int RunModel(const std::string& name, const CommandOptions& options,
             InferenceClient& client, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::ModelInfo> model = client.GetModel(name);
  if (!model.ok()) return PrintRpcError(model.status(), err);
  out << (options.json ? ModelToJson(*model).dump() + "\n"
                       : FormatModel(*model));
  return kExitOk;
}

int RunEncode(const std::vector<std::string>& texts,
              const CommandOptions& options, InferenceClient& client,
              std::ostream& out, std::ostream& err) {
  ModelChoice model = ChooseModel(options, v1::TASK_ENCODE, client, err);
  if (model.exit_code != kExitOk) return model.exit_code;
  v1::EncodeRequest request;
  request.set_model(model.name);
  for (const std::string& t : texts) request.add_texts(t);
  request.set_truncate(options.truncate);
  request.set_pooling(options.pooling);
  if (options.normalize.has_value()) request.set_normalize(*options.normalize);
  if (options.prompt_name.has_value())
    request.set_prompt_name(*options.prompt_name);
  if (options.prompt.has_value()) request.set_prompt(*options.prompt);
  request.set_dimensions(options.dimensions);
  request.set_truncation_direction(options.truncation_direction);
  absl::StatusOr<v1::EncodeResponse> response = client.Encode(request);
  if (!response.ok()) return PrintRpcError(response.status(), err);
  out << (options.json ? EncodeToJson(*response).dump() + "\n"
                       : FormatEncode(*response, texts));
  return kExitOk;
}

v1::TranslateRequest MakeTranslateRequest(const std::string& model,
                                          const std::vector<std::string>& texts,
                                          const CommandOptions& options) {
  v1::TranslateRequest request;
  request.set_model(model);
  for (const std::string& t : texts) request.add_texts(t);
  request.set_beam_size(options.beam_size);
  request.set_max_new_tokens(options.max_new_tokens);
  request.set_num_hypotheses(options.num_hypotheses);
  request.set_truncate(options.truncate);
  if (options.target_language.has_value()) {
    request.set_target_language(*options.target_language);
  }
  return request;
}

// Readable streaming: with one text the deltas are printed inline as they
// arrive; with several, one "[i] +delta" line each. Every finished text gets
// its final line with score.
int RunTranslateStream(const v1::TranslateRequest& request,
                       const CommandOptions& options, InferenceClient& client,
                       std::ostream& out, std::ostream& err) {
  const bool inline_deltas = request.texts_size() == 1;
  bool open_line = false;
  absl::Status status = client.TranslateStream(
      request, [&](const v1::TranslateStreamResponse& m) {
        if (options.json) {
          out << StreamMessageToJson(m).dump() << std::endl;
          return;
        }
        if (!m.text_delta().empty()) {
          if (inline_deltas) {
            out << m.text_delta() << std::flush;
            open_line = true;
          } else {
            out << "[" << m.index() << "] +" << m.text_delta() << std::endl;
          }
        }
        if (m.has_translation()) {
          if (open_line) out << "\n";
          open_line = false;
          out << FormatTranslation(m.index(), m.translation()) << std::flush;
        }
        if (m.has_usage()) out << FormatUsage(m.usage(), request.model());
      });
  if (open_line) out << "\n";
  if (!status.ok()) return PrintRpcError(status, err);
  return kExitOk;
}

int RunTranslate(const std::vector<std::string>& texts,
                 const CommandOptions& options, InferenceClient& client,
                 std::ostream& out, std::ostream& err) {
  ModelChoice model = ChooseModel(options, v1::TASK_TRANSLATE, client, err);
  if (model.exit_code != kExitOk) return model.exit_code;
  v1::TranslateRequest request =
      MakeTranslateRequest(model.name, texts, options);
  if (options.stream) {
    return RunTranslateStream(request, options, client, out, err);
  }
  absl::StatusOr<v1::TranslateResponse> response = client.Translate(request);
  if (!response.ok()) return PrintRpcError(response.status(), err);
  out << (options.json ? TranslateToJson(*response).dump() + "\n"
                       : FormatTranslate(*response));
  return kExitOk;
}

int RunRerank(const std::vector<std::string>& texts,
              const CommandOptions& options, InferenceClient& client,
              std::ostream& out, std::ostream& err) {
  ModelChoice model = ChooseModel(options, v1::TASK_RERANK, client, err);
  if (model.exit_code != kExitOk) return model.exit_code;
  v1::RerankRequest request;
  request.set_model(model.name);
  request.set_query(options.query);
  for (const std::string& t : texts) request.add_texts(t);
  request.set_top_n(options.top_n);
  request.set_return_texts(options.return_texts);
  request.set_raw_scores(options.raw_scores);
  request.set_truncate(options.truncate);
  absl::StatusOr<v1::RerankResponse> response = client.Rerank(request);
  if (!response.ok()) return PrintRpcError(response.status(), err);
  out << (options.json ? RerankToJson(*response).dump() + "\n"
                       : FormatRerank(*response, texts));
  return kExitOk;
}

// With --pairs the arguments alternate text, pair.
absl::Status SplitPairs(const std::vector<std::string>& args,
                        const CommandOptions& options,
                        std::vector<std::string>* texts,
                        std::vector<std::string>* pairs) {
  if (!options.pairs) {
    *texts = args;
    return absl::OkStatus();
  }
  if (args.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--pairs takes TEXT PAIR TEXT PAIR ...; got ", args.size(),
                     " arguments, an odd count"));
  }
  for (size_t i = 0; i < args.size(); i += 2) {
    texts->push_back(args[i]);
    pairs->push_back(args[i + 1]);
  }
  return absl::OkStatus();
}

int RunClassify(const std::vector<std::string>& args,
                const CommandOptions& options, InferenceClient& client,
                std::ostream& out, std::ostream& err) {
  std::vector<std::string> texts, pairs;
  if (absl::Status s = SplitPairs(args, options, &texts, &pairs); !s.ok())
    return PrintUsageError(s.message(), err);
  ModelChoice model = ChooseModel(options, v1::TASK_CLASSIFY, client, err);
  if (model.exit_code != kExitOk) return model.exit_code;
  v1::ClassifyRequest request;
  request.set_model(model.name);
  for (const std::string& t : texts) request.add_texts(t);
  for (const std::string& p : pairs) request.add_text_pairs(p);
  request.set_top_k(options.top_k);
  request.set_raw_scores(options.raw_scores);
  request.set_truncate(options.truncate);
  absl::StatusOr<v1::ClassifyResponse> response = client.Classify(request);
  if (!response.ok()) return PrintRpcError(response.status(), err);
  out << (options.json ? ClassifyToJson(*response).dump() + "\n"
                       : FormatClassify(*response, texts));
  return kExitOk;
}

int RunTokenize(const std::vector<std::string>& args,
                const CommandOptions& options, InferenceClient& client,
                std::ostream& out, std::ostream& err) {
  std::vector<std::string> texts, pairs;
  if (absl::Status s = SplitPairs(args, options, &texts, &pairs); !s.ok())
    return PrintUsageError(s.message(), err);
  ModelChoice model = ChooseModel(options, v1::TASK_UNSPECIFIED, client, err);
  if (model.exit_code != kExitOk) return model.exit_code;
  v1::TokenizeRequest request;
  request.set_model(model.name);
  for (const std::string& t : texts) request.add_texts(t);
  for (const std::string& p : pairs) request.add_text_pairs(p);
  request.set_truncate(options.truncate);
  request.set_truncation_direction(options.truncation_direction);
  if (options.target_language.has_value()) {
    request.set_target_language(*options.target_language);
  }
  absl::StatusOr<v1::TokenizeResponse> response = client.Tokenize(request);
  if (!response.ok()) return PrintRpcError(response.status(), err);
  out << (options.json ? TokenizeToJson(*response).dump() + "\n"
                       : FormatTokenize(*response));
  return kExitOk;
}

}  // namespace

absl::StatusOr<v1::Pooling> ParsePooling(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower.empty()) return v1::POOLING_UNSPECIFIED;
  if (lower == "mean") return v1::POOLING_MEAN;
  if (lower == "cls") return v1::POOLING_CLS;
  if (lower == "max") return v1::POOLING_MAX;
  // sentence-transformers' names, and the proto enum's.
  if (lower == "mean_sqrt_len_tokens" || lower == "mean_sqrt_len")
    return v1::POOLING_MEAN_SQRT_LEN;
  if (lower == "weightedmean" || lower == "weighted_mean")
    return v1::POOLING_WEIGHTED_MEAN;
  if (lower == "lasttoken" || lower == "last_token")
    return v1::POOLING_LAST_TOKEN;
  return absl::InvalidArgumentError(
      absl::StrCat("--pooling=", name,
                   " is not one of mean, cls, max, mean_sqrt_len_tokens, "
                   "weightedmean, lasttoken"));
}

absl::StatusOr<v1::TruncationDirection> ParseTruncationDirection(
    absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower.empty()) return v1::TRUNCATION_DIRECTION_UNSPECIFIED;
  if (lower == "right") return v1::TRUNCATION_DIRECTION_RIGHT;
  if (lower == "left") return v1::TRUNCATION_DIRECTION_LEFT;
  return absl::InvalidArgumentError(absl::StrCat(
      "--truncation_direction=", name, " is not one of right, left"));
}

absl::StatusOr<std::optional<bool>> ParseOptionalBool(absl::string_view flag,
                                                      absl::string_view value) {
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower.empty()) return std::optional<bool>();
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, " is not true or false"));
}

bool CommandTakesTexts(absl::string_view command) {
  return command == "encode" || command == "translate" || command == "rerank" ||
         command == "classify" || command == "tokenize";
}

absl::Status ValidateCommand(absl::string_view command,
                             const std::vector<std::string>& args) {
  if (command == "health") {
    if (args.size() > 1) {
      return absl::InvalidArgumentError("health takes at most one SERVICE");
    }
  } else if (command == "models") {
    if (!args.empty()) {
      return absl::InvalidArgumentError("models takes no arguments");
    }
  } else if (command == "model") {
    if (args.size() != 1) {
      return absl::InvalidArgumentError("model takes exactly one NAME");
    }
  } else if (!CommandTakesTexts(command)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown command \"", command,
        "\"; use health, models, model, encode, translate, rerank, classify "
        "or tokenize"));
  }
  return absl::OkStatus();
}

int RunCommand(absl::string_view command, const std::vector<std::string>& args,
               const CommandOptions& options, InferenceClient& client,
               std::ostream& out, std::ostream& err) {
  if (absl::Status valid = ValidateCommand(command, args); !valid.ok()) {
    return PrintUsageError(valid.message(), err);
  }
  if (command == "health") return RunHealth(args, options, client, out, err);
  if (command == "models") return RunModels(options, client, out, err);
  if (command == "model") return RunModel(args[0], options, client, out, err);
  if (command == "encode") return RunEncode(args, options, client, out, err);
  if (command == "translate") {
    return RunTranslate(args, options, client, out, err);
  }
  if (command == "rerank") return RunRerank(args, options, client, out, err);
  if (command == "classify") {
    return RunClassify(args, options, client, out, err);
  }
  return RunTokenize(args, options, client, out, err);
}

}  // namespace attnserve::client
