#include "core/models/torch_checkpoint.h"

#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

// data.pkl of a real model is tens of KB (one entry per tensor); the bound
// only stops a hostile archive from claiming gigabytes.
constexpr uint64_t kMaxPickleBytes = 256u << 20;

std::string ZipErrorString(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string out = zip_error_strerror(&error);
  zip_error_fini(&error);
  return out;
}

// torch.save before PyTorch 1.6 wrote a bare pickle stream (it starts with
// the PROTO opcode 0x80), not a zip.
bool IsLegacyTorchFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  unsigned char head[2] = {0, 0};
  const size_t n = std::fread(head, 1, 2, f);
  std::fclose(f);
  return n == 2 && head[0] == 0x80 && head[1] <= 5;
}

absl::Status OpenError(const std::string& path, int code) {
  if (code == ZIP_ER_NOENT || code == ZIP_ER_OPEN) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open: ", ZipErrorString(code)));
  }
  if (code == ZIP_ER_NOZIP && IsLegacyTorchFile(path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": a torch.save file of the format before PyTorch 1.6 (a bare pickle "
        "stream), which is not read; re-save it with torch >= 1.6 or convert "
        "it to model.safetensors"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": not a readable PyTorch zip checkpoint (truncated or corrupt?): ",
      ZipErrorString(code)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TorchCheckpoint>> TorchCheckpoint::Open(
    const std::string& path) {
  int code = 0;
  // ZIP_CHECKCONS: the central directory must agree with the local headers,
  // so a damaged archive fails here rather than at some tensor's read.
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive == nullptr) return OpenError(path, code);
  std::unique_ptr<TorchCheckpoint> checkpoint(
      new TorchCheckpoint(path, archive));
  RETURN_IF_ERROR(checkpoint->ReadStructure());
  return checkpoint;
}

TorchCheckpoint::~TorchCheckpoint() {
  absl::MutexLock lock(&mu_);
  zip_discard(zip_);
}

absl::StatusOr<std::string> TorchCheckpoint::ReadEntry(
    const std::string& name, uint64_t max_bytes) const {
  const zip_int64_t index = zip_name_locate(zip_, name.c_str(), 0);
  if (index < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": no entry ", name, " (not a torch.save checkpoint)"));
  }
  zip_stat_t st;
  if (zip_stat_index(zip_, index, 0, &st) != 0 ||
      (st.valid & ZIP_STAT_SIZE) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": ", name, ": ", zip_strerror(zip_)));
  }
  if (st.size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", name, " has ",
                                                   st.size, " bytes (at most ",
                                                   max_bytes, " read)"));
  }
  std::string bytes(st.size, '\0');
  RETURN_IF_ERROR(ReadRange(index, 0, st.size,
                            reinterpret_cast<uint8_t*>(bytes.data()), name));
  return bytes;
}

namespace {

// Reads exactly `length` bytes; "" or the error.
std::string ReadFully(zip_file_t* file, uint8_t* dst, uint64_t length) {
  for (uint64_t done = 0; done < length;) {
    const zip_int64_t n = zip_fread(file, dst + done, length - done);
    if (n < 0) return zip_file_strerror(file);
    if (n == 0) return "unexpected end of the entry";
    done += static_cast<uint64_t>(n);
  }
  return "";
}

// Moves to `begin`: a seek in a stored (uncompressed) entry, as torch.save
// writes them; otherwise the entry is read up to there.
std::string Skip(zip_file_t* file, uint64_t begin, bool stored) {
  if (begin == 0) return "";
  if (stored) {
    return zip_fseek(file, static_cast<zip_int64_t>(begin), SEEK_SET) == 0
               ? ""
               : zip_file_strerror(file);
  }
  std::vector<uint8_t> scratch(64 << 10);
  for (uint64_t left = begin; left > 0;) {
    const uint64_t n = std::min<uint64_t>(left, scratch.size());
    std::string error = ReadFully(file, scratch.data(), n);
    if (!error.empty()) return error;
    left -= n;
  }
  return "";
}

}  // namespace

absl::Status TorchCheckpoint::ReadRange(int64_t index, uint64_t begin,
                                        uint64_t length, uint8_t* dst,
                                        const std::string& what) const {
  zip_stat_t st;
  zip_file_t* file = zip_stat_index(zip_, index, 0, &st) == 0
                         ? zip_fopen_index(zip_, index, 0)
                         : nullptr;
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": ", what, ": cannot open its data: ", zip_strerror(zip_)));
  }
  const bool stored =
      (st.valid & ZIP_STAT_COMP_METHOD) != 0 && st.comp_method == ZIP_CM_STORE;
  std::string error = Skip(file, begin, stored);
  if (error.empty()) error = ReadFully(file, dst, length);
  // libzip checks an entry's CRC when a read reaches its end: one more read
  // when the range ends there, so damaged data is an error, not weights.
  uint8_t extra;
  if (error.empty() && (st.valid & ZIP_STAT_SIZE) != 0 &&
      begin + length == st.size) {
    const zip_int64_t n = zip_fread(file, &extra, 1);
    if (n != 0)
      error = n < 0 ? zip_file_strerror(file) : "entry longer than its size";
  }
  zip_fclose(file);
  if (!error.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": ", what,
                     ": reading its data failed (corrupt archive?): ", error));
  }
  return absl::OkStatus();
}

