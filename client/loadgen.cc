#include "client/loadgen.h"

#include <thread>

namespace attnserve::client {
namespace {

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

LoadGenerator::LoadGenerator(const LoadgenConfig& config,
                             InferenceClient* client)
    : config_(config), client_(client) {}

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
    records->push_back(Issue(config_.mix.Pick(uniform(rng)), rng, due));
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

RequestRecord LoadGenerator::Issue(RequestKind kind, std::mt19937_64& rng,
                                   Clock::time_point start) {
  RequestRecord record;
  record.kind = kind;
  const std::vector<std::string> texts = DrawTexts(rng);
  record.texts = texts.size();
  absl::Status status;
  if (kind == RequestKind::kEncode) {
    v1::EncodeRequest request;
    request.set_model(config_.encode_model);
    for (const std::string& t : texts) request.add_texts(t);
    request.set_truncate(config_.truncate);
    absl::StatusOr<v1::EncodeResponse> response = client_->Encode(request);
    status = response.status();
    if (response.ok()) record.input_tokens = response->usage().input_tokens();
  } else {
    v1::TranslateRequest request;
    request.set_model(config_.translate_model);
    for (const std::string& t : texts) request.add_texts(t);
    request.set_truncate(config_.truncate);
    request.set_beam_size(config_.beam_size);
    request.set_max_new_tokens(config_.max_new_tokens);
    v1::Usage usage;
    if (kind == RequestKind::kTranslate) {
      absl::StatusOr<v1::TranslateResponse> response =
          client_->Translate(request);
      status = response.status();
      if (response.ok()) usage = response->usage();
    } else {
      bool first = true;
      status = client_->TranslateStream(
          request, [&](const v1::TranslateStreamResponse& m) {
            if (first) record.first_message_ms = MillisSince(start);
            first = false;
            if (m.has_usage()) usage = m.usage();
          });
    }
    record.input_tokens = usage.input_tokens();
    record.output_tokens = usage.output_tokens();
  }
  record.code = status.code();
  record.latency_ms = MillisSince(start);
  return record;
}

}  // namespace attnserve::client
