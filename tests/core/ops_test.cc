// Each oneDNN op against a naive double-precision reference on random data.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/layers/attention.h"
#include "core/ops/activation.h"
#include "core/ops/compute_threads.h"
#include "core/ops/layer_norm.h"
#include "core/ops/linear.h"
#include "core/ops/packed_weight.h"
#include "core/ops/quantize.h"
#include "core/ops/softmax.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

Tensor Random(std::vector<int64_t> shape, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = dist(rng);
  return t;
}

float MaxDiff(const float* a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return static_cast<float>(m);
}

// y = act(x Wᵀ + b) + r, naive.
std::vector<double> RefLinear(const Tensor& x, const Tensor& w, const Tensor& b,
                              Activation act, const Tensor* r) {
  const int64_t m = x.dim(0), k = x.dim(1), n = w.dim(0);
  std::vector<double> y(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = b[j];
      for (int64_t p = 0; p < k; ++p) s += double(x[i * k + p]) * w[j * k + p];
      y[i * n + j] = ApplyActivation(act, static_cast<float>(s)) +
                     (r ? (*r)[i * n + j] : 0.0);
    }
  return y;
}

class LinearTest : public ::testing::TestWithParam<Activation> {};

TEST_P(LinearTest, MatchesReferenceForSeveralRowCounts) {
  DnnlContext ctx;
  const int64_t k = 48, n = 40;
  Tensor w = Random({n, k}, 1, 0.2f), b = Random({n}, 2);
  for (bool residual : {false, true}) {
    Linear lin(&ctx, w, b, {GetParam(), residual});
    for (int64_t m : {1, 7, 64, 7}) {  // 7 twice: cached primitive reused
      Tensor x = Random({m, k}, 3 + m), r = Random({m, n}, 4), y({m, n});
      lin.Forward(x.data(), m, y.data(), residual ? r.data() : nullptr);
      auto ref = RefLinear(x, w, b, GetParam(), residual ? &r : nullptr);
      EXPECT_LT(MaxDiff(y.data(), ref), 2e-5)
          << "m=" << m << " residual=" << residual;
    }
    EXPECT_EQ(lin.cached_shapes(),
              3u);  // m = 1, 7, 64: the second m = 7 reused
  }
}

INSTANTIATE_TEST_SUITE_P(
    Acts, LinearTest,
    ::testing::Values(Activation::kNone, Activation::kGeluErf,
                      Activation::kGeluTanh, Activation::kSwish,
                      Activation::kTanh, Activation::kRelu));

// int8: u8 activations (per-tensor, dynamic) × s8 weights (per channel), with
// bias, activation and residual post-ops. The error is bounded by the
// quantization steps: |Δy| <= Σ_k |x|·Δw + |w|·Δx, so compare relative to the
// output range, and require it to be far better than a wrong scale/zero point
// would give.
TEST(LinearInt8Test, MatchesF32WithinQuantizationError) {
  DnnlContext ctx;
  const int64_t k = 96, n = 40;
  Tensor w = Random({n, k}, 11, 0.2f), b = Random({n}, 12);
  for (Activation act : {Activation::kNone, Activation::kGeluErf}) {
    for (bool residual : {false, true}) {
      Linear lin(&ctx, w, b, {act, residual, DType::kInt8});
      // An optimised kernel, not oneDNN's reference loops.
      EXPECT_EQ(lin.ImplInfo(8).find("ref"), std::string::npos)
          << lin.ImplInfo(8);
      for (int64_t m : {1, 8, 33}) {
        // Shifted inputs: the zero point matters.
        Tensor x = Random({m, k}, 13 + m), r = Random({m, n}, 14), y({m, n});
        for (int64_t i = 0; i < x.numel(); ++i) x[i] += 0.7f;
        lin.Forward(x.data(), m, y.data(), residual ? r.data() : nullptr);
        auto ref = RefLinear(x, w, b, act, residual ? &r : nullptr);
        double range = 0;
        for (double v : ref) range = std::max(range, std::abs(v));
        EXPECT_LT(MaxDiff(y.data(), ref), 0.03 * range)
            << "m=" << m << " residual=" << residual
            << " act=" << static_cast<int>(act);
      }
    }
  }
}

