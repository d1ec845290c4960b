#ifndef ATTNSERVE_CORE_OPS_COMPUTE_THREAD_H_
#define ATTNSERVE_CORE_OPS_COMPUTE_THREAD_H_

#include <cstdint>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace attnserve {

// One thread that runs the primitives of every model of a process, one piece
// of work at a time, in the order it was handed over.
//
// Why: libgomp gives every thread that starts a parallel region its own team
// of pool threads and keeps it for as long as that thread lives. With one
// worker thread per model, a process serving two models holds two teams; once
// their threads outnumber the cores, libgomp caps every team's spin-wait at
// 100 iterations ("throttled") and each of a forward pass's parallel regions
// wakes its sleeping team members by futex. Measured on 2 cores (MiniLM, one
// 15-token text, 2 threads): after a single Translate call had created the
// translator's team, every Encode call took 6.4 ms of compute with 249 context
// switches instead of 2.0 ms with 46. Work handed to one thread keeps one team
// in the process, whatever the number of models; the hand-over costs two
// thread wake-ups per batch or decoder step instead of one per region.
class ComputeThread {
 public:
  ComputeThread();
  ~ComputeThread();  // finishes the work handed over, then joins
  ComputeThread(const ComputeThread&) = delete;
  ComputeThread& operator=(const ComputeThread&) = delete;

  // The process's compute thread (created on first use, never destroyed).
  static ComputeThread& Shared();

  // Runs `work` on the compute thread and returns once it has run; an
  // exception it throws is rethrown here. Called from the compute thread
  // itself, runs `work` inline.
  void Run(absl::FunctionRef<void()> work);

 private:
  struct Task;
  void Loop();

  absl::Mutex mu_;
  std::deque<Task*> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Runs `work` on `thread`, or right here when `thread` is null.
inline void RunOn(ComputeThread* thread, absl::FunctionRef<void()> work) {
  if (thread != nullptr) {
    thread->Run(work);
  } else {
    work();
  }
}

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_COMPUTE_THREAD_H_
