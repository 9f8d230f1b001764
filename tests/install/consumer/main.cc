// SPDX-License-Identifier: Apache-2.0

// A consumer of the installed SDK: signs and verifies with libtrygg, builds a
// case record from the installed generated header, and, given a server
// address, asks a tryggd for its identity (no login needed). Prints one line
// per step; exits non-zero on any failure.
//
//   trygg_consumer [host:port]
#include <cstdio>
#include <string>
#include <vector>

#include "trygg/bytes.h"
#include "trygg/client.h"
#include "trygg/random.h"
#include "trygg/signing.h"
#include "trygg/v1/case_record.pb.h"

int main(int argc, char** argv) {
  trygg::SystemRng rng;
  const trygg::SigningKeyPair key = trygg::GenerateSigningKeyPair(rng);
  const std::vector<uint8_t> message = {'t', 'r', 'y', 'g', 'g'};
  const trygg::Signature signature = trygg::Sign(key, trygg::SigningContext::kRecord, message);
  if (!trygg::Verify(key.public_key, trygg::SigningContext::kRecord, message, signature).ok()) {
    std::fprintf(stderr, "a fresh signature does not verify\n");
    return 1;
  }
  if (trygg::Verify(key.public_key, trygg::SigningContext::kGrant, message, signature).ok()) {
    std::fprintf(stderr, "a signature verifies in another context\n");
    return 1;
  }
  std::printf("signature: ok (%s...)\n", key.public_key.ToHex().substr(0, 16).c_str());

  trygg::v1::CaseRecord record;
  record.set_case_status("Open");
  record.add_comments("built against the installed SDK");
  trygg::v1::CaseRecord parsed;
  if (!parsed.ParseFromString(record.SerializeAsString()) || parsed.comments_size() != 1) {
    std::fprintf(stderr, "the case record does not round-trip\n");
    return 1;
  }
  std::printf("case record: ok (%zu bytes)\n", record.ByteSizeLong());

  if (argc > 1) {
    trygg::ClientOptions options;
    options.address = argv[1];
    auto client = trygg::Client::Connect(options);
    if (!client.ok()) {
      std::fprintf(stderr, "connect: %s\n", std::string(client.status().message()).c_str());
      return 1;
    }
    auto info = (*client)->GetServerInfo();
    if (!info.ok()) {
      std::fprintf(stderr, "server info: %s\n", std::string(info.status().message()).c_str());
      return 1;
    }
    std::printf("server: tryggd %s, schema %d\n", info->server_version.c_str(), info->schema_version);
  }
  return 0;
}
