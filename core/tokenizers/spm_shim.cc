// libattnserve_spm_shim.so: wraps sentencepiece::SentencePieceProcessor behind
// the C API of spm_shim_api.h. This is the ONLY translation unit that includes
// <sentencepiece_processor.h> (its `namespace absl { using std::string_view; }`
// clashes with Abseil). Built with hidden visibility: only the
// ATTNSERVE_SPM_EXPORT functions are visible to the loader.

#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

// Same-directory include: the shim target has no project include path.
#include "spm_shim_api.h"

struct AttnserveSpm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

// Copies bytes into a malloc'ed, NUL-terminated buffer; nullptr when out of
// memory.
char* CopyToCString(std::string_view s) {
  char* buffer = static_cast<char*>(std::malloc(s.size() + 1));
  if (buffer == nullptr) return nullptr;
  if (!s.empty()) std::memcpy(buffer, s.data(), s.size());
  buffer[s.size()] = '\0';
  return buffer;
}

void SetError(char** error, std::string_view message) {
  if (error != nullptr) *error = CopyToCString(message);
}

}  // namespace

extern "C" {

ATTNSERVE_SPM_EXPORT int attnserve_spm_abi_version(void) {
  return ATTNSERVE_SPM_ABI_VERSION;
}

ATTNSERVE_SPM_EXPORT AttnserveSpm* attnserve_spm_create(const char* model_path,
                                                        char** error) {
  if (error != nullptr) *error = nullptr;
  try {
    auto* spm = new AttnserveSpm();
    const sentencepiece::util::Status status = spm->processor.Load(model_path);
    if (!status.ok()) {
      SetError(error, status.ToString());
      delete spm;
      return nullptr;
    }
    return spm;
  } catch (const std::exception& e) {
    SetError(error, e.what());
  } catch (...) {
    SetError(error,
             "unknown C++ exception while loading the sentencepiece model");
  }
  return nullptr;
}

ATTNSERVE_SPM_EXPORT void attnserve_spm_destroy(AttnserveSpm* spm) {
  delete spm;
}

ATTNSERVE_SPM_EXPORT int attnserve_spm_encode_pieces(
    const AttnserveSpm* spm, const char* text, size_t len,
    AttnserveSpmPieceCallback callback, void* user, char** error) {
  if (error != nullptr) *error = nullptr;
  try {
    std::vector<std::string> pieces;
    const sentencepiece::util::Status status =
        spm->processor.Encode(std::string_view(text, len), &pieces);
    if (!status.ok()) {
      SetError(error, status.ToString());
      return 1;
    }
    for (const std::string& piece : pieces)
      callback(user, piece.data(), piece.size());
    return 0;
  } catch (const std::exception& e) {
    SetError(error, e.what());
  } catch (...) {
    SetError(error, "unknown C++ exception in sentencepiece Encode");
  }
  return 1;
}

ATTNSERVE_SPM_EXPORT int attnserve_spm_decode_pieces(
    const AttnserveSpm* spm, const char* const* pieces, const size_t* lens,
    size_t count, char** out, size_t* out_len, char** error) {
  if (error != nullptr) *error = nullptr;
  *out = nullptr;
  *out_len = 0;
  try {
    std::vector<std::string_view> views;
    views.reserve(count);
    for (size_t i = 0; i < count; ++i) views.emplace_back(pieces[i], lens[i]);
    std::string text;
    const sentencepiece::util::Status status =
        spm->processor.Decode(views, &text);
    if (!status.ok()) {
      SetError(error, status.ToString());
      return 1;
    }
    *out = CopyToCString(text);
    if (*out == nullptr) throw std::bad_alloc();
    *out_len = text.size();
    return 0;
  } catch (const std::exception& e) {
    SetError(error, e.what());
  } catch (...) {
    SetError(error, "unknown C++ exception in sentencepiece Decode");
  }
  return 1;
}

ATTNSERVE_SPM_EXPORT int attnserve_spm_piece_size(const AttnserveSpm* spm) {
  return spm->processor.GetPieceSize();
}

ATTNSERVE_SPM_EXPORT int attnserve_spm_piece_to_id(const AttnserveSpm* spm,
                                                   const char* piece,
                                                   size_t len) {
  return spm->processor.PieceToId(std::string_view(piece, len));
}

ATTNSERVE_SPM_EXPORT int attnserve_spm_id_to_piece(const AttnserveSpm* spm,
                                                   int id, char** out,
                                                   size_t* out_len) {
  *out = nullptr;
  *out_len = 0;
  if (id < 0 || id >= spm->processor.GetPieceSize()) return 1;
  const std::string& piece = spm->processor.IdToPiece(id);
  *out = CopyToCString(piece);
  if (*out == nullptr) return 1;
  *out_len = piece.size();
  return 0;
}

ATTNSERVE_SPM_EXPORT int attnserve_spm_is_unknown(const AttnserveSpm* spm,
                                                  int id) {
  if (id < 0 || id >= spm->processor.GetPieceSize()) return 0;
  return spm->processor.IsUnknown(id) ? 1 : 0;
}

ATTNSERVE_SPM_EXPORT void attnserve_spm_free_string(char* s) { std::free(s); }

}  // extern "C"
