#include "core/decoding/beam_search.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnserve {
namespace {

constexpr float kBig = -1.0e9f;  // HF's "very large negative value"

}  // namespace

std::vector<int> TopKIndices(absl::Span<const float> values, int k) {
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return values[a] > values[b]; });
  order.resize(k);
  return order;
}

BeamSearch::BeamSearch(BeamSearchOptions options)
    : options_(std::move(options)) {
  const int n_eos = static_cast<int>(options_.eos_token_ids.size());
  beams_to_keep_ = std::max(2, 1 + n_eos) * options_.num_beams;
  running_.resize(options_.num_beams);
  finished_.resize(options_.num_beams);
  // Only beam 0 is live at the start, so the first step does not pick one token
  // num_beams times.
  for (int b = 1; b < options_.num_beams; ++b) running_[b].score = kBig;
  for (Beam& f : finished_) f.score = kBig;
}

std::vector<BeamSearch::Candidate> BeamSearch::TopCandidates(
    const float* log_probs, int vocab) const {
  // Streaming top-k over num_beams × vocab accumulated scores; sorted
  // descending, ties keep the lower flat index first.
  const int k = beams_to_keep_;
  std::vector<Candidate> top;
  top.reserve(k + 1);
  for (int b = 0; b < options_.num_beams; ++b) {
    const float base = running_[b].score;
    const float* row = log_probs + static_cast<int64_t>(b) * vocab;
    for (int v = 0; v < vocab; ++v) {
      const float s = row[v] + base;
      if (static_cast<int>(top.size()) == k && !(s > top.back().score))
        continue;
      auto pos = std::upper_bound(
          top.begin(), top.end(), s,
          [](float value, const Candidate& c) { return value > c.score; });
      top.insert(pos, Candidate{s, static_cast<int64_t>(b) * vocab + v});
      if (static_cast<int>(top.size()) > k) top.pop_back();
    }
  }
  return top;
}

bool BeamSearch::Step(const float* log_probs, int vocab,
                      std::vector<int>* source_beams) {
  const int nb = options_.num_beams;
  const std::vector<Candidate> top = TopCandidates(log_probs, vocab);
  const int k = static_cast<int>(top.size());

  // Stopping criteria of each candidate: </s> or max length reached.
  const bool at_max_length = generated_ + 1 >= options_.max_new_tokens;
  std::vector<bool> hits(k);
  bool all_hit = true;
  for (int i = 0; i < k; ++i) {
    const int token = static_cast<int>(top[i].index % vocab);
    hits[i] = at_max_length || std::find(options_.eos_token_ids.begin(),
                                         options_.eos_token_ids.end(),
                                         token) != options_.eos_token_ids.end();
    all_hit = all_hit && hits[i];
  }

  // Next running beams: the best candidates that did not stop.
  std::vector<float> running_scores(k);
  for (int i = 0; i < k; ++i)
    running_scores[i] = top[i].score + (hits[i] ? kBig : 0.0f);
  const std::vector<int> next = TopKIndices(running_scores, nb);

  UpdateFinished(top, hits, vocab);

  std::vector<Beam> new_running(nb);
  source_beams->assign(nb, 0);
  for (int i = 0; i < nb; ++i) {
    const Candidate& c = top[next[i]];
    const int beam = static_cast<int>(c.index / vocab);
    new_running[i].tokens = running_[beam].tokens;
    new_running[i].tokens.push_back(static_cast<int32_t>(c.index % vocab));
    new_running[i].score = running_scores[next[i]];
    (*source_beams)[i] = beam;
  }
  running_ = std::move(new_running);
  ++generated_;

  UpdateEarlyStopHeuristic();
  bool all_finished = true;
  for (const Beam& f : finished_) all_finished = all_finished && f.finished;
  done_ = !heuristic_unsatisfied_ ||
          (all_finished && options_.early_stopping) || all_hit;
  return done_;
}

void BeamSearch::UpdateFinished(const std::vector<Candidate>& top,
                                const std::vector<bool>& hits, int vocab) {
  const int nb = options_.num_beams;
  const int k = static_cast<int>(top.size());
  bool all_finished = true;
  for (const Beam& f : finished_) all_finished = all_finished && f.finished;
  const float length_norm = static_cast<float>(
      std::pow(static_cast<double>(generated_ + 1), options_.length_penalty));

  // merged = [finished slots..., candidates...] exactly as HF's torch.cat
  // before its topk.
  std::vector<float> merged(nb + k);
  for (int i = 0; i < nb; ++i) merged[i] = finished_[i].score;
  std::vector<bool> just_finished(k);
  for (int i = 0; i < k; ++i) {
    just_finished[i] =
        hits[i] && i < nb;  // only the top num_beams may become hypotheses
    float s = top[i].score / length_norm;
    s += (all_finished && options_.early_stopping) ? kBig : 0.0f;
    s += heuristic_unsatisfied_ ? 0.0f : kBig;
    s += just_finished[i] ? 0.0f : kBig;
    merged[nb + i] = s;
  }
  const std::vector<int> best = TopKIndices(merged, nb);
  std::vector<Beam> slots(nb);
  for (int i = 0; i < nb; ++i) {
    const int m = best[i];
    if (m < nb) {
      slots[i] = finished_[m];
    } else {
      const Candidate& c = top[m - nb];
      const int beam = static_cast<int>(c.index / vocab);
      slots[i].tokens = running_[beam].tokens;
      slots[i].tokens.push_back(static_cast<int32_t>(c.index % vocab));
      slots[i].finished = just_finished[m - nb];
    }
    slots[i].score = merged[m];
  }
  finished_ = std::move(slots);
}

void BeamSearch::UpdateEarlyStopHeuristic() {
  // HF: best possible running score = best running beam / current generated
  // length ** lp (early_stopping=False heuristic); worst finished = min over
  // slots when that slot finished.
  const float denom = static_cast<float>(
      std::pow(static_cast<double>(generated_), options_.length_penalty));
  const float best_running = running_[0].score / denom;
  float min_finished = finished_[0].score;
  for (const Beam& f : finished_)
    min_finished = std::min(min_finished, f.score);
  bool any = false;
  for (const Beam& f : finished_) {
    const float worst = f.finished ? min_finished : kBig;
    any = any || best_running > worst;
  }
  heuristic_unsatisfied_ = heuristic_unsatisfied_ && any;
}

std::vector<Hypothesis> BeamSearch::Hypotheses(int n) const {
  std::vector<Hypothesis> out;
  for (int i = 0; i < n && i < options_.num_beams; ++i) {
    out.push_back(Hypothesis{finished_[i].tokens, finished_[i].score});
  }
  return out;
}

}  // namespace attnserve
