// attnserve's side of bench/peers (see bench/peers/README.md): loads the very
// Hugging Face folders the peer engines load (through the public
// SentenceEncoder / Translator API) and times the same shapes with the same
// method as the peers' driver: one warm-up call, then N timed calls, the
// median reported as the iteration time (manual time, one iteration).
//
// Registered only when ATTNSERVE_PEERS_SPEC is set (bench/peers/run.sh sets
// it), so `attnserve-bench` alone is unchanged. Environment:
//   ATTNSERVE_PEERS_SPEC     cases separated by ';', fields by ',':
//                              enc,<name>,<folder>,<batch>,<tokens>
//                                  [,<bos>,<eos>,<lo>,<hi>]
//                              dec,<name>,<folder>,<batch>,<beam>,<source
//                                  tokens>,<new tokens>
//                              rerank,<name>,<folder>,<passages>,<query
//                                  words>,<passage words>,<batch>
//   ATTNSERVE_PEERS_DTYPES   e.g. "float32,bfloat16,int8" (default: all)
//   ATTNSERVE_PEERS_THREADS  LoadOptions::threads (default 1)
//   ATTNSERVE_PEERS_REPS     timed calls per case (default 5)
// Token ids follow the formula of bench/peers/shapes.py (same inputs on every
// engine); a rerank case is 1 query and N passages of text (RerankTexts,
// shapes.py rerank_texts) through SequenceClassifier as a Rerank call runs
// (RerankCall: tokenize, Classify in batches, sigmoid, order), its tokens/s
// the pairs' tokens per second. Counters: tokens/s (median), tokens/s_best,
// reps, tokens/call, threads; errors (a dtype this CPU or model refuses) are
// reported through SkipWithError as "not available: <reason>".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "core/dtype.h"
#include "core/models/sentence_encoder.h"
#include "core/models/sequence_classifier.h"
#include "core/models/translator.h"

namespace attnserve::bench {
namespace {

struct PeerCase {
  enum Kind { kEncoder, kDecoder, kRerank } kind = kEncoder;
  std::string name;    // model label, e.g. "bert-base"
  std::string folder;  // Hugging Face folder
  int batch = 1;       // rerank: passages
  int tokens = 0;      // encoder: tokens per row; decoder: source tokens
  int query_words = 0, passage_words = 0, rerank_batch = 0;  // rerank
  int beam = 1;
  int new_tokens = 0;
  // Encoder ids: without a range, the bert-base-uncased formula; with one,
  // hashed ids in [lo, hi) between bos and eos (XLM-R's <s> 0 ... </s> 2).
  bool id_range = false;
  int bos = 0, eos = 0, lo = 0, hi = 0;
};

struct PeerSettings {
  std::vector<DType> dtypes;
  int threads = 1;
  int reps = 5;
};

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int out = 0;
  return v != nullptr && absl::SimpleAtoi(v, &out) ? out : fallback;
}

// Encoder rows: [CLS] ... [SEP] (ids 101 / 102 in bert-base-uncased vocabs).
std::vector<std::vector<int32_t>> BertIds(int batch, int tokens) {
  std::vector<std::vector<int32_t>> rows(batch);
  for (int b = 0; b < batch; ++b) {
    for (int t = 0; t < tokens; ++t) {
      int32_t id = 1000 + (b * 1009 + t * 7919) % 20000;
      if (t == 0) id = 101;
      if (t == tokens - 1) id = 102;
      rows[b].push_back(id);
    }
  }
  return rows;
}

// MurmurHash3's finalizer (shapes.py fmix32).
uint32_t Fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  return h ^ (h >> 16);
}

// Rows bos, pseudo-random ids in [lo, hi) (shapes.py hashed_ids: spread over
// the embedding table as real text is), eos.
std::vector<std::vector<int32_t>> HashedIds(const PeerCase& c) {
  std::vector<std::vector<int32_t>> rows(c.batch);
  for (int b = 0; b < c.batch; ++b) {
    for (int t = 0; t < c.tokens; ++t) {
      const uint32_t h = Fmix32(static_cast<uint32_t>(b * c.tokens + t + 1));
      int32_t id =
          c.lo + static_cast<int32_t>(h % static_cast<uint32_t>(c.hi - c.lo));
      if (t == 0) id = c.bos;
      if (t == c.tokens - 1) id = c.eos;
      rows[b].push_back(id);
    }
  }
  return rows;
}

std::vector<std::vector<int32_t>> EncoderIds(const PeerCase& c) {
  return c.id_range ? HashedIds(c) : BertIds(c.batch, c.tokens);
}