TEST(QuantizeTest, U8RoundTripAndS8Rows) {
  const std::vector<float> x = {-1.f, -0.25f, 0.f, 0.5f, 3.f};
  const U8Quant p = ChooseU8Quant(x.data(), x.size());
  std::vector<uint8_t> q(x.size());
  QuantizeU8(x.data(), x.size(), p, q.data());
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[4], 255);
  EXPECT_EQ(q[2], p.zero_point);  // 0 is exact
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(p.scale * (q[i] - p.zero_point), x[i], p.scale / 2 + 1e-6);
  const std::vector<float> w = {0.5f, -1.f, 0.25f, 2.f, 0.f, -2.f};
  std::vector<int8_t> wq(6);
  std::vector<float> scales(2);
  QuantizeRowsS8(w.data(), 2, 3, 63, wq.data(), scales.data());
  EXPECT_EQ(wq[1], -63);
  EXPECT_EQ(wq[3], 63);
  EXPECT_EQ(wq[5], -63);
  EXPECT_FLOAT_EQ(scales[0], 1.f / 63);
  EXPECT_EQ(FloatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBf16(1.00390625f), 0x3f80);  // tie -> even
}

// bfloat16 either has a fast kernel or says clearly why not.
TEST(Bf16Test, SupportedOrClearError) {
  const absl::Status s = BFloat16MatmulSupported();
  if (s.ok()) {
    DnnlContext ctx;
    Tensor w = Random({16, 32}, 21, 0.2f), b = Random({16}, 22);
    Linear lin(&ctx, w, b, {Activation::kNone, false, DType::kBFloat16});
    Tensor x = Random({4, 32}, 23), y({4, 16});
    lin.Forward(x.data(), 4, y.data());
    EXPECT_LT(MaxDiff(y.data(), RefLinear(x, w, b, Activation::kNone, nullptr)),
              0.05);
  } else {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(s.message().find("bfloat16 needs a CPU with AVX-512 BF16 or AMX"),
              std::string::npos)
        << s;
    EXPECT_NE(s.message().find(OneDnnIsaName()), std::string::npos) << s;
  }
}

// The context's thread count is applied in the thread that executes.
TEST(ComputeThreadsTest, ContextAppliesItsThreadCount) {
  if (!ComputeThreadsControllable()) GTEST_SKIP() << "oneDNN without OpenMP";
  DnnlContext ctx(1);
  Linear lin(&ctx, Random({8, 8}, 31), Tensor(), {});
  Tensor x = Random({2, 8}, 32), y({2, 8});
  SetComputeThreadsOfThisThread(2);
  lin.Forward(x.data(), 2, y.data());
  EXPECT_EQ(ComputeThreadsOfThisThread(), 1);
  ctx.set_threads(2);
  lin.Forward(x.data(), 2, y.data());
  EXPECT_EQ(ComputeThreadsOfThisThread(), 2);
}

// A weight packed for the matmul kernels gives back the same values in any
// other layout (a primitive wanting another layout is served from the first
// packed copy, the plain weight being gone).
TEST(PackedWeightTest, AnotherLayoutHoldsTheSameValues) {
  DnnlContext ctx;
  Tensor w = Random({48, 40}, 41);  // [out,in]
  using dt = dnnl::memory::data_type;
  const dnnl::memory::desc plain({40, 48}, dt::f32, {1, 40});
  dnnl::matmul::primitive_desc pd(
      dnnl::matmul::desc(
          PlainDesc({16, 40}),
          dnnl::memory::desc({40, 48}, dt::f32, dnnl::memory::format_tag::any),
          PlainDesc({16, 48})),
      ctx.engine());
  PackedWeight packed(&ctx, plain, w.data(), pd.weights_desc());
  EXPECT_EQ(packed.For(pd.weights_desc()), packed.For(pd.weights_desc()));
  const dnnl::memory::desc row_major({40, 48}, dt::f32, {48, 1});
  const float* t = static_cast<const float*>(packed.For(row_major));
  for (int64_t k = 0; k < 40; ++k)
    for (int64_t n = 0; n < 48; ++n) ASSERT_EQ(t[k * 48 + n], w[n * 40 + k]);
}

