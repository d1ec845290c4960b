#include "core/ops/compute_threads.h"

#include <dlfcn.h>

namespace attnserve {
namespace {

struct OmpApi {
  void (*set_num_threads)(int) = nullptr;
  int (*get_max_threads)() = nullptr;
};

// Resolved once; immutable afterwards.
const OmpApi& Omp() {
  static const OmpApi api = [] {
    OmpApi a;
    a.set_num_threads = reinterpret_cast<void (*)(int)>(
        dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    a.get_max_threads =
        reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    return a;
  }();
  return api;
}

}  // namespace

bool ComputeThreadsControllable() {
  return Omp().set_num_threads != nullptr && Omp().get_max_threads != nullptr;
}

void SetComputeThreadsOfThisThread(int threads) {
  if (threads <= 0 || !ComputeThreadsControllable()) return;
  if (Omp().get_max_threads() != threads) Omp().set_num_threads(threads);
}

int ComputeThreadsOfThisThread() {
  return ComputeThreadsControllable() ? Omp().get_max_threads() : 1;
}

}  // namespace attnserve
