// The weight files Hub folders ship (tests/data/weights, made by
// tools/oracle/make_weight_fixtures.py with torch/transformers/
// sentence-transformers): model.safetensors, sharded safetensors and
// pytorch_model.bin (f32 and f16) load to the same tensors and to the
// embeddings SentenceTransformer(folder).encode gives; the .bin reader runs no
// pickle code and refuses anything but a tensor state dict; damaged files are
// errors naming the file. (pytorch_model.bin.index.json: bert-bin-sharded.)
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/models/safetensors.h"
#include "core/models/sentence_encoder.h"
#include "core/models/torch_checkpoint.h"
#include "core/models/torch_pickle.h"
#include "core/models/transformer_encoder.h"
#include "core/models/weight_reader.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/safetensors_writer.h"

namespace attnserve {
namespace {

namespace fs = std::filesystem;
using ::attnserve::testing::TempDir;
using ::attnserve::testing::WriteFile;

const std::string kData = std::string(ATTNSERVE_TEST_DATA_DIR) + "/weights";

std::string Path(const std::string& name) { return kData + "/" + name; }

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

nlohmann::json References() {
  std::ifstream in(Path("references.json"));
  return nlohmann::json::parse(in);
}

bool Contains(const absl::Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

// A copy of folder `name` in a fresh temp dir.
std::string CopyFolder(const std::string& name, const std::string& tag) {
  const std::string dir = TempDir(tag);
  fs::remove_all(dir);
  fs::copy(Path(name), dir, fs::copy_options::recursive);
  return dir;
}

TEST(WeightFilesTest, FixturesAreSmallAndShardedIntoSeveralFiles) {
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(kData))
    if (e.is_regular_file()) bytes += e.file_size();
  EXPECT_LT(bytes, 1u << 20);
  const nlohmann::json refs = References();
  for (const char* folder : {"bert-sharded", "bert-bin-sharded"}) {
    const nlohmann::json& files = refs["folders"][folder]["weights"];
    EXPECT_GE(files.size(), 4u) << files;  // >= 3 shards + the index
  }
}

// Every tensor of model.safetensors reads the same from the other files:
// bit for bit from the sharded safetensors and the f32 .bin (single and
// sharded), rounded to f16 (converted to f32 at load) from the f16 .bin.
TEST(WeightFilesTest, EveryFileReadsTheSameTensors) {
  auto base = SafetensorsFile::Open(Path("bert-safetensors/model.safetensors"));
  ASSERT_TRUE(base.ok()) << base.status();
  ASSERT_GE((*base)->Names().size(), 20u);
  for (const std::string folder :
       {"bert-sharded", "bert-bin", "bert-bin-sharded", "bert-bin-f16"}) {
    auto source = FolderWeightSource(Path(folder));
    ASSERT_TRUE(source.ok()) << source.status();
    float max_rounding = 0;
    for (const std::string& name : (*base)->Names()) {
      auto want = (*base)->ReadFloat(name);
      ASSERT_TRUE(want.ok()) << want.status();
      ASSERT_TRUE(source->has(name)) << folder << " " << name;
      auto got = source->read(name, want->shape());
      ASSERT_TRUE(got.ok()) << got.status();
      for (int64_t i = 0; i < want->numel(); ++i) {
        const float w = (*want)[i], g = (*got)[i];
        if (std::string(folder) == "bert-bin-f16") {
          // Round to nearest f16: at most half an ulp (2^-11 relative),
          // 2^-25 absolute among the subnormals.
          ASSERT_LE(std::abs(g - w), std::abs(w) * 0x1p-11f + 0x1p-25f)
              << folder << " " << name << "[" << i << "]";
          max_rounding = std::max(max_rounding, std::abs(g - w));
        } else {
          ASSERT_EQ(g, w) << folder << " " << name << "[" << i << "]";
        }
      }
    }
    if (std::string(folder) == "bert-bin-f16") {
      EXPECT_GT(max_rounding, 0.0f) << "the f16 file holds f32 values?";
    }
  }
}

class WeightFileEmbeddingTest : public ::testing::TestWithParam<std::string> {};

// SentenceEncoder::Load of each folder gives the vectors
// SentenceTransformer(folder).encode gave (f16 weights: computed in f32 by
// both).
TEST_P(WeightFileEmbeddingTest, EqualsSentenceTransformers) {
  const nlohmann::json refs = References();
  auto tensors = SafetensorsFile::Open(Path("references.safetensors"));
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  auto encoder = SentenceEncoder::Load(Path(GetParam()));
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  std::vector<std::vector<int32_t>> ids;
  for (const auto& text : refs["texts"]) {
    auto enc = (*encoder)->Tokenize(text.get<std::string>(), /*truncate=*/true);
    ASSERT_TRUE(enc.ok()) << enc.status();
    ids.push_back(enc->ids);
  }
  std::vector<absl::Span<const int32_t>> batch(ids.begin(), ids.end());
  auto got = (*encoder)->Embed(batch, (*encoder)->default_pooling(),
                               (*encoder)->default_normalize());
  ASSERT_TRUE(got.ok()) << got.status();
  auto want = (*tensors)->ReadFloat(GetParam() + ".embedding");
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_EQ(static_cast<int64_t>(got->size()), want->dim(0));
  const int64_t dim = want->dim(1);
  float diff = 0;
  for (size_t b = 0; b < got->size(); ++b)
    for (int64_t d = 0; d < dim; ++d)
      diff = std::max(diff, std::abs((*got)[b][d] - (*want)[b * dim + d]));
  EXPECT_LE(diff, 1e-5f) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Folders, WeightFileEmbeddingTest,
                         ::testing::Values("bert-safetensors", "bert-sharded",
                                           "bert-bin", "bert-bin-sharded",
                                           "bert-bin-f16"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

// The f16 reference must differ from the f32 one, or the f16 test above
// would pass reading the f32 weights.
TEST(WeightFilesTest, F16ReferenceDiffersFromF32) {
  auto tensors = SafetensorsFile::Open(Path("references.safetensors"));
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  auto f32 = (*tensors)->ReadFloat("bert-bin.embedding");
  auto f16 = (*tensors)->ReadFloat("bert-bin-f16.embedding");
  ASSERT_TRUE(f32.ok() && f16.ok());
  float diff = 0;
  for (int64_t i = 0; i < f32->numel(); ++i)
    diff = std::max(diff, std::abs((*f32)[i] - (*f16)[i]));
  EXPECT_GT(diff, 1e-5f);
}

// --- load order and sharded-index errors ---

TEST(WeightFilesTest, LoadPrefersSafetensorsThenTheIndexThenTheBin) {
  const std::string dir = CopyFolder("bert-sharded", "order");
  // Index present, a broken .bin beside it: the index is read.
  WriteFile(dir + "/pytorch_model.bin", "not a zip");
  EXPECT_TRUE(TransformerEncoder::Load(dir).ok());
  // A broken model.safetensors comes first, whatever else is there.
  WriteFile(dir + "/model.safetensors", "garbage");
  auto m = TransformerEncoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), dir + "/model.safetensors")) << m.status();
  fs::remove(dir + "/model.safetensors");
  fs::remove(dir + "/model.safetensors.index.json");
  m = TransformerEncoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), dir + "/pytorch_model.bin")) << m.status();
  fs::remove(dir + "/pytorch_model.bin");
  m = TransformerEncoder::Load(dir);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  for (const char* name :
       {"model.safetensors", "model.safetensors.index.json",
        "pytorch_model.bin", "pytorch_model.bin.index.json"}) {
    EXPECT_TRUE(Contains(m.status(), name)) << m.status();
  }
}

