#ifndef ATTNSERVE_CORE_STATUS_GUARD_H_
#define ATTNSERVE_CORE_STATUS_GUARD_H_

// Exceptions stop at the core's facades (SentenceEncoder::Load/Embed,
// Translator::Load/Generate, DecodeBatch::Add/Step): oneDNN throws dnnl::error
// when it cannot create a primitive, and the allocator and the standard
// library throw std::bad_alloc and friends. Left alone they would reach a
// server worker thread and terminate the process with every model in it.

#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace attnserve {

// The exception being handled as a Status; call only inside a catch block.
// std::bad_alloc and oneDNN's out-of-memory become RESOURCE_EXHAUSTED,
// everything else INTERNAL; the message is "<what> failed: <e.what()>".
absl::Status CurrentExceptionToStatus(absl::string_view what);

// Runs f (returning absl::Status or absl::StatusOr<T>); an exception leaving it
// becomes CurrentExceptionToStatus(what).
template <typename F>
std::invoke_result_t<F> CatchToStatus(absl::string_view what, F&& f) {
  try {
    return f();
  } catch (...) {
    return CurrentExceptionToStatus(what);
  }
}

// An error of the core as the server reports it for a call: RESOURCE_EXHAUSTED
// stays (the client may retry smaller or later), every other code becomes
// INTERNAL (the request was already validated, so it is the server's fault).
// The message is "<context>: <cause's message>" (RESOURCE_EXHAUSTED: and what
// the client can do about it).
absl::Status ServingError(absl::string_view context, const absl::Status& cause);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_STATUS_GUARD_H_
