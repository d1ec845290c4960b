// The unpadded (packed) encoder: a ragged batch gives each text the embedding
// it gets alone, in request order, in every precision; the layout and the
// bounded primitive cache it relies on.
#include <algorithm>
#include <cmath>
#include <random>

#include "core/layers/packed_layout.h"
#include "core/models/sentence_encoder.h"
#include "core/models/transformer_encoder.h"
#include "core/ops/primitive_cache.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

const std::string kFolder = std::string(ATTNSERVE_TEST_DATA_DIR) + "/bert-tiny";

// Texts of mixed lengths in no particular order, with repeated lengths (length
// groups of several sequences) and the longest the model takes.
std::vector<std::vector<int32_t>> MixedTexts() {
  const int lengths[] = {5, 17, 3, 17, 40, 5, 128, 2, 17, 61, 1, 40};
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> id(5, 2778);
  std::vector<std::vector<int32_t>> texts;
  for (int n : lengths) {
    std::vector<int32_t> t(n);
    for (int32_t& x : t) x = id(rng);
    texts.push_back(std::move(t));
  }
  return texts;
}

float MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t j = 0; j < a.size(); ++j) m = std::max(m, std::abs(a[j] - b[j]));
  return m;
}

class PackedEncoderTest : public ::testing::TestWithParam<DType> {};

TEST_P(PackedEncoderTest, RaggedBatchEqualsEachTextAloneInRequestOrder) {
  LoadOptions o;
  o.dtype = GetParam();
  auto enc = SentenceEncoder::Load(kFolder, o);
  ASSERT_TRUE(enc.ok()) << enc.status();
  const auto texts = MixedTexts();
  std::vector<absl::Span<const int32_t>> batch(texts.begin(), texts.end());
  // weightedmean and lasttoken read positions: within each text, not the packed
  // row.
  for (int m = 0; m < kPoolingModeCount; ++m) {
    const Pooling mode = static_cast<Pooling>(m);
    auto together = (*enc)->Embed(batch, mode, /*normalize=*/true);
    ASSERT_TRUE(together.ok()) << together.status();
    ASSERT_EQ(together->size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      auto alone = (*enc)->Embed({batch[i]}, mode, /*normalize=*/true);
      ASSERT_TRUE(alone.ok()) << alone.status();
      EXPECT_LT(MaxDiff((*together)[i], (*alone)[0]), 1e-5)
          << "text " << i << " (" << texts[i].size() << " tokens), pooling "
          << PoolingName(mode);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, PackedEncoderTest,
                         ::testing::Values(DType::kFloat32, DType::kInt8));

TEST(PackedEncoderTest, PaddedForwardEqualsPackedRowsAndZeroesPadding) {
  auto model = TransformerEncoder::Load(kFolder);
  ASSERT_TRUE(model.ok()) << model.status();
  const auto texts = MixedTexts();
  std::vector<absl::Span<const int32_t>> seqs(texts.begin(), texts.end());
  PackedLayout layout;
  Tensor packed;
  ASSERT_TRUE((*model)->ForwardPacked(seqs, &layout, &packed).ok());
  const int batch = static_cast<int>(texts.size()), len = 128, h = 64;
  EXPECT_EQ(layout.rows(), packed.dim(0));
  std::vector<int32_t> ids(batch * len, 0), mask(batch * len, 0);
  for (int b = 0; b < batch; ++b) {
    std::copy(texts[b].begin(), texts[b].end(), ids.begin() + b * len);
    std::fill_n(mask.begin() + b * len, texts[b].size(), 1);
  }
  Tensor padded;
  ASSERT_TRUE((*model)->Forward(ids, mask, batch, len, &padded).ok());
  ASSERT_EQ(padded.shape(), (std::vector<int64_t>{batch, len, h}));
  for (int b = 0; b < batch; ++b) {
    const float* row = padded.data() + b * len * h;
    const float* want = packed.data() + layout.first_row(b) * h;
    const int n = layout.length(b) * h;
    ASSERT_EQ(layout.length(b), static_cast<int>(texts[b].size()));
    EXPECT_TRUE(std::equal(row, row + n, want)) << "text " << b;
    EXPECT_TRUE(
        std::all_of(row + n, row + len * h, [](float x) { return x == 0.f; }))
        << "padding of text " << b;
  }
}

TEST(PackedEncoderTest, RejectsMaskThatIsNotRightPadded) {
  auto model = TransformerEncoder::Load(kFolder);
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<int32_t> ids = {2, 7, 3, 0}, mask = {0, 1, 1, 1};
  Tensor out;
  absl::Status s = (*model)->Forward(ids, mask, 1, 4, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("right-padded"), std::string::npos) << s;
}

TEST(PackedLayoutTest, LongestFirstEqualLengthsContiguous) {
  PackedLayout layout;
  const std::vector<int> lengths = {3, 7, 3, 0, 7, 1};
  layout.Build(lengths);
  EXPECT_EQ(layout.rows(), 21);
  // Packed order: 7 (#1), 7 (#4), 3 (#0), 3 (#2), 1 (#5), 0 (#3).
  const std::vector<int64_t> want_first = {14, 0, 17, 21, 7, 20};
  for (int i = 0; i < layout.sequences(); ++i) {
    EXPECT_EQ(layout.first_row(i), want_first[i]) << i;
    EXPECT_EQ(layout.length(i), lengths[i]) << i;
  }
  ASSERT_EQ(layout.groups().size(), 3u);  // no group for the empty sequence
  const LengthGroup want[] = {{0, 2, 7}, {14, 2, 3}, {20, 1, 1}};
  for (int g = 0; g < 3; ++g) {
    EXPECT_EQ(layout.groups()[g].first_row, want[g].first_row) << g;
    EXPECT_EQ(layout.groups()[g].count, want[g].count) << g;
    EXPECT_EQ(layout.groups()[g].len, want[g].len) << g;
  }
}

TEST(PrimitiveCacheTest, ReusesEntriesAndDropsTheLeastRecentlyUsed) {
  PrimitiveCache<int> cache(2);
  int made = 0;
  auto get = [&](int64_t k) {
    return cache.GetOrCreate({k}, [&] { return static_cast<int>(++made); });
  };
  EXPECT_EQ(get(1), 1);
  EXPECT_EQ(get(2), 2);
  EXPECT_EQ(get(1), 1);  // hit: 1 is now the most recent
  EXPECT_EQ(get(3), 3);  // evicts 2
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(get(1), 1);
  EXPECT_EQ(get(2), 4);  // recreated
  EXPECT_EQ(made, 4);
}

}  // namespace
}  // namespace attnserve
