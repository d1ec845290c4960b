// TSan annotations for Debian's uninstrumented Abseil synchronization
// primitives, loaded with LD_PRELOAD by `SANITIZE=thread tools/test.sh`.
//
// Why: libabsl_synchronization.so is not built with -fsanitize=thread, so its
// absl::Mutex / absl::CondVar / absl::Notification synchronize through atomics
// and futexes TSan never sees. Every access our code makes under an
// absl::MutexLock would then be reported as a data race (and real races would
// drown in the noise). Suppressions cannot fix this: the racing frames are our
// own code. Instead this library interposes the exported member functions,
// forwards to the real ones (dlsym RTLD_NEXT) and tells TSan what they do with
// the same __tsan_mutex_* calls Abseil itself makes when built under TSan.
//
// Calls from our instrumented code (and gRPC's grpc_core::Mutex) reach these
// through the PLT, so the preload wins over libabsl_synchronization.so.
// Build: g++ -std=c++20 -O1 -fPIC -shared -fsanitize=thread -o X.so this.cc
// -ldl
#include <dlfcn.h>
#include <link.h>
#include <sanitizer/tsan_interface.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define ATTNSERVE_STR2(x) #x
#define ATTNSERVE_STR(x) ATTNSERVE_STR2(x)

// The real (libabsl) function whose Itanium-mangled name is
// _ZN4absl<ns><suffix>, e.g. suffix "5Mutex4LockEv"; const members pass
// const_member=true ("_ZNK...").
template <typename Fn>
Fn Real(const char* suffix, bool const_member = false) {
  const std::string ns = ATTNSERVE_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string name = std::string(const_member ? "_ZNK" : "_ZN") +
                           "4absl" + std::to_string(ns.size()) + ns + suffix;
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr,
                 "tsan_absl_sync: %s not found after this preload; the "
                 "installed Abseil differs from the headers it was built "
                 "with: rebuild it\n",
                 name.c_str());
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

// TSan's view of a lock/unlock that happened inside uninstrumented code.
void AnnotateLock(void* mu, unsigned flags) {
  __tsan_mutex_pre_lock(mu, flags);
  __tsan_mutex_post_lock(mu, flags, 0);
}
void AnnotateUnlock(void* mu, unsigned flags) {
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
}

constexpr unsigned kRead = __tsan_mutex_read_lock;

// libabsl calls its own exported functions through the PLT too (e.g.
// CondVar::WaitWithTimeout -> WaitWithDeadline, Notification::Notify ->
// Mutex::Lock), which lands in these wrappers again: only the outermost call on
// a thread annotates, so every operation is reported to TSan exactly once.
thread_local int wrapper_depth = 0;
class Outermost {
 public:
  Outermost() : outer_(wrapper_depth++ == 0) {}
  ~Outermost() { --wrapper_depth; }
  explicit operator bool() const { return outer_; }

 private:
  const bool outer_;
};

// Whether `pc` lies in the main program (the instrumented test or server
// executable) rather than in a shared library such as libgrpc.
bool InMainProgram(const void* pc) {
  struct Range {
    uintptr_t begin = UINTPTR_MAX, end = 0;
  };
  static const Range main_program = [] {
    Range range;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
          auto* r = static_cast<Range*>(data);
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr)& ph = info->dlpi_phdr[i];
            if (ph.p_type != PT_LOAD) continue;
            const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
            if (begin < r->begin) r->begin = begin;
            if (begin + ph.p_memsz > r->end) r->end = begin + ph.p_memsz;
          }
          return 1;  // the first module is the main program
        },
        &range);
    return range;
  }();
  const auto p = reinterpret_cast<uintptr_t>(pc);
  return p >= main_program.begin && p < main_program.end;
}

