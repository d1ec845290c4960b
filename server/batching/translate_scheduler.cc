#include "server/batching/translate_scheduler.h"

#include <algorithm>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/status_guard.h"
#include "server/batching/serving_error.h"

namespace attnserve::server {
namespace {

// Decoder rows one text occupies (greedy = 1 row).
int RowsOf(const GenerationOptions& options) {
  return std::max(1, options.beam_size);
}

// One accepted TranslateWork as the worker tracks it. Only the worker thread
// touches a Job.
struct Job {
  std::shared_ptr<TranslateWork> work;
  int next_to_admit = 0;  // texts before this index joined the DecodeBatch
  int unfinished = 0;     // texts without their finishing event yet
  bool done = false;      // on_done was called

  int num_texts() const { return static_cast<int>(work->sources.size()); }
  int not_admitted() const { return num_texts() - next_to_admit; }
  bool all_admitted() const { return next_to_admit == num_texts(); }
};

// Where a running sequence's events go.
struct Slot {
  Job* job;
  int index;          // text index within job->work->sources
  int64_t bytes = 0;  // its memory estimate, reserved while it runs
};

// Translator::EstimateTranslateBytes of text `index` of `work`.
int64_t TextBytes(const Translator& model, const TranslateWork& work,
                  int index) {
  return model.EstimateTranslateBytes(
      static_cast<int>(work.sources[index].ids.size()), RowsOf(work.options),
      work.options.max_new_tokens);
}

}  // namespace

struct TranslateScheduler::Impl {
  Impl(Translator* model, SchedulerOptions options, SchedulerObserver* observer)
      : model(model),
        options(std::move(options)),
        observer(observer),
        batch(model->NewDecodeBatch()) {}

  absl::Status Submit(std::shared_ptr<TranslateWork> work);
  absl::Status CheckMemory(const TranslateWork& work) const;
  void Shutdown();

  // Worker thread.
  void Run();
  // False once shut down with every accepted text finished.
  bool WaitForWork();
  void TakeInbox();
  void DropCancelledAndExpired();
  void AdmitWaiting();
  std::vector<Slot> SelectAdmissions();  // FIFO while rows are free
  absl::Status AddToBatch(absl::Span<const Slot> texts);  // records SeqIds
  void StepOnce();
  // After a failed step: fails the works with a text in the batch, starts a
  // fresh DecodeBatch.
  void FailRunning(const absl::Status& cause);
  void RetireDoneJobs();

  // Worker helpers.
  // Cancels the job's running texts, drops its waiting ones, calls on_done.
  void Finish(Job& job, const absl::Status& status);
  // Texts leave the waiting count (admitted or dropped).
  void CountAdmitted(int texts);
  int rows_in_use() const { return batch->num_rows(); }

  Translator* const model;
  const SchedulerOptions options;
  SchedulerObserver* const observer;  // may be null

  absl::Mutex mu;
  absl::CondVar work_arrived;
  std::deque<std::shared_ptr<TranslateWork>> inbox ABSL_GUARDED_BY(mu);
  // Texts accepted but not yet admitted or dropped.
  int texts_waiting ABSL_GUARDED_BY(mu) = 0;
  bool shutting_down ABSL_GUARDED_BY(mu) = false;

  // Owned by the worker thread.
  std::unique_ptr<DecodeBatch> batch;
  std::list<Job> jobs;  // acceptance order = FIFO admission order
  std::unordered_map<DecodeBatch::SeqId, Slot> running;
  int64_t reserved_bytes = 0;  // sum of running[*].bytes

  std::once_flag join_once;
  std::thread worker;
  // worker's id, for Shutdown() to tell the worker from other threads: set
  // once before any Submit and then only read (join() resets worker's own id
  // while another thread may be reading it).
  std::thread::id worker_id;
};

absl::Status TranslateScheduler::Impl::Submit(
    std::shared_ptr<TranslateWork> work) {
  const int texts = static_cast<int>(work->sources.size());
  if (absl::Status s = CheckMemory(*work); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu);
    if (shutting_down) {
      return absl::UnavailableError(
          "server is shutting down; translation queue takes no new work");
    }
    if (texts > options.max_queue_size) {
      return absl::ResourceExhaustedError(
          absl::StrCat("this call has ", texts, " texts, more than model '",
                       options.model_name, "' batching.max_queue_size ",
                       options.max_queue_size,
                       "; not retryable: send fewer texts per call"));
    }
    if (texts_waiting + texts > options.max_queue_size) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "model '", options.model_name,
          "' translation queue is full: ", texts_waiting, " texts waiting + ",
          texts, " of this call > batching.max_queue_size ",
          options.max_queue_size, "; retryable: retry later with back-off"));
    }
    texts_waiting += texts;
    inbox.push_back(std::move(work));
  }
  work_arrived.Signal();
  return absl::OkStatus();
}

