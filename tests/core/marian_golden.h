// Reads tests/data/marian-tiny/cases.json (Hugging Face reference outputs, see
// tests/data/README.md) for the Marian model, decoding and translator tests.
#ifndef ATTNSERVE_TESTS_CORE_MARIAN_GOLDEN_H_
#define ATTNSERVE_TESTS_CORE_MARIAN_GOLDEN_H_

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace attnserve::testing {

inline std::string MarianDir() {
  return std::string(ATTNSERVE_TEST_DATA_DIR) + "/marian-tiny";
}

struct MarianCase {
  std::string name;
  std::vector<std::string> texts;
  int padded_len = 0;
  std::vector<std::vector<int32_t>> sources;  // unpadded input ids
  // Generated ids (no decoder start), up to and including the first </s>.
  std::vector<std::vector<int32_t>> greedy;
  std::vector<std::string> greedy_decoded;
  std::vector<std::vector<std::vector<int32_t>>> beam;  // [text][hypothesis]
  std::vector<std::vector<float>> beam_scores;
  std::vector<std::vector<std::string>> beam_decoded;
};

// Drops the leading decoder start and everything after the first </s>.
inline std::vector<int32_t> Generated(const nlohmann::json& row, int eos) {
  std::vector<int32_t> out;
  for (size_t i = 1; i < row.size(); ++i) {
    out.push_back(row[i].get<int32_t>());
    if (out.back() == eos) break;
  }
  return out;
}

inline nlohmann::json MarianCasesJson() {
  std::ifstream in(MarianDir() + "/cases.json");
  return nlohmann::json::parse(in);
}

inline std::vector<MarianCase> LoadMarianCases() {
  const nlohmann::json j = MarianCasesJson();
  const int eos = j["eos_token_id"].get<int>();
  std::vector<MarianCase> cases;
  for (const auto& c : j["cases"]) {
    MarianCase m;
    m.name = c["name"].get<std::string>();
    m.texts = c["texts"].get<std::vector<std::string>>();
    const auto lens = c["seq_lens"].get<std::vector<int>>();
    for (size_t b = 0; b < lens.size(); ++b) {
      const auto ids = c["input_ids"][b].get<std::vector<int32_t>>();
      m.padded_len = static_cast<int>(ids.size());
      m.sources.emplace_back(ids.begin(), ids.begin() + lens[b]);
      m.greedy.push_back(Generated(c["greedy"]["sequences"][b], eos));
      m.greedy_decoded.push_back(c["greedy"]["decoded"][b].get<std::string>());
      std::vector<std::vector<int32_t>> hyps;
      for (const auto& h : c["beam"]["all_4_sequences"][b])
        hyps.push_back(Generated(h, eos));
      m.beam.push_back(hyps);
      m.beam_scores.push_back(
          c["beam"]["sequences_scores"][b].get<std::vector<float>>());
      m.beam_decoded.push_back(
          c["beam"]["all_4_decoded"][b].get<std::vector<std::string>>());
    }
    cases.push_back(std::move(m));
  }
  return cases;
}

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_CORE_MARIAN_GOLDEN_H_