// The Notification's flag; HasBeenNotified() is inline in our instrumented
// code and acquires from this address.
const void* NotifiedFlag(const absl::Notification* n) {
  return reinterpret_cast<const char*>(n) + sizeof(absl::Mutex);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

Mutex::~Mutex() {
  const Outermost outer;
  static auto real = Real<void (*)(Mutex*)>("5MutexD2Ev");
  // TSan checks a destroy against the last lock like a write. Only our code's
  // destroys are annotated: gRPC destroys its mutexes after hand-offs through
  // its uninstrumented refcounts, which TSan cannot see (seen: ~SubchannelNode,
  // event-engine ThreadPool). Their memory is reset by the free interceptor.
  if (outer && InMainProgram(__builtin_return_address(0)))
    __tsan_mutex_destroy(this, 0);
  real(this);
}

void Mutex::Lock() {
  const Outermost outer;
  static auto real = Real<void (*)(Mutex*)>("5Mutex4LockEv");
  if (outer) __tsan_mutex_pre_lock(this, 0);
  real(this);
  if (outer) __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLock() {
  const Outermost outer;
  static auto real = Real<void (*)(Mutex*)>("5Mutex10ReaderLockEv");
  if (outer) __tsan_mutex_pre_lock(this, kRead);
  real(this);
  if (outer) __tsan_mutex_post_lock(this, kRead, 0);
}

bool Mutex::TryLock() {
  const Outermost outer;
  static auto real = Real<bool (*)(Mutex*)>("5Mutex7TryLockEv");
  if (outer) __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool locked = real(this);
  if (outer)
    __tsan_mutex_post_lock(
        this,
        __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

bool Mutex::ReaderTryLock() {
  const Outermost outer;
  static auto real = Real<bool (*)(Mutex*)>("5Mutex13ReaderTryLockEv");
  const unsigned flags = kRead | __tsan_mutex_try_lock;
  if (outer) __tsan_mutex_pre_lock(this, flags);
  const bool locked = real(this);
  if (outer)
    __tsan_mutex_post_lock(
        this, flags | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

void Mutex::Unlock() {
  const Outermost outer;
  static auto real = Real<void (*)(Mutex*)>("5Mutex6UnlockEv");
  if (outer) __tsan_mutex_pre_unlock(this, 0);
  real(this);
  if (outer) __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderUnlock() {
  const Outermost outer;
  static auto real = Real<void (*)(Mutex*)>("5Mutex12ReaderUnlockEv");
  if (outer) __tsan_mutex_pre_unlock(this, kRead);
  real(this);
  if (outer) __tsan_mutex_post_unlock(this, kRead);
}

void Mutex::LockWhen(const Condition& cond) {
  const Outermost outer;
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      "5Mutex8LockWhenERKNS0_9ConditionE");
  real(this, cond);
  if (outer) AnnotateLock(this, 0);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  const Outermost outer;
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  real(this, cond);
  if (outer) AnnotateLock(this, kRead);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  const Outermost outer;
  static auto real = Real<bool (*)(Mutex*, const Condition&, Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool result = real(this, cond, timeout);
  if (outer) AnnotateLock(this, 0);  // held on return whatever the result
  return result;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  const Outermost outer;
  static auto real = Real<bool (*)(Mutex*, const Condition&, Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool result = real(this, cond, deadline);
  if (outer) AnnotateLock(this, 0);
  return result;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  const Outermost outer;
  static auto real = Real<bool (*)(Mutex*, const Condition&, Duration)>(
      "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool result = real(this, cond, timeout);
  if (outer) AnnotateLock(this, kRead);
  return result;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  const Outermost outer;
  static auto real = Real<bool (*)(Mutex*, const Condition&, Time)>(
      "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool result = real(this, cond, deadline);
  if (outer) AnnotateLock(this, kRead);
  return result;
}

// Await*: the mutex may be released and re-acquired inside; model that so
// writes by other holders in between happen-before our return.
void Mutex::Await(const Condition& cond) {
  const Outermost outer;
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      "5Mutex5AwaitERKNS0_9ConditionE");
  if (outer) AnnotateUnlock(this, 0);
  real(this, cond);
  if (outer) AnnotateLock(this, 0);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  const Outermost outer;
  static auto real = Real<bool (*)(Mutex*, const Condition&, Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (outer) AnnotateUnlock(this, 0);
  const bool result = real(this, cond, timeout);
  if (outer) AnnotateLock(this, 0);
  return result;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  const Outermost outer;
  static auto real = Real<bool (*)(Mutex*, const Condition&, Time)>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (outer) AnnotateUnlock(this, 0);
  const bool result = real(this, cond, deadline);
  if (outer) AnnotateLock(this, 0);
  return result;
}

// CondVar waits release `mu` while blocked and hold it again on return.
void CondVar::Wait(Mutex* mu) {
  const Outermost outer;
  static auto real =
      Real<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  if (outer) AnnotateUnlock(mu, 0);
  real(this, mu);
  if (outer) AnnotateLock(mu, 0);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  const Outermost outer;
  static auto real = Real<bool (*)(CondVar*, Mutex*, Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  if (outer) AnnotateUnlock(mu, 0);
  const bool result = real(this, mu, timeout);
  if (outer) AnnotateLock(mu, 0);
  return result;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  const Outermost outer;
  static auto real = Real<bool (*)(CondVar*, Mutex*, Time)>(
      "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  if (outer) AnnotateUnlock(mu, 0);
  const bool result = real(this, mu, deadline);
  if (outer) AnnotateLock(mu, 0);
  return result;
}

// Notify happens-before every waiter that sees the notification.
void Notification::Notify() {
  const Outermost outer;
  static auto real = Real<void (*)(Notification*)>("12Notification6NotifyEv");
  if (outer) __tsan_release(const_cast<void*>(NotifiedFlag(this)));
  real(this);
}

void Notification::WaitForNotification() const {
  const Outermost outer;
  static auto real = Real<void (*)(const Notification*)>(
      "12Notification19WaitForNotificationEv", /*const_member=*/true);
  real(this);
  if (outer) __tsan_acquire(const_cast<void*>(NotifiedFlag(this)));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  const Outermost outer;
  static auto real = Real<bool (*)(const Notification*, Duration)>(
      "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true);
  const bool notified = real(this, timeout);
  if (outer && notified) __tsan_acquire(const_cast<void*>(NotifiedFlag(this)));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  const Outermost outer;
  static auto real = Real<bool (*)(const Notification*, Time)>(
      "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", true);
  const bool notified = real(this, deadline);
  if (outer && notified) __tsan_acquire(const_cast<void*>(NotifiedFlag(this)));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
