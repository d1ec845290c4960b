#ifndef ATTNSERVE_CORE_TOKENIZERS_SENTENCEPIECE_H_
#define ATTNSERVE_CORE_TOKENIZERS_SENTENCEPIECE_H_

// RAII C++ access to SentencePiece models through the dlopen'ed
// libattnserve_spm_shim.so (see spm_shim_api.h for why sentencepiece is
// isolated). Never include <sentencepiece_processor.h> outside spm_shim.cc.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tokenizers/spm_shim_api.h"

namespace attnserve {

// ASan and TSan abort the process on dlopen(RTLD_DEEPBIND) (google/sanitizers
// issue 611), which the shim needs to keep libsentencepiece's embedded protobuf
// apart from the system one: sanitizer builds refuse to load it instead.
#if defined(ATTNSERVE_ASAN) || defined(ATTNSERVE_TSAN)
#define ATTNSERVE_SPM_SHIM_UNAVAILABLE 1
#endif

// Why the shim cannot be used in sanitizer builds (ASan or TSan).
inline constexpr char kSpmShimUnderAsanMessage[] =
    "sentencepiece shim cannot be loaded under AddressSanitizer or "
    "ThreadSanitizer (they reject dlopen with RTLD_DEEPBIND): use a "
    "non-sanitizer build for Marian models";

// The loaded shim library: the dlopen handle and its resolved C functions.
class SpmShim {
 public:
  // Search order: $ATTNSERVE_SPM_SHIM (exclusive when set), <exe dir>/../lib/,
  // then the path of the build tree the core was compiled in.
  static absl::StatusOr<std::shared_ptr<const SpmShim>> Load();
  // Loads exactly `path`.
  static absl::StatusOr<std::shared_ptr<const SpmShim>> LoadFrom(
      const std::string& path);

  ~SpmShim();
  SpmShim(const SpmShim&) = delete;
  SpmShim& operator=(const SpmShim&) = delete;

  const std::string& path() const { return path_; }

 private:
  friend class SpmModel;
  SpmShim() = default;

  void* handle_ = nullptr;
  std::string path_;
  decltype(&attnserve_spm_create) create_ = nullptr;
  decltype(&attnserve_spm_destroy) destroy_ = nullptr;
  decltype(&attnserve_spm_encode_pieces) encode_pieces_ = nullptr;
  decltype(&attnserve_spm_decode_pieces) decode_pieces_ = nullptr;
  decltype(&attnserve_spm_piece_size) piece_size_ = nullptr;
  decltype(&attnserve_spm_piece_to_id) piece_to_id_ = nullptr;
  decltype(&attnserve_spm_id_to_piece) id_to_piece_ = nullptr;
  decltype(&attnserve_spm_is_unknown) is_unknown_ = nullptr;
  decltype(&attnserve_spm_free_string) free_string_ = nullptr;
};

// One SentencePiece model (a .spm / .model file). Immutable after Load; all
// methods are const and safe to call from several threads at once.
class SpmModel {
 public:
  static absl::StatusOr<std::unique_ptr<SpmModel>> Load(
      std::shared_ptr<const SpmShim> shim, const std::string& model_path);
  // Convenience: loads the shim with SpmShim::Load() first.
  static absl::StatusOr<std::unique_ptr<SpmModel>> Load(
      const std::string& model_path);

  ~SpmModel();
  SpmModel(const SpmModel&) = delete;
  SpmModel& operator=(const SpmModel&) = delete;

  // sentencepiece Encode(text) -> pieces (no sampling, no bos/eos).
  absl::StatusOr<std::vector<std::string>> EncodePieces(
      std::string_view text) const;
  // sentencepiece DecodePieces: pieces unknown to the model are emitted
  // verbatim.
  absl::StatusOr<std::string> DecodePieces(
      absl::Span<const std::string> pieces) const;

  int piece_size() const;
  int PieceToId(
      std::string_view piece) const;    // the unknown id for unknown pieces
  std::string IdToPiece(int id) const;  // empty for ids out of range
  bool IsUnknown(int id) const;

 private:
  SpmModel(std::shared_ptr<const SpmShim> shim, AttnserveSpm* handle)
      : shim_(std::move(shim)), handle_(handle) {}

  std::shared_ptr<const SpmShim>
      shim_;  // keeps the library mapped while handle_ lives
  AttnserveSpm* handle_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_SENTENCEPIECE_H_
