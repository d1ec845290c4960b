// attnserve-loadgen: sends a bounded load of Encode / Translate /
// TranslateStream calls and prints throughput, latency percentiles and status
// codes (also as JSON with --json_out).
//
//   attnserve-loadgen --target=127.0.0.1:50051 --concurrency=8 --duration=30s \
//       --mix=encode=0.7,translate=0.3 [--rate=200] [--requests=N]
//       [--json_out=run.json]
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/channel.h"
#include "client/inference_client.h"
#include "client/loadgen.h"
#include "client/loadgen_config.h"
#include "client/loadgen_stats.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address host:port");
ABSL_FLAG(bool, tls, false, "connect with TLS");
ABSL_FLAG(std::string, tls_ca, "", "PEM file of the root certificates (TLS)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mutual TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM client private key (mutual TLS)");
ABSL_FLAG(std::string, token, "", "bearer token");
ABSL_FLAG(std::string, token_file, "", "file holding the bearer token");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30),
          "deadline of each call; 0 = none");
ABSL_FLAG(int, concurrency, 4, "client threads (calls in flight at most)");
ABSL_FLAG(double, rate, 0,
          "open loop: total requests per second; 0 = closed loop");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "stop starting calls after this long; 0 = only --requests bounds it");
ABSL_FLAG(uint64_t, requests, 0,
          "stop after this many calls; 0 = no count limit");
ABSL_FLAG(std::string, mix, "encode=1",
          "request kinds and weights: encode=W,translate=W,stream=W");
ABSL_FLAG(std::string, encode_model, "",
          "Encode model; default: the server's only encode model");
ABSL_FLAG(std::string, translate_model, "",
          "Translate model; default: the server's only translate model");
ABSL_FLAG(std::string, texts_file, "",
          "texts to draw from, one per line; default: built-in sentences");
ABSL_FLAG(int, texts_per_request, 1, "texts per call");
ABSL_FLAG(uint32_t, beam, 0, "translate: beam size (0 = model default)");
ABSL_FLAG(uint32_t, max_new_tokens, 0,
          "translate: max new tokens (0 = default)");
ABSL_FLAG(bool, truncate, true, "truncate texts longer than the model's limit");
ABSL_FLAG(uint64_t, seed, 1, "random seed of text and kind choices");
ABSL_FLAG(std::string, json_out, "", "also write the statistics as JSON here");
ABSL_FLAG(double, cancel_fraction, 0,
          "fault: fraction of calls the client cancels after a random delay "
          "of up to --cancel_after_max");
ABSL_FLAG(absl::Duration, cancel_after_max, absl::Milliseconds(50),
          "longest delay before a cancelled call is cancelled");
ABSL_FLAG(double, short_deadline_fraction, 0,
          "fault: fraction of calls with a deadline of at most "
          "--short_deadline");
ABSL_FLAG(absl::Duration, short_deadline, absl::Milliseconds(5),
          "longest short deadline");
ABSL_FLAG(double, oversized_fraction, 0,
          "fault: fraction of calls over the model's limits (a text over "
          "max_input_tokens without truncate, or too many texts); expect "
          "INVALID_ARGUMENT");
ABSL_FLAG(double, malformed_fraction, 0,
          "fault: fraction of malformed calls (empty texts, invalid UTF-8: "
          "INVALID_ARGUMENT; unknown model: NOT_FOUND)");
ABSL_FLAG(bool, malformed_invalid_utf8, true,
          "malformed calls include invalid UTF-8 texts (false: only empty "
          "texts and unknown models)");
ABSL_FLAG(double, slow_reader_fraction, 0,
          "fault: fraction of TranslateStream calls read with a pause of "
          "--slow_read_pause before every message");
ABSL_FLAG(absl::Duration, slow_read_pause, absl::Milliseconds(20),
          "pause of a slow stream reader before each read");
ABSL_FLAG(double, disconnect_fraction, 0,
          "fault: fraction of calls on a connection of their own that is reset "
          "(TCP RST) after a random delay of up to --disconnect_after_max "
          "(plaintext only)");
ABSL_FLAG(absl::Duration, disconnect_after_max, absl::Milliseconds(50),
          "longest delay before a disconnected call's connection is reset");
ABSL_FLAG(std::string, fault_encode_model, "",
          "send the cancel / short-deadline / disconnect Encode calls to this "
          "model (default: --encode_model), e.g. the same folder served under "
          "a second name, so that the server's counters of --encode_model can "
          "be compared exactly with this report");
ABSL_FLAG(std::string, fault_translate_model, "",
          "like --fault_encode_model, for Translate / TranslateStream");
