#include "server/server_app.h"

#include <signal.h>
#include <string.h>

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/health_names.h"
#include "server/inference_service.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/model_repository.h"
#include "server/service_context.h"
#include "server/termination_signals.h"

namespace attnserve::server {
namespace {

// Health (server/health_names.h): "" and the service name report the whole
// server (SERVING once every configured model is READY); each model name
// reports that model; "liveness" is SERVING from start to exit.
void SetOverallHealth(grpc::HealthCheckServiceInterface* health, bool serving) {
  health->SetServingStatus("", serving);
  health->SetServingStatus(kInferenceServiceName, serving);
}

std::unique_ptr<grpc::Server> StartGrpc(const ServerOptions& options,
                                        InferenceService* service,
                                        int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's default health service (de)serializes with its own code and puts no
  // descriptor in the generated pool, so reflection would list
  // grpc.health.v1.Health but could not describe it (grpcurl then refuses to
  // call it). Referencing the descriptor links attnserve_proto's health.pb.cc,
  // which the linker drops from the static library otherwise.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(options.host, ":", options.port);
  builder.AddListeningPort(address,
                           options.credentials != nullptr
                               ? options.credentials
                               : grpc::InsecureServerCredentials(),
                           bound_port);
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound_port == 0) {
    LogError(absl::StrCat(
        "cannot serve gRPC on ", address,
        " (port in use or address invalid? pick another --port/--host)"));
    return nullptr;
  }
  return server;
}

// SIGHUP: tokens first (cheap), then the models one by one.
void Reload(const ServerOptions& options, ModelRepository& models,
            grpc::HealthCheckServiceInterface* health) {
  if (options.tokens != nullptr) {
    if (absl::Status s = options.tokens->Reload(); !s.ok()) {
      LogError(absl::StrCat(s.message(), "; the previous tokens stay valid"));
    } else {
      LogInfo(absl::StrCat("reloaded ", options.tokens->size(),
                           " bearer token(s)"));
    }
  }
  models.ReloadAll([health](const ModelEntry& model) {
    health->SetServingStatus(model.name(),
                             model.state() == v1::MODEL_STATE_READY);
  });
  SetOverallHealth(health, models.AllReady());
  LogInfo("reload done");
}

// Serves until SIGTERM/SIGINT; returns that signal.
int ServeUntilStopped(const ServerOptions& options, ModelRepository& models,
                      grpc::HealthCheckServiceInterface* health) {
  while (true) {
    const std::optional<int> signal = WaitForSignal(absl::Seconds(1));
    models.ReleaseRetired();
    if (!signal.has_value()) continue;
    if (*signal != SIGHUP) return *signal;
    LogInfo("received SIGHUP: reloading tokens and models");
    Reload(options, models, health);
  }
}

void Drain(grpc::Server& server, ServiceContext& context,
           ModelRepository& models, absl::Duration timeout) {
  context.draining.store(true, std::memory_order_release);
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  SetOverallHealth(health, false);
  for (const auto& model : models.models())
    health->SetServingStatus(model->name(), false);
  const absl::Time start = absl::Now();
  // Accepted calls keep running meanwhile; new ones are refused with
  // UNAVAILABLE until callers stop sending (or half the drain time is gone).
  const absl::Duration quiet = absl::Milliseconds(300);
  while (absl::Now() - start < timeout / 2 &&
         absl::Now() - absl::FromUnixNanos(context.last_arrival_ns.load(
                           std::memory_order_relaxed)) < quiet) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  // Waits for every accepted call (their batchers keep running).
  server.Shutdown(absl::ToChronoTime(start + timeout));
  models.Shutdown();
  LogInfo(absl::StrCat("drained in ", absl::FormatDuration(absl::Now() - start),
                       "; exiting"));
}

}  // namespace

int RunServer(const ServerOptions& options) {
  Metrics metrics;
  if (absl::Status s =
          metrics.Serve(options.metrics_address, options.metrics_port);
      !s.ok()) {
    LogError(s.message());
    return 1;
  }
  ModelRepository models(options.config,
                         LoadOptions{.dtype = options.dtype,
                                     .threads = options.threads},
                         &metrics);
  ServiceContext context;
  context.models = &models;
  context.metrics = &metrics;
  context.tokens = options.tokens.get();
  context.max_message_bytes = options.max_message_bytes;
  InferenceService service(&context);
  int port = 0;
  std::unique_ptr<grpc::Server> server = StartGrpc(options, &service, &port);
  if (server == nullptr) return 1;

  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  // Never set false: Drain leaves it SERVING, and Shutdown (which marks every
  // name NOT_SERVING) comes when no new call is accepted any more.
  health->SetServingStatus(kLivenessHealthName, true);
  SetOverallHealth(health, false);
  for (const auto& model : models.models())
    health->SetServingStatus(model->name(), false);
  LogInfo(absl::StrCat("gRPC listening on ", options.host, ":", port,
                       options.credentials != nullptr ? " (TLS)" : "",
                       options.tokens != nullptr ? " (bearer tokens)" : ""));
  LogInfo(absl::StrCat("metrics on http://", options.metrics_address, ":",
                       metrics.port(), "/metrics"));

  models.LoadAll([health](const ModelEntry& model) {
    health->SetServingStatus(model.name(),
                             model.state() == v1::MODEL_STATE_READY);
  });
  const bool all_ready = models.AllReady();
  SetOverallHealth(health, all_ready);
  LogInfo(absl::StrCat(
      all_ready ? "SERVING" : "NOT_SERVING (a model failed to load)", " with ",
      models.models().size(), " model(s)"));

  const int signal = ServeUntilStopped(options, models, health);
  LogInfo(absl::StrCat("received ", strsignal(signal), ": draining (at most ",
                       absl::FormatDuration(options.drain_timeout), ")"));
  Drain(*server, context, models, options.drain_timeout);
  return 0;
}

}  // namespace attnserve::server
