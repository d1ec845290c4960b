#include "server/model_repository.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/logging.h"

namespace attnserve::server {

ModelRepository::ModelRepository(const v1::ServerConfig& config,
                                 LoadOptions defaults, Metrics* metrics)
    : defaults_(defaults), metrics_(metrics) {
  absl::MutexLock lock(&mu_);
  for (const v1::ModelConfig& model : config.model()) {
    slots_.push_back(
        {model, std::make_shared<ModelEntry>(model, defaults, metrics)});
  }
}

ModelRepository::~ModelRepository() { Shutdown(); }

void ModelRepository::LoadAll(const OnLoaded& on_loaded) {
  for (const std::shared_ptr<ModelEntry>& model : models()) {
    model->Load();
    on_loaded(*model);
  }
}

void ModelRepository::ReloadAll(const OnLoaded& on_loaded) {
  size_t count = 0;
  {
    absl::MutexLock lock(&mu_);
    count = slots_.size();
  }
  for (size_t i = 0; i < count; ++i) {
    Reload(i);
    absl::ReaderMutexLock lock(&mu_);
    on_loaded(*slots_[i].current);
  }
}

void ModelRepository::Reload(size_t index) {
  v1::ModelConfig config;
  std::shared_ptr<ModelEntry> current;
  {
    absl::ReaderMutexLock lock(&mu_);
    config = slots_[index].config;
    current = slots_[index].current;
  }
  // Loads while `current` serves: memory holds both versions meanwhile.
  auto fresh = std::make_shared<ModelEntry>(config, defaults_, metrics_);
  fresh->Load();
  if (fresh->state() != v1::MODEL_STATE_READY &&
      current->state() == v1::MODEL_STATE_READY) {
    const std::string error = fresh->info().error();
    fresh.reset();  // its log and metrics said FAILED; correct the metrics
    current->SetReloadError(absl::StrCat(
        "reload failed, the previous version keeps serving: ", error));
    LogError(absl::StrCat("model '", config.name(),
                          "': reload failed, the previous version keeps "
                          "serving"));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    slots_[index].current = fresh;
  }
  retired_.push_back(std::move(current));
  LogInfo(absl::StrCat("model '", config.name(), "' reloaded (",
                       v1::ModelState_Name(fresh->state()), ")"));
}

void ModelRepository::ReleaseRetired() {
  // use_count() == 1: no call holds the version, and none can take it again
  // since Find() no longer returns it.
  std::erase_if(retired_, [](const std::shared_ptr<ModelEntry>& model) {
    if (model.use_count() != 1) return false;
    LogInfo(
        absl::StrCat("model '", model->name(), "': replaced version released"));
    return true;
  });
}

std::shared_ptr<ModelEntry> ModelRepository::Find(
    absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const Slot& slot : slots_) {
    if (slot.config.name() == name) return slot.current;
  }
  return nullptr;
}

std::vector<std::shared_ptr<ModelEntry>> ModelRepository::models() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::shared_ptr<ModelEntry>> out;
  for (const Slot& slot : slots_) out.push_back(slot.current);
  return out;
}

bool ModelRepository::AllReady() const {
  for (const std::shared_ptr<ModelEntry>& model : models()) {
    if (model->state() != v1::MODEL_STATE_READY) return false;
  }
  return true;
}

void ModelRepository::Shutdown() {
  for (const std::shared_ptr<ModelEntry>& model : models()) model->Shutdown();
  for (const std::shared_ptr<ModelEntry>& model : retired_) model->Shutdown();
}

}  // namespace attnserve::server