// Marian sources: pieces then </s> (id 0).
std::vector<std::vector<int32_t>> SourceIds(int batch, int tokens) {
  std::vector<std::vector<int32_t>> rows(batch);
  for (int b = 0; b < batch; ++b) {
    for (int t = 0; t + 1 < tokens; ++t)
      rows[b].push_back(5 + (b * 1009 + t * 7919) % 58000);
    rows[b].push_back(0);
  }
  return rows;
}

std::vector<absl::Span<const int32_t>> Spans(
    const std::vector<std::vector<int32_t>>& rows) {
  return {rows.begin(), rows.end()};
}

// One loaded model per (folder, dtype, threads); the error text when refused.
template <typename Model>
struct Loaded {
  std::unique_ptr<Model> model;
  std::string error;
};

template <typename Model>
Loaded<Model>* Load(const std::string& folder, DType dtype, int threads) {
  static auto* cache =
      new std::map<std::tuple<std::string, DType, int>, Loaded<Model>>();
  auto [it, inserted] = cache->try_emplace({folder, dtype, threads});
  if (inserted) {
    LoadOptions options;
    options.dtype = dtype;
    options.threads = threads;
    auto model = Model::Load(folder, options);
    if (model.ok()) {
      it->second.model = *std::move(model);
    } else {
      it->second.error = std::string(model.status().message());
    }
  }
  return &it->second;
}

// Times `call` (returns the tokens it produced, or -1 after setting *error):
// one warm-up, then `reps` timed calls; the median becomes the iteration time.
template <typename Call>
void TimeMedian(benchmark::State& state, int reps, const std::string* error,
                Call call) {
  if (call() < 0) {
    state.SkipWithError(("warm-up call failed: " + *error).c_str());
    return;
  }
  std::vector<double> seconds;
  int64_t tokens = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    tokens = call();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
    if (tokens < 0) {
      state.SkipWithError(("call failed: " + *error).c_str());
      return;
    }
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  for (auto _ : state) state.SetIterationTime(median);
  state.counters["tokens/s"] = tokens / median;
  state.counters["tokens/s_best"] = tokens / seconds.front();
  state.counters["tokens/call"] = static_cast<double>(tokens);
  state.counters["reps"] = reps;
}

void RunEncoder(benchmark::State& state, const PeerCase& c, DType dtype,
                const PeerSettings& s) {
  Loaded<SentenceEncoder>* loaded =
      Load<SentenceEncoder>(c.folder, dtype, s.threads);
  if (!loaded->model) {
    state.SkipWithError(("not available: " + loaded->error).c_str());
    return;
  }
  SentenceEncoder* model = loaded->model.get();
  const auto rows = EncoderIds(c);
  const auto spans = Spans(rows);
  std::string error;
  TimeMedian(state, s.reps, &error, [&]() -> int64_t {
    auto out = model->Embed(spans, model->default_pooling(),
                            model->default_normalize());
    if (!out.ok()) {
      error = std::string(out.status().message());
      return -1;
    }
    return int64_t{c.batch} * c.tokens;
  });
  state.counters["threads"] = s.threads;
}

void RunDecoder(benchmark::State& state, const PeerCase& c, DType dtype,
                const PeerSettings& s) {
  Loaded<Translator>* loaded = Load<Translator>(c.folder, dtype, s.threads);
  if (!loaded->model) {
    state.SkipWithError(("not available: " + loaded->error).c_str());
    return;
  }
  Translator* model = loaded->model.get();
  const auto rows = SourceIds(c.batch, c.tokens);
  const auto spans = Spans(rows);
  GenerationOptions options = model->default_options();
  options.beam_size = c.beam;
  options.num_hypotheses = 1;
  options.max_new_tokens = c.new_tokens;
  std::string error;
  TimeMedian(state, s.reps, &error, [&]() -> int64_t {
    auto out = model->Generate(spans, options);
    if (!out.ok()) {
      error = std::string(out.status().message());
      return -1;
    }
    int64_t generated = 0;
    for (const auto& hyps : *out) generated += hyps.front().ids.size();
    return generated;
  });
  state.counters["threads"] = s.threads;
}

void RunRerank(benchmark::State& state, const PeerCase& c, DType dtype,
               const PeerSettings& s) {
  Loaded<SequenceClassifier>* loaded =
      Load<SequenceClassifier>(c.folder, dtype, s.threads);
  if (!loaded->model) {
    state.SkipWithError(("not available: " + loaded->error).c_str());
    return;
  }
  SequenceClassifier* model = loaded->model.get();
  const RerankRequest request =
      RerankTexts(c.batch, c.query_words, c.passage_words);
  std::vector<int> lengths;
  double tokenize_s = 0;
  std::string error;
  TimeMedian(state, s.reps, &error, [&]() -> int64_t {
    absl::StatusOr<int> best =
        RerankCall(model, request, c.rerank_batch, &lengths, &tokenize_s);
    if (!best.ok()) {
      error = std::string(best.status().message());
      return -1;
    }
    int64_t tokens = 0;
    for (int l : lengths) tokens += l;
    return tokens;
  });
  state.counters["threads"] = s.threads;
}

