#include "core/decoding/marian_decode_batch.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status_guard.h"

namespace attnserve {

MarianDecodeBatch::MarianDecodeBatch(MarianModel* model, std::string name,
                                     int decoder_start_token_id,
                                     LogitsRules rules)
    : model_(model),
      name_(std::move(name)),
      decoder_start_(decoder_start_token_id),
      rules_(std::move(rules)),
      vocab_(model->config().decoder_vocab_size),
      cache_(model->NewCachePool()) {}

MarianDecodeBatch::~MarianDecodeBatch() = default;

int MarianDecodeBatch::num_rows() const {
  int rows = 0;
  for (const auto& s : active_) rows += s->options.beam_size;
  return rows;
}

absl::Status MarianDecodeBatch::ValidateOptions(
    const GenerationOptions& o) const {
  const int limit = model_->config().max_position_embeddings;
  if (o.beam_size < 1 || 2 * o.beam_size > vocab_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "beam_size must be in [1, ", vocab_ / 2, "], got ", o.beam_size));
  }
  if (o.max_new_tokens < 1 || o.max_new_tokens > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_new_tokens must be in [1, ", limit,
        "] (the model's max_position_embeddings), got ", o.max_new_tokens));
  }
  if (o.num_hypotheses < 1 || o.num_hypotheses > o.beam_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_hypotheses must be in [1, beam_size = ", o.beam_size,
                     "], got ", o.num_hypotheses));
  }
  if (!std::isfinite(o.length_penalty)) {
    return absl::InvalidArgumentError("length_penalty must be finite");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DecodeBatch::SeqId>> MarianDecodeBatch::Add(
    absl::Span<const absl::Span<const int32_t>> sources,
    absl::Span<const GenerationOptions> options) {
  std::vector<std::unique_ptr<Sequence>> added;
  const absl::Status status = CatchToStatus(
      [&] {
        return absl::StrCat("encoding ", sources.size(), " sources with ",
                            name_);
      },
      [&] { return AddSequences(sources, options, &added); });
  if (!status.ok()) {
    // All or nothing: the batch is as before the call.
    for (auto& seq : added) Release(seq.get());
    return status;
  }
  std::vector<SeqId> ids;
  ids.reserve(added.size());
  active_.reserve(active_.size() + added.size());
  for (auto& seq : added) {
    ids.push_back(seq->id);
    active_.push_back(std::move(seq));
  }
  return ids;
}

absl::Status MarianDecodeBatch::AddSequences(
    absl::Span<const absl::Span<const int32_t>> sources,
    absl::Span<const GenerationOptions> options,
    std::vector<std::unique_ptr<Sequence>>* added) {
  if (sources.size() != options.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Add: ", sources.size(), " sources but ", options.size(), " options"));
  }
  if (sources.empty()) return absl::OkStatus();
  const int batch = static_cast<int>(sources.size());
  int len = 0;
  std::vector<int> lengths(batch);
  for (int b = 0; b < batch; ++b) {
    if (sources[b].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("source ", b, " is empty (it needs at least </s>)"));
    }
    if (auto s = ValidateOptions(options[b]); !s.ok()) return s;
    lengths[b] = static_cast<int>(sources[b].size());
    len = std::max(len, lengths[b]);
  }
  // Padded length in steps of 8 (the encoder runs packed, padding changes
  // nothing): fewer distinct shapes of the cross K/V projection (over the
  // padded rows), hence fewer oneDNN primitives to create.
  len = std::max(len, std::min((len + 7) / 8 * 8,
                               model_->config().max_position_embeddings));
  std::vector<int32_t> padded(static_cast<size_t>(batch) * len,
                              model_->config().pad_token_id);
  for (int b = 0; b < batch; ++b) {
    std::copy(sources[b].begin(), sources[b].end(),
              padded.begin() + static_cast<size_t>(b) * len);
  }
  Tensor encoded;
  if (auto s = model_->Encode(padded, lengths, len, &encoded); !s.ok())
    return s;
  std::vector<MarianModel::CrossKv> cross;
  model_->ComputeCrossKv(encoded, lengths, len, &cross);
  added->reserve(batch);
  for (int b = 0; b < batch; ++b) {
    // In *added before its slots are taken, so a throwing Allocate leaves
    // every taken slot reachable for Release.
    added->push_back(std::make_unique<Sequence>());
    Sequence* seq = added->back().get();
    seq->id = next_id_++;
    seq->options = options[b];
    seq->cross = std::move(cross[b]);
    seq->slots.reserve(options[b].beam_size);
    for (int i = 0; i < options[b].beam_size; ++i) {
      seq->slots.push_back(cache_->Allocate(options[b].max_new_tokens));
    }
    if (options[b].beam_size > 1) {
      BeamSearchOptions bo;
      bo.num_beams = options[b].beam_size;
      bo.max_new_tokens = options[b].max_new_tokens;
      bo.length_penalty = options[b].length_penalty;
      bo.early_stopping = options[b].early_stopping;
      bo.eos_token_ids = rules_.eos_token_ids();
      seq->beam = std::make_unique<BeamSearch>(std::move(bo));
    }
  }
  return absl::OkStatus();
}