// Texts join the batch one by one at worst, so a work fits when its most
// expensive text fits alone.
absl::Status TranslateScheduler::Impl::CheckMemory(
    const TranslateWork& work) const {
  for (int i = 0; i < static_cast<int>(work.sources.size()); ++i) {
    const int64_t bytes = TextBytes(*model, work, i);
    if (bytes <= options.max_memory_bytes) continue;
    return absl::ResourceExhaustedError(absl::StrCat(
        "texts[", i, "] (", work.sources[i].ids.size(), " tokens, ",
        RowsOf(work.options), " beams, max_new_tokens ",
        work.options.max_new_tokens, ") needs an estimated ", bytes,
        " bytes, more than model '", options.model_name,
        "' batching.max_batch_memory_bytes ", options.max_memory_bytes,
        "; not retryable: use fewer beams, fewer max_new_tokens or a shorter "
        "text (or raise max_batch_memory_bytes in the model config)"));
  }
  return absl::OkStatus();
}

void TranslateScheduler::Impl::Shutdown() {
  {
    absl::MutexLock lock(&mu);
    shutting_down = true;
  }
  work_arrived.Signal();
  // From a callback (worker thread) only stop accepting: the worker cannot join
  // itself, and the destructor joins it later.
  if (std::this_thread::get_id() == worker_id) return;
  std::call_once(join_once, [this] {
    if (worker.joinable()) worker.join();
  });
}

void TranslateScheduler::Impl::Run() {
  while (WaitForWork()) {
    TakeInbox();
    DropCancelledAndExpired();
    AdmitWaiting();
    StepOnce();
    RetireDoneJobs();
    int depth;
    {
      absl::MutexLock lock(&mu);
      depth = texts_waiting;
    }
    if (observer != nullptr) observer->OnQueueDepth(depth);
  }
}

bool TranslateScheduler::Impl::WaitForWork() {
  absl::MutexLock lock(&mu);
  // Jobs in hand always make progress (a step or an admission), so only an
  // empty worker sleeps.
  while (jobs.empty() && inbox.empty() && !shutting_down)
    work_arrived.Wait(&mu);
  return !(jobs.empty() && inbox.empty() && shutting_down);
}

void TranslateScheduler::Impl::TakeInbox() {
  std::deque<std::shared_ptr<TranslateWork>> arrived;
  {
    absl::MutexLock lock(&mu);
    arrived.swap(inbox);
  }
  for (auto& work : arrived) {
    Job& job = jobs.emplace_back();
    job.work = std::move(work);
    job.unfinished = job.num_texts();
    if (job.unfinished == 0) Finish(job, absl::OkStatus());
  }
}

void TranslateScheduler::Impl::DropCancelledAndExpired() {
  const absl::Time now = absl::Now();
  for (Job& job : jobs) {
    if (job.done) continue;
    // Deadline first: gRPC also cancels a call whose deadline passed, and its
    // client sees DEADLINE_EXCEEDED.
    if (job.work->deadline <= now) {
      if (observer != nullptr && job.not_admitted() > 0)
        observer->OnExpired(job.not_admitted());
      Finish(job, absl::DeadlineExceededError(
                      "deadline exceeded before translation finished"));
    } else if (job.work->cancelled.load()) {
      Finish(job, absl::CancelledError("translation cancelled by the client"));
    }
  }
}

std::vector<Slot> TranslateScheduler::Impl::SelectAdmissions() {
  std::vector<Slot> admitted;
  int rows = rows_in_use();
  int64_t bytes = reserved_bytes;
  // Strict FIFO: stop at the first text that does not fit (rows or memory),
  // so wide texts are not starved by narrow ones behind them.
  for (Job& job : jobs) {
    if (job.done) continue;
    const int width = RowsOf(job.work->options);
    while (!job.all_admitted()) {
      const bool batch_empty = rows == 0 && admitted.empty();
      const int64_t text_bytes =
          TextBytes(*model, *job.work, job.next_to_admit);
      const bool fits = rows + width <= options.max_batch_rows &&
                        bytes + text_bytes <= options.max_memory_bytes;
      if (!fits && !batch_empty) return admitted;
      admitted.push_back({&job, job.next_to_admit++, text_bytes});
      rows += width;
      bytes += text_bytes;
    }
  }
  return admitted;
}

absl::Status TranslateScheduler::Impl::AddToBatch(
    absl::Span<const Slot> texts) {
  std::vector<absl::Span<const int32_t>> sources;
  std::vector<GenerationOptions> options_per_text;
  for (const Slot& slot : texts) {
    sources.push_back(slot.job->work->sources[slot.index].ids);
    options_per_text.push_back(slot.job->work->options);
  }
  absl::StatusOr<std::vector<DecodeBatch::SeqId>> ids;
  RunOn(options.compute_thread,
        [&] { ids = batch->Add(sources, options_per_text); });
  if (!ids.ok()) return ids.status();
  for (size_t i = 0; i < texts.size(); ++i) {
    running.emplace((*ids)[i], texts[i]);
    reserved_bytes += texts[i].bytes;
  }
  return absl::OkStatus();
}