// Every precision through the packed weight, at one row (decoder) and many.
TEST(LinearTest, PackedWeightsAtOneAndManyRows) {
  DnnlContext ctx;
  Tensor w = Random({96, 64}, 51, 0.2f), b = Random({96}, 52);
  // Error bound relative to the output range (f32: rounding only).
  std::vector<std::pair<DType, double>> precisions = {{DType::kFloat32, 1e-6},
                                                      {DType::kInt8, 0.03}};
  if (BFloat16MatmulSupported().ok())
    precisions.push_back({DType::kBFloat16, 0.02});
  for (const auto& [dtype, tolerance] : precisions) {
    Linear lin(&ctx, w, b, {Activation::kNone, false, dtype});
    for (int64_t m : {1, 3, 37}) {
      Tensor x = Random({m, 64}, 53 + m), y({m, 96});
      lin.Forward(x.data(), m, y.data());
      const auto ref = RefLinear(x, w, b, Activation::kNone, nullptr);
      double range = 0;
      for (double v : ref) range = std::max(range, std::abs(v));
      EXPECT_LT(MaxDiff(y.data(), ref), tolerance * range)
          << DTypeToString(dtype) << " rows " << m;
    }
  }
}

TEST(LinearTest, NoBias) {
  DnnlContext ctx;
  Tensor w = Random({8, 5}, 9), x = Random({3, 5}, 10), y({3, 8});
  Linear lin(&ctx, w, Tensor(), {});
  lin.Forward(x.data(), 3, y.data());
  Tensor zero({8});
  for (int i = 0; i < 8; ++i) zero[i] = 0;
  EXPECT_LT(
      MaxDiff(y.data(), RefLinear(x, w, zero, Activation::kNone, nullptr)),
      1e-5);
}

TEST(ActivationTest, ParsesHfNamesAndRejectsUnknown) {
  EXPECT_EQ(*ParseHfActivation("gelu"), Activation::kGeluErf);
  EXPECT_EQ(*ParseHfActivation("swish"), Activation::kSwish);
  EXPECT_EQ(*ParseHfActivation("silu"), Activation::kSwish);
  EXPECT_FALSE(ParseHfActivation("quick_gelu").ok());
}

TEST(LayerNormTest, MatchesReference) {
  DnnlContext ctx;
  const int64_t n = 64;
  Tensor g = Random({n}, 5), b = Random({n}, 6);
  LayerNorm ln(&ctx, g, b, 1e-12f);
  for (int64_t m : {1, 13}) {
    Tensor x = Random({m, n}, 7, 3.0f), y({m, n});
    ln.Forward(x.data(), m, y.data());
    std::vector<double> ref(m * n);
    for (int64_t i = 0; i < m; ++i) {
      double mean = 0, var = 0;
      for (int64_t j = 0; j < n; ++j) mean += x[i * n + j];
      mean /= n;
      for (int64_t j = 0; j < n; ++j)
        var += (x[i * n + j] - mean) * (x[i * n + j] - mean);
      var /= n;
      for (int64_t j = 0; j < n; ++j)
        ref[i * n + j] =
            (x[i * n + j] - mean) / std::sqrt(var + 1e-12) * g[j] + b[j];
    }
    EXPECT_LT(MaxDiff(y.data(), ref), 1e-5);
    ln.Forward(x.data(), m, x.data());  // in place
    EXPECT_LT(MaxDiff(x.data(), ref), 1e-5);
  }
}

TEST(SoftmaxTest, MatchesReferenceAndHandlesLowestMask) {
  DnnlContext ctx;
  Softmax sm(&ctx);
  Tensor x = Random({5, 9}, 8, 4.0f);
  x[3] = std::numeric_limits<float>::lowest();
  std::vector<double> ref(45);
  for (int i = 0; i < 5; ++i) {
    double mx = -1e300, s = 0;
    for (int j = 0; j < 9; ++j) mx = std::max(mx, double(x[i * 9 + j]));
    for (int j = 0; j < 9; ++j) s += std::exp(x[i * 9 + j] - mx);
    for (int j = 0; j < 9; ++j)
      ref[i * 9 + j] = std::exp(x[i * 9 + j] - mx) / s;
  }
  sm.Forward(x.data(), 5, 9);
  EXPECT_LT(MaxDiff(x.data(), ref), 1e-6);
  EXPECT_EQ(x[3], 0.0f);
}

