#ifndef ATTNSERVE_CORE_FAULT_INJECTION_H_
#define ATTNSERVE_CORE_FAULT_INJECTION_H_

// Test-only fault injection: makes the Nth (or every Nth) primitive creation or
// allocation inside the core throw as oneDNN or the allocator would, so tests
// can check that a failure is contained (core/status_guard.h, the server's
// batcher and scheduler). Nothing in the release server arms it (no flag, no
// environment variable): only tests call ArmFault. Disarmed, a hook is one
// relaxed atomic load (no second build of the core for tests: the machine
// builds on 2 cores).

#include <atomic>
#include <cstdint>

namespace attnserve {

enum class FaultSite {
  kPrimitive,  // a oneDNN primitive is created (PrimitiveCache miss)
  kAlloc,      // an activation tensor is sized, a packed weight allocated
};

struct FaultPlan {
  FaultSite site = FaultSite::kAlloc;
  int64_t nth = 0;    // > 0: only the nth hit of the site fails
  int64_t every = 0;  // > 0: every every-th hit fails
};

// Counting starts at zero. A primitive fault throws dnnl::error
// (dnnl_runtime_error), an allocation fault std::bad_alloc.
void ArmFault(const FaultPlan& plan);
void DisarmFault();
int64_t InjectedFaultCount();  // thrown since the last ArmFault
int64_t FaultSiteHits();       // hits of the armed site since the last ArmFault

namespace fault_internal {
extern std::atomic<bool> armed;
void Hit(FaultSite site);
}  // namespace fault_internal

// Called where the core creates a primitive or allocates.
inline void MaybeInjectFault(FaultSite site) {
  if (fault_internal::armed.load(std::memory_order_relaxed)) {
    fault_internal::Hit(site);
  }
}

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_FAULT_INJECTION_H_