void TranslateScheduler::Impl::AdmitWaiting() {
  const std::vector<Slot> admitted = SelectAdmissions();
  if (admitted.empty()) return;
  CountAdmitted(static_cast<int>(admitted.size()));
  if (observer != nullptr) {
    const absl::Time now = absl::Now();
    for (const Slot& slot : admitted) {
      observer->OnQueueWait(now - slot.job->work->enqueued);
    }
  }
  // One encoder pass for all newly admitted texts.
  absl::Status added = AddToBatch(admitted);
  if (added.ok()) return;
  // Retry work by work, so that one work the core rejects does not fail the
  // others admitted with it. Slots of one job are contiguous.
  for (size_t begin = 0; begin < admitted.size();) {
    size_t end = begin;
    while (end < admitted.size() && admitted[end].job == admitted[begin].job) {
      ++end;
    }
    Job& job = *admitted[begin].job;
    const bool single_work = begin == 0 && end == admitted.size();
    if (!single_work) {
      added =
          AddToBatch(absl::MakeConstSpan(admitted).subspan(begin, end - begin));
    }
    if (!added.ok()) {
      Finish(job, ServingError("translation failed to start", added));
    }
    begin = end;
  }
}

void TranslateScheduler::Impl::StepOnce() {
  if (rows_in_use() == 0) return;
  const int rows = rows_in_use();
  const int sequences = batch->num_sequences();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<DecodeBatch::Event>> events;
  RunOn(options.compute_thread, [&] { events = batch->Step(); });
  if (observer != nullptr)
    observer->OnStep(rows, sequences, absl::Now() - start);
  if (!events.ok()) {
    FailRunning(events.status());
    return;
  }
  for (const DecodeBatch::Event& event : *events) {
    auto it = running.find(event.id);
    if (it == running.end()) continue;  // a text of work that already ended
    const Slot slot = it->second;
    if (event.finished) {
      reserved_bytes -= slot.bytes;
      running.erase(it);
    }
    slot.job->work->on_event(slot.index, event);
    if (event.finished && --slot.job->unfinished == 0)
      Finish(*slot.job, absl::OkStatus());
  }
}

void TranslateScheduler::Impl::FailRunning(const absl::Status& cause) {
  // A failed step may have advanced some sequences and not others, and their
  // events are lost (DecodeBatch::Step): no running text can go on. Works with
  // texts only waiting or already finished are not affected.
  const absl::Status error =
      ServingError("translation decoder step failed", cause);
  std::vector<Job*> affected;
  for (const auto& [id, slot] : running) affected.push_back(slot.job);
  for (Job* job : affected) {
    if (!job->done) Finish(*job, error);  // cancels the job's sequences
  }
  // Every sequence is cancelled now, but the batch's reused buffers (KV cache
  // pool, logits) were written by a step that did not complete: a fresh batch
  // trusts none of them. Creating one allocates little; should even that fail,
  // the emptied batch serves on.
  std::unique_ptr<DecodeBatch> fresh;
  const absl::Status created =
      CatchToStatus("starting a fresh decode batch", [&] {
        fresh = model->NewDecodeBatch();
        return absl::OkStatus();
      });
  if (created.ok()) batch = std::move(fresh);
}

void TranslateScheduler::Impl::RetireDoneJobs() {
  jobs.remove_if([](const Job& job) { return job.done; });
}

void TranslateScheduler::Impl::Finish(Job& job, const absl::Status& status) {
  for (auto it = running.begin(); it != running.end();) {
    if (it->second.job == &job) {
      batch->Cancel(it->first);
      reserved_bytes -= it->second.bytes;
      it = running.erase(it);
    } else {
      ++it;
    }
  }
  CountAdmitted(job.not_admitted());  // texts never computed leave the queue
  job.next_to_admit = job.num_texts();
  job.done = true;
  job.work->on_done(status);
}

void TranslateScheduler::Impl::CountAdmitted(int texts) {
  if (texts == 0) return;
  absl::MutexLock lock(&mu);
  texts_waiting -= texts;
}

TranslateScheduler::TranslateScheduler(Translator* model,
                                       SchedulerOptions options,
                                       SchedulerObserver* observer)
    : impl_(std::make_unique<Impl>(model, options, observer)) {
  impl_->worker = std::thread([impl = impl_.get()] { impl->Run(); });
  impl_->worker_id = impl_->worker.get_id();
}

TranslateScheduler::~TranslateScheduler() { Shutdown(); }

absl::Status TranslateScheduler::Submit(std::shared_ptr<TranslateWork> work) {
  return impl_->Submit(std::move(work));
}

void TranslateScheduler::Shutdown() { impl_->Shutdown(); }

}  // namespace attnserve::server
