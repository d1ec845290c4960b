// The real attnserve-server over gRPC with the golden models: health,
// reflection, /metrics, Encode/Translate/TranslateStream/Tokenize equal to the
// Hugging Face reference, model info, and every error code with its message.
#include <cmath>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

nlohmann::json Cases(const std::string& model) {
  std::ifstream in(GoldenDir(model) + "/cases.json");
  return nlohmann::json::parse(in);
}

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

// Ids up to and including the first </s> (id 0), without the decoder start /
// padding (1762).
std::vector<uint32_t> GeneratedIds(const nlohmann::json& sequence) {
  std::vector<uint32_t> ids;
  for (size_t t = 1; t < sequence.size(); ++t) {
    const int id = sequence[t];
    ids.push_back(static_cast<uint32_t>(id));
    if (id == 0) break;
  }
  return ids;
}

class ServerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    ASSERT_TRUE(
        server_
            ->Start({"--model=enc=" + GoldenDir("bert-tiny"),
                     "--model=tr=" + GoldenDir("marian-tiny"), "--threads=2"})
            .ok())
        << server_->Log();
    ASSERT_TRUE(server_->WaitHealth("", 1).ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    absl::StatusOr<int> code = server_->Stop();
    EXPECT_TRUE(code.ok() && *code == 0) << server_->Log();
    delete server_;
  }

  grpc::Status Encode(const v1::EncodeRequest& request,
                      v1::EncodeResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(In(60));
    return server_->stub()->Encode(&context, request, response);
  }
  grpc::Status Translate(const v1::TranslateRequest& request,
                         v1::TranslateResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(In(120));
    return server_->stub()->Translate(&context, request, response);
  }

  static ServerProcess* server_;
};

ServerProcess* ServerE2eTest::server_ = nullptr;

TEST_F(ServerE2eTest, HealthIsServingOverallAndPerModel) {
  EXPECT_EQ(*HealthCheck(*server_->channel(), ""), 1);
  EXPECT_EQ(*HealthCheck(*server_->channel(), "attnserve.v1.Inference"), 1);
  EXPECT_EQ(*HealthCheck(*server_->channel(), "enc"), 1);
  EXPECT_EQ(*HealthCheck(*server_->channel(), "tr"), 1);
}

TEST_F(ServerE2eTest, ReflectionListsTheInferenceService) {
  absl::StatusOr<std::vector<std::string>> services =
      ReflectionServices(*server_->channel());
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains("attnserve.v1.Inference"));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
}

TEST_F(ServerE2eTest, EncodeEqualsGoldenEmbeddings) {
  const nlohmann::json cases = Cases("bert-tiny");
  auto tensors =
      ReadF32Tensors(GoldenDir("bert-tiny") + "/tensors.safetensors");
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  for (const nlohmann::json& c : cases["cases"]) {
    const std::string name = c["name"];
    v1::EncodeRequest request;
    request.set_model("enc");
    request.set_truncate(true);
    for (const std::string& text : c["texts"]) request.add_texts(text);
    v1::EncodeResponse response;
    grpc::Status status = Encode(request, &response);
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
    ASSERT_EQ(response.embeddings_size(), request.texts_size()) << name;
    EXPECT_EQ(response.dimensions(), 64u);
    EXPECT_EQ(response.model(), "enc");
    const std::vector<float>& want =
        tensors->at(name + ".mean_pooled_normalized");
    uint64_t tokens = 0;
    for (int b = 0; b < response.embeddings_size(); ++b) {
      const v1::Embedding& e = response.embeddings(b);
      EXPECT_EQ(e.input_tokens(), c["seq_lens"][b].get<uint32_t>()) << name;
      tokens += e.input_tokens();
      ASSERT_EQ(e.values_size(), 64);
      for (int d = 0; d < 64; ++d) {
        EXPECT_NEAR(e.values(d), want[b * 64 + d], 1e-5)
            << name << " text " << b << " dim " << d;
      }
    }
    EXPECT_EQ(response.usage().input_tokens(), tokens);
    if (name == "long_truncated")
      EXPECT_TRUE(response.embeddings(0).truncated());
  }
}

