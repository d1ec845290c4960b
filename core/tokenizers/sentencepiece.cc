#include "core/tokenizers/sentencepiece.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace attnserve {
namespace {

constexpr char kShimFileName[] = "libattnserve_spm_shim.so";
constexpr char kShimEnvVar[] = "ATTNSERVE_SPM_SHIM";

// Takes ownership of a shim-allocated string (error messages and decoded text).
class ShimString {
 public:
  explicit ShimString(decltype(&attnserve_spm_free_string) free_fn)
      : free_(free_fn) {}
  ~ShimString() {
    if (data != nullptr) free_(data);
  }
  ShimString(const ShimString&) = delete;
  ShimString& operator=(const ShimString&) = delete;

  std::string str() const {
    return data == nullptr ? std::string() : std::string(data, size);
  }

  char* data = nullptr;
  size_t size = 0;

 private:
  decltype(&attnserve_spm_free_string) free_;
};

std::string ShimErrorText(const ShimString& error) {
  if (error.data == nullptr) return "no error message";
  return std::string(error.data);
}

// <dir of /proc/self/exe>/../lib/libattnserve_spm_shim.so, or empty if it does
// not exist.
[[maybe_unused]] std::string ExeRelativeShimPath() {
  std::error_code ec;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const std::filesystem::path candidate =
      exe.parent_path().parent_path() / "lib" / kShimFileName;
  return std::filesystem::exists(candidate, ec) ? candidate.string()
                                                : std::string();
}

template <typename Fn>
absl::Status Resolve(void* handle, const char* name, const std::string& path,
                     Fn* out) {
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sentencepiece shim ", path, " lacks symbol ", name,
        ": rebuild target attnserve_spm_shim together with the binary"));
  }
  *out = reinterpret_cast<Fn>(symbol);
  return absl::OkStatus();
}

}  // namespace

SpmShim::~SpmShim() {
  if (handle_ != nullptr) dlclose(handle_);
}

absl::StatusOr<std::shared_ptr<const SpmShim>> SpmShim::Load() {
#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
  return absl::FailedPreconditionError(kSpmShimUnderAsanMessage);
#else
  if (const char* env = std::getenv(kShimEnvVar);
      env != nullptr && env[0] != '\0') {
    return LoadFrom(env);
  }
  std::vector<std::string> tried;
  if (std::string exe_relative = ExeRelativeShimPath(); !exe_relative.empty()) {
    return LoadFrom(exe_relative);
  }
  tried.push_back("<executable dir>/../lib/" + std::string(kShimFileName));
#ifdef ATTNSERVE_SPM_SHIM_BUILD_PATH
  std::error_code ec;
  if (std::filesystem::exists(ATTNSERVE_SPM_SHIM_BUILD_PATH, ec)) {
    return LoadFrom(ATTNSERVE_SPM_SHIM_BUILD_PATH);
  }
  tried.push_back(ATTNSERVE_SPM_SHIM_BUILD_PATH);
#endif
  return absl::NotFoundError(
      absl::StrCat("sentencepiece shim ", kShimFileName, " not found (tried ",
                   absl::StrJoin(tried, ", "),
                   "): build target attnserve_spm_shim, install it next to the "
                   "binary in ../lib, or set ",
                   kShimEnvVar, " to its path"));
#endif
}

