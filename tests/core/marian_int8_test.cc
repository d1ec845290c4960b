// Reduced-precision Marian (int8, bfloat16) against float32 on the demo
// translator's held-out test numbers (tests/core/marian_int8_held_out.tsv, the
// split tools/demo_translator/train.py never trains on): greedy outputs must
// be identical to float32 for >= 95% of the sentences.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/decoding/logits_rules.h"
#include "core/decoding/marian_decode_batch.h"
#include "core/models/hf_config.h"
#include "core/models/marian.h"
#include "core/models/marian_config.h"
#include "core/models/translator.h"
#include "core/ops/linear.h"
#include "core/ops/quantize.h"
#include "core/tokenizers/sentencepiece.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

const std::string kDemo =
    std::string(ATTNSERVE_SOURCE_DIR) + "/models/demo-en-de-numbers";
const std::string kHeldOut =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/core/marian_int8_held_out.tsv";
constexpr int kBatch = 100;  // sentences per Generate call
constexpr double kMinAgreement = 0.95;

struct HeldOut {
  std::vector<std::string> english, german;
};

HeldOut ReadHeldOut() {
  HeldOut h;
  std::ifstream in(kHeldOut);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string number, en, de;
    std::getline(fields, number, '\t');
    std::getline(fields, en, '\t');
    std::getline(fields, de, '\t');
    h.english.push_back(en);
    h.german.push_back(de);
  }
  return h;
}

using Outputs = std::vector<std::vector<int32_t>>;

// Greedy ids of every source, decoded kBatch sentences at a time (mixed
// lengths share steps, as under serving).
Outputs GreedyAll(
    const std::vector<std::vector<int32_t>>& sources,
    const std::function<std::unique_ptr<DecodeBatch>()>& new_batch) {
  GenerationOptions greedy;
  greedy.max_new_tokens = 63;  // the folder's max_length 64 incl. the start
  Outputs out(sources.size());
  for (size_t i = 0; i < sources.size(); i += kBatch) {
    std::unique_ptr<DecodeBatch> batch = new_batch();
    const size_t end = std::min(sources.size(), i + kBatch);
    const std::vector<absl::Span<const int32_t>> spans(sources.begin() + i,
                                                       sources.begin() + end);
    const std::vector<GenerationOptions> options(spans.size(), greedy);
    auto ids = batch->Add(spans, options);
    EXPECT_TRUE(ids.ok()) << ids.status();
    if (!ids.ok()) return {};
    while (batch->num_sequences() > 0) {
      auto events = batch->Step();
      EXPECT_TRUE(events.ok()) << events.status();
      if (!events.ok()) return {};
      for (const DecodeBatch::Event& e : *events) {
        if (!e.finished) continue;
        const size_t k =
            std::find(ids->begin(), ids->end(), e.id) - ids->begin();
        out[i + k] = e.hypotheses[0].ids;
      }
    }
  }
  return out;
}

int CountEqual(const Outputs& a, const Outputs& b) {
  int same = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) same += a[i] == b[i];
  return same;
}

// Decoder rows (1..4) take the int8 matrix-vector kernel, larger batches
// oneDNN's matmul: each row is quantized on its own, so both must give
// bit-identical rows (the agreement below then holds for any batch size).
TEST(Int8LinearTest, FewRowsKernelMatchesMatmulBitForBit) {
  DnnlContext ctx;
  constexpr int64_t kOut = 300, kIn = 200, kMatmulRows = 8;  // in % 32 != 0
  Tensor w({kOut, kIn}), b({kOut}), x({kMatmulRows, kIn}),
      residual({kMatmulRows, kOut});
  uint32_t state = 12345;
  auto next = [&state] {  // small deterministic pseudo-random values
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / (1u << 24) - 0.5f;
  };
  for (Tensor* t : {&w, &b, &x, &residual})
    for (int64_t i = 0; i < t->numel(); ++i) (*t)[i] = next();
  for (Activation act : {Activation::kNone, Activation::kSwish}) {
    Linear lin(&ctx, w, b, {act, true, DType::kInt8});
    Tensor all({kMatmulRows, kOut});
    lin.Forward(x.data(), kMatmulRows, all.data(), residual.data());
    for (int64_t rows = 1; rows <= 4; ++rows) {
      Tensor few({rows, kOut});
      lin.Forward(x.data(), rows, few.data(), residual.data());
      for (int64_t i = 0; i < rows * kOut; ++i)
        ASSERT_EQ(few[i], all[i]) << "rows " << rows << " element " << i;
    }
  }
}

class MarianReducedPrecisionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifndef ATTNSERVE_SPM_SHIM_UNAVAILABLE
    held_out_ = new HeldOut(ReadHeldOut());
    auto t = Translator::Load(kDemo);
    ASSERT_TRUE(t.ok()) << t.status();
    f32_ = t->release();
    sources_ = new std::vector<std::vector<int32_t>>();
    for (const std::string& text : held_out_->english) {
      auto enc = f32_->TokenizeSource(text, true);
      ASSERT_TRUE(enc.ok()) << enc.status();
      sources_->push_back(enc->ids);
    }
    f32_out_ = new Outputs(Generate(*f32_));
