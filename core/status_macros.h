#ifndef ATTNSERVE_CORE_STATUS_MACROS_H_
#define ATTNSERVE_CORE_STATUS_MACROS_H_

// The one pair of early-return macros of the project (absl has none public).
//
//   RETURN_IF_ERROR(DoThing());              // returns the Status if not ok
//   ASSIGN_OR_RETURN(Config c, ReadConfig(folder));   // declares c
//   ASSIGN_OR_RETURN(layer.w, r.Read(...));           // assigns an lvalue
//
// ASSIGN_OR_RETURN expands to several statements: use it inside braces.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status attnserve_status_ = (expr);             \
    if (!attnserve_status_.ok()) return attnserve_status_; \
  } while (0)

#define ATTNSERVE_STATUS_CONCAT_INNER_(a, b) a##b
#define ATTNSERVE_STATUS_CONCAT_(a, b) ATTNSERVE_STATUS_CONCAT_INNER_(a, b)
#define ATTNSERVE_ASSIGN_OR_RETURN_IMPL_(lhs, expr, tmp) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) return tmp.status();                    \
  lhs = std::move(*tmp)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ATTNSERVE_ASSIGN_OR_RETURN_IMPL_( \
      lhs, expr, ATTNSERVE_STATUS_CONCAT_(attnserve_status_or_, __LINE__))

#endif  // ATTNSERVE_CORE_STATUS_MACROS_H_
