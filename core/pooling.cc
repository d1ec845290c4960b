#include "core/pooling.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/models/hf_config.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

// 1_Pooling/config.json keys, in Pooling's order.
constexpr std::pair<const char*, Pooling> kPoolingFlags[] = {
    {"pooling_mode_cls_token", Pooling::kCls},
    {"pooling_mode_max_tokens", Pooling::kMax},
    {"pooling_mode_mean_tokens", Pooling::kMean},
    {"pooling_mode_mean_sqrt_len_tokens", Pooling::kMeanSqrtLen},
    {"pooling_mode_weightedmean_tokens", Pooling::kWeightedMean},
    {"pooling_mode_lasttoken", Pooling::kLastToken},
};

// A "pooling_mode" string overrides every flag (Pooling.__init__'s pooling_mode
// argument, which Pooling.load passes through from config.json).
absl::StatusOr<PoolingModes> ReadPoolingModeString(const JsonFile& f) {
  ASSIGN_OR_RETURN(std::string name, f.GetString("pooling_mode"));
  std::vector<std::string> names;
  for (int m = 0; m < kPoolingModeCount; ++m) {
    const Pooling mode = static_cast<Pooling>(m);
    if (absl::AsciiStrToLower(name) == PoolingName(mode))
      return PoolingModes(mode);
    names.emplace_back(PoolingName(mode));
  }
  return absl::InvalidArgumentError(absl::StrCat(f.path(), ": pooling_mode \"",
                                                 name, "\" is not one of ",
                                                 absl::StrJoin(names, ", ")));
}

absl::Status ReadPoolingModule(const std::string& path, SentencePipeline* p) {
  ASSIGN_OR_RETURN(JsonFile f, JsonFile::Read(path));
  PoolingModes modes;
  if (f.Has("pooling_mode")) {
    ASSIGN_OR_RETURN(modes, ReadPoolingModeString(f));
  } else {
    for (const auto& [key, mode] : kPoolingFlags) {
      // Pooling.__init__'s defaults: mean on, every other mode off.
      ASSIGN_OR_RETURN(bool on, f.GetBool(key, mode == Pooling::kMean));
      if (on) modes.Add(mode);
    }
  }
  if (modes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": no pooling_mode_* flag is true; set at least one"));
  }
  p->pooling = modes;
  ASSIGN_OR_RETURN(p->include_prompt, f.GetBool("include_prompt", true));
  return absl::OkStatus();
}

constexpr const char* kModuleTypes[] = {"Transformer", "Pooling", "Dense",
                                        "Normalize"};

// "sentence_transformers.models.Dense" (or the older
// "sentence_transformers.models.Dense.Dense") -> "Dense"; "" for anything else.
std::string ModuleKind(const std::string& type) {
  constexpr std::string_view kPrefix = "sentence_transformers.models.";
  if (type.rfind(kPrefix, 0) != 0) return "";
  const std::string rest = type.substr(kPrefix.size());
  for (const char* kind : kModuleTypes) {
    if (rest == kind || rest == absl::StrCat(kind, ".", kind)) return kind;
  }
  return "";
}

struct ModuleEntry {
  std::string type;
  std::string path;
};

absl::StatusOr<std::vector<ModuleEntry>> ParseModulesJson(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json modules = nlohmann::json::parse(
      text.str(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!modules.is_array()) {  // also a parse error (discarded value)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected a JSON array of modules"));
  }
  std::vector<ModuleEntry> entries;
  for (const nlohmann::json& m : modules) {
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string() ||
        (m.contains("path") && !m["path"].is_string())) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": module ", entries.size(),
                       " needs a string \"type\" (and a string \"path\")"));
    }
    entries.push_back(
        {m["type"].get<std::string>(), m.value("path", std::string())});
  }
  return entries;
}

