#ifndef ATTNSERVE_SERVER_MODEL_REPOSITORY_H_
#define ATTNSERVE_SERVER_MODEL_REPOSITORY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/dtype.h"
#include "server/metrics.h"
#include "server/model_entry.h"

namespace attnserve::server {

// The configured models, by name. The set of names is fixed at construction
// (every model starts LOADING); LoadAll() loads them one by one. A model that
// fails to load stays FAILED with its error and the others serve.
//
// Reload: each name holds one ModelEntry (a loaded version) at a time. A call
// takes a reference to the current version (Find) and keeps it to its end, so
// ReloadAll() can load a new version next to the serving one and switch the
// name over atomically: new calls go to the new version, calls in flight
// finish on the old one, which is destroyed (batcher stopped, memory freed)
// by ReleaseRetired() once no call holds it any more.
class ModelRepository {
 public:
  using OnLoaded = std::function<void(const ModelEntry&)>;

  // `config` must be valid (ValidateServerConfig).
  ModelRepository(const v1::ServerConfig& config, LoadOptions defaults,
                  Metrics* metrics);
  ~ModelRepository();  // Shutdown()

  // Calls on_loaded after each model reached READY or FAILED.
  void LoadAll(const OnLoaded& on_loaded);
  // Loads every model again from its folder, one by one. A model switches to
  // its new version only when that one is READY; when it fails, a READY
  // version keeps serving and its GetModel error tells why the reload failed
  // (a FAILED one is replaced by the new failure). Calls on_loaded after each.
  // Not concurrent with LoadAll/ReloadAll/ReleaseRetired/Shutdown (one
  // controlling thread).
  void ReloadAll(const OnLoaded& on_loaded);
  // Destroys the replaced versions that no call uses any more. Call it
  // regularly from the controlling thread: the last call of a version may end
  // on that version's own batcher thread, which cannot stop itself.
  void ReleaseRetired();

  // nullptr when no model has this name.
  std::shared_ptr<ModelEntry> Find(absl::string_view name) const;
  // The current version of every model, in configuration order.
  std::vector<std::shared_ptr<ModelEntry>> models() const;
  bool AllReady() const;
  // Finishes every accepted text and stops the batchers (of replaced versions
  // too).
  void Shutdown();

 private:
  struct Slot {
    v1::ModelConfig config;
    std::shared_ptr<ModelEntry> current;
  };

  void Reload(size_t index);

  const LoadOptions defaults_;
  Metrics* const metrics_;
  mutable absl::Mutex mu_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);  // the set never changes
  // Replaced versions; controlling thread only.
  std::vector<std::shared_ptr<ModelEntry>> retired_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_MODEL_REPOSITORY_H_
