#include "server/bearer_tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace attnserve::server {
namespace {

constexpr char kUnauthenticated[] =
    "missing or invalid bearer token (send 'authorization: Bearer <token>')";
constexpr absl::string_view kScheme = "Bearer ";

BearerTokens::Digest Sha256(absl::string_view text) {
  BearerTokens::Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         digest.data());
  return digest;
}

absl::StatusOr<std::vector<BearerTokens::Digest>> ReadDigests(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_tokens_file: cannot open ", path));
  }
  std::vector<BearerTokens::Digest> digests;
  std::string line;
  while (std::getline(in, line)) {
    const absl::string_view token = absl::StripAsciiWhitespace(line);
    if (token.empty() || token.front() == '#') continue;
    digests.push_back(Sha256(token));
  }
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_tokens_file: cannot read ", path));
  }
  if (digests.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth_tokens_file: ", path,
        " holds no token (one per line; '#' starts a comment line)"));
  }
  return digests;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BearerTokens>> BearerTokens::FromFile(
    const std::string& path) {
  std::unique_ptr<BearerTokens> tokens(new BearerTokens(path));
  if (absl::Status s = tokens->Reload(); !s.ok()) return s;
  return tokens;
}

absl::Status BearerTokens::Reload() {
  absl::StatusOr<std::vector<Digest>> digests = ReadDigests(path_);
  if (!digests.ok()) return digests.status();
  absl::MutexLock lock(&mu_);
  digests_ = *std::move(digests);
  return absl::OkStatus();
}

size_t BearerTokens::size() const {
  absl::MutexLock lock(&mu_);
  return digests_.size();
}

bool BearerTokens::Accepts(absl::string_view authorization) const {
  // The scheme is case-insensitive (RFC 7235); the token is not.
  if (authorization.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(authorization, kScheme)) {
    return false;
  }
  const Digest presented = Sha256(authorization.substr(kScheme.size()));
  absl::MutexLock lock(&mu_);
  // Every digest is compared (no early exit) with CRYPTO_memcmp, whose time
  // does not depend on where the bytes differ.
  int matches = 0;
  for (const Digest& known : digests_) {
    matches |= CRYPTO_memcmp(presented.data(), known.data(), known.size()) == 0;
  }
  return matches != 0;
}

absl::Status BearerTokens::Check(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  const auto header = metadata.find("authorization");
  if (header == metadata.end() ||
      !Accepts(
          absl::string_view(header->second.data(), header->second.size()))) {
    return absl::UnauthenticatedError(kUnauthenticated);
  }
  return absl::OkStatus();
}

}  // namespace attnserve::server
