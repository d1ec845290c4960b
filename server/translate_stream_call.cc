#include "server/translate_stream_call.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/call_record.h"
#include "server/raw_messages.h"
#include "server/request_validation.h"
#include "server/translate_work.h"

namespace attnserve::server {
namespace {

using v1::TranslateStreamResponse;

// gRPC allows one outstanding write per stream: messages produced by the
// scheduler queue up in pending_ and OnWriteDone starts the next one. The
// status is sent once the scheduler is done and every queued message was
// written.
class TranslateStreamReactor
    : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  TranslateStreamReactor(ServiceContext& service,
                         grpc::CallbackServerContext* context,
                         const v1::TranslateRequest& request)
      : metrics_(service.metrics),
        record_(service.metrics, kMethodTranslateStream,
                service.ModelLabel(request.model())) {
    absl::Status status = Start(service, context, request);
    if (!status.ok()) Done(status);
  }

  // Only after the handler returned, hence after work_ was set.
  void OnCancel() override {
    if (work_ != nullptr)
      work_->cancelled.store(true, std::memory_order_relaxed);
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        // The client is gone: stop decoding and drop what was not sent.
        write_failed_ = true;
        pending_.clear();
        if (work_ != nullptr)
          work_->cancelled.store(true, std::memory_order_relaxed);
      }
    }
    Pump();
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Start(ServiceContext& service,
                     grpc::CallbackServerContext* context,
                     const v1::TranslateRequest& request) {
    absl::StatusOr<PreparedTranslation> prepared =
        PrepareTranslation(service, context, request);
    if (!prepared.ok()) return prepared.status();
    model_ = prepared->model;
    input_tokens_ = prepared->input_tokens;
    work_ = prepared->work;
    ids_.resize(work_->sources.size());
    sent_text_.resize(work_->sources.size());
    work_->on_event = [this](int index, const DecodeBatch::Event& event) {
      OnEvent(index, event);
    };
    work_->on_done = [this](const absl::Status& status) { OnWorkDone(status); };
    return model_->scheduler()->Submit(work_);
  }

  // Scheduler thread.
  void OnEvent(int index, const DecodeBatch::Event& event) {
    if (index < 0 || index >= static_cast<int>(ids_.size())) return;
    TranslateStreamResponse message;
    message.set_index(static_cast<uint32_t>(index));
    if (!event.new_tokens.empty()) {
      std::vector<int32_t>& ids = ids_[index];
      ids.insert(ids.end(), event.new_tokens.begin(), event.new_tokens.end());
      for (int32_t id : event.new_tokens)
        message.add_token_ids(static_cast<uint32_t>(id));
      // The delta is what the detokenized prefix added; should detokenization
      // ever rewrite earlier text, nothing is sent until it extends the sent
      // text again (the final translation carries the exact text).
      std::string text = model_->translator()->Detokenize(ids);
      std::string& sent = sent_text_[index];
      if (absl::StartsWith(text, sent)) {
        message.set_text_delta(text.substr(sent.size()));
        sent = std::move(text);
      }
    }
    if (event.finished) {
      message.set_finished(true);
      output_tokens_ += FillHypotheses(*model_->translator(), event.hypotheses,
                                       message.mutable_translation());
      if (!event.hypotheses.empty() && !event.hypotheses.front().ids.empty()) {
        metrics_->ObserveTimePerOutputToken(
            model_->name(),
            (absl::Now() - work_->enqueued) /
                static_cast<double>(event.hypotheses.front().ids.size()));
      }
    }
    Enqueue(std::move(message));
  }

  // Scheduler thread, exactly once after a successful Submit.
  void OnWorkDone(const absl::Status& status) {
    if (status.ok()) {
      TranslateStreamResponse last;
      last.mutable_usage()->set_input_tokens(input_tokens_);
      last.mutable_usage()->set_output_tokens(output_tokens_);
      Enqueue(std::move(last));
    }
    Done(status);
  }

  void Enqueue(TranslateStreamResponse message) {
    {
      absl::MutexLock lock(&mu_);
      if (write_failed_ || done_) return;
      pending_.push_back(std::move(message));
    }
    Pump();
  }

  void Done(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (done_)
        return;  // a scheduler that also reported a refused Submit through
                 // on_done
      done_ = true;
      status_ = ToGrpcStatus(status);
      if (!status.ok()) pending_.clear();
    }
    Pump();
  }

  // Starts the next write, or finishes the call when nothing is left to write.
  // gRPC is called outside the lock since reactions may run inline.
  void Pump() {
    enum { kNothing, kWrite, kFinish } action = kNothing;
    TranslateStreamResponse next;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finish_called_) return;
      if (!pending_.empty()) {
        next = std::move(pending_.front());
        pending_.pop_front();
        writing_ = true;
        action = kWrite;
      } else if (done_) {
        finish_called_ = true;
        action = kFinish;
      }
    }
    if (action == kWrite) {
      // writing_ keeps current_ to this thread until OnWriteDone.
      SerializeResponse(next, &current_);
      StartWrite(&current_);
    } else if (action == kFinish) {
      record_.Finish(status_, input_tokens_, output_tokens_);
      Finish(status_);
    }
  }

  Metrics* const metrics_;
  CallRecord record_;
  std::shared_ptr<ModelEntry> model_;  // the version this call runs on
  std::shared_ptr<TranslateWork> work_;
  uint64_t input_tokens_ = 0;
  uint64_t output_tokens_ = 0;  // scheduler thread
  std::vector<std::vector<int32_t>>
      ids_;  // scheduler thread: tokens so far per text
  std::vector<std::string>
      sent_text_;  // scheduler thread: text sent so far per text

  absl::Mutex mu_;
  std::deque<TranslateStreamResponse> pending_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer current_;  // the message being written (gRPC's meanwhile)
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status
      status_;  // written under mu_ before done_, read after finish_called_
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* StartTranslateStream(
    ServiceContext& service, grpc::CallbackServerContext* context,
    const v1::TranslateRequest& request) {
  return new TranslateStreamReactor(service, context, request);
}

}  // namespace attnserve::server
