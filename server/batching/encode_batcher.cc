#include "server/batching/encode_batcher.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "core/status_guard.h"

namespace attnserve::server {
namespace {

bool SameBatchKey(const EncodeJob& a, const EncodeJob& b) {
  return a.pooling == b.pooling && a.normalize == b.normalize;
}

}  // namespace

EncodeBatcher::EncodeBatcher(SentenceEncoder* encoder,
                             EncodeBatcherOptions options,
                             EncodeBatchObserver* observer)
    : encoder_(encoder), options_(std::move(options)), observer_(observer) {
  worker_ = std::thread([this] { Run(); });
}

EncodeBatcher::~EncodeBatcher() { Shutdown(); }

absl::Status EncodeBatcher::Submit(std::shared_ptr<EncodeJob> job) {
  const int n = static_cast<int>(job->ids.size());
  if (n == 0)
    return absl::InvalidArgumentError("an Encode job needs at least one text");
  job->embeddings.assign(n, {});
  job->remaining = n;
  job->finished = false;
  const absl::Time now = absl::Now();
  int depth = 0;
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_) {
      return absl::UnavailableError(
          absl::StrCat("model '", options_.model_name, "' is shutting down"));
    }
    const int waiting = static_cast<int>(queue_.size());
    // An oversized call is still accepted into an empty queue: size alone never
    // refuses it.
    if (waiting > 0 && waiting + n > options_.max_queue_size) {
      return absl::ResourceExhaustedError(
          absl::StrCat("model '", options_.model_name, "' queue is full (",
                       waiting, " texts waiting, limit ",
                       options_.max_queue_size, "); retry with back-off"));
    }
    for (int i = 0; i < n; ++i) {
      queue_.push_back(Item{job, i, static_cast<int>(job->ids[i].size()), now});
    }
    depth = static_cast<int>(queue_.size());
    cv_.Signal();
  }
  observer_->OnQueueDepth(depth);
  return absl::OkStatus();
}

void EncodeBatcher::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    cv_.SignalAll();
  }
  if (worker_.joinable()) worker_.join();
}

void EncodeBatcher::Run() {
  while (true) {
    std::vector<Item> dropped;
    std::vector<Item> batch;
    absl::Time now;
    int depth = 0;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !shutdown_) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // shut down and drained
      now = absl::Now();
      while (!BatchReadyLocked(now)) {
        cv_.WaitWithDeadline(
            &mu_, queue_.front().enqueued + options_.max_queue_delay);
        now = absl::Now();
      }
      dropped = TakeDroppedLocked(now);
      if (!queue_.empty()) batch = TakeBatchLocked();
      depth = static_cast<int>(queue_.size());
    }
    observer_->OnQueueDepth(depth);
    FailDropped(dropped, now);
    if (!batch.empty()) Compute(batch);
  }
}

bool EncodeBatcher::BatchReadyLocked(absl::Time now) const {
  if (shutdown_) return true;
  const Item& oldest = queue_.front();
  if (now >= oldest.enqueued + options_.max_queue_delay) return true;
  int count = 0;
  int longest = 0;
  for (const Item& item : queue_) {
    if (!SameBatchKey(*item.job, *oldest.job)) continue;
    ++count;
    longest = std::max(longest, item.length);
  }
  return count >= options_.max_batch_size ||
         static_cast<int64_t>(count) * longest >= options_.max_batch_tokens;
}

std::vector<EncodeBatcher::Item> EncodeBatcher::TakeDroppedLocked(
    absl::Time now) {
  std::vector<Item> dropped;
  std::deque<Item> kept;
  for (Item& item : queue_) {
    const EncodeJob& job = *item.job;
    if (job.finished || job.cancelled.load(std::memory_order_relaxed) ||
        job.deadline <= now) {
      dropped.push_back(std::move(item));
    } else {
      kept.push_back(std::move(item));
    }
  }
  queue_.swap(kept);
  return dropped;
}

