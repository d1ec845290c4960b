#ifndef ATTNSERVE_CORE_DECODING_DECODE_BATCH_H_
#define ATTNSERVE_CORE_DECODING_DECODE_BATCH_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace attnserve {

// Hugging Face generate() settings (greedy when beam_size == 1).
struct GenerationOptions {
  int beam_size = 1;
  int max_new_tokens = 16;  // generated tokens incl. the final </s>
  float length_penalty = 1.0f;
  int num_hypotheses = 1;  // 1..beam_size
  bool early_stopping = false;
};

struct Hypothesis {
  std::vector<int32_t>
      ids;  // generated ids: no decoder-start token, </s> included if reached
  float score = 0;  // beam: HF sequences_scores; greedy: sum of log-probs
};

// Iteration-level (continuous) batching: sequences join at the next Step() and
// leave in the step they finish or after Cancel(), so short sentences never
// wait for long ones. Every active sequence's rows (beam_size rows each)
// advance one token per Step(). Not thread-safe.
class DecodeBatch {
 public:
  using SeqId = uint64_t;

  struct Event {
    SeqId id = 0;
    // Greedy: the token chosen this step (also on the finishing step). Beam:
    // empty.
    std::vector<int32_t> new_tokens;
    bool finished = false;
    std::vector<Hypothesis>
        hypotheses;  // set when finished: num_hypotheses, best first
  };

  virtual ~DecodeBatch() = default;

  // Runs the encoder over the sources (one batched pass) and enqueues them;
  // they take part from the next Step(). options.size() == sources.size(). All
  // or nothing: on an error (also an allocation or oneDNN failure:
  // RESOURCE_EXHAUSTED / INTERNAL) no source was added.
  virtual absl::StatusOr<std::vector<SeqId>> Add(
      absl::Span<const absl::Span<const int32_t>> sources,
      absl::Span<const GenerationOptions> options) = 0;
  // The sequence leaves the batch; its rows are freed before the next step
  // computes.
  virtual void Cancel(SeqId id) = 0;
  // One decoder step over all active rows; events for sequences that produced
  // output. On an error (RESOURCE_EXHAUSTED for an allocation failure, else
  // INTERNAL) some sequences may have advanced and others not, and their events
  // are lost: the caller must Cancel every active sequence (or drop the batch).
  virtual absl::StatusOr<std::vector<Event>> Step() = 0;

  virtual int num_sequences() const = 0;
  virtual int num_rows() const = 0;  // decoder rows in use (sum of beam sizes)
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_DECODING_DECODE_BATCH_H_
