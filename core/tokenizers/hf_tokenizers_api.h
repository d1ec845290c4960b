#ifndef ATTNSERVE_CORE_TOKENIZERS_HF_TOKENIZERS_API_H_
#define ATTNSERVE_CORE_TOKENIZERS_HF_TOKENIZERS_API_H_

// C API of core/tokenizers/hf_shim (Rust, a static library of ours over
// Hugging Face's `tokenizers` crate, the code transformers' fast tokenizers
// and sentence-transformers run). Only plain C types cross this boundary; a
// panic inside the crate is caught at each entry point and returned as an
// error. Keep in step with hf_shim/src/lib.rs.
//
// Memory: error strings (char** error) are allocated by the shim and released
// with attnserve_hf_free_string; an AttnserveHfEncoding filled by
// attnserve_hf_encode is released with attnserve_hf_encoding_free. Texts are
// (pointer, length) pairs of UTF-8.
//
// Threads: one AttnserveHfTokenizer may be used by any number of threads at
// once (encoding does not mutate it).

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bumped whenever a signature below changes.
#define ATTNSERVE_HF_ABI_VERSION 3

typedef struct AttnserveHfTokenizer AttnserveHfTokenizer;

typedef struct AttnserveHfEncoding {
  uint32_t* ids;       // count ids, special tokens included
  uint32_t* type_ids;  // count token type (segment) ids: 0 for the first text
                       // and its special tokens, 1 for a pair's second text
  char* pieces;        // the token strings back to back (not NUL-separated)
  size_t* piece_ends;  // token i is pieces[piece_ends[i-1] .. piece_ends[i])
  size_t count;
  size_t pieces_len;
  int truncated;  // non-zero when max_length cut the text(s)
} AttnserveHfEncoding;

int attnserve_hf_abi_version(void);

// Loads a tokenizer.json (NUL-terminated path). The file's own truncation and
// padding are switched off (transformers overrides them on every call).
// Returns NULL on failure with a message in *error.
AttnserveHfTokenizer* attnserve_hf_load(const char* path, char** error);
// The same from the text of a tokenizer.json (json_len bytes of UTF-8).
AttnserveHfTokenizer* attnserve_hf_load_json(const char* json, size_t json_len,
                                             char** error);
void attnserve_hf_destroy(AttnserveHfTokenizer* tokenizer);

// Encodes one text (pair == NULL) or a pair, with the special tokens. With
// `truncate` non-zero the result is at most max_length ids, cut as
// transformers' fast tokenizer called with truncation=True,
// max_length=max_length does (longest_first for pairs, special tokens kept;
// from the left when truncate_left is non-zero). Returns 0 and fills *out on
// success; otherwise non-zero with a message in *error.
int attnserve_hf_encode(const AttnserveHfTokenizer* tokenizer, const char* text,
                        size_t text_len, const char* pair, size_t pair_len,
                        int truncate, size_t max_length, int truncate_left,
                        AttnserveHfEncoding* out, char** error);
void attnserve_hf_encoding_free(AttnserveHfEncoding* encoding);

// Ids are 0..vocab_size-1 (model vocabulary and added tokens): one more than
// the largest id, which can exceed the number of tokens (a vocab.txt with a
// repeated line).
size_t attnserve_hf_vocab_size(const AttnserveHfTokenizer* tokenizer);
// Returns 1 and stores the id of `token` (model vocabulary or added token),
// or 0 when the tokenizer has no such token.
int attnserve_hf_token_to_id(const AttnserveHfTokenizer* tokenizer,
                             const char* token, size_t len, uint32_t* id);

void attnserve_hf_free_string(char* s);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // ATTNSERVE_CORE_TOKENIZERS_HF_TOKENIZERS_API_H_
