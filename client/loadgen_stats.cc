#include "client/loadgen_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace attnserve::client {
namespace {

constexpr size_t kMaxUnexpectedExamples = 10;

}  // namespace

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const double n = static_cast<double>(sorted.size());
  // Nearest rank: ceil(p/100 * n), at least 1.
  size_t rank =
      static_cast<size_t>(std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * n));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary Summarize(std::vector<double> latencies_ms) {
  LatencySummary s;
  if (latencies_ms.empty()) return s;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  s.count = latencies_ms.size();
  s.mean_ms = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) /
              static_cast<double>(s.count);
  s.p50_ms = Percentile(latencies_ms, 50);
  s.p90_ms = Percentile(latencies_ms, 90);
  s.p99_ms = Percentile(latencies_ms, 99);
  s.max_ms = latencies_ms.back();
  return s;
}

LoadgenReport BuildReport(const std::vector<RequestRecord>& records,
                          double elapsed_s, double max_start_lag_ms) {
  LoadgenReport r;
  r.elapsed_s = elapsed_s;
  r.max_start_lag_ms = max_start_lag_ms;
  std::vector<double> ok_latencies, first_message;
  std::map<std::string, std::vector<double>> kind_latencies;
  std::map<std::tuple<std::string, std::string, std::string, std::string>,
           uint64_t>
      outcomes;
  for (const RequestRecord& rec : records) {
    const std::string kind = RequestKindName(rec.kind);
    const std::string code = absl::StatusCodeToString(rec.code);
    const std::string fault = FaultKindName(rec.fault);
    ++r.requests;
    ++r.codes[code];
    ++r.kinds[kind].requests;
    ++outcomes[{kind, rec.model, fault, code}];
    FaultReport& fault_report = r.faults[fault];
    ++fault_report.requests;
    ++fault_report.codes[code];
    if (!IsExpectedCode(rec.fault, rec.code)) {
      ++r.unexpected;
      ++fault_report.unexpected;
      if (r.unexpected_examples.size() < kMaxUnexpectedExamples) {
        r.unexpected_examples.push_back(
            absl::StrCat(fault, " ", kind, " model '", rec.model, "': ", code,
                         " ", rec.message));
      }
    }
    if (rec.code != absl::StatusCode::kOk) continue;
    ++r.ok;
    ++r.kinds[kind].ok;
    r.texts += rec.texts;
    r.input_tokens += rec.input_tokens;
    r.output_tokens += rec.output_tokens;
    ok_latencies.push_back(rec.latency_ms);
    kind_latencies[kind].push_back(rec.latency_ms);
    if (rec.kind == RequestKind::kTranslateStream) {
      first_message.push_back(rec.first_message_ms);
    }
  }
  if (elapsed_s > 0) {
    r.requests_per_s = r.requests / elapsed_s;
    r.ok_per_s = r.ok / elapsed_s;
    r.texts_per_s = r.texts / elapsed_s;
    r.tokens_per_s = (r.input_tokens + r.output_tokens) / elapsed_s;
    r.output_tokens_per_s = r.output_tokens / elapsed_s;
  }
  for (const auto& [key, count] : outcomes) {
    const auto& [kind, model, fault, code] = key;
    r.outcomes.push_back({kind, model, fault, code, count});
  }
  r.latency = Summarize(std::move(ok_latencies));
  r.stream_first_message = Summarize(std::move(first_message));
  for (auto& [kind, latencies] : kind_latencies) {
    r.kinds[kind].latency = Summarize(std::move(latencies));
  }
  return r;
}

namespace {

std::string FormatLatency(const LatencySummary& s) {
  return absl::StrFormat(
      "p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  mean %.2f ms  "
      "(n=%d)",
      s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.mean_ms, s.count);
}

nlohmann::json LatencyToJson(const LatencySummary& s) {
  return {{"count", s.count},   {"mean_ms", s.mean_ms}, {"p50_ms", s.p50_ms},
          {"p90_ms", s.p90_ms}, {"p99_ms", s.p99_ms},   {"max_ms", s.max_ms}};
}

}  // namespace

