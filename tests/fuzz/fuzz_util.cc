#include "tests/fuzz/fuzz_util.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace attnserve::fuzz {
namespace fs = std::filesystem;

std::string TestDataPath(std::string_view name) {
  return std::string(ATTNSERVE_TEST_DATA_DIR) + "/" + std::string(name);
}

void Require(bool condition, std::string_view what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant violated: %.*s\n",
               static_cast<int>(what.size()), what.data());
  std::abort();
}

bool IsValidUtf8(std::string_view text) {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = b[i];
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (i + len > n || b[i + 1] < lo || b[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if ((b[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

ScratchFolder::ScratchFolder(const std::string& golden_folder)
    : golden_(golden_folder) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ =
      std::string(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp") +
      "/attnserve-fuzz-XXXXXX";
  Require(mkdtemp(templ.data()) != nullptr,
          "mkdtemp for the scratch model folder");
  path_ = templ;
  fs::copy(golden_, path_,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

ScratchFolder::~ScratchFolder() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void ScratchFolder::Write(const std::string& relative_name,
                          std::string_view bytes) const {
  const fs::path target = fs::path(path_) / relative_name;
  fs::create_directories(target.parent_path());
  std::ofstream out(target, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  Require(out.good(), "write to the scratch model folder");
}

void ScratchFolder::Restore(const std::string& relative_name) const {
  const fs::path golden = fs::path(golden_) / relative_name;
  const fs::path target = fs::path(path_) / relative_name;
  std::error_code ec;
  if (fs::exists(golden)) {
    fs::copy_file(golden, target, fs::copy_options::overwrite_existing, ec);
  } else {
    fs::remove(target, ec);
  }
  Require(!ec, "restore a golden file in the scratch model folder");
}

MemFile::MemFile() {
  fd_ = memfd_create("attnserve-fuzz", MFD_CLOEXEC);
  Require(fd_ >= 0, "memfd_create");
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemFile::~MemFile() {
  if (fd_ >= 0) close(fd_);
}

void MemFile::Write(const uint8_t* data, size_t size) const {
  Require(ftruncate(fd_, 0) == 0, "ftruncate memfd");
  size_t done = 0;
  while (done < size) {
    const ssize_t n =
        pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
    Require(n > 0, "pwrite memfd");
    done += static_cast<size_t>(n);
  }
}

}  // namespace attnserve::fuzz
