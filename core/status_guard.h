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
// becomes CurrentExceptionToStatus(what). `what` is a string, or a callable
// returning one that runs only on an exception: a forward pass or decoder step
// then formats no message when nothing fails.
template <typename W, typename F>
std::invoke_result_t<F> CatchToStatus(W&& what, F&& f) {
  try {
    return f();
  } catch (...) {
    if constexpr (std::is_invocable_v<W>) {
      return CurrentExceptionToStatus(what());
    } else {
      return CurrentExceptionToStatus(what);
    }
  }
}

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_STATUS_GUARD_H_
