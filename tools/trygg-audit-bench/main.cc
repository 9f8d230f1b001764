// SPDX-License-Identifier: Apache-2.0

// trygg-audit-bench: how much the audit Merkle tree costs beyond the SHA-256
// it cannot avoid. Every workload is paired with a baseline that runs raw
// libsodium SHA-256 over exactly the same number of inputs of the same
// lengths, in the same run, so the printed ratio is about our code, not the
// machine. Times are medians over repetitions.
//
// Workloads (1,000,000 entries of kEntryBytes bytes):
//  - appending every entry to a MerkleTree over MemoryNodeStore, one at a
//    time and in batches of 1000;
//  - verifying the whole log from scratch (leaf hashes and root);
//  - producing and verifying inclusion and consistency proofs at tree sizes
//    1,000, 32,000 and 1,000,000, to show the cost grows with log n. A proof
//    is generated with lookups and only a few hashes, so its baseline is the
//    SHA-256 work a verifier does for that proof (for inclusion one hash per
//    proof element; for consistency one or two, as the RFC algorithm does).
//
// Repetitions are interleaved at random by default so that a workload and
// its baseline see the same load on a shared machine.
//
// Usage: trygg-audit-bench [Google Benchmark flags]; --help lists them.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trygg/audit/hash.h"
#include "server/audit/memory_node_store.h"
#include "server/audit/merkle_tree.h"
#include "server/audit/node_store.h"
#include "trygg/audit/tree_frontier.h"
#include "trygg/audit/verify.h"

