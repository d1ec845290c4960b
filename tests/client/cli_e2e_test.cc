// attnserve-client and attnserve-loadgen end to end: a real attnserve-server
// (from ATTNSERVE_BIN_DIR, or ATTNSERVE_SERVER_BIN) serving the golden models
// on 127.0.0.1; the client's --json output is compared with the Hugging Face
// reference in tests/data.
#include <cmath>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/golden_util.h"
#include "tests/client/server_process_util.h"

namespace attnserve::testing {
namespace {

using ::testing::HasSubstr;

class CliEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    // Beside the golden encoder and translator: a 1-label cross-encoder and
    // a 3-label classifier (tests/data/cross-encoders).
    const std::string data = ATTNSERVE_TEST_DATA_DIR "/cross-encoders/";
    start_status_ = new absl::Status(
        server_->Start({"--model=ce=" + data + "bert-ce-tiny",
                        "--model=cls=" + data + "distilbert-cls3-tiny"}));
  }
  static void TearDownTestSuite() {
    // A clean exit also means no sanitizer report in the server (sanitizer
    // builds exit non-zero on one).
    if (start_status_->ok()) {
      absl::StatusOr<int> code = server_->Stop();
      EXPECT_TRUE(code.ok() && *code == 0)
          << (code.ok() ? absl::StrCat("exit code ", *code)
                        : code.status().ToString())
          << ": " << server_->LogTail(/*bytes=*/1 << 20);  // the whole report
    }
    delete server_;
    delete start_status_;
  }
  void SetUp() override { ASSERT_TRUE(start_status_->ok()) << *start_status_; }

  // Runs attnserve-client with --target set and `args`.
  ProcessResult Client(std::vector<std::string> args,
                       const std::string& stdin_text = "") {
    args.insert(args.begin(),
                {BinPath("attnserve-client"), "--target=" + server_->target()});
    absl::StatusOr<ProcessResult> r = RunProcess(args, stdin_text);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ProcessResult();
  }

  static nlohmann::json Json(const ProcessResult& r) {
    try {
      return nlohmann::json::parse(r.out);
    } catch (const nlohmann::json::exception& e) {
      ADD_FAILURE() << "not JSON: " << r.out << "\nstderr: " << r.err;
      return nlohmann::json();
    }
  }

  static ServerProcess* server_;
  static absl::Status* start_status_;
};

ServerProcess* CliEndToEndTest::server_ = nullptr;
absl::Status* CliEndToEndTest::start_status_ = nullptr;

// Golden generated ids without the decoder-start token, up to and including the
// first </s>.
std::vector<uint32_t> GeneratedIds(const nlohmann::json& sequence) {
  std::vector<uint32_t> ids;
  for (size_t t = 1; t < sequence.size(); ++t) {
    ids.push_back(sequence[t].get<uint32_t>());
    if (ids.back() == 0) break;
  }
  return ids;
}

