#include "server/batching/encode_batcher.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "server/batching/serving_error.h"

namespace attnserve::server {
namespace {

bool SameBatchKey(const EncodeJob& a, const EncodeJob& b) {
  return a.pooling == b.pooling && a.normalize == b.normalize;
}

// A job computed after its deadline answers DEADLINE_EXCEEDED, as its client
// sees it, so that the server's counts by code match the client's.
absl::Status AnsweredInTime(const EncodeJob& job, absl::Time now) {
  if (now < job.deadline) return absl::OkStatus();
  return absl::DeadlineExceededError(
      "the call's deadline passed while its last batch was computed");
}

}  // namespace

BatchModel EncoderBatchModel(SentenceEncoder* encoder) {
  return BatchModel{.compute =
                        [encoder](const BatchInput& batch) {
                          return encoder->Embed(batch.ids,
                                                batch.excluded_prompt_tokens,
                                                batch.pooling, batch.normalize);
                        },
                    .estimate_bytes =
                        [encoder](absl::Span<const int> lengths) {
                          return encoder->EstimateEncodeBytes(lengths);
                        }};
}

BatchModel ClassifierBatchModel(SequenceClassifier* classifier) {
  return BatchModel{.compute =
                        [classifier](const BatchInput& batch) {
                          return classifier->Classify(batch.ids,
                                                      batch.type_ids);
                        },
                    .estimate_bytes =
                        [classifier](absl::Span<const int> lengths) {
                          return classifier->EstimateClassifyBytes(lengths);
                        }};
}

EncodeBatcher::EncodeBatcher(BatchModel model, EncodeBatcherOptions options,
                             EncodeBatchObserver* observer)
    : model_(std::move(model)),
      options_(std::move(options)),
      observer_(observer) {
  worker_ = std::thread([this] { Run(); });
}

EncodeBatcher::~EncodeBatcher() { Shutdown(); }

absl::Status EncodeBatcher::Submit(std::shared_ptr<EncodeJob> job) {
  const int n = static_cast<int>(job->ids.size());
  if (n == 0)
    return absl::InvalidArgumentError("an Encode job needs at least one text");
  if (!job->type_ids.empty() && job->type_ids.size() != job->ids.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a job has ", job->type_ids.size(), " type_ids for ", n,
                     " texts; give one per text or none"));
  }
  if (absl::Status s = CheckMemory(*job); !s.ok()) return s;
  job->outputs.assign(n, {});
  job->remaining = n;
  job->finished = false;
  int64_t tokens = 0;
  for (const std::vector<int32_t>& ids : job->ids) tokens += ids.size();
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
      return absl::ResourceExhaustedError(absl::StrCat(
          "model '", options_.model_name, "' queue is full: ", waiting,
          " texts waiting + ", n, " of this call > batching.max_queue_size ",
          options_.max_queue_size, "; retryable: retry later with back-off"));
    }
    if (absl::Status s = CheckDeadlineLocked(*job, tokens, now); !s.ok())
      return s;
    for (int i = 0; i < n; ++i) {
      queue_.push_back(Item{job, i, static_cast<int>(job->ids[i].size()), now});
    }
    queued_tokens_ += tokens;
    depth = static_cast<int>(queue_.size());
    cv_.Signal();
  }
  observer_->OnQueueDepth(depth);
  return absl::OkStatus();
}

// Texts are batched one at a time at worst, so a call fits when its most
// expensive text fits alone.
absl::Status EncodeBatcher::CheckMemory(const EncodeJob& job) const {
  for (size_t i = 0; i < job.ids.size(); ++i) {
    const int length = static_cast<int>(job.ids[i].size());
    const int one[] = {length};
    const int64_t bytes = model_.estimate_bytes(one);
    if (bytes <= options_.max_batch_memory_bytes) continue;
    return absl::ResourceExhaustedError(absl::StrCat(
        "texts[", i, "] has ", length, " tokens and needs an estimated ", bytes,
        " bytes of activations, more than model '", options_.model_name,
        "' batching.max_batch_memory_bytes ", options_.max_batch_memory_bytes,
        "; not retryable: shorten the text (or raise max_batch_memory_bytes in "
        "the model config)"));
  }
  return absl::OkStatus();
}