// Rewrites the copied index's weight_map with `edit`.
std::string EditedIndex(const std::string& tag,
                        void (*edit)(nlohmann::json& map)) {
  const std::string dir = CopyFolder("bert-sharded", tag);
  const std::string index = dir + "/model.safetensors.index.json";
  nlohmann::json j = nlohmann::json::parse(ReadBytes(index));
  edit(j["weight_map"]);
  WriteFile(index, j.dump());
  return dir;
}

TEST(WeightFilesTest, ShardedErrorsNameTheIndexAndTheShardOrTensor) {
  const std::string tensor = "encoder.layer.1.output.dense.bias";
  std::string dir = EditedIndex("missing_shard", [](nlohmann::json& map) {
    map["encoder.layer.1.output.dense.bias"] =
        "model-00009-of-00009.safetensors";
  });
  auto m = TransformerEncoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), "model.safetensors.index.json"))
      << m.status();
  EXPECT_TRUE(Contains(m.status(), "model-00009-of-00009.safetensors"));
  EXPECT_TRUE(Contains(m.status(), tensor));

  dir = EditedIndex("wrong_shard", [](nlohmann::json& map) {
    const std::string other = map["embeddings.word_embeddings.weight"];
    for (auto& [name, shard] : map.items())
      if (shard != other) {
        map[name] = other;
        break;
      }
  });
  m = TransformerEncoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), "does not contain it")) << m.status();

  dir = EditedIndex("dropped", [](nlohmann::json& map) {
    map.erase("encoder.layer.1.output.dense.bias");
  });
  m = TransformerEncoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), "model.safetensors.index.json"))
      << m.status();
  EXPECT_TRUE(Contains(m.status(), tensor));

  dir = EditedIndex("escape", [](nlohmann::json& map) {
    map["encoder.layer.1.output.dense.bias"] = "../bert-bin/model.safetensors";
  });
  m = TransformerEncoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), "not a file name in the index's folder"))
      << m.status();
}

