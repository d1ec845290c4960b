#include "core/ops/compute_thread.h"

#include <exception>

namespace attnserve {

struct ComputeThread::Task {
  absl::FunctionRef<void()> work;
  std::exception_ptr error;
  bool done = false;  // guarded by the ComputeThread's mu_
};

ComputeThread::ComputeThread() : thread_([this] { Loop(); }) {}

ComputeThread::~ComputeThread() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

ComputeThread& ComputeThread::Shared() {
  static ComputeThread* const shared = new ComputeThread();
  return *shared;
}

void ComputeThread::Run(absl::FunctionRef<void()> work) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    work();
    return;
  }
  Task task{work, nullptr, false};
  absl::MutexLock lock(&mu_);
  queue_.push_back(&task);
  mu_.Await(absl::Condition(
      +[](Task* t) { return t->done; }, &task));
  if (task.error != nullptr) std::rethrow_exception(task.error);
}

void ComputeThread::Loop() {
  while (true) {
    Task* task = nullptr;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, nothing left
      task = queue_.front();
      queue_.pop_front();
    }
    std::exception_ptr error;
    try {
      task->work();
    } catch (...) {
      error = std::current_exception();
    }
    absl::MutexLock lock(&mu_);
    task->error = error;
    task->done = true;
  }
}

}  // namespace attnserve