// The worker computes one batch at a time, so a new job finishes after every
// token queued ahead of it (and of the batch being computed) plus its own. The
// time per token is the moving average of recent batches (compute time /
// tokens), which under load is measured on the full batches the queue yields.
// Not in it: the wait for a batch to close, and the time from a batch's end to
// the answer reaching the client (reactor, network, the client's own thread),
// which grows under overload; hence a margin of 50 % and max_queue_delay
// (measured, minilm at 4x its saturation rate, 200 ms deadlines: without them
// 3 % of the admitted calls reached the client after their deadline, with
// 25 % 0.8 %, with 50 % 0.01 %, at the same goodput: bench/README.md). Refusing
// now, instead of computing a text whose answer would come too late, keeps an
// overloaded model computing only texts that are still wanted (no congestion
// collapse).
absl::Status EncodeBatcher::CheckDeadlineLocked(const EncodeJob& job,
                                                int64_t tokens,
                                                absl::Time now) const {
  if (seconds_per_token_ <= 0.0 || job.deadline == absl::InfiniteFuture())
    return absl::OkStatus();
  const int64_t ahead = queued_tokens_ + computing_tokens_;
  constexpr double kMargin = 1.5;
  const absl::Duration needed =
      absl::Seconds(kMargin * seconds_per_token_ *
                    static_cast<double>(ahead + tokens)) +
      options_.max_queue_delay;
  if (now + needed <= job.deadline) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "model '", options_.model_name, "' cannot compute this call before its ",
      "deadline: ", ahead, " tokens queued ahead + ", tokens,
      " of its own at the recent ",
      absl::FormatDuration(absl::Seconds(seconds_per_token_)),
      " per token need ~", absl::FormatDuration(needed),
      ", the deadline is in ", absl::FormatDuration(job.deadline - now),
      "; refused without queueing: retry later or with a longer deadline"));
}

void EncodeBatcher::RecordRate(int64_t tokens, absl::Duration compute) {
  if (tokens <= 0) return;
  const double sample = absl::ToDoubleSeconds(compute) / tokens;
  // Weight of the newest batch: a few batches follow a change of load.
  constexpr double kNewest = 0.25;
  absl::MutexLock lock(&mu_);
  seconds_per_token_ =
      seconds_per_token_ <= 0.0
          ? sample
          : kNewest * sample + (1.0 - kNewest) * seconds_per_token_;
  computing_tokens_ = 0;
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
      // A text that arrived while the worker was free starts at once: waiting
      // for company would only add latency to a lone call. The batching
      // window applies to texts that queued up behind a batch in progress,
      // i.e. when calls are concurrent.
      const bool arrived_while_free = queue_.front().enqueued >= free_since_;
      while (!arrived_while_free && !BatchReadyLocked(now)) {
        cv_.WaitWithDeadline(
            &mu_, queue_.front().enqueued + options_.max_queue_delay);
        now = absl::Now();
      }
      dropped = TakeDroppedLocked(now);
      if (!queue_.empty()) batch = TakeBatchLocked();
      for (const Item& item : batch) computing_tokens_ += item.length;
      depth = static_cast<int>(queue_.size());
    }
    observer_->OnQueueDepth(depth);
    FailDropped(dropped, now);
    if (batch.empty()) continue;
    Compute(batch);
  }
}

bool EncodeBatcher::BatchReadyLocked(absl::Time now) const {
  if (shutdown_) return true;
  const Item& oldest = queue_.front();
  if (now >= oldest.enqueued + options_.max_queue_delay) return true;
  int count = 0;
  int longest = 0;
  std::vector<int> lengths;
  for (const Item& item : queue_) {
    if (!SameBatchKey(*item.job, *oldest.job)) continue;
    ++count;
    longest = std::max(longest, item.length);
    lengths.push_back(item.length);
  }
  return count >= options_.max_batch_size ||
         static_cast<int64_t>(count) * longest >= options_.max_batch_tokens ||
         model_.estimate_bytes(lengths) >= options_.max_batch_memory_bytes;
}

