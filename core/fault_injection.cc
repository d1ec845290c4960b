#include "core/fault_injection.h"

#include <new>

#include "absl/synchronization/mutex.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace attnserve {
namespace fault_internal {

std::atomic<bool> armed{false};

namespace {

struct State {
  absl::Mutex mu;
  FaultPlan plan ABSL_GUARDED_BY(mu);
  int64_t hits ABSL_GUARDED_BY(mu) = 0;
  int64_t injected ABSL_GUARDED_BY(mu) = 0;
};

State& GetState() {
  static State* state = new State();
  return *state;
}

// Under the lock: whether this hit of the armed site fails.
bool ShouldFail(State& s, FaultSite site) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
  if (site != s.plan.site) return false;
  const int64_t hit = ++s.hits;
  const bool fail = (s.plan.nth > 0 && hit == s.plan.nth) ||
                    (s.plan.every > 0 && hit % s.plan.every == 0);
  if (fail) ++s.injected;
  return fail;
}

}  // namespace

void Hit(FaultSite site) {
  State& s = GetState();
  {
    absl::MutexLock lock(&s.mu);
    if (!armed.load(std::memory_order_relaxed) || !ShouldFail(s, site)) return;
  }
  if (site == FaultSite::kAlloc) throw std::bad_alloc();
  throw dnnl::error(dnnl_runtime_error,
                    "injected fault: could not create a primitive");
}

}  // namespace fault_internal

void ArmFault(const FaultPlan& plan) {
  fault_internal::State& s = fault_internal::GetState();
  absl::MutexLock lock(&s.mu);
  s.plan = plan;
  s.hits = 0;
  s.injected = 0;
  fault_internal::armed.store(true, std::memory_order_relaxed);
}

void DisarmFault() {
  fault_internal::State& s = fault_internal::GetState();
  absl::MutexLock lock(&s.mu);
  fault_internal::armed.store(false, std::memory_order_relaxed);
}

int64_t InjectedFaultCount() {
  fault_internal::State& s = fault_internal::GetState();
  absl::MutexLock lock(&s.mu);
  return s.injected;
}

int64_t FaultSiteHits() {
  fault_internal::State& s = fault_internal::GetState();
  absl::MutexLock lock(&s.mu);
  return s.hits;
}

}  // namespace attnserve