absl::StatusOr<PeerCase> ParseCase(absl::string_view text) {
  std::vector<std::string> f = absl::StrSplit(text, ',');
  PeerCase c;
  auto num = [&](size_t i, int* out) {
    return i < f.size() && absl::SimpleAtoi(f[i], out);
  };
  if ((f.size() == 5 || f.size() == 9) && f[0] == "enc" && num(3, &c.batch) &&
      num(4, &c.tokens)) {
    c.name = f[1], c.folder = f[2];
    if (f.size() == 5) return c;
    c.id_range = true;
    if (num(5, &c.bos) && num(6, &c.eos) && num(7, &c.lo) && num(8, &c.hi) &&
        c.lo < c.hi)
      return c;
  }
  if (f.size() == 7 && f[0] == "dec" && num(3, &c.batch) && num(4, &c.beam) &&
      num(5, &c.tokens) && num(6, &c.new_tokens)) {
    c.kind = PeerCase::kDecoder, c.name = f[1], c.folder = f[2];
    return c;
  }
  if (f.size() == 7 && f[0] == "rerank" && num(3, &c.batch) &&
      num(4, &c.query_words) && num(5, &c.passage_words) &&
      num(6, &c.rerank_batch) && c.rerank_batch > 0) {
    c.kind = PeerCase::kRerank, c.name = f[1], c.folder = f[2];
    c.tokens = c.query_words + c.passage_words + 3;  // [CLS] [SEP] [SEP]
    return c;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "ATTNSERVE_PEERS_SPEC: bad case \"", text,
      "\" (want enc,name,folder,B,T[,bos,eos,lo,hi] with lo < hi or "
      "dec,name,folder,B,beam,source_tokens,new_tokens or "
      "rerank,name,folder,passages,query_words,passage_words,batch)"));
}

std::string CaseName(const PeerCase& c, DType dtype, int threads) {
  // The kind and shape as shapes.py's Case.kind and Case.shape.
  std::string kind = "enc", shape = absl::StrCat(c.batch, "x", c.tokens);
  if (c.kind == PeerCase::kDecoder) {
    kind = "dec";
    shape = absl::StrCat(c.beam == 1 ? "greedy" : "beam", c.beam, "_b", c.batch,
                         "_src", c.tokens, "_new", c.new_tokens);
  } else if (c.kind == PeerCase::kRerank) {
    kind = "rerank", shape = absl::StrCat("1x", c.batch, "x", c.tokens);
  }
  return absl::StrCat("BM_Peers/", kind, "/", c.name, "/", shape, "/",
                      DTypeToString(dtype), "/threads:", threads);
}

std::vector<DType> ParseDTypes(const char* text) {
  const std::vector<DType> all = {DType::kFloat32, DType::kBFloat16,
                                  DType::kInt8};
  if (text == nullptr) return all;
  std::vector<DType> out;
  for (absl::string_view name : absl::StrSplit(text, ',')) {
    for (DType d : all)
      if (DTypeToString(d) == name) out.push_back(d);
  }
  return out;
}

// Registers one benchmark per case x dtype from the environment.
bool RegisterPeerShapes() {
  const char* spec = std::getenv("ATTNSERVE_PEERS_SPEC");
  if (spec == nullptr) return false;
  PeerSettings s;
  s.dtypes = ParseDTypes(std::getenv("ATTNSERVE_PEERS_DTYPES"));
  s.threads = EnvInt("ATTNSERVE_PEERS_THREADS", 1);
  s.reps = std::max(1, EnvInt("ATTNSERVE_PEERS_REPS", 5));
  for (absl::string_view text : absl::StrSplit(spec, ';', absl::SkipEmpty())) {
    absl::StatusOr<PeerCase> c = ParseCase(text);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", std::string(c.status().message()).c_str());
      std::exit(2);
    }
    for (DType dtype : s.dtypes) {
      benchmark::RegisterBenchmark(CaseName(*c, dtype, s.threads).c_str(),
                                   [c = *c, dtype, s](benchmark::State& state) {
                                     switch (c.kind) {
                                       case PeerCase::kDecoder:
                                         return RunDecoder(state, c, dtype, s);
                                       case PeerCase::kRerank:
                                         return RunRerank(state, c, dtype, s);
                                       case PeerCase::kEncoder:
                                         return RunEncoder(state, c, dtype, s);
                                     }
                                   })
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  return true;
}

[[maybe_unused]] const bool registered = RegisterPeerShapes();

}  // namespace
}  // namespace attnserve::bench
