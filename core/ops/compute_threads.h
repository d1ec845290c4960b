#ifndef ATTNSERVE_CORE_OPS_COMPUTE_THREADS_H_
#define ATTNSERVE_CORE_OPS_COMPUTE_THREADS_H_

namespace attnserve {

// oneDNN (as packaged here) parallelises with OpenMP. OpenMP's thread count
// (the nthreads ICV) belongs to the CALLING thread: omp_set_num_threads in one
// server worker does not affect another, and a thread that never set it uses
// OMP_NUM_THREADS or all cores. So a model applies its thread count in the
// thread that runs it, right before executing primitives.
//
// The OpenMP entry points are looked up at run time in the runtime oneDNN
// already loaded (libgomp / libiomp), so the core does not link OpenMP itself
// and still works (without control) with a TBB/threadpool oneDNN.

// True when the thread count can be controlled (an OpenMP runtime is loaded).
bool ComputeThreadsControllable();

// Sets the number of threads parallel regions started by the calling thread
// use; threads <= 0 leaves the current setting. Cheap (sets a per-thread
// variable), so it is called before every primitive.
void SetComputeThreadsOfThisThread(int threads);

// The calling thread's current OpenMP thread count (1 without OpenMP).
int ComputeThreadsOfThisThread();

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_COMPUTE_THREADS_H_
