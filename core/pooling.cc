#include "core/pooling.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/models/hf_config.h"

namespace attnserve {
namespace {

absl::Status ReadPoolingModule(const std::string& path, PoolingConfig* c) {
  auto f = JsonFile::Read(path);
  if (!f.ok()) return f.status();
  int modes = 0;
  const std::pair<const char*, Pooling> known[] = {
      {"pooling_mode_mean_tokens", Pooling::kMean},
      {"pooling_mode_cls_token", Pooling::kCls},
      {"pooling_mode_max_tokens", Pooling::kMax}};
  for (const auto& [key, mode] : known) {
    auto on = f->GetBool(key, false);
    if (!on.ok()) return on.status();
    if (*on) c->mode = mode, ++modes;
  }
  for (const char* key :
       {"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken"}) {
    auto on = f->GetBool(key, false);
    if (!on.ok()) return on.status();
    if (*on) {
      return absl::UnimplementedError(absl::StrCat(
          path, ": ", key, " is not supported (use mean, cls or max)"));
    }
  }
  if (modes != 1) {
    return absl::UnimplementedError(
        absl::StrCat(path,
                     ": exactly one of pooling_mode_mean_tokens / cls_token / "
                     "max_tokens must be true (",
                     modes, " are)"));
  }
  auto prompt = f->GetBool("include_prompt", true);
  if (!prompt.ok()) return prompt.status();
  c->include_prompt = *prompt;
  return absl::OkStatus();
}

absl::Status ReadModules(const std::string& folder, PoolingConfig* c) {
  const std::string path = JoinPath(folder, "modules.json");
  std::string pooling_path;
  try {
    std::ifstream in(path);
    nlohmann::json modules = nlohmann::json::parse(in);
    for (const auto& m : modules) {
      const std::string type = m.at("type").get<std::string>();
      if (absl::EndsWith(type, ".Transformer")) continue;
      if (absl::EndsWith(type, ".Pooling")) {
        pooling_path = m.at("path").get<std::string>();
      } else if (absl::EndsWith(type, ".Normalize")) {
        c->normalize = true;
      } else {
        return absl::UnimplementedError(absl::StrCat(
            path, ": module type \"", type, "\" is not supported"));
      }
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid modules.json: ", e.what()));
  }
  if (pooling_path.empty()) {
    return absl::InvalidArgumentError(
        path + ": no sentence_transformers.models.Pooling module");
  }
  return ReadPoolingModule(
      JoinPath(JoinPath(folder, pooling_path), "config.json"), c);
}

}  // namespace

absl::StatusOr<PoolingConfig> ReadPoolingConfig(const std::string& folder) {
  PoolingConfig c;
  if (FileExists(JoinPath(folder, "modules.json"))) {
    absl::Status s = ReadModules(folder, &c);
    if (!s.ok()) return s;
  }
  const std::string sbert = JoinPath(folder, "sentence_bert_config.json");
  if (FileExists(sbert)) {
    auto f = JsonFile::Read(sbert);
    if (!f.ok()) return f.status();
    auto len = f->GetInt("max_seq_length", 0);
    if (!len.ok()) return len.status();
    c.max_seq_length = static_cast<int>(*len);
  }
  return c;
}

namespace {

// v = pooled rows h[0..len) of `dim` floats, skipping rows whose mask is 0
// (mask null: every row is a token).
void PoolSequence(const float* h, const int32_t* mask, int64_t len, int64_t dim,
                  Pooling mode, bool normalize, std::vector<float>* out) {
  std::vector<float>& v = *out;
  if (mode == Pooling::kCls) {
    if (len > 0) {
      v.assign(h, h + dim);
    } else {
      v.assign(dim, 0.f);
    }
  } else if (mode == Pooling::kMax) {
    v.assign(dim, -1e9f);
    for (int64_t t = 0; t < len; ++t) {
      if (mask != nullptr && mask[t] == 0) continue;
      for (int64_t j = 0; j < dim; ++j) v[j] = std::max(v[j], h[t * dim + j]);
    }
  } else {
    v.assign(dim, 0.f);
    float count = 0;
    for (int64_t t = 0; t < len; ++t) {
      if (mask != nullptr && mask[t] == 0) continue;
      count += 1;
      for (int64_t j = 0; j < dim; ++j) v[j] += h[t * dim + j];
    }
    count = std::max(count, 1e-9f);
    for (float& x : v) x /= count;
  }
  if (normalize) {
    double sq = 0;
    for (float x : v) sq += static_cast<double>(x) * x;
    const float norm = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
    for (float& x : v) x /= norm;
  }
}

}  // namespace

void PoolHiddenStates(const Tensor& hidden, absl::Span<const int32_t> mask,
                      Pooling mode, bool normalize,
                      std::vector<std::vector<float>>* out) {
  const int64_t batch = hidden.dim(0), len = hidden.dim(1), dim = hidden.dim(2);
  out->resize(batch);
  for (int64_t b = 0; b < batch; ++b) {
    PoolSequence(hidden.data() + b * len * dim, mask.data() + b * len, len, dim,
                 mode, normalize, &(*out)[b]);
  }
}

void PoolPackedRows(const Tensor& hidden, const PackedLayout& layout,
                    absl::Span<const int> excluded_prefix, Pooling mode,
                    bool normalize, std::vector<std::vector<float>>* out) {
  const int64_t dim = hidden.dim(1);
  out->resize(layout.sequences());
  std::vector<int32_t> mask;
  for (int i = 0; i < layout.sequences(); ++i) {
    const int64_t len = layout.length(i);
    const int64_t excluded =
        excluded_prefix.empty()
            ? 0
            : std::clamp<int64_t>(excluded_prefix[i], 0, len);
    if (excluded > 0) {
      mask.assign(len, 1);
      std::fill_n(mask.begin(), excluded, 0);
    }
    PoolSequence(hidden.data() + layout.first_row(i) * dim,
                 excluded > 0 ? mask.data() : nullptr, len, dim, mode,
                 normalize, &(*out)[i]);
  }
}

}  // namespace attnserve