absl::StatusOr<std::shared_ptr<const SpmShim>> SpmShim::LoadFrom(
    const std::string& path) {
#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
  (void)path;
  return absl::FailedPreconditionError(kSpmShimUnderAsanMessage);
#else
  // RTLD_LOCAL | RTLD_DEEPBIND: the shim and its libsentencepiece (with its
  // embedded protobuf) resolve their own symbols first and export nothing into
  // the global namespace.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (handle == nullptr) {
    const char* reason = dlerror();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load sentencepiece shim ", path, ": ",
                     reason != nullptr ? reason : "unknown dlopen error"));
  }
  std::shared_ptr<SpmShim> shim(new SpmShim());
  shim->handle_ = handle;
  shim->path_ = path;
  decltype(&attnserve_spm_abi_version) abi_version = nullptr;
  absl::Status status =
      Resolve(handle, "attnserve_spm_abi_version", path, &abi_version);
  if (!status.ok()) return status;
  if (abi_version() != ATTNSERVE_SPM_ABI_VERSION) {
    return absl::FailedPreconditionError(
        absl::StrCat("sentencepiece shim ", path, " has ABI version ",
                     abi_version(), ", expected ", ATTNSERVE_SPM_ABI_VERSION,
                     ": rebuild target attnserve_spm_shim"));
  }
  for (absl::Status s : {
           Resolve(handle, "attnserve_spm_create", path, &shim->create_),
           Resolve(handle, "attnserve_spm_destroy", path, &shim->destroy_),
           Resolve(handle, "attnserve_spm_encode_pieces", path,
                   &shim->encode_pieces_),
           Resolve(handle, "attnserve_spm_decode_pieces", path,
                   &shim->decode_pieces_),
           Resolve(handle, "attnserve_spm_piece_size", path,
                   &shim->piece_size_),
           Resolve(handle, "attnserve_spm_piece_to_id", path,
                   &shim->piece_to_id_),
           Resolve(handle, "attnserve_spm_id_to_piece", path,
                   &shim->id_to_piece_),
           Resolve(handle, "attnserve_spm_is_unknown", path,
                   &shim->is_unknown_),
           Resolve(handle, "attnserve_spm_free_string", path,
                   &shim->free_string_),
       }) {
    if (!s.ok()) return s;
  }
  return std::shared_ptr<const SpmShim>(std::move(shim));
#endif
}

absl::StatusOr<std::unique_ptr<SpmModel>> SpmModel::Load(
    const std::string& model_path) {
  absl::StatusOr<std::shared_ptr<const SpmShim>> shim = SpmShim::Load();
  if (!shim.ok()) return shim.status();
  return Load(*std::move(shim), model_path);
}

absl::StatusOr<std::unique_ptr<SpmModel>> SpmModel::Load(
    std::shared_ptr<const SpmShim> shim, const std::string& model_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model_path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("sentencepiece model ", model_path,
                     " does not exist or is not a file"));
  }
  ShimString error(shim->free_string_);
  AttnserveSpm* handle = shim->create_(model_path.c_str(), &error.data);
  if (handle == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load sentencepiece model ", model_path, ": ",
                     ShimErrorText(error)));
  }
  return std::unique_ptr<SpmModel>(new SpmModel(std::move(shim), handle));
}

SpmModel::~SpmModel() { shim_->destroy_(handle_); }

absl::StatusOr<std::vector<std::string>> SpmModel::EncodePieces(
    std::string_view text) const {
  std::vector<std::string> pieces;
  auto append = [](void* user, const char* piece, size_t len) {
    static_cast<std::vector<std::string>*>(user)->emplace_back(piece, len);
  };
  ShimString error(shim_->free_string_);
  if (shim_->encode_pieces_(handle_, text.data(), text.size(), append, &pieces,
                            &error.data) != 0) {
    return absl::InternalError(
        absl::StrCat("sentencepiece encode failed: ", ShimErrorText(error)));
  }
  return pieces;
}

absl::StatusOr<std::string> SpmModel::DecodePieces(
    absl::Span<const std::string> pieces) const {
  std::vector<const char*> data;
  std::vector<size_t> lens;
  data.reserve(pieces.size());
  lens.reserve(pieces.size());
  for (const std::string& piece : pieces) {
    data.push_back(piece.data());
    lens.push_back(piece.size());
  }
  ShimString text(shim_->free_string_);
  ShimString error(shim_->free_string_);
  if (shim_->decode_pieces_(handle_, data.data(), lens.data(), pieces.size(),
                            &text.data, &text.size, &error.data) != 0) {
    return absl::InternalError(
        absl::StrCat("sentencepiece decode failed: ", ShimErrorText(error)));
  }
  return text.str();
}

int SpmModel::piece_size() const { return shim_->piece_size_(handle_); }

int SpmModel::PieceToId(std::string_view piece) const {
  return shim_->piece_to_id_(handle_, piece.data(), piece.size());
}

std::string SpmModel::IdToPiece(int id) const {
  ShimString piece(shim_->free_string_);
  if (shim_->id_to_piece_(handle_, id, &piece.data, &piece.size) != 0)
    return {};
  return piece.str();
}

bool SpmModel::IsUnknown(int id) const {
  return shim_->is_unknown_(handle_, id) != 0;
}

}  // namespace attnserve