namespace trygg::audit {
namespace {

constexpr uint64_t kLogSize = 1'000'000;
// About the size of a metadata-only audit entry (ids, kind, timestamps).
constexpr size_t kEntryBytes = 128;
constexpr int kRepetitions = 5;
constexpr uint64_t kProofSizes[] = {1'000, 32'000, 1'000'000};
constexpr int kQueries = 4096;

// Entry i: its index in the first eight bytes, the rest a fixed pattern.
void FillEntry(uint64_t i, std::array<uint8_t, kEntryBytes>* entry) {
  std::memcpy(entry->data(), &i, sizeof(i));
}

std::array<uint8_t, kEntryBytes> EntryTemplate() {
  std::array<uint8_t, kEntryBytes> entry;
  for (size_t i = 0; i < entry.size(); ++i) entry[i] = static_cast<uint8_t>(i);
  return entry;
}

// Node hashes an append of n leaves computes: one per completed parent.
uint64_t NodeHashesForAppend(uint64_t n) { return n - std::popcount(n); }

// Raw SHA-256 of `count` inputs of `length` bytes each.
void RawSha256(uint64_t count, size_t length) {
  std::array<uint8_t, 1 + kEntryBytes> input{};
  std::array<uint8_t, kHashSize> out;
  for (uint64_t i = 0; i < count; ++i) {
    std::memcpy(input.data() + 1, &i, sizeof(i));
    crypto_hash_sha256(out.data(), input.data(), length);
    benchmark::DoNotOptimize(out);
  }
  benchmark::ClobberMemory();
}

// One 1,000,000-leaf tree shared by the proof benchmarks; proofs for smaller
// sizes use its prefix, which is exactly the tree of that size.
struct SharedLog {
  SharedLog() : tree(&store) {
    store.Reserve(kLogSize);
    std::vector<Hash256> leaves;
    leaves.reserve(kLogSize);
    std::array<uint8_t, kEntryBytes> entry = EntryTemplate();
    for (uint64_t i = 0; i < kLogSize; ++i) {
      FillEntry(i, &entry);
      leaves.push_back(HashLeaf(entry));
    }
    if (!tree.AppendLeafHashes(leaves).ok()) std::abort();
    leaf_hashes = std::move(leaves);
  }
  MemoryNodeStore store;
  MerkleTree tree;
  std::vector<Hash256> leaf_hashes;
};

SharedLog& Log() {
  static SharedLog* log = new SharedLog();
  return *log;
}

// Deterministic pseudo-random query positions (splitmix64).
std::vector<uint64_t> Queries(uint64_t bound, uint64_t seed) {
  std::vector<uint64_t> out;
  uint64_t x = seed;
  for (int i = 0; i < kQueries; ++i) {
    x += 0x9e3779b97f4a7c15;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    out.push_back((z ^ (z >> 31)) % bound);
  }
  return out;
}

void BM_AppendEntries(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  std::array<uint8_t, kEntryBytes> entry = EntryTemplate();
  for (auto _ : state) {
    MemoryNodeStore store;
    store.Reserve(kLogSize);
    MerkleTree tree(&store);
    std::vector<Hash256> pending;
    pending.reserve(batch);
    for (uint64_t i = 0; i < kLogSize; ++i) {
      FillEntry(i, &entry);
      pending.push_back(HashLeaf(entry));
      if (pending.size() == batch || i + 1 == kLogSize) {
        if (!tree.AppendLeafHashes(pending).ok()) {
          state.SkipWithError("append failed");
          return;
        }
        pending.clear();
      }
    }
    benchmark::DoNotOptimize(tree.Root(kLogSize));
  }
  state.counters["entries"] = kLogSize;
  state.counters["hashes"] = kLogSize + NodeHashesForAppend(kLogSize);
}

void BM_Sha256_AppendEquivalent(benchmark::State& state) {
  for (auto _ : state) {
    RawSha256(kLogSize, 1 + kEntryBytes);
    RawSha256(NodeHashesForAppend(kLogSize), 1 + 2 * kHashSize);
  }
  state.counters["hashes"] = kLogSize + NodeHashesForAppend(kLogSize);
}

void BM_VerifyLogFromScratch(benchmark::State& state) {
  const Hash256 want = *Log().tree.Root(kLogSize);
  std::array<uint8_t, kEntryBytes> entry = EntryTemplate();
  for (auto _ : state) {
    TreeFrontier frontier;
    for (uint64_t i = 0; i < kLogSize; ++i) {
      FillEntry(i, &entry);
      frontier.Append(HashLeaf(entry));
    }
    if (frontier.Root() != want) {
      state.SkipWithError("root mismatch");
      return;
    }
  }
  state.counters["entries"] = kLogSize;
  state.counters["hashes"] = 2 * kLogSize - 1;
}

void BM_Sha256_VerifyLogEquivalent(benchmark::State& state) {
  for (auto _ : state) {
    RawSha256(kLogSize, 1 + kEntryBytes);
    RawSha256(kLogSize - 1, 1 + 2 * kHashSize);
  }
  state.counters["hashes"] = 2 * kLogSize - 1;
}

void BM_InclusionProof(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const MerkleTree& tree = Log().tree;
  const std::vector<uint64_t> queries = Queries(n, 1);
  size_t i = 0;
  size_t elements = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<Hash256>> proof =
        tree.InclusionProof(queries[i++ % kQueries], n);
    elements += proof->size();
    benchmark::DoNotOptimize(proof);
  }
  state.counters["proof_hashes"] = benchmark::Counter(
      static_cast<double>(elements), benchmark::Counter::kAvgIterations);
}

void BM_Sha256_InclusionEquivalent(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const std::vector<uint64_t> queries = Queries(n, 1);
  size_t i = 0;
  for (auto _ : state) {
    RawSha256(InclusionProofLength(queries[i++ % kQueries], n),
              1 + 2 * kHashSize);
  }
}

void BM_VerifyInclusion(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  SharedLog& log = Log();
  const Hash256 root = *log.tree.Root(n);
  const std::vector<uint64_t> queries = Queries(n, 1);
  std::vector<std::vector<Hash256>> proofs;
  for (uint64_t q : queries) proofs.push_back(*log.tree.InclusionProof(q, n));
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % kQueries;
    const absl::Status status =
        VerifyInclusion(log.leaf_hashes[queries[k]], queries[k], n, proofs[k],
                        root);
    if (!status.ok()) {
      state.SkipWithError("inclusion proof did not verify");
      return;
    }
  }
}

void BM_ConsistencyProof(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const MerkleTree& tree = Log().tree;
  const std::vector<uint64_t> queries = Queries(n - 1, 2);
  size_t i = 0;
  size_t elements = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<Hash256>> proof =
        tree.ConsistencyProof(queries[i++ % kQueries] + 1, n);
    elements += proof->size();
    benchmark::DoNotOptimize(proof);
  }
  state.counters["proof_hashes"] = benchmark::Counter(
      static_cast<double>(elements), benchmark::Counter::kAvgIterations);
}

// Node hashes RFC 9162 2.1.4.2 computes to verify a consistency proof from m
// to n: elements on the old tree's path are hashed into both roots, the rest
// into the new root only. Same loop as the verifier, without the hashing.
uint64_t ConsistencyVerifyHashes(uint64_t m, uint64_t n) {
  uint64_t fn = m - 1;
  uint64_t sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  const size_t elements =
      ConsistencyProofLength(m, n) + (std::has_single_bit(m) ? 1 : 0);
  uint64_t hashes = 0;
  for (size_t i = 1; i < elements; ++i) {
    if ((fn & 1) || fn == sn) {
      hashes += 2;
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      hashes += 1;
    }
    fn >>= 1;
    sn >>= 1;
  }
  return hashes;
}