absl::Status TorchCheckpoint::ReadStructure() {
  absl::MutexLock lock(&mu_);
  // The archive folder is the first entry's first path component, as
  // PyTorch's reader takes it (torch.save names it after the file:
  // pytorch_model/, archive/, ...).
  const char* first =
      zip_get_num_entries(zip_, 0) > 0 ? zip_get_name(zip_, 0, 0) : nullptr;
  const char* slash = first ? std::strchr(first, '/') : nullptr;
  if (slash == nullptr || slash == first) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_,
                     ": a zip archive, but not a torch.save checkpoint (no "
                     "<archive>/data.pkl)"));
  }
  archive_.assign(first, slash);
  if (zip_name_locate(zip_, (archive_ + "/byteorder").c_str(), 0) >= 0) {
    ASSIGN_OR_RETURN(std::string order, ReadEntry(archive_ + "/byteorder", 16));
    if (order != "little") {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": byteorder '", order, "' (only little-endian is read)"));
    }
  }
  const std::string pickle_name = archive_ + "/data.pkl";
  ASSIGN_OR_RETURN(std::string pickle, ReadEntry(pickle_name, kMaxPickleBytes));
  ASSIGN_OR_RETURN(
      tensors_,
      ParseTorchStateDict(pickle, absl::StrCat(path_, " (", pickle_name, ")")));
  for (const auto& [name, t] : tensors_) {
    const std::string where = absl::StrCat(path_, ": tensor '", name, "'");
    const std::string entry = absl::StrCat(archive_, "/data/", t.storage_key);
    const zip_int64_t index = zip_name_locate(zip_, entry.c_str(), 0);
    zip_stat_t st;
    if (index < 0 || zip_stat_index(zip_, index, 0, &st) != 0 ||
        (st.valid & ZIP_STAT_SIZE) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": its storage ", entry, " is missing"));
    }
    const uint64_t elem = StDTypeBytes(t.dtype);
    if (st.size != static_cast<uint64_t>(t.storage_numel) * elem) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": storage ", entry, " has ", st.size,
                       " bytes, the pickle says ", t.storage_numel, " x ",
                       t.dtype_name, " (", t.storage_numel * elem, " bytes)"));
    }
    storage_index_[t.storage_key] = index;
    const int64_t numel = NumElements(t.shape);
    if (t.contiguous() && numel > 0 &&
        t.storage_offset > t.storage_numel - numel) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", ShapeToString(t.shape), " at offset ", t.storage_offset,
          " runs past its storage of ", t.storage_numel, " elements"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> TorchCheckpoint::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors_) names.push_back(name);
  return names;
}

absl::StatusOr<const TorchTensorRef*> TorchCheckpoint::Find(
    const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(
        absl::StrCat(path_, ": missing tensor '", name, "'"));
  }
  return &it->second;
}

absl::StatusOr<Tensor> TorchCheckpoint::ReadFloat(
    const std::string& name) const {
  ASSIGN_OR_RETURN(const TorchTensorRef* t, Find(name));
  const std::string where = absl::StrCat(path_, ": tensor '", name, "'");
  if (!t->contiguous()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": size ", ShapeToString(t->shape), " with stride ",
        ShapeToString(t->stride),
        " is not contiguous (only contiguous tensors are read; save "
        "tensor.contiguous())"));
  }
  if (t->dtype != StDType::kF32 && t->dtype != StDType::kF16 &&
      t->dtype != StDType::kBF16) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " is a ", t->dtype_name, ", expected a float type"));
  }
  Tensor out(t->shape);
  const uint64_t elem = StDTypeBytes(t->dtype);
  const uint64_t begin = static_cast<uint64_t>(t->storage_offset) * elem;
  const uint64_t length = static_cast<uint64_t>(out.numel()) * elem;
  if (length == 0) return out;
  std::vector<uint8_t> raw;
  uint8_t* dst = reinterpret_cast<uint8_t*>(out.data());
  if (t->dtype != StDType::kF32) {
    raw.resize(length);
    dst = raw.data();
  }
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(ReadRange(storage_index_.at(t->storage_key), begin, length,
                              dst, absl::StrCat("tensor '", name, "'")));
  }
  if (t->dtype != StDType::kF32)
    WidenToFloat(t->dtype, raw.data(), out.numel(), out.data());
  return out;
}

absl::StatusOr<Tensor> TorchCheckpoint::ReadFloat(
    const std::string& name, const std::vector<int64_t>& expected) const {
  ASSIGN_OR_RETURN(const TorchTensorRef* t, Find(name));
  if (t->shape != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": tensor '", name, "' has shape ", ShapeToString(t->shape),
        ", expected ", ShapeToString(expected)));
  }
  return ReadFloat(name);
}

}  // namespace attnserve
