#ifndef ATTNSERVE_SERVER_MODEL_REPOSITORY_H_
#define ATTNSERVE_SERVER_MODEL_REPOSITORY_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/dtype.h"
#include "server/metrics.h"
#include "server/model_entry.h"

namespace attnserve::server {

// The configured models, by name. The set of names is fixed at construction
// (every model starts LOADING); LoadAll() loads them one by one. A model that
// fails to load stays FAILED with its error and the others serve.
class ModelRepository {
 public:
  // `config` must be valid (ValidateServerConfig).
  ModelRepository(const v1::ServerConfig& config, DType default_dtype,
                  Metrics* metrics);

  // Calls on_loaded after each model reached READY or FAILED.
  void LoadAll(const std::function<void(const ModelEntry&)>& on_loaded);
  // nullptr when no model has this name.
  ModelEntry* Find(absl::string_view name) const;
  const std::vector<std::unique_ptr<ModelEntry>>& models() const {
    return models_;
  }
  bool AllReady() const;
  // Finishes every accepted text and stops the batchers.
  void Shutdown();

 private:
  std::vector<std::unique_ptr<ModelEntry>> models_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_MODEL_REPOSITORY_H_