void BM_Sha256_ConsistencyEquivalent(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const std::vector<uint64_t> queries = Queries(n - 1, 2);
  size_t i = 0;
  for (auto _ : state) {
    RawSha256(ConsistencyVerifyHashes(queries[i++ % kQueries] + 1, n),
              1 + 2 * kHashSize);
  }
}

void BM_VerifyConsistency(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  SharedLog& log = Log();
  const Hash256 root = *log.tree.Root(n);
  const std::vector<uint64_t> queries = Queries(n - 1, 2);
  std::vector<std::vector<Hash256>> proofs;
  std::vector<Hash256> first_roots;
  for (uint64_t q : queries) {
    proofs.push_back(*log.tree.ConsistencyProof(q + 1, n));
    first_roots.push_back(*log.tree.Root(q + 1));
  }
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % kQueries;
    const absl::Status status = VerifyConsistency(
        queries[k] + 1, n, first_roots[k], root, proofs[k]);
    if (!status.ok()) {
      state.SkipWithError("consistency proof did not verify");
      return;
    }
  }
}

// Keeps the median (or, without repetitions, the only) CPU time of every
// benchmark, in seconds, so the pairs can be printed as ratios at the end.
// CPU time, because every workload is single-threaded and the machine is
// shared: wall time would also count other processes' use of the core.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const bool is_median = run.aggregate_name == "median";
      if (run.run_type == Run::RT_Aggregate && !is_median) continue;
      // Keyed by function and arguments only: the full name also carries
      // repetition and timing options, which the pairs do not care about.
      std::string name = run.run_name.function_name;
      if (!run.run_name.args.empty()) name += "/" + run.run_name.args;
      if (!is_median && medians_.count(name) != 0) continue;
      medians_[name] = run.GetAdjustedCPUTime() /
                       benchmark::GetTimeUnitMultiplier(run.time_unit);
    }
  }

  const std::map<std::string, double>& medians() const { return medians_; }

 private:
  std::map<std::string, double> medians_;
};

struct Pair {
  std::string workload;
  std::string baseline;
  std::string label;
};