absl::Status AddModule(const std::string& folder, const std::string& modules,
                       size_t index, const ModuleEntry& m,
                       SentencePipeline* p) {
  const std::string kind = ModuleKind(m.type);
  const std::string dir = JoinPath(folder, m.path);
  const std::string where =
      absl::StrCat(modules, ": module ", index, " (", m.type, ")");
  if (kind.empty()) {
    return absl::UnimplementedError(absl::StrCat(
        where, " is not supported; supported: sentence_transformers.models.",
        absl::StrJoin(kModuleTypes, ", sentence_transformers.models.")));
  }
  // Transformer, then Pooling, then Dense/Normalize: each module reads the
  // previous one's output.
  const size_t want_index = kind == "Transformer" ? 0
                            : kind == "Pooling"   ? 1
                                                  : 2;
  if (std::min<size_t>(index, 2) != want_index) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        " is out of place: the pipeline must be Transformer, Pooling, "
        "then Dense / Normalize modules"));
  }
  if (kind == "Transformer") {
    p->transformer_path = m.path;
  } else if (kind == "Pooling") {
    return ReadPoolingModule(JoinPath(dir, "config.json"), p);
  } else if (kind == "Normalize") {
    p->steps.push_back({});  // has no files: an absent folder is fine
  } else {
    absl::StatusOr<DenseModule> dense = DenseModule::Load(dir);
    if (!dense.ok()) {
      return absl::Status(dense.status().code(),
                          absl::StrCat(where, ": ", dense.status().message()));
    }
    for (auto it = p->steps.rbegin(); it != p->steps.rend(); ++it) {
      if (!it->dense) continue;
      if (it->dense->out_features() != dense->in_features()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": in_features is ", dense->in_features(),
            " but the previous Dense gives ", it->dense->out_features()));
      }
      break;
    }
    p->steps.push_back({*std::move(dense)});
  }
  return absl::OkStatus();
}

absl::Status ReadModules(const std::string& folder, SentencePipeline* p) {
  const std::string path = JoinPath(folder, "modules.json");
  ASSIGN_OR_RETURN(std::vector<ModuleEntry> modules, ParseModulesJson(path));
  if (modules.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": needs at least a Transformer and a Pooling module (has ",
        modules.size(), ")"));
  }
  for (size_t i = 0; i < modules.size(); ++i) {
    RETURN_IF_ERROR(AddModule(folder, path, i, modules[i], p));
  }
  return absl::OkStatus();
}

}  // namespace

bool SentencePipeline::normalize() const {
  return std::any_of(steps.begin(), steps.end(),
                     [](const Step& s) { return !s.dense; });
}

int64_t SentencePipeline::parameter_count() const {
  int64_t n = 0;
  for (const Step& s : steps) {
    if (s.dense) n += s.dense->parameter_count();
  }
  return n;
}

int SentencePipeline::Dimensions(PoolingModes modes, int hidden_size) const {
  int dims = modes.count() * hidden_size;
  for (const Step& s : steps) {
    if (s.dense) dims = s.dense->out_features();
  }
  return dims;
}

absl::Status SentencePipeline::CheckPooling(PoolingModes modes,
                                            int hidden_size) const {
  const int pooled = modes.count() * hidden_size;
  for (const Step& s : steps) {
    if (!s.dense) continue;
    if (s.dense->in_features() != pooled) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pooling ", modes.ToString(), " gives ", pooled,
          " values but the model's Dense module takes ", s.dense->in_features(),
          "; use the model's pooling (", pooling.ToString(), ")"));
    }
    break;
  }
  return absl::OkStatus();
}

void SentencePipeline::Apply(bool normalize, std::vector<float>* v) const {
  std::vector<float> next;
  bool normalized = false;
  for (const Step& s : steps) {
    if (s.dense) {
      s.dense->Apply(*v, &next);
      v->swap(next);
    } else if (normalize) {
      NormalizeL2(v);
      normalized = true;
    }
  }
  if (normalize && !normalized) NormalizeL2(v);
}

absl::StatusOr<SentencePipeline> ReadSentencePipeline(
    const std::string& folder) {
  SentencePipeline p;
  if (FileExists(JoinPath(folder, "modules.json"))) {
    RETURN_IF_ERROR(ReadModules(folder, &p));
  }
  const std::string sbert = JoinPath(JoinPath(folder, p.transformer_path),
                                     "sentence_bert_config.json");
  if (FileExists(sbert)) {
    ASSIGN_OR_RETURN(JsonFile f, JsonFile::Read(sbert));
    ASSIGN_OR_RETURN(int64_t len, f.GetInt("max_seq_length", 0));
    p.max_seq_length = static_cast<int>(std::clamp<int64_t>(len, 0, 1 << 30));
  }
  return p;
}