#endif
  }
  static void TearDownTestSuite() {
    delete f32_;
    delete held_out_;
    delete sources_;
    delete f32_out_;
  }
  void SetUp() override {
#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
    GTEST_SKIP() << kSpmShimUnderAsanMessage;
#endif
  }

  static Outputs Generate(Translator& t) {
    return GreedyAll(*sources_, [&] { return t.NewDecodeBatch(); });
  }
  // Exact matches of the detokenized outputs with the German spelling.
  static int CorrectGerman(const Outputs& out) {
    int correct = 0;
    for (size_t i = 0; i < out.size(); ++i)
      correct += f32_->Detokenize(out[i]) == held_out_->german[i];
    return correct;
  }
  // Greedy agreement with float32 of a translator loaded with `dtype`.
  static void ExpectAgreement(Translator& t, const char* name) {
    const Outputs out = Generate(t);
    ASSERT_EQ(out.size(), f32_out_->size());
    const int same = CountEqual(out, *f32_out_);
    const int n = static_cast<int>(out.size());
    std::printf(
        "%s greedy identical to float32: %d/%d; correct German: %s %d/%d, "
        "float32 %d/%d\n",
        name, same, n, name, CorrectGerman(out), n, CorrectGerman(*f32_out_),
        n);
    EXPECT_GE(same, kMinAgreement * n) << name << ": " << same << "/" << n;
  }

  static HeldOut* held_out_;
  static Translator* f32_;
  static std::vector<std::vector<int32_t>>* sources_;
  static Outputs* f32_out_;
};
HeldOut* MarianReducedPrecisionTest::held_out_ = nullptr;
Translator* MarianReducedPrecisionTest::f32_ = nullptr;
std::vector<std::vector<int32_t>>* MarianReducedPrecisionTest::sources_ =
    nullptr;
Outputs* MarianReducedPrecisionTest::f32_out_ = nullptr;

TEST_F(MarianReducedPrecisionTest, HeldOutFixtureIsTheDemoTestSplit) {
  ASSERT_EQ(held_out_->english.size(), 1000u);  // train.py: 4 x 250
  // results.json: float32 greedy is 100% correct on this split.
  EXPECT_EQ(CorrectGerman(*f32_out_), 1000);
}

TEST_F(MarianReducedPrecisionTest, Int8GreedyMatchesFloat32) {
  LoadOptions options;
  options.dtype = DType::kInt8;
  auto t = Translator::Load(kDemo, options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dtype(), DType::kInt8);
  ExpectAgreement(**t, "int8");
}

// A measurement, not a check (Int8GreedyMatchesFloat32 checks the default
// plan): prints each plan's agreement with float32, the data behind
// MarianPrecisionPlan::For. Disabled so CI does not translate the held-out set
// five more times; run it with --gtest_also_run_disabled_tests.
TEST_F(MarianReducedPrecisionTest, DISABLED_Int8PlansAgreement) {
  auto json = JsonFile::Read(kDemo + "/config.json");
  ASSERT_TRUE(json.ok()) << json.status();
  auto config = ParseMarianConfig(*json);
  ASSERT_TRUE(config.ok()) << config.status();
  auto weights = SafetensorsWeightSource(kDemo + "/model.safetensors");
  ASSERT_TRUE(weights.ok()) << weights.status();
  struct Variant {
    const char* name;
    bool ffn_output, lm_head, encoder;
  };
  const MarianPrecisionPlan chosen = MarianPrecisionPlan::For(DType::kInt8);
  for (const Variant& v :
       {Variant{"all int8", true, true, true},
        Variant{"LM head f32", true, false, true},
        Variant{"FFN output f32", false, true, true},
        Variant{"FFN output + LM head f32", false, false, true},
        Variant{"encoder f32", true, true, false}}) {
    MarianPrecisionPlan plan = chosen;
    plan.ffn_output = v.ffn_output;
    plan.lm_head = v.lm_head;
    plan.encoder = v.encoder;
    auto model = MarianModel::Create(*config, *weights, LoadOptions{}, plan);
    ASSERT_TRUE(model.ok()) << model.status();
    MarianModel* m = model->get();
    const Outputs out = GreedyAll(*sources_, [&] {
      return std::make_unique<MarianDecodeBatch>(
          m, "the int8 model", config->decoder_start_token_id,
          LogitsRules({{config->pad_token_id}}, config->eos_token_id,
                      {config->eos_token_id}));
    });
    const int same = CountEqual(out, *f32_out_);
    const bool is_chosen = plan.ffn_output == chosen.ffn_output &&
                           plan.lm_head == chosen.lm_head &&
                           plan.encoder == chosen.encoder;
    std::printf("int8 plan %-26s: %d/%zu identical to float32%s\n", v.name,
                same, out.size(), is_chosen ? " (default)" : "");
    if (is_chosen) EXPECT_GE(same, kMinAgreement * out.size());
  }
}

// bfloat16: >= 95% identical where oneDNN has a fast bf16 matmul, else Load
// fails with FailedPrecondition naming what the CPU lacks.
TEST_F(MarianReducedPrecisionTest, BFloat16MatchesFloat32OrIsRefusedClearly) {
  LoadOptions options;
  options.dtype = DType::kBFloat16;
  auto t = Translator::Load(kDemo, options);
  if (!BFloat16MatmulSupported().ok()) {
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(t.status().message().find(
                  "bfloat16 needs a CPU with AVX-512 BF16 or AMX; this CPU "
                  "supports " +
                  OneDnnIsaName()),
              std::string::npos)
        << t.status();
    std::printf("bfloat16 refused: %s\n",
                std::string(t.status().message()).c_str());
    return;
  }
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dtype(), DType::kBFloat16);
  ExpectAgreement(**t, "bfloat16");
}

}  // namespace
}  // namespace attnserve
