#include "server/model_repository.h"

namespace attnserve::server {

ModelRepository::ModelRepository(const v1::ServerConfig& config,
                                 DType default_dtype, Metrics* metrics) {
  for (const v1::ModelConfig& model : config.model()) {
    models_.push_back(
        std::make_unique<ModelEntry>(model, default_dtype, metrics));
  }
}

void ModelRepository::LoadAll(
    const std::function<void(const ModelEntry&)>& on_loaded) {
  for (const std::unique_ptr<ModelEntry>& model : models_) {
    model->Load();
    on_loaded(*model);
  }
}

ModelEntry* ModelRepository::Find(absl::string_view name) const {
  for (const std::unique_ptr<ModelEntry>& model : models_) {
    if (model->name() == name) return model.get();
  }
  return nullptr;
}

bool ModelRepository::AllReady() const {
  for (const std::unique_ptr<ModelEntry>& model : models_) {
    if (model->state() != v1::MODEL_STATE_READY) return false;
  }
  return true;
}

void ModelRepository::Shutdown() {
  for (const std::unique_ptr<ModelEntry>& model : models_) model->Shutdown();
}

}  // namespace attnserve::server
