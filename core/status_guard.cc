#include "core/status_guard.h"

#include <exception>
#include <new>

#include "absl/strings/str_cat.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace attnserve {

absl::Status CurrentExceptionToStatus(absl::string_view what) {
  try {
    throw;
  } catch (const std::bad_alloc& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " failed: out of memory (", e.what(), ")"));
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_out_of_memory) {
      return absl::ResourceExhaustedError(
          absl::StrCat(what, " failed: oneDNN out of memory (", e.what(), ")"));
    }
    return absl::InternalError(
        absl::StrCat(what, " failed: oneDNN error: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, " failed: ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(
        what, " failed: an exception that is not a std::exception"));
  }
}

}  // namespace attnserve
