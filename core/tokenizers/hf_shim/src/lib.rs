//! C ABI of attnserve over Hugging Face `tokenizers` (declared in
//! core/tokenizers/hf_tokenizers_api.h; keep the two in step).
//!
//! Every entry point runs inside `catch_unwind`: a panic in the crate becomes an
//! error string instead of unwinding into C++ (undefined behaviour). Errors and
//! encodings are allocated here and released by the matching free function.

use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use tokenizers::{
    truncate_encodings, Encoding, PostProcessor, Tokenizer, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

/// Bumped with every signature change in hf_tokenizers_api.h.
const ABI_VERSION: c_int = 3;

/// The opaque handle C++ holds. Encoding takes `&self` only, so one handle
/// serves many threads at once (the crate's `Tokenizer` is `Send + Sync`).
pub struct AttnserveHfTokenizer {
    tokenizer: Tokenizer,
}

/// Mirrors `AttnserveHfEncoding` in the header.
#[repr(C)]
pub struct AttnserveHfEncoding {
    pub ids: *mut u32,
    /// `count` token type ids (segment ids: 0 for the first text and its
    /// special tokens, 1 for a pair's second text as the post-processor says).
    pub type_ids: *mut u32,
    /// The token strings back to back, not NUL-separated.
    pub pieces: *mut c_char,
    /// `piece_ends[i]` is the end offset of token i in `pieces`.
    pub piece_ends: *mut usize,
    pub count: usize,
    pub pieces_len: usize,
    pub truncated: c_int,
}

type ShimResult<T> = Result<T, String>;

fn set_error(error: *mut *mut c_char, message: String) {
    if error.is_null() {
        return;
    }
    // Interior NULs cannot come from our messages, but never panic here.
    let text = CString::new(message.replace('\0', " "))
        .unwrap_or_else(|_| CString::new("error").expect("no NUL"));
    unsafe { *error = text.into_raw() };
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("tokenizers panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("tokenizers panicked: {s}")
    } else {
        "tokenizers panicked".to_string()
    }
}

/// Runs `f`, turning an error or a panic into `fallback` plus a message in `*error`.
fn guarded<T>(error: *mut *mut c_char, fallback: T, f: impl FnOnce() -> ShimResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => value,
        Ok(Err(message)) => {
            set_error(error, message);
            fallback
        }
        Err(payload) => {
            set_error(error, panic_message(payload));
            fallback
        }
    }
}

unsafe fn utf8_arg<'a>(data: *const c_char, len: usize, what: &str) -> ShimResult<&'a str> {
    if data.is_null() {
        if len == 0 {
            return Ok("");
        }
        return Err(format!("{what} is NULL"));
    }
    let bytes = std::slice::from_raw_parts(data as *const u8, len);
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "{what} is not valid UTF-8 (byte offset {})",
            e.valid_up_to()
        )
    })
}

#[no_mangle]
pub extern "C" fn attnserve_hf_abi_version() -> c_int {
    ABI_VERSION
}

fn load(path: &str) -> ShimResult<AttnserveHfTokenizer> {
    prepare(Tokenizer::from_file(path).map_err(|e| e.to_string())?)
}

fn prepare(mut tokenizer: Tokenizer) -> ShimResult<AttnserveHfTokenizer> {
    // The file's own truncation and padding (all-MiniLM-L6-v2's: cut at 128, pad
    // to 128) are what transformers overrides on every call; truncation is
    // applied per call in `encode` instead.
    tokenizer.with_truncation(None).map_err(|e| e.to_string())?;
    tokenizer.with_padding(None);
    Ok(AttnserveHfTokenizer { tokenizer })
}

