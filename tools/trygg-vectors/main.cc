// SPDX-License-Identifier: Apache-2.0

// trygg-vectors: writes Trygg's deterministic test vectors.
//
//   trygg-vectors --out docs/test-vectors
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>

#include "test_vectors.h"
#include "trygg/hardening.h"

int main(int argc, char** argv) {
  if (const absl::Status status = trygg::DisableCoreDumps(); !status.ok()) {
    std::fprintf(stderr, "trygg-vectors: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  CLI::App app{
      "Writes Trygg's test vectors (records, grants, attachments, key store, sealed server key, "
      "fingerprints, workflow) as JSON,\nfrom fixed seeds: the output is identical on every run. "
      "See docs/protocol.md."};
  std::string out_dir = "docs/test-vectors";
  app.add_option("--out", out_dir, "directory to write the *.json files into")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) {
    std::fprintf(stderr, "trygg-vectors: cannot create %s: %s\n", out_dir.c_str(),
                 error.message().c_str());
    return 1;
  }
  for (const trygg::vectors::VectorFile& file : trygg::vectors::AllVectorFiles()) {
    const std::filesystem::path path = std::filesystem::path(out_dir) / file.name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << file.content;
    out.close();
    if (!out) {
      std::fprintf(stderr, "trygg-vectors: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}
