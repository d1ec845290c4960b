#include "client/loadgen.h"

#include <thread>

#include "client/loadgen_proxy.h"

namespace attnserve::client {
namespace {

constexpr char kUnknownModel[] = "attnserve-loadgen-no-such-model";

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

// Uniform in [0, max].
absl::Duration UniformDelay(absl::Duration max, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return max * unit(rng);
}

}  // namespace

LoadGenerator::LoadGenerator(const LoadgenConfig& config,
                             std::shared_ptr<grpc::Channel> channel,
                             CallOptions call)
    : config_(config), channel_(std::move(channel)), call_(std::move(call)) {}

LoadgenReport LoadGenerator::Run() {
  start_ = Clock::now();
  end_ = config_.duration > absl::ZeroDuration()
             ? start_ + absl::ToChronoNanoseconds(config_.duration)
             : Clock::time_point::max();
  std::vector<std::vector<RequestRecord>> per_thread(config_.concurrency);
  std::vector<std::thread> threads;
  threads.reserve(config_.concurrency);
  for (int i = 0; i < config_.concurrency; ++i) {
    threads.emplace_back(&LoadGenerator::Worker, this, i, &per_thread[i]);
  }
  for (std::thread& t : threads) t.join();
  const double elapsed_s =
      std::chrono::duration<double>(Clock::now() - start_).count();
  std::vector<RequestRecord> all;
  for (std::vector<RequestRecord>& records : per_thread) {
    all.insert(all.end(), records.begin(), records.end());
  }
  return BuildReport(all, elapsed_s, max_start_lag_us_.load() / 1000.0);
}

void LoadGenerator::Worker(int thread_index,
                           std::vector<RequestRecord>* records) {
  std::mt19937_64 rng(config_.seed * 1000003 + thread_index);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const bool open_loop = config_.rate > 0.0;
  while (true) {
    // Request i of the run belongs to whichever thread takes it; in open loop
    // it is due at start + i / rate, and its latency counts from then (no
    // coordinated omission).
    const uint64_t i = next_request_.fetch_add(1);
    if (config_.requests > 0 && i >= config_.requests) return;
    Clock::time_point due = Clock::now();
    if (open_loop) {
      due = start_ + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(i / config_.rate));
    }
    if (due >= end_) return;
    if (open_loop) {
      std::this_thread::sleep_until(due);
      const int64_t lag_us =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() -
                                                                due)
              .count();
      int64_t seen = max_start_lag_us_.load();
      while (lag_us > seen &&
             !max_start_lag_us_.compare_exchange_weak(seen, lag_us)) {
      }
    }
    const CallSpec spec = Draw(config_.mix.Pick(uniform(rng)), rng);
    records->push_back(Issue(spec, rng, due));
  }
}

std::vector<std::string> LoadGenerator::DrawTexts(std::mt19937_64& rng) const {
  std::uniform_int_distribution<size_t> pick(0, config_.texts.size() - 1);
  std::vector<std::string> texts;
  for (int k = 0; k < config_.texts_per_request; ++k) {
    texts.push_back(config_.texts[pick(rng)]);
  }
  return texts;
}

CallSpec LoadGenerator::Draw(RequestKind kind, std::mt19937_64& rng) const {
  const FaultConfig& faults = config_.faults;
  CallSpec spec;
  if (faults.any()) {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    spec.fault = PickFault(faults, uniform(rng), rng, &kind);
  }
  spec.kind = kind;
  const bool encode = kind == RequestKind::kEncode;
  spec.model = encode ? config_.encode_model : config_.translate_model;
  const std::string& fault_model =
      encode ? faults.fault_encode_model : faults.fault_translate_model;
  if (ClientMayEndAlone(spec.fault) && !fault_model.empty()) {
    spec.model = fault_model;
  }
  spec.texts = DrawTexts(rng);
  spec.truncate = config_.truncate;
  spec.beam_size = config_.beam_size;
  spec.max_new_tokens = config_.max_new_tokens;
  spec.deadline = call_.deadline;
  spec.token = call_.token;
  switch (spec.fault) {
    case FaultKind::kCancel:
      spec.cancel_after = UniformDelay(faults.cancel_after_max, rng);
      break;
    case FaultKind::kShortDeadline:
      // At least 0.2 ms: a zero deadline would never leave the client.
      spec.deadline = absl::Microseconds(200) +
                      UniformDelay(faults.short_deadline_max, rng);
      break;
    case FaultKind::kOversizedText:
      spec.texts[0] =
          TextOfWords(static_cast<int>(config_.encode_max_input_tokens) + 8);
      spec.truncate = false;
      break;
    case FaultKind::kTooManyTexts:
      spec.texts.assign(
          (encode ? config_.encode_max_texts : config_.translate_max_texts) + 1,
          "x");
      break;
    case FaultKind::kEmptyTexts:
      spec.texts.clear();
      break;
    case FaultKind::kUnknownModel:
      spec.model = kUnknownModel;
      break;
    case FaultKind::kSlowReader:
      spec.read_pause = faults.slow_read_pause;
      break;
    default:
      break;
  }
  return spec;
}

CallOutcome LoadGenerator::RunDisconnected(const CallSpec& spec,
                                           std::mt19937_64& rng,
                                           Clock::time_point start) {
  absl::StatusOr<std::unique_ptr<ResettableProxy>> proxy =
      ResettableProxy::Start(config_.target);
  if (!proxy.ok()) return {proxy.status()};
  // Its own channel: a reset must not hit the shared connection.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      (*proxy)->address(), grpc::InsecureChannelCredentials(), args);
  ResettableProxy* reset_me = proxy->get();
  DelayedAction reset(UniformDelay(config_.faults.disconnect_after_max, rng),
                      [reset_me] { reset_me->Reset(); });
  return RunCall(*channel, spec, start);
}

RequestRecord LoadGenerator::Issue(const CallSpec& spec, std::mt19937_64& rng,
                                   Clock::time_point start) {
  RequestRecord record;
  record.kind = spec.kind;
  record.fault = spec.fault;
  record.model = spec.model;
  record.texts = spec.texts.size();
  const CallOutcome outcome = spec.fault == FaultKind::kDisconnect
                                  ? RunDisconnected(spec, rng, start)
                                  : RunCall(*channel_, spec, start);
  record.code = outcome.status.code();
  record.message = std::string(outcome.status.message());
  record.input_tokens = outcome.input_tokens;
  record.output_tokens = outcome.output_tokens;
  record.first_message_ms = outcome.first_message_ms;
  record.latency_ms = MillisSince(start);
  return record;
}

}  // namespace attnserve::client