void MarianDecodeBatch::Release(Sequence* s) {
  for (int slot : s->slots) cache_->Free(slot);
  s->slots.clear();
}

void MarianDecodeBatch::Cancel(SeqId id) {
  for (auto it = active_.begin(); it != active_.end(); ++it) {
    if ((*it)->id == id) {
      Release(it->get());
      active_.erase(it);
      return;
    }
  }
}

int MarianDecodeBatch::RowsThisStep(const Sequence& s) const {
  // At the first beam step every beam holds the same decoder start token (HF
  // computes them all and then ignores beams 1.. through their -1e9 scores):
  // one row stands for all of them.
  return s.beam && s.generated > 0 ? s.options.beam_size : 1;
}

void MarianDecodeBatch::AppendRows(
    const Sequence& s, std::vector<MarianModel::DecoderRow>* rows) const {
  const int n = RowsThisStep(s);
  for (int i = 0; i < n; ++i) {
    MarianModel::DecoderRow row;
    if (s.generated == 0) {
      row.token = decoder_start_;
    } else {
      row.token = s.beam ? s.beam->running_tokens(i).back() : s.tokens.back();
    }
    row.position = s.generated;
    row.cache_slot = s.slots[i];
    row.cross = &s.cross;
    rows->push_back(row);
  }
}

std::vector<int32_t> MarianDecodeBatch::Prefix(
    absl::Span<const int32_t> generated) const {
  std::vector<int32_t> prefix;
  prefix.reserve(generated.size() + 1);
  prefix.push_back(decoder_start_);
  prefix.insert(prefix.end(), generated.begin(), generated.end());
  return prefix;
}

MarianDecodeBatch::GreedyChoice MarianDecodeBatch::ChooseGreedy(
    const Sequence& s, float* logits) const {
  // HF _sample with do_sample=False: argmax of the processed logits. The score
  // is our own (HF returns none): the log-probability of the choice under the
  // processed distribution. The rules edit this step's logits row in place
  // (it is not read again) and only the chosen entry of the log-softmax is
  // computed.
  const bool last = s.generated + 1 == s.options.max_new_tokens;
  rules_.Apply(Prefix(s.tokens), last, logits, vocab_);
  GreedyChoice choice;
  choice.token = Argmax(logits, vocab_);
  choice.log_prob = LogSoftmaxAt(logits, vocab_, choice.token);
  return choice;
}

DecodeBatch::Event MarianDecodeBatch::AdvanceGreedy(Sequence* s,
                                                    GreedyChoice choice) {
  const int token = choice.token;
  s->score += choice.log_prob;
  s->tokens.push_back(token);
  ++s->generated;
  Event event;
  event.id = s->id;
  event.new_tokens = {token};
  event.finished =
      rules_.IsEos(token) || s->generated == s->options.max_new_tokens;
  if (event.finished) event.hypotheses = {Hypothesis{s->tokens, s->score}};
  return event;
}