TEST_F(ServerE2eTest, TranslateGreedyAndBeamEqualGolden) {
  const nlohmann::json cases = Cases("marian-tiny");
  for (const nlohmann::json& c : cases["cases"]) {
    const std::string name = c["name"];
    v1::TranslateRequest request;
    request.set_model("tr");
    for (const std::string& text : c["texts"]) request.add_texts(text);
    request.set_beam_size(1);
    request.set_max_new_tokens(16);
    v1::TranslateResponse greedy;
    grpc::Status status = Translate(request, &greedy);
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
    ASSERT_EQ(greedy.translations_size(), request.texts_size());
    for (int b = 0; b < greedy.translations_size(); ++b) {
      const v1::Hypothesis& h = greedy.translations(b).hypotheses(0);
      EXPECT_EQ(
          std::vector<uint32_t>(h.token_ids().begin(), h.token_ids().end()),
          GeneratedIds(c["greedy"]["sequences"][b]))
          << name << " text " << b;
      EXPECT_EQ(h.text(), c["greedy"]["decoded"][b].get<std::string>()) << name;
    }

    request.set_beam_size(4);
    request.set_num_hypotheses(4);
    v1::TranslateResponse beam;
    status = Translate(request, &beam);
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
    for (int b = 0; b < beam.translations_size(); ++b) {
      const v1::Translation& t = beam.translations(b);
      ASSERT_EQ(t.hypotheses_size(), 4) << name;
      for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(t.hypotheses(k).text(),
                  c["beam"]["all_4_decoded"][b][k].get<std::string>())
            << name << " text " << b << " hypothesis " << k;
        EXPECT_NEAR(t.hypotheses(k).score(),
                    c["beam"]["sequences_scores"][b][k].get<float>(), 1e-3)
            << name;
      }
    }
  }
}