void NormalizeL2(std::vector<float>* v) {
  double sq = 0;
  for (float x : *v) sq += static_cast<double>(x) * x;
  const float norm = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
  for (float& x : *v) x /= norm;
}

namespace {

// Appends the pooled rows h[0..len) of `dim` floats for every mode of `modes`
// (Pooling's order), skipping rows whose mask is 0 (mask null: every row is a
// token). Sums in float, as PyTorch's f32 reductions.
void PoolSequence(const float* h, const int32_t* mask, int64_t len, int64_t dim,
                  PoolingModes modes, std::vector<float>* out) {
  auto on = [&](int64_t t) { return mask == nullptr || mask[t] != 0; };
  std::vector<float>& v = *out;
  v.clear();
  v.reserve(modes.count() * dim);
  for (Pooling mode : modes.modes()) {
    const size_t at = v.size();
    switch (mode) {
      case Pooling::kCls:
        if (len > 0 && !on(0) && modes.Has(Pooling::kMax)) {
          // sentence-transformers' cls vector is a view of the token
          // embeddings, which its max pooling then overwrites in place with
          // -1e9 where the mask is 0: with include_prompt false the first row
          // is masked, so cls+max models get -1e9s there (Pooling.forward,
          // sentence-transformers 5.1.2; found by tools/oracle/diff_encoders).
          v.resize(at + dim, -1e9f);
        } else if (len > 0) {
          v.insert(v.end(), h, h + dim);
        } else {
          v.resize(at + dim, 0.f);
        }
        break;
      case Pooling::kMax:
        v.resize(at + dim, -1e9f);
        for (int64_t t = 0; t < len; ++t) {
          if (!on(t)) continue;
          for (int64_t j = 0; j < dim; ++j)
            v[at + j] = std::max(v[at + j], h[t * dim + j]);
        }
        break;
      case Pooling::kMean:
      case Pooling::kMeanSqrtLen:
      case Pooling::kWeightedMean: {
        // weightedmean weighs position t (0-based, in the padded row) by t+1.
        const bool weighted = mode == Pooling::kWeightedMean;
        v.resize(at + dim, 0.f);
        float count = 0;
        for (int64_t t = 0; t < len; ++t) {
          if (!on(t)) continue;
          const float w = weighted ? static_cast<float>(t + 1) : 1.f;
          count += w;
          for (int64_t j = 0; j < dim; ++j) v[at + j] += h[t * dim + j] * w;
        }
        count = std::max(count, 1e-9f);
        const float divisor =
            mode == Pooling::kMeanSqrtLen ? std::sqrt(count) : count;
        for (int64_t j = 0; j < dim; ++j) v[at + j] /= divisor;
        break;
      }
      case Pooling::kLastToken: {
        int64_t last = len - 1;
        while (last >= 0 && !on(last)) --last;
        if (last >= 0) {
          v.insert(v.end(), h + last * dim, h + (last + 1) * dim);
        } else {  // no token: sentence-transformers gathers h[0] x mask 0
          v.resize(at + dim, 0.f);
        }
        break;
      }
    }
  }
}

}  // namespace

void PoolHiddenStates(const Tensor& hidden, absl::Span<const int32_t> mask,
                      PoolingModes pooling, bool normalize,
                      std::vector<std::vector<float>>* out) {
  const int64_t batch = hidden.dim(0), len = hidden.dim(1), dim = hidden.dim(2);
  out->resize(batch);
  for (int64_t b = 0; b < batch; ++b) {
    PoolSequence(hidden.data() + b * len * dim, mask.data() + b * len, len, dim,
                 pooling, &(*out)[b]);
    if (normalize) NormalizeL2(&(*out)[b]);
  }
}

void PoolPackedRows(const Tensor& hidden, const PackedLayout& layout,
                    absl::Span<const int> excluded_prefix, PoolingModes pooling,
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
                 excluded > 0 ? mask.data() : nullptr, len, dim, pooling,
                 &(*out)[i]);
    if (normalize) NormalizeL2(&(*out)[i]);
  }
}

}  // namespace attnserve