// Naive multi-head attention per sequence of a ragged batch: out = x +
// Wo·concat_h softmax(qkᵀ/√d)v over the sequence's own tokens. x is laid out
// padded [batch·len, hidden] for the reference (padded rows are never read)
// and packed (see PackedLayout) for the layer; two sequences share a length
// (one LengthGroup of 2).
TEST(AttentionTest, PackedSelfAttentionMatchesNaiveReference) {
  DnnlContext ctx;
  const int hidden = 32, heads = 4, dk = 8, batch = 4, len = 6;
  AttentionWeights w{Random({hidden, hidden}, 20, 0.3f), Random({hidden}, 21),
                     Random({hidden, hidden}, 22, 0.3f), Random({hidden}, 23),
                     Random({hidden, hidden}, 24, 0.3f), Random({hidden}, 25),
                     Random({hidden, hidden}, 26, 0.3f), Random({hidden}, 27)};
  const AttentionWeights copy = w;
  MultiHeadAttention mha(&ctx, hidden, heads, std::move(w), {});
  Tensor x = Random({batch * len, hidden}, 28);
  const std::vector<int> lengths = {6, 3, 1, 3};
  std::vector<int32_t> mask(batch * len);
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t < len; ++t) mask[b * len + t] = t < lengths[b];
  PackedLayout layout;
  layout.Build(lengths);
  ASSERT_EQ(layout.groups().size(), 3u);
  Tensor packed({layout.rows(), hidden}), out({layout.rows(), hidden});
  for (int b = 0; b < batch; ++b)
    std::copy_n(x.data() + b * len * hidden, lengths[b] * hidden,
                packed.data() + layout.first_row(b) * hidden);
  AttentionScratch scratch;
  mha.SelfAttention(packed.data(), layout, out.data(), &scratch);

  auto q = RefLinear(x, copy.q_w, copy.q_b, Activation::kNone, nullptr);
  auto k = RefLinear(x, copy.k_w, copy.k_b, Activation::kNone, nullptr);
  auto v = RefLinear(x, copy.v_w, copy.v_b, Activation::kNone, nullptr);
  Tensor ctxv({batch * len, hidden});
  for (int b = 0; b < batch; ++b)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < len; ++i) {
        std::vector<double> p(len);
        double mx = -1e300, s = 0;
        for (int j = 0; j < len; ++j) {
          if (!mask[b * len + j]) {
            p[j] = -1e300;
            continue;
          }
          double d = 0;
          for (int e = 0; e < dk; ++e)
            d += q[(b * len + i) * hidden + h * dk + e] *
                 k[(b * len + j) * hidden + h * dk + e];
          p[j] = d / std::sqrt(double(dk));
          mx = std::max(mx, p[j]);
        }
        for (int j = 0; j < len; ++j)
          s += (p[j] = mask[b * len + j] ? std::exp(p[j] - mx) : 0);
        for (int e = 0; e < dk; ++e) {
          double acc = 0;
          for (int j = 0; j < len; ++j)
            acc += p[j] / s * v[(b * len + j) * hidden + h * dk + e];
          ctxv[(b * len + i) * hidden + h * dk + e] = static_cast<float>(acc);
        }
      }
  auto ref = RefLinear(ctxv, copy.o_w, copy.o_b, Activation::kNone, &x);
  for (int b = 0; b < batch; ++b) {
    const std::vector<double> want(
        ref.begin() + b * len * hidden,
        ref.begin() + (b * len + lengths[b]) * hidden);
    EXPECT_LT(MaxDiff(out.data() + layout.first_row(b) * hidden, want), 1e-4)
        << "sequence " << b;
  }
}

}  // namespace
}  // namespace attnserve
