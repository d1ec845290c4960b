// The names grpc.health.v1.Health answers besides the model names (each model
// name reports that model: SERVING while it is READY).
#ifndef ATTNSERVE_SERVER_HEALTH_NAMES_H_
#define ATTNSERVE_SERVER_HEALTH_NAMES_H_

namespace attnserve::server {

// Liveness: SERVING while the process answers calls at all, also with failed
// models and while draining, so that a liveness probe never restarts a server
// that only needs its model folder fixed (SIGHUP) or is finishing its calls.
inline constexpr char kLivenessHealthName[] = "liveness";
// Readiness: "" and the service name report the whole server, SERVING once
// every configured model is READY and NOT_SERVING while draining.
inline constexpr char kInferenceServiceName[] = "attnserve.v1.Inference";

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_HEALTH_NAMES_H_