ABSL_FLAG(bool, fail_on_unexpected, false,
          "exit 3 when a call was answered with a code that is not proper for "
          "it (e.g. INTERNAL, or OK for a malformed call)");

namespace attnserve::client {
namespace {

constexpr int kExitUsage = 2;

int Fail(int code, absl::string_view message) {
  std::cerr << (code == kExitUsage ? "usage error: " : "error: ") << message
            << "\n";
  return code;
}

absl::StatusOr<LoadgenConfig> ConfigFromFlags() {
  LoadgenConfig c;
  c.concurrency = absl::GetFlag(FLAGS_concurrency);
  c.rate = absl::GetFlag(FLAGS_rate);
  c.duration = absl::GetFlag(FLAGS_duration);
  c.requests = absl::GetFlag(FLAGS_requests);
  absl::StatusOr<Mix> mix = ParseMix(absl::GetFlag(FLAGS_mix));
  if (!mix.ok()) return mix.status();
  c.mix = *mix;
  c.encode_model = absl::GetFlag(FLAGS_encode_model);
  c.translate_model = absl::GetFlag(FLAGS_translate_model);
  c.texts_per_request = absl::GetFlag(FLAGS_texts_per_request);
  c.beam_size = absl::GetFlag(FLAGS_beam);
  c.max_new_tokens = absl::GetFlag(FLAGS_max_new_tokens);
  c.truncate = absl::GetFlag(FLAGS_truncate);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.target = absl::GetFlag(FLAGS_target);
  FaultConfig& f = c.faults;
  f.cancel_fraction = absl::GetFlag(FLAGS_cancel_fraction);
  f.cancel_after_max = absl::GetFlag(FLAGS_cancel_after_max);
  f.short_deadline_fraction = absl::GetFlag(FLAGS_short_deadline_fraction);
  f.short_deadline_max = absl::GetFlag(FLAGS_short_deadline);
  f.oversized_fraction = absl::GetFlag(FLAGS_oversized_fraction);
  f.malformed_fraction = absl::GetFlag(FLAGS_malformed_fraction);
  f.invalid_utf8 = absl::GetFlag(FLAGS_malformed_invalid_utf8);
  f.slow_reader_fraction = absl::GetFlag(FLAGS_slow_reader_fraction);
  f.slow_read_pause = absl::GetFlag(FLAGS_slow_read_pause);
  f.disconnect_fraction = absl::GetFlag(FLAGS_disconnect_fraction);
  f.disconnect_after_max = absl::GetFlag(FLAGS_disconnect_after_max);
  f.fault_encode_model = absl::GetFlag(FLAGS_fault_encode_model);
  f.fault_translate_model = absl::GetFlag(FLAGS_fault_translate_model);
  if (absl::GetFlag(FLAGS_texts_file).empty()) {
    c.texts = BuiltinTexts();
  } else {
    absl::StatusOr<std::vector<std::string>> texts =
        ReadTextsFile(absl::GetFlag(FLAGS_texts_file));
    if (!texts.ok()) return texts.status();
    c.texts = *std::move(texts);
  }
  return c;
}

// The limits the oversized faults exceed, from the server's ModelInfo.
absl::Status ResolveLimits(InferenceClient& client, LoadgenConfig& config) {
  if (config.faults.oversized_fraction <= 0) return absl::OkStatus();
  if (!config.encode_model.empty()) {
    absl::StatusOr<v1::ModelInfo> info = client.GetModel(config.encode_model);
    if (!info.ok()) return info.status();
    config.encode_max_input_tokens = info->max_input_tokens();
    config.encode_max_texts = info->limits().max_texts_per_request();
  }
  if (!config.translate_model.empty()) {
    absl::StatusOr<v1::ModelInfo> info =
        client.GetModel(config.translate_model);
    if (!info.ok()) return info.status();
    config.translate_max_texts = info->limits().max_texts_per_request();
  }
  if (config.encode_max_input_tokens == 0 || config.encode_max_texts == 0 ||
      config.translate_max_texts == 0) {
    return absl::FailedPreconditionError(
        "the server reports no max_input_tokens / max_texts_per_request; "
        "--oversized_fraction needs them");
  }
  return absl::OkStatus();
}

// Fills in empty model names with the server's only model of the task the mix
// needs.
absl::Status ResolveModels(InferenceClient& client, LoadgenConfig& config) {
  const bool need_encode = config.mix.weight(RequestKind::kEncode) > 0 &&
                           config.encode_model.empty();
  const bool need_translate =
      (config.mix.weight(RequestKind::kTranslate) > 0 ||
       config.mix.weight(RequestKind::kTranslateStream) > 0) &&
      config.translate_model.empty();
  if (!need_encode && !need_translate) return absl::OkStatus();
  absl::StatusOr<v1::ListModelsResponse> models = client.ListModels();
  if (!models.ok()) return models.status();
  std::vector<std::string> encoders, translators;
  for (const v1::ModelInfo& m : models->models()) {
    if (m.task() == v1::TASK_ENCODE) encoders.push_back(m.name());
    if (m.task() == v1::TASK_TRANSLATE) translators.push_back(m.name());
  }
  if (need_encode) {
    if (encoders.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("set --encode_model; the server's encode models: [",
                       absl::StrJoin(encoders, ", "), "]"));
    }
    config.encode_model = encoders[0];
  }
  if (need_translate) {
    if (translators.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "set --translate_model; the server's translate models: [",
          absl::StrJoin(translators, ", "), "]"));
    }
    config.translate_model = translators[0];
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "attnserve-loadgen [flags]: bounded load against an attnserve server");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    return Fail(kExitUsage,
                absl::StrCat("unexpected argument \"", positional[1],
                             "\"; all input is flags"));
  }
  absl::StatusOr<LoadgenConfig> config = ConfigFromFlags();
  if (!config.ok()) return Fail(kExitUsage, config.status().message());

  ConnectionOptions connection;
  connection.target = absl::GetFlag(FLAGS_target);
  connection.tls = absl::GetFlag(FLAGS_tls);
  connection.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  connection.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  connection.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeChannel(connection);
  if (!channel.ok()) return Fail(kExitUsage, channel.status().message());
  CallOptions call;
  call.deadline = absl::GetFlag(FLAGS_deadline);
  absl::StatusOr<std::string> token =
      ResolveToken(absl::GetFlag(FLAGS_token), absl::GetFlag(FLAGS_token_file));
  if (!token.ok()) return Fail(kExitUsage, token.status().message());
  call.token = *std::move(token);
  InferenceClient client(*channel, call);

  if (absl::Status s = ResolveModels(client, *config); !s.ok()) {
    return Fail(
        s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : 1,
        absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message()));
  }
  if (absl::Status s = ValidateConfig(*config); !s.ok()) {
    return Fail(kExitUsage, s.message());
  }
  if (config->faults.disconnect_fraction > 0 && connection.tls) {
    return Fail(kExitUsage, "--disconnect_fraction works over plaintext only");
  }
  if (absl::Status s = ResolveLimits(client, *config); !s.ok()) {
    return Fail(
        1, absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message()));
  }
  LoadGenerator generator(*config, *channel, call);
  const LoadgenReport report = generator.Run();
  std::cout << FormatReport(report);
  const std::string json_out = absl::GetFlag(FLAGS_json_out);
  if (!json_out.empty()) {
    nlohmann::json json = ReportToJson(report);
    json["config"] = {
        {"target", connection.target},
        {"concurrency", config->concurrency},
        {"rate", config->rate},
        {"duration_s", absl::ToDoubleSeconds(config->duration)},
        {"requests", config->requests},
        {"mix", absl::GetFlag(FLAGS_mix)},
        {"encode_model", config->encode_model},
        {"translate_model", config->translate_model},
        {"texts_per_request", config->texts_per_request},
        {"beam_size", config->beam_size},
        {"max_new_tokens", config->max_new_tokens},
        {"faults",
         {{"cancel_fraction", config->faults.cancel_fraction},
          {"short_deadline_fraction", config->faults.short_deadline_fraction},
          {"oversized_fraction", config->faults.oversized_fraction},
          {"malformed_fraction", config->faults.malformed_fraction},
          {"slow_reader_fraction", config->faults.slow_reader_fraction},
          {"disconnect_fraction", config->faults.disconnect_fraction},
          {"fault_encode_model", config->faults.fault_encode_model},
          {"fault_translate_model", config->faults.fault_translate_model}}}};
    std::ofstream out(json_out);
    out << json.dump(2) << "\n";
    if (!out)
      return Fail(1, absl::StrCat("cannot write --json_out ", json_out));
  }
  if (absl::GetFlag(FLAGS_fail_on_unexpected) && report.unexpected > 0) {
    std::cerr << "error: " << report.unexpected
              << " call(s) answered with an improper code\n";
    return 3;
  }
  return 0;
}

}  // namespace
}  // namespace attnserve::client

int main(int argc, char** argv) { return attnserve::client::Main(argc, argv); }