// --- the .bin reader ---

TEST(TorchCheckpointTest, ReadsEveryDtypeAndLayoutTorchSaves) {
  auto bin = TorchCheckpoint::Open(Path("tensors.bin"));
  ASSERT_TRUE(bin.ok()) << bin.status();
  auto expected = SafetensorsFile::Open(Path("tensors.expected.safetensors"));
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_EQ((*bin)->Names().size(), 10u);
  for (const std::string& name : (*expected)->Names()) {
    auto want = (*expected)->ReadFloat(name);
    ASSERT_TRUE(want.ok());
    auto got = (*bin)->ReadFloat(name, want->shape());
    if (name == "transposed") {
      ASSERT_FALSE(got.ok());
      EXPECT_TRUE(Contains(got.status(), "tensors.bin: tensor 'transposed'"))
          << got.status();
      EXPECT_TRUE(Contains(got.status(), "not contiguous")) << got.status();
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.status();
    for (int64_t i = 0; i < want->numel(); ++i)
      ASSERT_EQ((*got)[i], (*want)[i]) << name << "[" << i << "]";
  }
  EXPECT_EQ((*(*bin)->Find("view_tail"))->storage_offset, 6);
  EXPECT_EQ((*(*bin)->Find("view_tail"))->storage_key,
            (*(*bin)->Find("view_head"))->storage_key);
  for (const char* name : {"i64", "i32"}) {
    auto got = (*bin)->ReadFloat(name);
    ASSERT_FALSE(got.ok()) << name;
    EXPECT_TRUE(Contains(got.status(), "expected a float type"))
        << got.status();
  }
}

TEST(TorchCheckpointTest, MaliciousPicklesAreRefusedWithoutRunningThem) {
  const nlohmann::json markers = References()["markers"];
  for (const auto& [file, global] :
       std::vector<std::pair<std::string, std::string>>{
           {"malicious-posix.bin", "posix.system"},
           {"malicious-os.bin", "os.system"}}) {
    const std::string marker = markers[file].get<std::string>();
    fs::remove(marker);
    auto bin = TorchCheckpoint::Open(Path(file));
    ASSERT_FALSE(bin.ok()) << file;
    EXPECT_EQ(bin.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(bin.status(), Path(file))) << bin.status();
    EXPECT_TRUE(Contains(bin.status(), "GLOBAL")) << bin.status();
    EXPECT_TRUE(Contains(bin.status(), "'" + global + "' is not allowed"))
        << bin.status();
    EXPECT_FALSE(fs::exists(marker)) << "the payload ran: " << marker;
  }
}

// Bytes of a literal, NULs included. (Write "\x00" "a", not "\x00a": a hex
// escape runs on over every hex digit.)
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// A minimal state dict as torch.save pickles it: {"w": float tensor [2]}.
std::string TinyStateDictPickle() {
  return Bytes(
      "\x80\x02}q\x00(X\x01\x00\x00\x00wq\x01"
      "ctorch._utils\n_rebuild_tensor_v2\nq\x02"
      "((X\x07\x00\x00\x00storageq\x03"
      "ctorch\nFloatStorage\nq\x04"
      "X\x01\x00\x00\x00"
      "0X\x03\x00\x00\x00"
      "cpuK\x02tQ"
      "K\x00K\x02\x85K\x01\x85\x89"
      "ccollections\nOrderedDict\n)RtRu.");
}

TEST(TorchPickleTest, ReadsAHandWrittenStateDictAndNoPrefixOfIt) {
  const std::string pickle = TinyStateDictPickle();
  ASSERT_EQ(pickle.back(), '.');
  auto sd = ParseTorchStateDict(pickle, "tiny.pkl");
  ASSERT_TRUE(sd.ok()) << sd.status();
  ASSERT_EQ(sd->size(), 1u);
  const TorchTensorRef& w = sd->at("w");
  EXPECT_EQ(w.shape, std::vector<int64_t>{2});
  EXPECT_EQ(w.stride, std::vector<int64_t>{1});
  EXPECT_EQ(w.storage_key, "0");
  EXPECT_EQ(w.storage_numel, 2);
  EXPECT_EQ(w.dtype, StDType::kF32);
  for (size_t n = 0; n < pickle.size(); ++n) {
    auto cut = ParseTorchStateDict(pickle.substr(0, n), "tiny.pkl");
    ASSERT_FALSE(cut.ok()) << n;
    EXPECT_TRUE(Contains(cut.status(), "tiny.pkl")) << cut.status();
  }
}

TEST(TorchPickleTest, RefusalsNameTheOpcodeAndOffset) {
  struct Bad {
    std::string pickle, message;
  };
  const std::vector<Bad> cases = {
      {Bytes("\x80\x02}\xff."), "opcode 0xff (not a pickle opcode) at byte 3"},
      {Bytes("\x80\x02}\x81."), "opcode 0x81 (NEWOBJ) at byte 3"},
      {Bytes("\x80\x02"
             "cbuiltins\neval\n)R."),
       "'builtins.eval' is not allowed"},
      {Bytes("\x80\x02"
             "ctorch\nload\n)R."),
       "'torch.load' is not allowed"},
      {Bytes("\x80\x02}X\x01\x00\x00\x00"
             "aK\x01s."),
       "'a' is of type int, not a tensor"},
      {Bytes("\x80\x02}q\x00h\x00h\x00s."), "already stored"},
      {Bytes("\x80\x02"
             "ccollections\nOrderedDict\nK\x01\x85R."),
       "OrderedDict with arguments"},
      {Bytes("\x80\x09}."), "pickle protocol 9"},
  };
  for (const Bad& c : cases) {
    auto sd = ParseTorchStateDict(c.pickle, "bad.pkl");
    ASSERT_FALSE(sd.ok()) << c.message;
    EXPECT_EQ(sd.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(sd.status(), "bad.pkl: ")) << sd.status();
    EXPECT_TRUE(Contains(sd.status(), c.message)) << sd.status();
  }
  // Nesting is bounded (destruction of nested values recurses).
  std::string deep = Bytes("\x80\x02)");
  for (int i = 0; i < 200; ++i) deep += "\x85";
  auto sd = ParseTorchStateDict(deep + ".", "deep.pkl");
  ASSERT_FALSE(sd.ok());
  EXPECT_TRUE(Contains(sd.status(), "nested deeper than")) << sd.status();
}

TEST(TorchCheckpointTest, DamagedFilesAreErrorsNamingTheFile) {
  const std::string good = ReadBytes(Path("bert-bin/pytorch_model.bin"));
  ASSERT_GT(good.size(), 1000u);
  const std::string dir = TempDir("damaged_bin");
  const std::string path = dir + "/pytorch_model.bin";

  WriteFile(path, good.substr(0, good.size() / 2));
  auto bin = TorchCheckpoint::Open(path);
  ASSERT_FALSE(bin.ok());
  EXPECT_TRUE(Contains(bin.status(), path)) << bin.status();

  // A flipped byte inside a storage: the entry's CRC fails when the tensor
  // that covers it is read.
  auto base = SafetensorsFile::Open(Path("bert-safetensors/model.safetensors"));
  ASSERT_TRUE(base.ok());
  const std::string name = "encoder.layer.0.intermediate.dense.weight";
  auto values = (*base)->ReadFloat(name);
  ASSERT_TRUE(values.ok());
  const std::string needle(reinterpret_cast<const char*>(values->data()), 64);
  const size_t at = good.find(needle);
  ASSERT_NE(at, std::string::npos);
  std::string flipped = good;
  flipped[at + 10] ^= 0x40;
  WriteFile(path, flipped);
  bin = TorchCheckpoint::Open(path);
  ASSERT_TRUE(bin.ok()) << bin.status();
  auto read = (*bin)->ReadFloat(name);
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(Contains(read.status(), path)) << read.status();
  EXPECT_TRUE(Contains(read.status(), name)) << read.status();

  // torch.save before 1.6: a bare pickle, named as such.
  WriteFile(path, TinyStateDictPickle());
  bin = TorchCheckpoint::Open(path);
  ASSERT_FALSE(bin.ok());
  EXPECT_TRUE(Contains(bin.status(), "before PyTorch 1.6")) << bin.status();

  bin = TorchCheckpoint::Open(dir + "/absent.bin");
  EXPECT_EQ(bin.status().code(), absl::StatusCode::kNotFound) << bin.status();
}

}  // namespace
}  // namespace attnserve
