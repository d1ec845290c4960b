#ifndef ATTNSERVE_TESTS_FUZZ_FUZZ_UTIL_H_
#define ATTNSERVE_TESTS_FUZZ_FUZZ_UTIL_H_

// Helpers shared by the libFuzzer targets: golden data paths, a scratch model
// folder whose files the fuzzer overwrites, an in-memory file for readers that
// only take paths, and the invariant check that turns a broken property into a
// crash libFuzzer records.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace attnserve::fuzz {

// <source>/tests/data/<name> (ATTNSERVE_TEST_DATA_DIR is set by
// tests/fuzz/CMakeLists.txt).
std::string TestDataPath(std::string_view name);

// Aborts (a libFuzzer crash with the message) when `condition` is false.
// Invariant violations are bugs just like memory errors, so they must stop the
// run and leave a reproducer.
void Require(bool condition, std::string_view what);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF), the rule every tokenizer and the server apply before
// tokenizing.
bool IsValidUtf8(std::string_view text);

// A private copy of a golden model folder in a fresh temporary directory
// (removed on destruction). The fuzzers replace one file with their input, call
// a folder-based loader, and put the golden file back so every input sees
// otherwise-valid siblings.
class ScratchFolder {
 public:
  // Copies every file (recursively) of `golden_folder`.
  explicit ScratchFolder(const std::string& golden_folder);
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  const std::string& path() const { return path_; }
  // Overwrites (or creates) `relative_name` with `bytes`.
  void Write(const std::string& relative_name, std::string_view bytes) const;
  // Puts back the golden copy of `relative_name` (or removes it if the golden
  // folder lacks it).
  void Restore(const std::string& relative_name) const;

 private:
  std::string golden_;
  std::string path_;
};

// An anonymous in-memory file (memfd) reachable by path (/proc/self/fd/N), for
// readers that only open paths. Each Write replaces the whole content.
class MemFile {
 public:
  MemFile();
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  const std::string& path() const { return path_; }
  void Write(const uint8_t* data, size_t size) const;

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace attnserve::fuzz

#endif  // ATTNSERVE_TESTS_FUZZ_FUZZ_UTIL_H_