#[no_mangle]
pub unsafe extern "C" fn attnserve_hf_load(
    path: *const c_char,
    error: *mut *mut c_char,
) -> *mut AttnserveHfTokenizer {
    guarded(error, ptr::null_mut(), || {
        if path.is_null() {
            return Err("path is NULL".to_string());
        }
        let path = CStr::from_ptr(path)
            .to_str()
            .map_err(|_| "path is not valid UTF-8".to_string())?;
        Ok(Box::into_raw(Box::new(load(path)?)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn attnserve_hf_load_json(
    json: *const c_char,
    json_len: usize,
    error: *mut *mut c_char,
) -> *mut AttnserveHfTokenizer {
    guarded(error, ptr::null_mut(), || {
        let json = utf8_arg(json, json_len, "tokenizer JSON")?;
        let tokenizer: Tokenizer = json.parse().map_err(|e: tokenizers::Error| e.to_string())?;
        Ok(Box::into_raw(Box::new(prepare(tokenizer)?)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn attnserve_hf_destroy(tokenizer: *mut AttnserveHfTokenizer) {
    if tokenizer.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(tokenizer))));
}

/// transformers' fast tokenizer called with `truncation=True, max_length=N`
/// (`set_truncation_and_padding`): longest_first, stride 0, the special tokens
/// kept (the budget for the texts is N minus what the post-processor adds).
/// Same steps as `Tokenizer::encode` with that truncation set, but with the
/// parameters per call so the shared tokenizer is never mutated.
fn encode(
    tokenizer: &Tokenizer,
    text: &str,
    pair: Option<&str>,
    max_length: Option<usize>,
    direction: TruncationDirection,
) -> ShimResult<(Encoding, bool)> {
    let err = |e: tokenizers::Error| e.to_string();
    // Without special tokens and with no truncation set, `encode` returns the
    // bare encoding of one sequence (the post-processor adds nothing).
    let first = tokenizer.encode(text, false).map_err(err)?;
    let second = pair
        .map(|p| tokenizer.encode(p, false))
        .transpose()
        .map_err(err)?;
    let added = tokenizer
        .get_post_processor()
        .map_or(0, |p| p.added_tokens(second.is_some()));
    let total = first.len() + second.as_ref().map_or(0, |e| e.len()) + added;
    let (first, second, truncated) = match max_length {
        Some(max) if total > max => {
            if max < added {
                return Err(format!(
                    "max_length {max} leaves no room for the {added} special tokens"
                ));
            }
            let params = TruncationParams {
                direction,
                max_length: max - added,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            };
            let (a, b) = truncate_encodings(first, second, &params).map_err(err)?;
            (a, b, true)
        }
        _ => (first, second, false),
    };
    // No truncation or padding is set, so this only adds the special tokens.
    let encoding = tokenizer.post_process(first, second, true).map_err(err)?;
    Ok((encoding, truncated))
}

fn into_raw_slice<T>(values: Vec<T>) -> *mut T {
    Box::into_raw(values.into_boxed_slice()) as *mut T
}

/// The pieces are the vocabulary strings of the ids (transformers'
/// `convert_ids_to_tokens`), not the encoding's own tokens, which for an
/// unknown character or an added token with lstrip/rstrip are the matched
/// source text (`"  <mask>"`, `"é"` for `<unk>`).
fn fill(
    out: &mut AttnserveHfEncoding,
    tokenizer: &Tokenizer,
    encoding: &Encoding,
    truncated: bool,
) {
    let ids = encoding.get_ids();
    let mut pieces = Vec::new();
    let mut ends = Vec::with_capacity(ids.len());
    for (&id, token) in ids.iter().zip(encoding.get_tokens()) {
        match tokenizer.id_to_token(id) {
            Some(piece) => pieces.extend_from_slice(piece.as_bytes()),
            None => pieces.extend_from_slice(token.as_bytes()),
        }
        ends.push(pieces.len());
    }
    out.count = encoding.len();
    out.pieces_len = pieces.len();
    out.ids = into_raw_slice(encoding.get_ids().to_vec());
    out.type_ids = into_raw_slice(encoding.get_type_ids().to_vec());
    out.pieces = into_raw_slice(pieces) as *mut c_char;
    out.piece_ends = into_raw_slice(ends);
    out.truncated = truncated as c_int;
}

#[no_mangle]
pub unsafe extern "C" fn attnserve_hf_encode(
    tokenizer: *const AttnserveHfTokenizer,
    text: *const c_char,
    text_len: usize,
    pair: *const c_char,
    pair_len: usize,
    truncate: c_int,
    max_length: usize,
    truncate_left: c_int,
    out: *mut AttnserveHfEncoding,
    error: *mut *mut c_char,
) -> c_int {
    guarded(error, -1, || {
        if tokenizer.is_null() || out.is_null() {
            return Err("tokenizer or out is NULL".to_string());
        }
        let text = utf8_arg(text, text_len, "text")?;
        let pair = if pair.is_null() {
            None
        } else {
            Some(utf8_arg(pair, pair_len, "pair text")?)
        };
        let direction = if truncate_left != 0 {
            TruncationDirection::Left
        } else {
            TruncationDirection::Right
        };
        let max = if truncate != 0 {
            Some(max_length)
        } else {
            None
        };
        let (encoding, truncated) = encode(&(*tokenizer).tokenizer, text, pair, max, direction)?;
        fill(&mut *out, &(*tokenizer).tokenizer, &encoding, truncated);
        Ok(0)
    })
}

#[no_mangle]
pub unsafe extern "C" fn attnserve_hf_encoding_free(encoding: *mut AttnserveHfEncoding) {
    if encoding.is_null() {
        return;
    }
    let e = &mut *encoding;
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !e.ids.is_null() {
            drop(Box::from_raw(ptr::slice_from_raw_parts_mut(e.ids, e.count)));
        }
        if !e.type_ids.is_null() {
            drop(Box::from_raw(ptr::slice_from_raw_parts_mut(
                e.type_ids, e.count,
            )));
        }
        if !e.piece_ends.is_null() {
            drop(Box::from_raw(ptr::slice_from_raw_parts_mut(
                e.piece_ends,
                e.count,
            )));
        }
        if !e.pieces.is_null() {
            drop(Box::from_raw(ptr::slice_from_raw_parts_mut(
                e.pieces as *mut u8,
                e.pieces_len,
            )));
        }
    }));
    e.ids = ptr::null_mut();
    e.type_ids = ptr::null_mut();
    e.piece_ends = ptr::null_mut();
    e.pieces = ptr::null_mut();
    e.count = 0;
    e.pieces_len = 0;
}

#[no_mangle]
pub unsafe extern "C" fn attnserve_hf_vocab_size(tokenizer: *const AttnserveHfTokenizer) -> usize {
    if tokenizer.is_null() {
        return 0;
    }
    // One more than the largest id, not the number of entries: a vocab.txt
    // with a repeated line maps the token to its last line, so ids can reach
    // past the count (found by the hf_config fuzzer).
    catch_unwind(AssertUnwindSafe(|| {
        let t = &(*tokenizer).tokenizer;
        let largest = t.get_vocab(true).values().copied().max();
        largest.map_or(0, |m| m as usize + 1).max(t.get_vocab_size(true))
    }))
    .unwrap_or(0)
}

#[no_mangle]
pub unsafe extern "C" fn attnserve_hf_token_to_id(
    tokenizer: *const AttnserveHfTokenizer,
    token: *const c_char,
    len: usize,
    id: *mut u32,
) -> c_int {
    if tokenizer.is_null() || id.is_null() {
        return 0;
    }
    catch_unwind(AssertUnwindSafe(|| {
        let Ok(token) = utf8_arg(token, len, "token") else {
            return 0;
        };
        match (*tokenizer).tokenizer.token_to_id(token) {
            Some(found) => {
                *id = found;
                1
            }
            None => 0,
        }
    }))
    .unwrap_or(0)
}

#[no_mangle]
pub unsafe extern "C" fn attnserve_hf_free_string(s: *mut c_char) {
    if !s.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(CString::from_raw(s))));
    }
}