TEST_F(ServerE2eTest, TranslateStreamDeltasAddUpToTheFinalTranslation) {
  const nlohmann::json cases = Cases("marian-tiny");
  v1::TranslateRequest request;
  request.set_model("tr");
  for (const std::string& text : cases["cases"][9]["texts"])
    request.add_texts(text);  // batch
  request.set_beam_size(1);
  request.set_max_new_tokens(16);
  grpc::ClientContext context;
  context.set_deadline(In(120));
  auto reader = server_->stub()->TranslateStream(&context, request);
  std::vector<std::string> text(request.texts_size());
  std::vector<v1::Translation> final(request.texts_size());
  std::vector<bool> finished(request.texts_size(), false);
  v1::TranslateStreamResponse message;
  int messages = 0;
  bool usage_seen = false;
  while (reader->Read(&message)) {
    ++messages;
    EXPECT_FALSE(usage_seen) << "a message came after the usage message";
    if (message.has_usage()) {
      usage_seen = true;
      EXPECT_GT(message.usage().output_tokens(), 0u);
      continue;
    }
    ASSERT_LT(message.index(), text.size());
    EXPECT_FALSE(finished[message.index()]);
    text[message.index()] += message.text_delta();
    if (message.finished()) {
      finished[message.index()] = true;
      final[message.index()] = message.translation();
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(usage_seen);
  EXPECT_GT(messages,
            request.texts_size() + 1);  // greedy streams token by token
  for (int b = 0; b < request.texts_size(); ++b) {
    EXPECT_TRUE(finished[b]);
    EXPECT_EQ(text[b], final[b].hypotheses(0).text());
    EXPECT_EQ(final[b].hypotheses(0).text(),
              cases["cases"][9]["greedy"]["decoded"][b].get<std::string>());
  }
}

TEST_F(ServerE2eTest, TokenizeEqualsGoldenIds) {
  const nlohmann::json cases = Cases("bert-tiny");
  const nlohmann::json& c = cases["cases"][0];
  v1::TokenizeRequest request;
  request.set_model("enc");
  request.add_texts(c["texts"][0].get<std::string>());
  v1::TokenizeResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(server_->stub()->Tokenize(&context, request, &response).ok());
  const int n = c["seq_lens"][0];
  ASSERT_EQ(response.texts(0).token_ids_size(), n);
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(response.texts(0).token_ids(i), c["input_ids"][0][i]);
  EXPECT_EQ(response.texts(0).pieces(0), "[CLS]");
}

TEST_F(ServerE2eTest, ListModelsAndGetModelDescribeBothModels) {
  grpc::ClientContext list_context;
  v1::ListModelsResponse list;
  ASSERT_TRUE(server_->stub()->ListModels(&list_context, {}, &list).ok());
  ASSERT_EQ(list.models_size(), 2);
  v1::GetModelRequest request;
  request.set_name("enc");
  v1::ModelInfo enc;
  grpc::ClientContext context;
  ASSERT_TRUE(server_->stub()->GetModel(&context, request, &enc).ok());
  EXPECT_EQ(enc.state(), v1::MODEL_STATE_READY);
  EXPECT_EQ(enc.task(), v1::TASK_ENCODE);
  EXPECT_EQ(enc.architecture(), "bert");
  EXPECT_EQ(enc.embedding_dimensions(), 64u);
  EXPECT_EQ(enc.max_input_tokens(), 128u);
  EXPECT_EQ(enc.pooling(), v1::POOLING_MEAN);
  EXPECT_TRUE(enc.normalize());
  EXPECT_EQ(enc.batching().max_batch_size(), 32u);
  const v1::ModelInfo& tr = list.models(1);
  EXPECT_EQ(tr.name(), "tr");
  EXPECT_EQ(tr.task(), v1::TASK_TRANSLATE);
  EXPECT_EQ(tr.default_beam_size(), 4u);
  EXPECT_EQ(tr.limits().max_beam_size(), 16u);
}

// (call status, what its message must mention)
void ExpectError(const grpc::Status& status, grpc::StatusCode code,
                 const std::string& mention) {
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(mention));
}

TEST_F(ServerE2eTest, ErrorsHaveTheirCodeAndSayWhatToChange) {
  v1::EncodeResponse encoded;
  v1::EncodeRequest encode;
  encode.set_model("nope");
  encode.add_texts("a");
  ExpectError(Encode(encode, &encoded), grpc::StatusCode::NOT_FOUND, "'nope'");
  encode.set_model("enc");
  encode.clear_texts();
  ExpectError(Encode(encode, &encoded), grpc::StatusCode::INVALID_ARGUMENT,
              "texts is empty");
  encode.add_texts("fine");
  std::string long_text;
  for (int i = 0; i < 400; ++i) long_text += "word ";
  encode.add_texts(long_text);
  ExpectError(
      Encode(encode, &encoded), grpc::StatusCode::INVALID_ARGUMENT,
      "texts[1] has more than 128 tokens, model 'enc' accepts at most 128");
  // (Invalid UTF-8 cannot be sent: protobuf refuses to parse it into a proto3
  // string before the service sees it; FirstInvalidUtf8 is unit-tested in
  // server_config_test.)
  encode.mutable_texts()->RemoveLast();
  encode.set_model("tr");
  ExpectError(Encode(encode, &encoded), grpc::StatusCode::FAILED_PRECONDITION,
              "Translate");
  for (int i = 0; i < 2049; ++i) encode.add_texts("x");
  encode.set_model("enc");
  ExpectError(Encode(encode, &encoded), grpc::StatusCode::INVALID_ARGUMENT,
              "at most 2048");

  v1::TranslateResponse translated;
  v1::TranslateRequest translate;
  translate.set_model("tr");
  translate.add_texts("hi");
  translate.set_beam_size(10000);
  ExpectError(Translate(translate, &translated),
              grpc::StatusCode::INVALID_ARGUMENT,
              "beam_size 10000 exceeds the maximum 16");
  translate.set_beam_size(2);
  translate.set_num_hypotheses(3);
  ExpectError(Translate(translate, &translated),
              grpc::StatusCode::INVALID_ARGUMENT,
              "num_hypotheses 3 exceeds beam_size 2");
  translate.set_num_hypotheses(1);
  translate.set_max_new_tokens(1000000);
  ExpectError(Translate(translate, &translated),
              grpc::StatusCode::INVALID_ARGUMENT,
              "max_new_tokens 1000000 exceeds the limit");
  translate.set_max_new_tokens(0);
  translate.set_model("enc");
  ExpectError(Translate(translate, &translated),
              grpc::StatusCode::FAILED_PRECONDITION, "Encode");
}

TEST_F(ServerE2eTest, DeadlineExceededAndCancelledCallsEndEarly) {
  v1::TranslateRequest heavy;
  heavy.set_model("tr");
  std::string text;
  for (int i = 0; i < 100; ++i) text += "word ";
  for (int i = 0; i < 64; ++i) heavy.add_texts(text);
  heavy.set_beam_size(4);
  heavy.set_max_new_tokens(16);
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(50));
    v1::TranslateResponse response;
    EXPECT_EQ(
        server_->stub()->Translate(&context, heavy, &response).error_code(),
        grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  {
    grpc::ClientContext context;
    context.set_deadline(In(120));
    heavy.set_beam_size(1);
    auto reader = server_->stub()->TranslateStream(&context, heavy);
    v1::TranslateStreamResponse message;
    ASSERT_TRUE(reader->Read(&message));
    context.TryCancel();
    while (reader->Read(&message)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The server is still fine afterwards.
  v1::TranslateRequest small;
  small.set_model("tr");
  small.add_texts("The quick brown fox.");
  v1::TranslateResponse response;
  EXPECT_TRUE(Translate(small, &response).ok());
}

TEST_F(ServerE2eTest, MetricsPassPromtoolAndCountCalls) {
  v1::EncodeRequest encode;
  encode.set_model("enc");
  encode.add_texts("count me");
  v1::EncodeResponse encoded;
  ASSERT_TRUE(Encode(encode, &encoded).ok());
  absl::StatusOr<std::string> text = FetchMetrics(server_->metrics_port());
  ASSERT_TRUE(text.ok()) << text.status();
  const auto [code, output] = PromtoolCheck(*text);
  EXPECT_EQ(code, 0) << output;
  EXPECT_GE(MetricValue(*text,
                        "attnserve_requests_total{code=\"OK\",method="
                        "\"encode\",model=\"enc\"}"),
            1);
  EXPECT_GE(
      MetricValue(
          *text, "attnserve_batch_size_count{method=\"encode\",model=\"enc\"}"),
      1);
  EXPECT_EQ(MetricValue(
                *text,
                "attnserve_model_info{architecture=\"bert\",dtype=\"float32\","
                "model=\"enc\",state=\"ready\",task=\"encode\"}"),
            1);
  EXPECT_GT(MetricValue(*text, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(MetricValue(*text, "process_cpu_seconds_total"), 0);
}

}  // namespace
}  // namespace attnserve::server::testing
