#ifndef ATTNSERVE_CORE_TOKENIZERS_SPM_SHIM_API_H_
#define ATTNSERVE_CORE_TOKENIZERS_SPM_SHIM_API_H_

// C API of libattnserve_spm_shim.so, the only place that touches
// libsentencepiece.
//
// Why a shim: Debian's libsentencepiece embeds its own protobuf and aborts at
// start-up in a process that also links the system protobuf (gRPC). The shim is
// dlopen'ed with RTLD_LOCAL | RTLD_DEEPBIND so its protobuf symbols never meet
// the process's ones, and only plain C types cross this boundary (no C++
// exceptions, no std:: types).
//
// Memory: every char* returned through an out-parameter is allocated by the
// shim and must be released with attnserve_spm_free_string. Strings are passed
// as (pointer, length) pairs and may contain any bytes.

#include <stddef.h>

#if defined(__GNUC__)
#define ATTNSERVE_SPM_EXPORT __attribute__((visibility("default")))
#else
#define ATTNSERVE_SPM_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

// Bumped whenever a signature below changes; the loader refuses a shim with
// another version.
#define ATTNSERVE_SPM_ABI_VERSION 1

typedef struct AttnserveSpm AttnserveSpm;

// Receives one encoded piece (not NUL-terminated); `user` is passed through
// unchanged.
typedef void (*AttnserveSpmPieceCallback)(void* user, const char* piece,
                                          size_t len);

ATTNSERVE_SPM_EXPORT int attnserve_spm_abi_version(void);

// Loads a SentencePiece model file. Returns NULL on failure and stores a
// message in *error.
ATTNSERVE_SPM_EXPORT AttnserveSpm* attnserve_spm_create(const char* model_path,
                                                        char** error);
ATTNSERVE_SPM_EXPORT void attnserve_spm_destroy(AttnserveSpm* spm);

// Encodes UTF-8 text into pieces, calling `callback` once per piece in order.
// Returns 0 on success; otherwise non-zero with a message in *error.
ATTNSERVE_SPM_EXPORT int attnserve_spm_encode_pieces(
    const AttnserveSpm* spm, const char* text, size_t len,
    AttnserveSpmPieceCallback callback, void* user, char** error);

// Detokenizes `count` pieces (pieces[i] has lens[i] bytes) with the model's
// DecodePieces. On success returns 0 and stores the text in *out / *out_len
// (NUL-terminated as well).
ATTNSERVE_SPM_EXPORT int attnserve_spm_decode_pieces(
    const AttnserveSpm* spm, const char* const* pieces, const size_t* lens,
    size_t count, char** out, size_t* out_len, char** error);

ATTNSERVE_SPM_EXPORT int attnserve_spm_piece_size(const AttnserveSpm* spm);
// Id of a piece; the unknown id for pieces not in the model.
ATTNSERVE_SPM_EXPORT int attnserve_spm_piece_to_id(const AttnserveSpm* spm,
                                                   const char* piece,
                                                   size_t len);
// Copies the piece of `id` into *out / *out_len; returns non-zero if id is out
// of range.
ATTNSERVE_SPM_EXPORT int attnserve_spm_id_to_piece(const AttnserveSpm* spm,
                                                   int id, char** out,
                                                   size_t* out_len);
ATTNSERVE_SPM_EXPORT int attnserve_spm_is_unknown(const AttnserveSpm* spm,
                                                  int id);

ATTNSERVE_SPM_EXPORT void attnserve_spm_free_string(char* s);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // ATTNSERVE_CORE_TOKENIZERS_SPM_SHIM_API_H_