std::vector<EncodeBatcher::Item> EncodeBatcher::TakeDroppedLocked(
    absl::Time now) {
  std::vector<Item> dropped;
  std::deque<Item> kept;
  int expired = 0;
  for (Item& item : queue_) {
    const EncodeJob& job = *item.job;
    const bool cancelled = job.cancelled.load(std::memory_order_relaxed);
    if (job.finished || cancelled || job.deadline <= now) {
      if (!job.finished && job.deadline <= now) ++expired;
      queued_tokens_ -= item.length;
      dropped.push_back(std::move(item));
    } else {
      kept.push_back(std::move(item));
    }
  }
  queue_.swap(kept);
  if (expired > 0) observer_->OnExpired(expired);
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
  std::vector<int> lengths = {anchor};  // of the texts chosen so far
  auto fits = [&](size_t queue_index) {
    const int length = queue_[queue_index].length;
    const int64_t padded =
        static_cast<int64_t>(count + 1) * std::max(longest, length);
    if (padded > options_.max_batch_tokens) return false;
    lengths.push_back(length);
    const bool fits_memory =
        model_.estimate_bytes(lengths) <= options_.max_batch_memory_bytes;
    lengths.pop_back();
    return fits_memory;
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
      lengths.push_back(queue_[candidates[lo]].length);
    } else {
      ++hi;
      longest = std::max(longest, queue_[candidates[hi]].length);
      lengths.push_back(queue_[candidates[hi]].length);
    }
    ++count;
  }
  std::vector<bool> chosen(queue_.size(), false);
  for (size_t i = lo; i <= hi; ++i) chosen[candidates[i]] = true;
  std::vector<Item> batch;
  std::deque<Item> kept;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (chosen[i]) {
      queued_tokens_ -= queue_[i].length;
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
    // gRPC also cancels a call whose deadline passed: that is still
    // DEADLINE_EXCEEDED, as its client sees it.
    if (job.deadline > now) {
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
  BatchInput input;
  input.ids.reserve(batch.size());
  // Calls with different prompts share a batch: the count is per text.
  input.excluded_prompt_tokens.reserve(batch.size());
  bool any_excluded = false;
  int longest = 0;
  int64_t tokens = 0;
  for (const Item& item : batch) {
    observer_->OnQueueWait(start - item.enqueued);
    const EncodeJob& job = *item.job;
    input.ids.emplace_back(job.ids[item.index]);
    // Every job of a classifier has type ids (its reactors set them), no job
    // of an encoder does: a batch has them for all texts or for none.
    if (!job.type_ids.empty())
      input.type_ids.emplace_back(job.type_ids[item.index]);
    input.excluded_prompt_tokens.push_back(job.excluded_prompt_tokens);
    any_excluded |= job.excluded_prompt_tokens > 0;
    longest = std::max(longest, item.length);
    tokens += item.length;
  }
  if (!any_excluded) input.excluded_prompt_tokens.clear();
  const EncodeJob& key = *batch.front().job;
  input.pooling = key.pooling;
  input.normalize = key.normalize;
  absl::StatusOr<std::vector<std::vector<float>>> result;
  RunOn(options_.compute_thread, [&] { result = model_.compute(input); });
  const int texts = static_cast<int>(batch.size());
  const absl::Time end = absl::Now();
  // Before any caller hears back: its next call finds the worker free.
  free_since_ = end;
  observer_->OnBatch(texts, texts * longest, end - start);
  RecordRate(tokens, end - start);
  if (result.ok() && result->size() != batch.size()) {
    result = absl::InternalError(absl::StrCat("the model returned ",
                                              result->size(), " outputs for ",
                                              batch.size(), " texts"));
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
    job.outputs[batch[i].index] = std::move((*result)[i]);
    if (--job.remaining == 0) {
      job.finished = true;
      job.on_done(AnsweredInTime(job, end));
    }
  }
}

}  // namespace attnserve::server