std::string FormatReport(const LoadgenReport& r) {
  std::string out;
  absl::StrAppendFormat(&out, "elapsed      %.3f s, %d requests, %d OK\n",
                        r.elapsed_s, r.requests, r.ok);
  absl::StrAppendFormat(&out,
                        "throughput   %.2f req/s (%.2f OK/s), %.2f texts/s, "
                        "%.1f tokens/s (%.1f output tokens/s)\n",
                        r.requests_per_s, r.ok_per_s, r.texts_per_s,
                        r.tokens_per_s, r.output_tokens_per_s);
  absl::StrAppend(&out, "latency      ", FormatLatency(r.latency), "\n");
  for (const auto& [kind, k] : r.kinds) {
    absl::StrAppendFormat(&out, "  %-10s %d requests, %d OK; %s\n", kind,
                          k.requests, k.ok, FormatLatency(k.latency));
  }
  if (r.stream_first_message.count > 0) {
    absl::StrAppend(&out, "  stream first message: ",
                    FormatLatency(r.stream_first_message), "\n");
  }
  out += "codes       ";
  for (const auto& [code, n] : r.codes)
    absl::StrAppend(&out, " ", code, "=", n);
  out += "\n";
  if (r.faults.size() > 1 || r.unexpected > 0) {
    for (const auto& [fault, f] : r.faults) {
      absl::StrAppendFormat(&out,
                            "  fault %-15s %d requests, %d unexpected:", fault,
                            f.requests, f.unexpected);
      for (const auto& [code, n] : f.codes)
        absl::StrAppend(&out, " ", code, "=", n);
      out += "\n";
    }
    absl::StrAppendFormat(&out, "unexpected   %d\n", r.unexpected);
    for (const std::string& example : r.unexpected_examples) {
      absl::StrAppend(&out, "  ", example, "\n");
    }
  }
  if (r.max_start_lag_ms > 0) {
    absl::StrAppendFormat(&out, "max start lag %.2f ms (open loop)\n",
                          r.max_start_lag_ms);
  }
  return out;
}

nlohmann::json ReportToJson(const LoadgenReport& r) {
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, k] : r.kinds) {
    kinds[kind] = {{"requests", k.requests},
                   {"ok", k.ok},
                   {"latency", LatencyToJson(k.latency)}};
  }
  nlohmann::json faults = nlohmann::json::object();
  for (const auto& [fault, f] : r.faults) {
    faults[fault] = {{"requests", f.requests},
                     {"unexpected", f.unexpected},
                     {"codes", f.codes}};
  }
  nlohmann::json outcomes = nlohmann::json::array();
  for (const OutcomeCount& o : r.outcomes) {
    outcomes.push_back({{"kind", o.kind},
                        {"model", o.model},
                        {"fault", o.fault},
                        {"code", o.code},
                        {"count", o.count}});
  }
  return {{"elapsed_s", r.elapsed_s},
          {"requests", r.requests},
          {"ok", r.ok},
          {"texts", r.texts},
          {"input_tokens", r.input_tokens},
          {"output_tokens", r.output_tokens},
          {"throughput",
           {{"requests_per_s", r.requests_per_s},
            {"ok_per_s", r.ok_per_s},
            {"texts_per_s", r.texts_per_s},
            {"tokens_per_s", r.tokens_per_s},
            {"output_tokens_per_s", r.output_tokens_per_s}}},
          {"latency", LatencyToJson(r.latency)},
          {"stream_first_message", LatencyToJson(r.stream_first_message)},
          {"codes", r.codes},
          {"kinds", std::move(kinds)},
          {"max_start_lag_ms", r.max_start_lag_ms},
          {"unexpected", r.unexpected},
          {"unexpected_examples", r.unexpected_examples},
          {"faults", std::move(faults)},
          {"outcomes", std::move(outcomes)}};
}

}  // namespace attnserve::client