// The oldest text always goes into the batch (so nothing starves); the others
// are picked by closeness of length to it, within the size and padded-token
// limits.
std::vector<EncodeBatcher::Item> EncodeBatcher::TakeBatchLocked() {
  const EncodeJob& key = *queue_.front().job;
  std::vector<size_t> candidates;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (SameBatchKey(*queue_[i].job, key)) candidates.push_back(i);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [this](size_t a, size_t b) {
                     return queue_[a].length < queue_[b].length;
                   });
  size_t lo = std::find(candidates.begin(), candidates.end(), size_t{0}) -
              candidates.begin();
  size_t hi = lo;
  const int anchor = queue_.front().length;
  int longest = anchor;
  int count = 1;
  auto fits = [&](size_t queue_index) {
    const int64_t padded = static_cast<int64_t>(count + 1) *
                           std::max(longest, queue_[queue_index].length);
    return padded <= options_.max_batch_tokens;
  };
  constexpr int kNone = std::numeric_limits<int>::max();
  while (count < options_.max_batch_size) {
    const bool left_ok = lo > 0 && fits(candidates[lo - 1]);
    const bool right_ok =
        hi + 1 < candidates.size() && fits(candidates[hi + 1]);
    if (!left_ok && !right_ok) break;
    const int left_gap =
        left_ok ? anchor - queue_[candidates[lo - 1]].length : kNone;
    const int right_gap =
        right_ok ? queue_[candidates[hi + 1]].length - anchor : kNone;
    if (left_gap <= right_gap) {
      --lo;
    } else {
      ++hi;
      longest = std::max(longest, queue_[candidates[hi]].length);
    }
    ++count;
  }
  std::vector<bool> chosen(queue_.size(), false);
  for (size_t i = lo; i <= hi; ++i) chosen[candidates[i]] = true;
  std::vector<Item> batch;
  std::deque<Item> kept;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (chosen[i]) {
      batch.push_back(std::move(queue_[i]));
    } else {
      kept.push_back(std::move(queue_[i]));
    }
  }
  queue_.swap(kept);
  return batch;
}

void EncodeBatcher::FailDropped(const std::vector<Item>& dropped,
                                absl::Time now) {
  for (const Item& item : dropped) {
    EncodeJob& job = *item.job;
    if (job.finished) continue;
    job.finished = true;
    if (job.cancelled.load(std::memory_order_relaxed)) {
      job.on_done(absl::CancelledError("the call was cancelled"));
    } else {
      job.on_done(absl::DeadlineExceededError(
          absl::StrCat("the call's deadline passed after ",
                       absl::FormatDuration(now - item.enqueued), " in model '",
                       options_.model_name, "' queue, before texts[",
                       item.index, "] was computed")));
    }
  }
}

void EncodeBatcher::Compute(const std::vector<Item>& batch) {
  const absl::Time start = absl::Now();
  std::vector<absl::Span<const int32_t>> spans;
  spans.reserve(batch.size());
  int longest = 0;
  for (const Item& item : batch) {
    observer_->OnQueueWait(start - item.enqueued);
    spans.emplace_back(item.job->ids[item.index]);
    longest = std::max(longest, item.length);
  }
  const EncodeJob& key = *batch.front().job;
  absl::StatusOr<std::vector<std::vector<float>>> result =
      encoder_->Embed(spans, key.pooling, key.normalize);
  const int texts = static_cast<int>(batch.size());
  observer_->OnBatch(texts, texts * longest, absl::Now() - start);
  if (result.ok() && result->size() != batch.size()) {
    result = absl::InternalError(absl::StrCat("Embed returned ", result->size(),
                                              " embeddings for ", batch.size(),
                                              " texts"));
  }
  // A failed batch fails only the calls with a text in it (RESOURCE_EXHAUSTED
  // for an allocation failure, else INTERNAL); the worker goes on.
  const absl::Status failure =
      result.ok() ? absl::OkStatus()
                  : ServingError(absl::StrCat("model '", options_.model_name,
                                              "' failed on a batch"),
                                 result.status());
  for (size_t i = 0; i < batch.size(); ++i) {
    EncodeJob& job = *batch[i].job;
    if (job.finished) continue;
    if (!failure.ok()) {
      job.finished = true;
      job.on_done(failure);
      continue;
    }
    job.embeddings[batch[i].index] = std::move((*result)[i]);
    if (--job.remaining == 0) {
      job.finished = true;
      job.on_done(absl::OkStatus());
    }
  }
}

}  // namespace attnserve::server
