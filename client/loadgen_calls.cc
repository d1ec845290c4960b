#include "client/loadgen_calls.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"

namespace attnserve::client {
namespace {

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

void Prepare(const CallSpec& spec, grpc::ClientContext* context) {
  CallOptions options;
  options.deadline = spec.deadline;
  options.token = spec.token;
  PrepareContext(options, context);
}

// Cancels `context` after spec.cancel_after while the call runs.
std::unique_ptr<DelayedAction> MaybeCancel(const CallSpec& spec,
                                           grpc::ClientContext* context) {
  if (spec.cancel_after == absl::InfiniteDuration()) return nullptr;
  return std::make_unique<DelayedAction>(spec.cancel_after,
                                         [context] { context->TryCancel(); });
}

template <typename Request>
void FillTexts(const CallSpec& spec, Request* request) {
  request->set_model(spec.model);
  for (const std::string& t : spec.texts) request->add_texts(t);
  request->set_truncate(spec.truncate);
}

v1::TranslateRequest TranslateRequestOf(const CallSpec& spec) {
  v1::TranslateRequest request;
  FillTexts(spec, &request);
  request.set_beam_size(spec.beam_size);
  request.set_max_new_tokens(spec.max_new_tokens);
  return request;
}

CallOutcome RunEncode(grpc::Channel& channel, const CallSpec& spec) {
  auto stub = v1::Inference::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  v1::EncodeRequest request;
  FillTexts(spec, &request);
  v1::EncodeResponse response;
  grpc::ClientContext context;
  Prepare(spec, &context);
  std::unique_ptr<DelayedAction> cancel = MaybeCancel(spec, &context);
  CallOutcome outcome;
  outcome.status = FromGrpcStatus(stub->Encode(&context, request, &response));
  if (outcome.status.ok())
    outcome.input_tokens = response.usage().input_tokens();
  return outcome;
}

CallOutcome RunTranslate(grpc::Channel& channel, const CallSpec& spec) {
  auto stub = v1::Inference::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  const v1::TranslateRequest request = TranslateRequestOf(spec);
  v1::TranslateResponse response;
  grpc::ClientContext context;
  Prepare(spec, &context);
  std::unique_ptr<DelayedAction> cancel = MaybeCancel(spec, &context);
  CallOutcome outcome;
  outcome.status =
      FromGrpcStatus(stub->Translate(&context, request, &response));
  if (outcome.status.ok()) {
    outcome.input_tokens = response.usage().input_tokens();
    outcome.output_tokens = response.usage().output_tokens();
  }
  return outcome;
}

CallOutcome RunStream(grpc::Channel& channel, const CallSpec& spec,
                      std::chrono::steady_clock::time_point start) {
  auto stub = v1::Inference::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  const v1::TranslateRequest request = TranslateRequestOf(spec);
  grpc::ClientContext context;
  Prepare(spec, &context);
  std::unique_ptr<DelayedAction> cancel = MaybeCancel(spec, &context);
  std::unique_ptr<grpc::ClientReader<v1::TranslateStreamResponse>> reader =
      stub->TranslateStream(&context, request);
  CallOutcome outcome;
  v1::TranslateStreamResponse message;
  bool first = true;
  while (true) {
    // A slow reader lets the server's writes pile up behind flow control.
    if (spec.read_pause > absl::ZeroDuration()) absl::SleepFor(spec.read_pause);
    if (!reader->Read(&message)) break;
    if (first) outcome.first_message_ms = MillisSince(start);
    first = false;
    if (message.has_usage()) {
      outcome.input_tokens = message.usage().input_tokens();
      outcome.output_tokens = message.usage().output_tokens();
    }
  }
  outcome.status = FromGrpcStatus(reader->Finish());
  if (!outcome.status.ok()) outcome.input_tokens = outcome.output_tokens = 0;
  return outcome;
}

// The request serialized with a placeholder text, then the placeholder's
// bytes overwritten by invalid UTF-8 of the same length (so every length
// prefix stays right). Sent with the generic stub to the method of
// spec.kind; a streaming method answers an invalid request with its status
// and no message, which a unary generic call reads the same way.
CallOutcome RunInvalidUtf8(grpc::Channel& channel, const CallSpec& spec) {
  const std::string bad = InvalidUtf8Text();
  const std::string placeholder(bad.size(), '\x7f');
  CallSpec with_placeholder = spec;
  with_placeholder.texts.push_back(placeholder);
  std::string bytes;
  if (spec.kind == RequestKind::kEncode) {
    v1::EncodeRequest request;
    FillTexts(with_placeholder, &request);
    request.SerializeToString(&bytes);
  } else {
    TranslateRequestOf(with_placeholder).SerializeToString(&bytes);
  }
  bytes.replace(bytes.rfind(placeholder), bad.size(), bad);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::GenericStub stub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  Prepare(spec, &context);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, MethodPath(spec.kind), grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  CallOutcome outcome;
  outcome.status = FromGrpcStatus(status);
  return outcome;
}

}  // namespace

DelayedAction::DelayedAction(absl::Duration delay, std::function<void()> action)
    : thread_([this, delay, action = std::move(action)] {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, absl::ToChronoNanoseconds(delay),
                          [this] { return cancelled_; })) {
          lock.unlock();
          action();
        }
      }) {}

DelayedAction::~DelayedAction() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

std::string TextOfWords(int words) {
  std::string text;
  for (int i = 0; i < words; ++i) text += "word ";
  return text;
}

std::string InvalidUtf8Text() { return "bad \xff byte, cut \xc3 and \xc0\xaf"; }

const char* MethodPath(RequestKind kind) {
  switch (kind) {
    case RequestKind::kEncode:
      return "/attnserve.v1.Inference/Encode";
    case RequestKind::kTranslate:
      return "/attnserve.v1.Inference/Translate";
    case RequestKind::kTranslateStream:
      return "/attnserve.v1.Inference/TranslateStream";
  }
  return "";
}

CallOutcome RunCall(grpc::Channel& channel, const CallSpec& spec,
                    std::chrono::steady_clock::time_point start) {
  if (spec.fault == FaultKind::kInvalidUtf8)
    return RunInvalidUtf8(channel, spec);
  switch (spec.kind) {
    case RequestKind::kEncode:
      return RunEncode(channel, spec);
    case RequestKind::kTranslate:
      return RunTranslate(channel, spec);
    case RequestKind::kTranslateStream:
      return RunStream(channel, spec, start);
  }
  return {};
}

}  // namespace attnserve::client