DecodeBatch::Event MarianDecodeBatch::AdvanceBeam(Sequence* s,
                                                  const float* logits,
                                                  int rows) {
  // HF _beam_search: log_softmax of the raw logits, then the logits processors.
  const int nb = s->options.beam_size;
  work_.resize(static_cast<size_t>(nb) * vocab_);
  const bool last = s->generated + 1 == s->options.max_new_tokens;
  // Each beam's row is independent (a full pass over the vocab): shared among
  // the model's OpenMP threads.
#pragma omp parallel for schedule(static) if (nb > 1)
  for (int b = 0; b < nb; ++b) {
    const float* row =
        logits + static_cast<int64_t>(rows == 1 ? 0 : b) * vocab_;
    float* lp = work_.data() + static_cast<int64_t>(b) * vocab_;
    LogSoftmax(row, lp, vocab_);
    rules_.Apply(Prefix(s->beam->running_tokens(b)), last, lp, vocab_);
  }
  std::vector<int> source_beams;
  const bool done = s->beam->Step(work_.data(), vocab_, &source_beams);
  Event event;
  event.id = s->id;
  if (done) {
    event.finished = true;
    event.hypotheses = s->beam->Hypotheses(s->options.num_hypotheses);
  } else {
    ReorderSlots(s, source_beams);
  }
  ++s->generated;
  return event;
}

void MarianDecodeBatch::ReorderSlots(Sequence* s,
                                     const std::vector<int>& source_beams) {
  // Beam i continues source_beams[i]: the first continuation takes over the
  // source's slot, any further one gets a slot of a discontinued beam with the
  // cache prefix copied.
  const int nb = static_cast<int>(s->slots.size());
  std::vector<bool> taken(nb, false);
  std::vector<int> next(nb, -1);
  for (int i = 0; i < nb; ++i) {
    const int src = source_beams[i];
    if (!taken[src]) {
      taken[src] = true;
      next[i] = s->slots[src];
    }
  }
  std::vector<int> free_slots;
  for (int b = 0; b < nb; ++b) {
    if (!taken[b]) free_slots.push_back(s->slots[b]);
  }
  const int filled = s->generated + 1;  // positions written this step included
  for (int i = 0; i < nb; ++i) {
    if (next[i] >= 0) continue;
    next[i] = free_slots.back();
    free_slots.pop_back();
    cache_->CopyPrefix(s->slots[source_beams[i]], next[i], filled);
  }
  s->slots = std::move(next);
}

absl::StatusOr<std::vector<DecodeBatch::Event>> MarianDecodeBatch::Step() {
  // A step that throws may have advanced some sequences and not others (see
  // DecodeBatch::Step): the caller cancels them all.
  const int sequences = num_sequences();
  return CatchToStatus(
      [&] {
        return absl::StrCat("decoder step of ", sequences, " sequences with ",
                            name_);
      },
      [&] { return StepUnguarded(); });
}

absl::StatusOr<std::vector<DecodeBatch::Event>>
MarianDecodeBatch::StepUnguarded() {
  std::vector<Event> events;
  if (active_.empty()) return events;
  std::vector<MarianModel::DecoderRow> rows;
  for (const auto& s : active_) AppendRows(*s, &rows);
  model_->DecoderStep(rows, cache_.get(), &logits_);

  // Each sequence's first logits row; greedy choices are independent and
  // scan the whole vocab (argmax, log-sum-exp): shared among the model's
  // OpenMP threads (this file is compiled with OpenMP, core/CMakeLists.txt).
  const int64_t count = static_cast<int64_t>(active_.size());
  std::vector<int64_t> first_row(count + 1, 0);
  for (int64_t i = 0; i < count; ++i)
    first_row[i + 1] = first_row[i] + RowsThisStep(*active_[i]);
  std::vector<GreedyChoice> greedy(count);
#pragma omp parallel for schedule(dynamic) if (count > 1)
  for (int64_t i = 0; i < count; ++i) {
    if (!active_[i]->beam) {
      greedy[i] =
          ChooseGreedy(*active_[i], logits_.data() + first_row[i] * vocab_);
    }
  }

  std::vector<std::unique_ptr<Sequence>> still_active;
  for (int64_t i = 0; i < count; ++i) {
    std::unique_ptr<Sequence>& s = active_[i];
    const int n = static_cast<int>(first_row[i + 1] - first_row[i]);
    float* logits = logits_.data() + first_row[i] * vocab_;
    Event event = s->beam ? AdvanceBeam(s.get(), logits, n)
                          : AdvanceGreedy(s.get(), greedy[i]);
    const bool finished = event.finished;
    if (finished || !event.new_tokens.empty())
      events.push_back(std::move(event));
    if (finished) {
      Release(s.get());
    } else {
      still_active.push_back(std::move(s));
    }
  }
  active_ = std::move(still_active);
  return events;
}

}  // namespace attnserve