std::string Seconds(double s) {
  char buf[32];
  if (s >= 1) {
    std::snprintf(buf, sizeof(buf), "%.3f s", s);
  } else if (s >= 1e-3) {
    std::snprintf(buf, sizeof(buf), "%.3f ms", s * 1e3);
  } else if (s >= 1e-6) {
    std::snprintf(buf, sizeof(buf), "%.3f us", s * 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f ns", s * 1e9);
  }
  return buf;
}

void PrintRatios(const std::vector<Pair>& pairs,
                 const std::map<std::string, double>& medians) {
  std::printf(
      "\nRatio to raw SHA-256 of the same hashes (median CPU time, same "
      "run)\n");
  std::printf("%-44s %14s %14s %8s\n", "workload", "time", "raw SHA-256",
              "ratio");
  for (const Pair& pair : pairs) {
    auto w = medians.find(pair.workload);
    auto b = medians.find(pair.baseline);
    if (w == medians.end() || b == medians.end()) continue;
    std::printf("%-44s %14s %14s %7.2fx\n", pair.label.c_str(),
                Seconds(w->second).c_str(), Seconds(b->second).c_str(),
                w->second / b->second);
  }
  std::printf(
      "\nProof generation against log2(n): constant time per level means "
      "logarithmic cost\n");
  for (const char* kind : {"BM_InclusionProof", "BM_ConsistencyProof"}) {
    for (uint64_t n : kProofSizes) {
      const std::string name =
          std::string(kind) + "/size:" + std::to_string(n);
      auto it = medians.find(name);
      if (it == medians.end()) continue;
      const double levels = std::log2(static_cast<double>(n));
      std::printf("%-44s %14s per proof, %8s per level (log2 n = %.1f)\n",
                  name.c_str(), Seconds(it->second).c_str(),
                  Seconds(it->second / levels).c_str(), levels);
    }
  }
}

std::vector<Pair> RegisterAll() {
  std::vector<Pair> pairs;
  const auto repeat = [](benchmark::internal::Benchmark* b) {
    b->Repetitions(kRepetitions)->ReportAggregatesOnly(true);
  };
  // Whole-log workloads take about a second each; one iteration per
  // repetition is enough and keeps the run short on a shared machine.
  repeat(benchmark::RegisterBenchmark("BM_Sha256_AppendEquivalent",
                                      BM_Sha256_AppendEquivalent)
             ->Iterations(1)
             ->Unit(benchmark::kMillisecond));
  for (int batch : {1, 1000}) {
    repeat(benchmark::RegisterBenchmark("BM_AppendEntries", BM_AppendEntries)
               ->ArgName("batch")
               ->Arg(batch)
               ->Iterations(1)
               ->Unit(benchmark::kMillisecond));
    pairs.push_back({"BM_AppendEntries/batch:" + std::to_string(batch),
                     "BM_Sha256_AppendEquivalent",
                     "append 1M entries, batch " + std::to_string(batch)});
  }
  repeat(benchmark::RegisterBenchmark("BM_VerifyLogFromScratch",
                                      BM_VerifyLogFromScratch)
             ->Iterations(1)
             ->Unit(benchmark::kMillisecond));
  repeat(benchmark::RegisterBenchmark("BM_Sha256_VerifyLogEquivalent",
                                      BM_Sha256_VerifyLogEquivalent)
             ->Iterations(1)
             ->Unit(benchmark::kMillisecond));
  pairs.push_back({"BM_VerifyLogFromScratch", "BM_Sha256_VerifyLogEquivalent",
                   "verify 1M-entry log from scratch"});

  struct PerProof {
    const char* workload;
    const char* baseline;
    void (*fn)(benchmark::State&);
    void (*base_fn)(benchmark::State&);
    const char* label;
  };
  const PerProof per_proof[] = {
      {"BM_InclusionProof", "BM_Sha256_InclusionEquivalent", BM_InclusionProof,
       BM_Sha256_InclusionEquivalent, "inclusion proof"},
      {"BM_VerifyInclusion", "BM_Sha256_InclusionEquivalent",
       BM_VerifyInclusion, nullptr, "verify inclusion"},
      {"BM_ConsistencyProof", "BM_Sha256_ConsistencyEquivalent",
       BM_ConsistencyProof, BM_Sha256_ConsistencyEquivalent,
       "consistency proof"},
      {"BM_VerifyConsistency", "BM_Sha256_ConsistencyEquivalent",
       BM_VerifyConsistency, nullptr, "verify consistency"},
  };
  for (const PerProof& p : per_proof) {
    for (uint64_t n : kProofSizes) {
      const std::string suffix = "/size:" + std::to_string(n);
      repeat(benchmark::RegisterBenchmark(p.workload, p.fn)
                 ->ArgName("size")
                 ->Arg(static_cast<int64_t>(n)));
      if (p.base_fn != nullptr) {
        repeat(benchmark::RegisterBenchmark(p.baseline, p.base_fn)
                   ->ArgName("size")
                   ->Arg(static_cast<int64_t>(n)));
      }
      pairs.push_back({p.workload + suffix, p.baseline + suffix,
                       std::string(p.label) + ", size " + std::to_string(n)});
    }
  }
  return pairs;
}

void PrintHelp() {
  std::printf(
      "trygg-audit-bench: cost of the audit Merkle tree (append, proofs, "
      "verification at\n"
      "1,000,000 entries), each as a ratio to raw SHA-256 of the same hashes "
      "measured in\nthe same run. Medians over %d repetitions.\n\n",
      kRepetitions);
  benchmark::PrintDefaultHelp();
}

}  // namespace
}  // namespace trygg::audit

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::fprintf(stderr, "trygg-audit-bench: libsodium failed to initialise\n");
    return 1;
  }
  const std::vector<trygg::audit::Pair> pairs = trygg::audit::RegisterAll();
  // Default to interleaved repetitions unless the caller chose otherwise.
  std::vector<char*> args(argv, argv + argc);
  bool interleave_given = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--benchmark_enable_random_interleaving",
                     38) == 0) {
      interleave_given = true;
    }
  }
  static char kInterleave[] = "--benchmark_enable_random_interleaving=true";
  if (!interleave_given) args.insert(args.begin() + 1, kInterleave);
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&args_count, args.data(), trygg::audit::PrintHelp);
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) {
    return 1;
  }
  trygg::audit::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  trygg::audit::PrintRatios(pairs, reporter.medians());
  benchmark::Shutdown();
  return 0;
}