TEST_F(CliEndToEndTest, HealthIsServing) {
  ProcessResult r = Client({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  r = Client({"--json", "health"});
  EXPECT_EQ(Json(r)["status"], "SERVING");
}

TEST_F(CliEndToEndTest, ModelsAndModel) {
  ProcessResult r = Client({"--json", "models"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json models = Json(r)["models"];
  ASSERT_EQ(models.size(), kTranslatorAvailable ? 4u : 3u);
  std::map<std::string, std::string> tasks;
  for (const auto& m : models) tasks[m["name"]] = m["task"];
  EXPECT_EQ(tasks["g"], "encode");
  EXPECT_EQ(tasks["ce"], "rerank");
  EXPECT_EQ(tasks["cls"], "classify");
  if (kTranslatorAvailable) EXPECT_EQ(tasks["t"], "translate");

  r = Client({"model", "g"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("architecture:     bert"));
  EXPECT_THAT(r.out, HasSubstr("dimensions:       64"));
}

TEST_F(CliEndToEndTest, UnknownModelIsNotFoundWithExitCode1) {
  ProcessResult r = Client({"model", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  r = Client({"--model=nope", "encode", "hello"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
}

TEST_F(CliEndToEndTest, UsageErrorsExitWith2) {
  EXPECT_EQ(Client({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Client({"--pooling=sum", "encode", "a"}).exit_code, 2);
  EXPECT_EQ(Client({"model"}).exit_code, 2);
  ProcessResult r = Client({"encode"});  // stdin is an empty pipe: no texts
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no texts"));
}

TEST_F(CliEndToEndTest, EncodeMatchesGoldenEmbeddings) {
  absl::StatusOr<nlohmann::json> c = GoldenCase("bert-tiny", "batch_padding");
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<std::vector<float>> want =
      GoldenTensorF32("bert-tiny", "batch_padding.mean_pooled_normalized");
  ASSERT_TRUE(want.ok()) << want.status();
  std::vector<std::string> args = {"--json", "--model=g", "encode"};
  for (const auto& t : (*c)["texts"]) args.push_back(t.get<std::string>());
  ProcessResult r = Client(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json json = Json(r);
  ASSERT_EQ(json["embeddings"].size(), (*c)["texts"].size());
  EXPECT_EQ(json["dimensions"], 64);
  for (size_t i = 0; i < json["embeddings"].size(); ++i) {
    const nlohmann::json& e = json["embeddings"][i];
    EXPECT_EQ(e["input_tokens"], (*c)["seq_lens"][i]);
    ASSERT_EQ(e["values"].size(), 64u);
    for (size_t d = 0; d < 64; ++d) {
      EXPECT_NEAR(e["values"][d].get<float>(), (*want)[i * 64 + d], 1e-5)
          << "text " << i << " dim " << d;
    }
  }
}

// The command line: --prompt_name (bert-tiny has sentence-transformers'
// empty "query" prompt, so the vector is the golden one) and --dimensions (its
// first 16 values, not normalised again); an unknown prompt name is exit 1.
TEST_F(CliEndToEndTest, EncodeWithPromptNameAndDimensions) {
  absl::StatusOr<nlohmann::json> c = GoldenCase("bert-tiny", "ascii");
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<std::vector<float>> want =
      GoldenTensorF32("bert-tiny", "ascii.mean_pooled_normalized");
  ASSERT_TRUE(want.ok()) << want.status();
  ProcessResult r =
      Client({"--json", "--model=g", "--prompt_name=query", "--dimensions=16",
              "encode", (*c)["texts"][0].get<std::string>()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json json = Json(r);
  EXPECT_EQ(json["dimensions"], 16);
  ASSERT_EQ(json["embeddings"][0]["values"].size(), 16u);
  for (size_t d = 0; d < 16; ++d) {
    EXPECT_NEAR(json["embeddings"][0]["values"][d].get<float>(), (*want)[d],
                1e-5);
  }
  r = Client({"--model=g", "--prompt_name=search", "encode", "a"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("document, query"));
}

TEST_F(CliEndToEndTest, EncodeReadsStdinAndPrintsReadableSummary) {
  ProcessResult r =
      Client({"encode"}, "Short.\nThis program is free software.\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("[0] dims=64 norm=1.000000"));
  EXPECT_THAT(r.out, HasSubstr("[1] dims=64 norm=1.000000"));
  EXPECT_THAT(r.out, HasSubstr("model=g"));  // the only encode model was chosen
}

// Cases of a cross-encoder fixture (tests/data/cross-encoders/<model>).
nlohmann::json CrossEncoderCases(const std::string& model) {
  std::ifstream in(std::string(ATTNSERVE_TEST_DATA_DIR "/cross-encoders/") +
                   model + "/cases.json");
  return nlohmann::json::parse(in);
}

// rerank --query: each score is CrossEncoder.predict's for its pair (the
// only rerank model is chosen), sorted best first; --top_n, --return_texts
// and --raw_scores (the logits) reach the server.
TEST_F(CliEndToEndTest, RerankMatchesCrossEncoderPredict) {
  const nlohmann::json cases = CrossEncoderCases("bert-ce-tiny");
  std::vector<std::string> args = {"--json", "--truncate", "rerank"};
  // The passages paired with this query in the fixture, with their cases.
  std::vector<std::string> texts;
  std::map<std::string, const nlohmann::json*> by_pair;
  for (const nlohmann::json& c : cases["cases"]) {
    if (c["pair"].is_null() || c["text"] != "what is it?") continue;
    texts.push_back(c["pair"].get<std::string>());
    by_pair[texts.back()] = &c;
  }
  ASSERT_FALSE(texts.empty());
  args.insert(args.end(), texts.begin(), texts.end());
  args.insert(args.begin(), "--query=what is it?");
  ProcessResult r = Client(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json json = Json(r);
  ASSERT_EQ(json["results"].size(), by_pair.size());
  EXPECT_EQ(json["model"], "ce");
  const nlohmann::json& first = json["results"][0];
  const std::string text = texts.at(first["index"].get<size_t>());
  EXPECT_NEAR(first["score"].get<double>(),
              (*by_pair[text])["crossencoder"]["scores"][0].get<double>(),
              1e-5);

  args.insert(args.begin(), {"--top_n=1", "--return_texts", "--raw_scores"});
  r = Client(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json = Json(r);
  ASSERT_EQ(json["results"].size(), 1u);
  EXPECT_EQ(json["results"][0]["text"], text);
  EXPECT_NEAR(json["results"][0]["score"].get<double>(),
              (*by_pair[text])["crossencoder"]["logits"][0].get<double>(),
              1e-5);

  r = Client({"--model=cls", "--query=q", "rerank", "t"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
}

// classify --pairs: TEXT PAIR arguments; labels and scores are the
// text-classification pipeline's, best first; --top_k cuts them.
TEST_F(CliEndToEndTest, ClassifyPairsMatchThePipeline) {
  const nlohmann::json cases = CrossEncoderCases("distilbert-cls3-tiny");
  std::vector<std::string> args = {"--json", "--model=cls", "--truncate",
                                   "--pairs", "classify"};
  std::vector<const nlohmann::json*> want;
  for (const nlohmann::json& c : cases["cases"]) {
    args.push_back(c["text"].get<std::string>());
    args.push_back(c["pair"].is_null() ? "" : c["pair"].get<std::string>());
    want.push_back(&c["pipeline"]);
  }
  ProcessResult r = Client(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json json = Json(r);
  ASSERT_EQ(json["classifications"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const nlohmann::json& labels = json["classifications"][i]["labels"];
    ASSERT_EQ(labels.size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(labels[k]["label"], (*want[i])["labels"][k]);
      EXPECT_NEAR(labels[k]["score"].get<double>(),
                  (*want[i])["scores"][k].get<double>(), 1e-5);
    }
  }
  r = Client({"--model=cls", "--top_k=1", "classify", "great"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("[0] "));
  EXPECT_THAT(r.out, HasSubstr("model=cls"));
  EXPECT_EQ(Client({"--pairs", "--model=cls", "classify", "odd"}).exit_code, 2);
}

TEST_F(CliEndToEndTest, TokenizeMatchesGoldenIds) {
  absl::StatusOr<nlohmann::json> c = GoldenCase("bert-tiny", "ascii");
  ASSERT_TRUE(c.ok()) << c.status();
  ProcessResult r = Client(
      {"--json", "--model=g", "tokenize", (*c)["texts"][0].get<std::string>()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json json = Json(r);
  EXPECT_EQ(json["texts"][0]["token_ids"], (*c)["input_ids"][0]);
  EXPECT_EQ(json["texts"][0]["pieces"], (*c)["tokens"][0]);
}

TEST_F(CliEndToEndTest, GreedyTranslateMatchesGolden) {
  SKIP_WITHOUT_TRANSLATOR();
  absl::StatusOr<nlohmann::json> c = GoldenCase("marian-tiny", "batch_padding");
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<std::string> args = {"--json", "--model=t", "--beam=1",
                                   "--max_new_tokens=16", "translate"};
  for (const auto& t : (*c)["texts"]) args.push_back(t.get<std::string>());
  ProcessResult r = Client(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json json = Json(r);
  const nlohmann::json& greedy = (*c)["greedy"];
  ASSERT_EQ(json["translations"].size(), (*c)["texts"].size());
  for (size_t i = 0; i < json["translations"].size(); ++i) {
    const nlohmann::json& h = json["translations"][i]["hypotheses"][0];
    EXPECT_EQ(h["text"], greedy["decoded"][i]) << "text " << i;
    EXPECT_EQ(h["token_ids"].get<std::vector<uint32_t>>(),
              GeneratedIds(greedy["sequences"][i]))
        << "text " << i;
  }
}

TEST_F(CliEndToEndTest, BeamTranslateNBestMatchesGolden) {
  SKIP_WITHOUT_TRANSLATOR();
  absl::StatusOr<nlohmann::json> c = GoldenCase("marian-tiny", "ascii");
  ASSERT_TRUE(c.ok()) << c.status();
  ProcessResult r = Client({"--json", "--model=t", "--beam=4",
                            "--num_hypotheses=4", "--max_new_tokens=16",
                            "translate", (*c)["texts"][0].get<std::string>()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json hyps = Json(r)["translations"][0]["hypotheses"];
  const nlohmann::json& beam = (*c)["beam"];
  ASSERT_EQ(hyps.size(), 4u);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(hyps[k]["text"], beam["all_4_decoded"][0][k])
        << "hypothesis " << k;
    EXPECT_NEAR(hyps[k]["score"].get<double>(),
                beam["sequences_scores"][0][k].get<double>(), 1e-4);
  }
}

TEST_F(CliEndToEndTest, StreamDeltasConcatenateToTheGreedyText) {
  SKIP_WITHOUT_TRANSLATOR();
  absl::StatusOr<nlohmann::json> c = GoldenCase("marian-tiny", "ascii");
  ASSERT_TRUE(c.ok()) << c.status();
  ProcessResult r = Client({"--json", "--stream", "--model=t", "--beam=1",
                            "--max_new_tokens=16", "translate",
                            (*c)["texts"][0].get<std::string>()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string text;
  std::vector<uint32_t> ids;
  int messages = 0;
  bool finished = false, usage = false;
  for (absl::string_view line :
       absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    nlohmann::json m = nlohmann::json::parse(line);
    ++messages;
    text += m["text_delta"].get<std::string>();
    for (const auto& id : m["token_ids"]) ids.push_back(id);
    finished = finished || m["finished"].get<bool>();
    usage = usage || m.contains("usage");
  }
  EXPECT_GE(messages, 2);
  EXPECT_TRUE(finished);
  EXPECT_TRUE(usage);
  EXPECT_EQ(ids, GeneratedIds((*c)["greedy"]["sequences"][0]));
  // Deltas are the detokenized text so far; the final text is stripped like
  // HF's decode.
  EXPECT_EQ(std::string(absl::StripAsciiWhitespace(text)),
            (*c)["greedy"]["decoded"][0].get<std::string>());

  r = Client({"--stream", "--model=t", "--beam=1", "--max_new_tokens=16",
              "translate", (*c)["texts"][0].get<std::string>()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      HasSubstr("[0] " + (*c)["greedy"]["decoded"][0].get<std::string>()));
}

TEST_F(CliEndToEndTest, TinyDeadlineIsDeadlineExceeded) {
  SKIP_WITHOUT_TRANSLATOR();
  std::vector<std::string> args = {"--deadline=1ms", "--model=t", "--beam=4",
                                   "--truncate", "translate"};
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word ";
  for (int i = 0; i < 16; ++i) args.push_back(long_text);
  ProcessResult r = Client(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("DEADLINE_EXCEEDED"));
}

TEST_F(CliEndToEndTest, LoadgenRunsABoundedMixAndWritesJson) {
  const std::string json_path = ::testing::TempDir() + "/loadgen.json";
  absl::StatusOr<ProcessResult> r = RunProcess(
      {BinPath("attnserve-loadgen"), "--target=" + server_->target(),
       "--concurrency=2", "--requests=24", "--duration=60s",
       kTranslatorAvailable ? "--mix=encode=0.5,translate=0.25,stream=0.25"
                            : "--mix=encode=1",
       "--max_new_tokens=8", "--beam=1", "--json_out=" + json_path});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->exit_code, 0) << r->err;
  EXPECT_THAT(r->out, HasSubstr("OK=24"));
  std::ifstream in(json_path);
  nlohmann::json json = nlohmann::json::parse(in);
  EXPECT_EQ(json["requests"], 24);
  EXPECT_EQ(json["codes"]["OK"], 24);
  EXPECT_GT(json["throughput"]["tokens_per_s"].get<double>(), 0.0);
  EXPECT_LE(json["latency"]["p50_ms"].get<double>(),
            json["latency"]["p99_ms"].get<double>());
  EXPECT_EQ(json["config"]["encode_model"], "g");
  if (kTranslatorAvailable) EXPECT_EQ(json["config"]["translate_model"], "t");
}

}  // namespace
}  // namespace attnserve::testing
