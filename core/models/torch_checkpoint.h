#ifndef ATTNSERVE_CORE_MODELS_TORCH_CHECKPOINT_H_
#define ATTNSERVE_CORE_MODELS_TORCH_CHECKPOINT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/models/torch_pickle.h"
#include "core/tensor.h"

struct zip;

namespace attnserve {

// A PyTorch checkpoint as torch.save writes it since PyTorch 1.6
// (pytorch_model.bin): a zip archive <archive>/data.pkl (the pickled state
// dict, read by ParseTorchStateDict without running pickle code) plus one
// entry <archive>/data/<key> per storage. Open() checks the whole structure:
// the pickle, every referenced storage present with numel x element size
// bytes, every contiguous tensor inside its storage; reads then only copy.
class TorchCheckpoint {
 public:
  static absl::StatusOr<std::unique_ptr<TorchCheckpoint>> Open(
      const std::string& path);
  ~TorchCheckpoint();
  TorchCheckpoint(const TorchCheckpoint&) = delete;
  TorchCheckpoint& operator=(const TorchCheckpoint&) = delete;

  const std::string& path() const { return path_; }
  bool Has(const std::string& name) const { return tensors_.count(name) > 0; }
  std::vector<std::string> Names() const;
  absl::StatusOr<const TorchTensorRef*> Find(const std::string& name) const;

  // A Float/Half/BFloat16 tensor converted to f32 (once, here). Errors name
  // the file and the tensor: missing, an integer storage, a non-contiguous
  // layout, or a zip read failure.
  absl::StatusOr<Tensor> ReadFloat(const std::string& name) const;
  // Same, and checks the shape (error says expected vs found).
  absl::StatusOr<Tensor> ReadFloat(
      const std::string& name,
      const std::vector<int64_t>& expected_shape) const;

 private:
  TorchCheckpoint(std::string path, zip* archive)
      : path_(std::move(path)), zip_(archive) {}
  absl::Status ReadStructure();
  // A whole entry of at most `max_bytes` (its CRC checked).
  absl::StatusOr<std::string> ReadEntry(const std::string& name,
                                        uint64_t max_bytes) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `length` bytes from `begin` of entry `index` into `dst`; `what` names the
  // data in errors.
  absl::Status ReadRange(int64_t index, uint64_t begin, uint64_t length,
                         uint8_t* dst, const std::string& what) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string path_;
  mutable absl::Mutex mu_;  // libzip archives are not thread-safe
  zip* const zip_ ABSL_PT_GUARDED_BY(mu_);
  std::string archive_;  // the entry names' first component
  std::map<std::string, TorchTensorRef> tensors_;
  std::map<std::string, int64_t> storage_index_;  // key -> zip entry index
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_TORCH_CHECKPOINT_H_
