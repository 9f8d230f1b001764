// SPDX-License-Identifier: Apache-2.0

#include "server/audit/statistics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "trygg/bytes.h"
#include "trygg/names.h"

namespace trygg::audit {
namespace {

// A code as the report names it: its kebab-case name (trygg/names.h), or
// "unspecified" / "unknown" for a number with no name.
std::string CodeLabel(NamedEnum kind, uint8_t code) {
  if (code == 0) return "unspecified";
  const std::string_view name = FormatName(kind, code);
  return name.empty() ? "unknown" : std::string(name);
}

enum class State { kSent, kAccepted, kDeclined, kWithdrawn, kExpired, kCompleted, kClosed };

struct Referral {
  AuditId from{};
  AuditId to{};
  uint8_t service = 0;
  bool vital = false;
  int64_t created_ms = 0;
  int64_t due_ms = 0;
  std::optional<int64_t> answered_ms;
  State state = State::kSent;
  State first_move = State::kSent;  // out of kSent: accepted, declined, withdrawn or expired
  uint8_t decline_reason = 0;
  uint8_t outcome = 0;
  bool accepted = false;
  bool declined = false;
};

// Calendar month "YYYY-MM" of a Unix millisecond time in `zone` (the
// caller's choice, not the process's local zone).
std::string Month(int64_t ms, const absl::TimeZone& zone) {
  return absl::FormatTime("%Y-%m", absl::FromUnixMillis(ms), zone);
}

// An untrusted name made safe to carry: invalid UTF-8 becomes U+FFFD, and
// control characters (C0, DEL, C1) and the bidirectional embedding, override
// and isolate characters (which could make one name read as another) become
// spaces. Runs of spaces collapse and the ends are trimmed.
std::string CleanName(std::string_view in) {
  std::string out;
  size_t i = 0;
  auto space = [&] {
    if (!out.empty() && out.back() != ' ') out += ' ';
  };
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool valid = len != 0 && i + len <= in.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const auto c = static_cast<unsigned char>(in[i + k]);
      if ((c & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    if (valid && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                  (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)) {
      valid = false;
    }
    if (!valid) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    const bool control = cp < 0x20 || (cp >= 0x7F && cp < 0xA0);
    const bool bidi = (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
                      cp == 0x200F || cp == 0x061C;
    if (control || bidi || cp == ' ') {
      space();
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Every hidden cell reads the same (kSuppressedMarker), whether it is small
// or hidden alongside a small one: distinct markers would tell which hidden
// cells are at least `threshold`, and that narrows the small ones down.
class CellMaker {
 public:
  explicit CellMaker(int64_t threshold) : threshold_(threshold) {}

  StatCell Count(int64_t c) const {
    StatCell cell;
    cell.type = StatCell::Type::kCount;
    cell.count = c;
    return cell;
  }
  static StatCell Hidden() {
    StatCell cell;
    cell.type = StatCell::Type::kSuppressed;
    cell.text = std::string(kSuppressedMarker);
    return cell;
  }
  // A value derived from `basis` referrals: hidden when the basis is small,
  // since a rate or median over two referrals describes two people, or when
  // `parts_hidden` (a count it is computed from is hidden).
  StatCell Number(double value, int64_t basis, bool parts_hidden = false) const {
    if (basis == 0) return Text("-");
    if (basis < threshold_ || parts_hidden) return Hidden();
    StatCell cell;
    cell.type = StatCell::Type::kNumber;
    cell.number = value;
    return cell;
  }
  static StatCell Text(std::string text) {
    StatCell cell;
    cell.text = std::move(text);
    return cell;
  }

 private:
  int64_t threshold_;
};

// Suppression over the whole report (docs/audit.md, "Coordinator
// statistics"). Every count is a cell. A reader who sees the shown cells also
// knows how the counts relate: a group of cells adds up to a total shown
// elsewhere (the per-pair, per-service and per-month columns of referrals,
// accepted and declined to the summary's counts; the decline reasons to the
// declined count), and some counts bound others (referrals >= accepted +
// declined in every row; in the summary, referrals >= accepted + declined +
// awaiting, awaiting >= overdue, accepted >= in progress + outcomes, referrals
// >= vital interests). Zeros are always shown, so a reader also knows every
// hidden cell is at least 1.
//
// Small counts (1 to threshold - 1) are hidden first (primary suppression).
// Then, in two passes (secondary suppression):
//
// 1. Lines. A sum (or balance) with exactly one hidden cell gives that cell
//    away, so the smallest shown non-zero cell of it is hidden too, and so on
//    until every sum has no hidden cell or at least two. This is the classic
//    rule for tables of totals, run over every relation at once so that the
//    hierarchy (pairs into receivers into the summary) is covered.
// 2. Witnesses. Two hidden cells in every sum is not enough on its own: the
//    bounds (a row's referrals >= its answers, every hidden cell >= 1) can
//    still pin a count. So each hidden small count must have a witness:
//    another assignment of whole numbers to the hidden cells, at least 1
//    each, that satisfies every relation and gives the count another value,
//    so that a reader cannot tell which is the real one. The witness is
//    looked for near the real counts: change the count by one, then repair
//    each relation that breaks by moving another hidden cell of it by one,
//    depth first, a few steps deep. When no witness turns up, the smallest
//    shown non-zero cell nearest to the count (in a relation it is in, else
//    one relation further, and so on) is hidden too, pass 1 runs again, and
//    the count is checked again. Not finding a witness only ever hides more.
//
// A reader may still narrow a hidden count down ("1 or 2"); what it cannot do
// is work one out exactly. Measured on a platform-sized log (docs/audit.md):
// the first version searched for witnesses alone, scanned every cell of a
// column of thousands at each step of the search, gave up after hundreds of
// counts and hid everything, in minutes; pass 1 makes witnesses short, and
// the search moves only hidden cells of the broken relation with the fewest.
class Suppression {
 public:
  explicit Suppression(int64_t threshold) : threshold_(threshold) {}

  size_t Count(int64_t value) {
    const bool small = value > 0 && value < threshold_;
    cells_.push_back(Cell{value, small, small, {}});
    return cells_.size() - 1;
  }
  // total = sum of parts.
  void SumOf(size_t total, const std::vector<size_t>& parts) { Relate({total}, parts, true); }
  // whole >= sum of parts.
  void AtLeast(size_t whole, const std::vector<size_t>& parts) { Relate({whole}, parts, false); }
  // sum of greater >= sum of smaller.
  void NoLess(const std::vector<size_t>& greater, const std::vector<size_t>& smaller) {
    Relate(greater, smaller, false);
  }
  // sum of left = sum of right: two groups of cells that count the same
  // referrals split two ways.
  void Balance(const std::vector<size_t>& left, const std::vector<size_t>& right) { Relate(left, right, true); }

  void Protect() {
    slack_.assign(relations_.size(), 0);
    for (size_t rel = 0; rel < relations_.size(); ++rel) {
      for (const auto& [c, coef] : relations_[rel].terms) slack_[rel] += coef * cells_[c].value;
    }
    moved_.assign(cells_.size(), 0);
    std::vector<size_t> weak;  // equalities that may give a hidden cell away
    for (size_t rel = 0; rel < relations_.size(); ++rel) {
      if (Weak(rel)) weak.push_back(rel);
    }
    CompleteLines(weak);
    // Hiding only ever adds freedom, so a count that has a witness keeps it:
    // each is searched for until found, not again in every round.
    std::vector<bool> settled(cells_.size(), false);
    for (bool hid_more = true; hid_more;) {
      hid_more = false;
      for (size_t c = 0; c < cells_.size(); ++c) {
        if (!cells_[c].small || settled[c]) continue;
        if (HasWitness(c)) {
          settled[c] = true;
          continue;
        }
        std::optional<size_t> next = Unblocking();
        if (!next) next = Nearest(c);
        if (!next) {  // every count it is tied to is hidden already
          settled[c] = true;
          continue;
        }
        Hide(*next, weak);
        CompleteLines(weak);
        hid_more = true;
      }
    }
  }

  bool hidden(size_t cell) const { return cells_[cell].hidden; }
  int64_t value(size_t cell) const { return cells_[cell].value; }

 private:
  static constexpr int kMaxSteps = 12;         // cells changed in one witness
  static constexpr int kSearchBudget = 20'000;  // nodes per count
  using Term = std::pair<size_t, int>;          // a cell and its coefficient, +1 or -1
  struct Cell {
    int64_t value;
    bool hidden;
    bool small;
    std::vector<Term> relations;  // relation, the cell's coefficient in it
  };
  // sum of coef * value over the terms: == 0, or >= 0.
  struct Relation {
    std::vector<Term> terms;
    bool equal;
    std::vector<Term> hidden;  // the hidden terms, in the order they were hidden
    int64_t hidden_sum = 0;    // of their values
  };

  void Relate(const std::vector<size_t>& plus, const std::vector<size_t>& minus, bool equal) {
    Relation r{{}, equal, {}};
    for (size_t c : plus) r.terms.push_back({c, 1});
    for (size_t c : minus) r.terms.push_back({c, -1});
    for (const auto& [c, coef] : r.terms) {
      cells_[c].relations.push_back({relations_.size(), coef});
      if (cells_[c].hidden) {
        r.hidden.push_back({c, coef});
        r.hidden_sum += cells_[c].value;
      }
    }
    relations_.push_back(std::move(r));
  }

  // An equality gives its hidden cells away when it has just one, or when
  // they are all 1s: a reader knows their sum from the shown cells, and
  // that each is at least 1.
  bool Weak(size_t rel) const {
    const Relation& r = relations_[rel];
    const auto h = static_cast<int64_t>(r.hidden.size());
    return r.equal && (h == 1 || (h > 1 && r.hidden_sum == h));
  }

  // Hides `c`; an equality it leaves weak goes on `weak`.
  void Hide(size_t c, std::vector<size_t>& weak) {
    cells_[c].hidden = true;
    for (const auto& [rel, coef] : cells_[c].relations) {
      relations_[rel].hidden.push_back({c, coef});
      relations_[rel].hidden_sum += cells_[c].value;
      if (Weak(rel)) weak.push_back(rel);
    }
  }

  // Pass 1: until no equality is weak, hide the smallest shown cell of 2 or
  // more of one that is (two hidden cells of which one is at least 2 can
  // trade a referral), else its smallest shown non-zero cell. (A non-zero
  // one exists: the hidden ones add up to at least 1, so the rest of the
  // sum is not all zeros.)
  void CompleteLines(std::vector<size_t>& weak) {
    while (!weak.empty()) {
      const size_t rel = weak.back();
      weak.pop_back();
      if (!Weak(rel)) continue;
      std::optional<size_t> two_or_more, next;
      for (const auto& [c, coef] : relations_[rel].terms) {
        if (cells_[c].value >= 2) Consider(c, two_or_more);
        Consider(c, next);
      }
      if (two_or_more) next = two_or_more;
      if (next) Hide(*next, weak);
    }
  }

  void Consider(size_t c, std::optional<size_t>& best) const {
    if (!cells_[c].hidden && cells_[c].value > 0 && (!best || cells_[c].value < cells_[*best].value)) best = c;
  }

  // The cell to hide next after a failed search: in the relation the search
  // got stuck at most often, the smallest shown cell that could move the
  // way that relation had to go (down only from 2 up). Hiding it gives the
  // search the move it lacked. None when no relation was stuck, or none of
  // its shown cells can move.
  std::optional<size_t> Unblocking() const {
    std::optional<size_t> best;
    int most = 0;
    for (const auto& [stuck, times] : dead_ends_) {
      const auto& [rel, direction] = stuck;
      std::optional<size_t> here;
      for (const auto& [c, coef] : relations_[rel].terms) {
        // This cell moves by coef * direction to move the sum by direction.
        if (cells_[c].value + coef * direction >= 1) Consider(c, here);
      }
      if (here && (times > most || (times == most && cells_[*here].value < cells_[*best].value))) {
        best = here;
        most = times;
      }
    }
    return best;
  }

  // The cell to hide next for `c`, which has no witness: the smallest shown
  // non-zero cell of the relation of `c` with the fewest hidden cells (the
  // one most likely to block every move of `c`: a row whose shown referrals
  // and accepted bound its hidden declined to 1); when every relation of `c`
  // is hidden or zero, the smallest one of a relation one of their hidden
  // cells is in, and so on outwards. None: every cell tied to `c` is hidden
  // or zero.
  std::optional<size_t> Nearest(size_t c) const {
    std::optional<size_t> best;
    size_t fewest = 0;
    for (const auto& [rel, coef] : cells_[c].relations) {
      std::optional<size_t> here;
      for (const auto& [other, other_coef] : relations_[rel].terms) Consider(other, here);
      const size_t hidden = relations_[rel].hidden.size();
      if (here && (!best || hidden < fewest || (hidden == fewest && cells_[*here].value < cells_[*best].value))) {
        best = here;
        fewest = hidden;
      }
    }
    if (best) return best;
    std::vector<bool> seen_cell(cells_.size(), false), seen_relation(relations_.size(), false);
    std::vector<size_t> layer{c};
    seen_cell[c] = true;
    while (!layer.empty()) {
      std::vector<size_t> next_layer;
      for (size_t cell : layer) {
        for (const auto& [rel, coef] : cells_[cell].relations) {
          if (seen_relation[rel]) continue;
          seen_relation[rel] = true;
          for (const auto& [other, other_coef] : relations_[rel].terms) {
            Consider(other, best);
            if (cells_[other].hidden && !seen_cell[other]) {
              seen_cell[other] = true;
              next_layer.push_back(other);
            }
          }
        }
      }
      if (best) return best;
      layer = std::move(next_layer);
    }
    return std::nullopt;
  }

  // Moves `c` by `delta` in the search: every relation it is in moves by
  // coef * delta (slack_ is kept current, so a step of the search costs the
  // relations of the cells it moves, not a column of thousands).
  void Move(size_t c, int64_t delta) {
    moved_[c] += delta;
    for (const auto& [rel, coef] : cells_[c].relations) slack_[rel] += coef * delta;
  }
  bool Holds(size_t rel) const { return relations_[rel].equal ? slack_[rel] == 0 : slack_[rel] >= 0; }

  // Whether `c` has a witness. Where the search found none, dead_ends_ says
  // which relations it could not mend, and how often.
  bool HasWitness(size_t c) {
    dead_ends_.clear();
    for (const int64_t delta : {int64_t{1}, int64_t{-1}}) {
      if (cells_[c].value + delta < 1) continue;
      std::vector<size_t> moved{c};
      int budget = kSearchBudget;
      Move(c, delta);
      const bool found = Repair(moved, budget);
      for (size_t m : moved) Move(m, -moved_[m]);
      if (found) return true;
    }
    return false;
  }

  // Depth first: find the broken relation with the fewest hidden cells (a
  // receiver's pairs, not a column of thousands) and move one more hidden
  // cell of it by one in the direction that mends it. Cells whose move also
  // mends other broken relations are tried first (a pair's cell that fixes
  // both the column and its receiver's row), so a witness is usually found
  // on the first path. On success `moved` holds the witness's cells.
  bool Repair(std::vector<size_t>& moved, int& budget) {
    std::vector<size_t> broken;
    for (size_t m : moved) {
      for (const auto& [rel, coef] : cells_[m].relations) {
        if (!Holds(rel) && std::find(broken.begin(), broken.end(), rel) == broken.end()) broken.push_back(rel);
      }
    }
    if (broken.empty()) return true;
    if (static_cast<int>(moved.size()) >= kMaxSteps || --budget < 0) return false;
    const size_t rel = *std::min_element(broken.begin(), broken.end(), [this](size_t a, size_t b) {
      return relations_[a].hidden.size() < relations_[b].hidden.size();
    });
    const int64_t slack = slack_[rel];
    std::vector<std::tuple<int, size_t, int64_t>> moves;  // -score, cell, delta
    for (const auto& [cell, coef] : relations_[rel].hidden) {
      if (moved_[cell] != 0) continue;
      // Moves the sum towards 0: down when it is over (== only), up when under.
      const int64_t delta = slack > 0 ? -coef : coef;
      if (cells_[cell].value + delta < 1) continue;
      // Score: broken relations the move mends, less holding ones it breaks
      // (a row with no room, whose repair would lead the search astray).
      int score = 0;
      for (const auto& [other, other_coef] : cells_[cell].relations) {
        const int64_t after = slack_[other] + other_coef * delta;
        const bool holds_after = relations_[other].equal ? after == 0 : after >= 0;
        if (!Holds(other)) {
          score += std::abs(after) < std::abs(slack_[other]) || holds_after;
        } else if (!holds_after) {
          --score;
        }
      }
      moves.push_back({-score, cell, delta});
    }
    if (moves.empty()) ++dead_ends_[{rel, slack > 0 ? -1 : 1}];
    std::stable_sort(moves.begin(), moves.end(),
                     [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
    for (const auto& [score, cell, delta] : moves) {
      Move(cell, delta);
      moved.push_back(cell);
      if (Repair(moved, budget)) return true;
      moved.pop_back();
      Move(cell, -delta);
      if (budget < 0) return false;
    }
    return false;
  }

  int64_t threshold_;
  std::vector<Cell> cells_;
  std::vector<Relation> relations_;
  // In the search: each relation's sum with the moves so far, and each
  // cell's move.
  std::vector<int64_t> slack_;
  std::vector<int64_t> moved_;
  // Relations the last failed search could not mend (no hidden cell of
  // them could move), with the direction the sum had to go: times met.
  std::map<std::pair<size_t, int>, int> dead_ends_;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The 1-based ranks a percentile of n values is read from: nearest rank
// (the smallest value with at least p% at or below it) for 90, the middle
// one or two for 50. Integer arithmetic: 0.9 * 40 is not 36 in binary.
std::pair<int64_t, int64_t> PercentileRanks(int64_t n, int percentile) {
  if (percentile == 50) return n % 2 == 1 ? std::pair{(n + 1) / 2, (n + 1) / 2} : std::pair{n / 2, n / 2 + 1};
  const int64_t rank = std::max<int64_t>(1, (percentile * n + 99) / 100);
  return {rank, rank};
}

double Percentile(std::vector<double> v, int percentile) {
  if (percentile == 50) return Median(std::move(v));
  std::sort(v.begin(), v.end());
  return v[PercentileRanks(static_cast<int64_t>(v.size()), percentile).first - 1];
}

// Whether a percentile of n answer times may be shown: only with at least
// `threshold` answers at or below it and at least `threshold` at or above
// it. A percentile is the time of one answer (or the mean of two), and an
// end of a few answers is one survivor's case: the 90th percentile of 5 to
// 9 answers is the slowest or the second slowest of them. At threshold 5 a
// median needs 9 answers and a 90th percentile 40 (docs/audit.md).
bool PercentileShown(int64_t n, int percentile, int64_t threshold) {
  if (n == 0) return false;
  const auto [low, high] = PercentileRanks(n, percentile);
  return low >= threshold && n - high + 1 >= threshold;
}

// --- The steps of ComputeStatistics -----------------------------------------

// Each referral as the entries leave it. Log order is the order the server
// applied the changes, so the first answer seen is the answer.
std::map<AuditId, Referral> ReplayReferrals(absl::Span<const AuditEvent> events) {
  std::map<AuditId, Referral> referrals;
  for (const AuditEvent& e : events) {
    if (e.kind == AuditEventKind::kReferralCreated) {
      Referral& r = referrals[e.referral_id];
      r.from = e.actor_org_id;
      r.to = e.counterpart_org_id;
      r.service = e.service;
      r.vital = e.vital_interests();
      r.created_ms = e.time_ms;
      r.due_ms = e.due_ms;
      continue;
    }
    auto it = referrals.find(e.referral_id);
    if (it == referrals.end()) continue;
    Referral& r = it->second;
    State next = r.state;
    switch (e.kind) {
      case AuditEventKind::kReferralAccepted:
        if (!r.answered_ms) r.answered_ms = e.time_ms;
        r.accepted = true;
        next = State::kAccepted;
        break;
      case AuditEventKind::kReferralDeclined:
        if (!r.answered_ms) r.answered_ms = e.time_ms;
        r.declined = true;
        r.decline_reason = e.code;
        next = State::kDeclined;
        break;
      case AuditEventKind::kReferralWithdrawn:
        next = State::kWithdrawn;
        break;
      case AuditEventKind::kReferralExpired:
        next = State::kExpired;
        break;
      case AuditEventKind::kReferralCompleted:
        next = State::kCompleted;
        r.outcome = e.code;
        break;
      case AuditEventKind::kReferralClosed:
        next = State::kClosed;
        if (e.code != 0) r.outcome = e.code;
        break;
      default:
        continue;
    }
    if (r.state == State::kSent && r.first_move == State::kSent) r.first_move = next;
    r.state = next;
  }
  return referrals;
}

// The category an organisation is known by in the directory: the service
// category of most of the listings it published (ties: the lower number);
// 0 when it published none. Organisation certificates carry no category, so
// this is the only place the log says what an organisation does. A listing
// counts once, by its last category: one republished every day would
// otherwise outweigh the rest.
std::map<AuditId, uint8_t> ListedCategories(absl::Span<const AuditEvent> events) {
  std::map<AuditId, std::pair<AuditId, uint8_t>> listings;  // listing: organisation, category
  for (const AuditEvent& e : events) {
    if (e.kind == AuditEventKind::kListingPublished && e.service != 0) {
      listings[e.listing_id] = {e.actor_org_id, e.service};
    }
  }
  std::map<AuditId, std::map<uint8_t, int64_t>> listed;
  for (const auto& [listing, org_category] : listings) ++listed[org_category.first][org_category.second];
  std::map<AuditId, uint8_t> category;
  for (const auto& [org, counts] : listed) {
    uint8_t best = 0;
    int64_t most = 0;
    for (const auto& [service, n] : counts) {
      if (n > most) best = service, most = n;
    }
    category[org] = best;
  }
  return category;
}

// The counts a row of a table can show. Within one row they count disjoint
// sets of its referrals (overdue ones are among those awaiting an answer),
// so a row's referrals are at least the sum of its other measures.
enum Measure { kReferrals, kAccepted, kDeclined, kWithdrawn, kExpired, kOverdue, kMeasures };
constexpr const char* kMeasureColumn[kMeasures] = {"referrals", "accepted", "declined",
                                                   "withdrawn", "expired",  "overdue"};

struct Tally {
  std::array<int64_t, kMeasures> n{};
  std::vector<double> answer_hours;
};

// One row of a grouped table: what names it and its counts.
struct Group {
  std::vector<StatCell> key;
  AuditId from{}, to{};      // by_pair, by_receiver (to)
  uint8_t service = 0;       // by_service, flow
  uint8_t category = 0;      // flow
  Tally tally;
};

// A table of rows keyed by something (sorted by `std::string` bytes).
struct GroupTable {
  std::string id, title;
  std::vector<std::string> key_columns;
  std::vector<Measure> measures;
  bool rate = false;   // acceptance rate column
  bool times = false;  // time to answer p50 / p90 columns
  std::vector<int> trend_columns;
  std::map<std::string, Group> rows;
};

// Every count the report shows, before suppression.
struct ReferralCounts {
  Tally total;
  int64_t vital = 0, awaiting = 0, in_progress = 0, completed = 0, closed = 0;
  std::map<uint8_t, int64_t> declines;
  std::map<uint8_t, int64_t> outcomes;
  GroupTable pairs, services, receivers, months, flow;
};

std::string KeyBytes(const AuditId& id) { return std::string(id.begin(), id.end()); }

// An organisation as the report names it (see statistics.h).
class OrgLabels {
 public:
  explicit OrgLabels(const std::map<AuditId, std::string>& names) {
    std::map<std::string, int> uses;
    for (const auto& [id, name] : names) {
      std::string clean = CleanName(name);
      if (clean.empty()) continue;
      ++uses[clean];
      names_[id] = std::move(clean);
    }
    for (auto& [id, name] : names_) {
      if (uses[name] > 1) name = absl::StrCat(name, " (", Short(id), ")");
    }
  }
  StatCell Cell(const AuditId& id) const {
    const auto it = names_.find(id);
    StatCell cell;
    cell.text = it == names_.end() ? Short(id) : it->second;
    cell.id = HexEncode(id);
    return cell;
  }

 private:
  static std::string Short(const AuditId& id) { return HexEncode(id).substr(0, 8); }
  std::map<AuditId, std::string> names_;
};

void Add(Tally& t, const Tally& delta) {
  for (int m = 0; m < kMeasures; ++m) t.n[m] += delta.n[m];
  t.answer_hours.insert(t.answer_hours.end(), delta.answer_hours.begin(), delta.answer_hours.end());
}

StatCell TextCell(std::string text) {
  StatCell cell;
  cell.text = std::move(text);
  return cell;
}

ReferralCounts CountReferrals(const std::map<AuditId, Referral>& referrals, const std::map<AuditId, uint8_t>& listed,
                              const StatisticsOptions& options) {
  ReferralCounts counts;
  counts.pairs = {"by_pair", "Referrals per organisation pair", {"from organisation", "to organisation"},
                  {kReferrals, kAccepted, kDeclined}, false, false, {}, {}};
  counts.services = {"by_service", "Referrals per service", {"service"},
                     {kReferrals, kAccepted, kDeclined, kWithdrawn, kExpired, kOverdue}, true, true, {}, {}};
  counts.receivers = {"by_receiver", "Referrals per receiving organisation", {"organisation"},
                      {kReferrals, kAccepted, kDeclined, kWithdrawn, kExpired, kOverdue}, true, true, {}, {}};
  counts.months = {"by_month", "Referrals per month", {"month"},
                   {kReferrals, kAccepted, kDeclined, kWithdrawn, kExpired}, false, false, {1, 2, 3, 4, 5}, {}};
  counts.flow = {"flow", "Flow from requesting category to service", {"requesting category", "service"},
                 {kReferrals}, false, false, {}, {}};
  const OrgLabels orgs(options.org_names);
  for (const auto& [id, r] : referrals) {
    if (options.from_ms && r.created_ms < *options.from_ms) continue;
    if (options.to_ms && r.created_ms >= *options.to_ms) continue;
    Tally delta;
    delta.n[kReferrals] = 1;
    delta.n[kAccepted] = r.first_move == State::kAccepted;
    delta.n[kDeclined] = r.first_move == State::kDeclined;
    delta.n[kWithdrawn] = r.first_move == State::kWithdrawn;
    delta.n[kExpired] = r.first_move == State::kExpired;
    delta.n[kOverdue] = r.state == State::kSent && r.due_ms > 0 && options.now_ms > r.due_ms;
    if (r.answered_ms) delta.answer_hours.push_back(static_cast<double>(*r.answered_ms - r.created_ms) / 3.6e6);

    const auto category_it = listed.find(r.from);
    const uint8_t category = category_it == listed.end() ? 0 : category_it->second;
    const std::string month = Month(r.created_ms, options.zone);
    Group& pair = counts.pairs.rows[KeyBytes(r.from) + KeyBytes(r.to)];
    Group& service = counts.services.rows[std::string(1, static_cast<char>(r.service))];
    Group& receiver = counts.receivers.rows[KeyBytes(r.to)];
    Group& by_month = counts.months.rows[month];
    Group& flow = counts.flow.rows[std::string{static_cast<char>(category), static_cast<char>(r.service)}];
    if (pair.key.empty()) {
      pair.key = {orgs.Cell(r.from), orgs.Cell(r.to)};
      pair.from = r.from;
      pair.to = r.to;
    }
    if (service.key.empty()) service.key = {TextCell(CodeLabel(NamedEnum::kServiceCategory, r.service))};
    service.service = r.service;
    if (receiver.key.empty()) receiver.key = {orgs.Cell(r.to)};
    receiver.to = r.to;
    if (by_month.key.empty()) by_month.key = {TextCell(month)};
    if (flow.key.empty()) {
      flow.key = {TextCell(category == 0 ? "no listing" : CodeLabel(NamedEnum::kServiceCategory, category)),
                  TextCell(CodeLabel(NamedEnum::kServiceCategory, r.service))};
    }
    flow.service = r.service;
    flow.category = category;
    pair.category = category;
    for (Group* g : {&pair, &service, &receiver, &by_month, &flow}) Add(g->tally, delta);
    Add(counts.total, delta);

    if (r.vital) ++counts.vital;
    if (r.state == State::kSent) ++counts.awaiting;
    if (r.state == State::kAccepted) ++counts.in_progress;
    if (r.state == State::kCompleted) ++counts.completed;
    if (r.state == State::kClosed) ++counts.closed;
    if (r.first_move == State::kDeclined) ++counts.declines[r.decline_reason];
    if (r.outcome != 0) ++counts.outcomes[r.outcome];
  }
  return counts;
}

// The Suppression cells of one row, for the measures its table shows.
using RowCells = std::array<std::optional<size_t>, kMeasures>;

// The Suppression cell of every count.
struct CountCells {
  RowCells total;
  size_t vital, awaiting, in_progress, completed, closed;
  std::map<std::string, RowCells> pairs, services, receivers, months, flow;
  std::vector<size_t> declines, outcomes;
};

// Registers every count with `suppress`, and how a reader knows they relate
// (docs/audit.md, "Coordinator statistics", lists the relations):
// - the summary: referrals = accepted + declined + withdrawn + expired +
//   awaiting (the first move out of "sent"), accepted = in progress +
//   completed + closed, accepted >= in progress + outcomes, completed <=
//   outcomes <= completed + closed, awaiting >=
//   overdue, referrals >= vital interests, declined = the decline reasons;
// - every row: referrals >= the sum of its other counts;
// - every column of a grouped table adds up to the summary's count;
// - the pairs with one receiver add up to that receiver's row;
// - the flow rows of one service add up to that service's referrals, and
//   those of one requesting category to the pairs whose sender is of that
//   category (the directory says which organisation lists what).
CountCells RelateCounts(const ReferralCounts& counts, Suppression& suppress) {
  CountCells ids;
  for (int m = 0; m < kMeasures; ++m) ids.total[m] = suppress.Count(counts.total.n[m]);
  ids.vital = suppress.Count(counts.vital);
  ids.awaiting = suppress.Count(counts.awaiting);
  ids.in_progress = suppress.Count(counts.in_progress);
  ids.completed = suppress.Count(counts.completed);
  ids.closed = suppress.Count(counts.closed);
  const auto& t = ids.total;
  suppress.SumOf(*t[kReferrals], {*t[kAccepted], *t[kDeclined], *t[kWithdrawn], *t[kExpired], ids.awaiting});
  suppress.SumOf(*t[kAccepted], {ids.in_progress, ids.completed, ids.closed});
  suppress.AtLeast(ids.awaiting, {*t[kOverdue]});
  suppress.AtLeast(*t[kReferrals], {ids.vital});

  auto register_table = [&](const GroupTable& table, std::map<std::string, RowCells>& cells) {
    std::array<std::vector<size_t>, kMeasures> columns;
    for (const auto& [key, group] : table.rows) {
      RowCells row;
      std::vector<size_t> others;
      for (Measure m : table.measures) {
        row[m] = suppress.Count(group.tally.n[m]);
        columns[m].push_back(*row[m]);
        if (m != kReferrals) others.push_back(*row[m]);
      }
      if (!others.empty()) suppress.AtLeast(*row[kReferrals], others);
      cells[key] = row;
    }
    for (Measure m : table.measures) suppress.SumOf(*ids.total[m], columns[m]);
  };
  register_table(counts.pairs, ids.pairs);
  register_table(counts.services, ids.services);
  register_table(counts.receivers, ids.receivers);
  register_table(counts.months, ids.months);
  register_table(counts.flow, ids.flow);

  for (const auto& [key, receiver] : counts.receivers.rows) {
    for (Measure m : counts.pairs.measures) {
      std::vector<size_t> parts;
      for (const auto& [pair_key, pair] : counts.pairs.rows) {
        if (pair.to == receiver.to) parts.push_back(*ids.pairs[pair_key][m]);
      }
      suppress.SumOf(*ids.receivers[key][m], parts);
    }
  }
  for (const auto& [key, service] : counts.services.rows) {
    std::vector<size_t> parts;
    for (const auto& [flow_key, flow] : counts.flow.rows) {
      if (flow.service == service.service) parts.push_back(*ids.flow[flow_key][kReferrals]);
    }
    suppress.SumOf(*ids.services[key][kReferrals], parts);
  }
  std::map<uint8_t, std::pair<std::vector<size_t>, std::vector<size_t>>> by_category;
  for (const auto& [key, flow] : counts.flow.rows) by_category[flow.category].first.push_back(*ids.flow[key][kReferrals]);
  for (const auto& [key, pair] : counts.pairs.rows) by_category[pair.category].second.push_back(*ids.pairs[key][kReferrals]);
  for (const auto& [category, sides] : by_category) suppress.Balance(sides.first, sides.second);

  for (const auto& [code, c] : counts.declines) ids.declines.push_back(suppress.Count(c));
  for (const auto& [code, c] : counts.outcomes) ids.outcomes.push_back(suppress.Count(c));
  suppress.SumOf(*t[kDeclined], ids.declines);
  // An outcome is recorded only on a referral that was accepted and has
  // since ended, so those still in progress are not among them.
  std::vector<size_t> after_acceptance = ids.outcomes;
  after_acceptance.push_back(ids.in_progress);
  suppress.AtLeast(*t[kAccepted], after_acceptance);
  // A referral is completed only with its outcome, and a closed one may name
  // one: completed <= the outcomes <= completed + closed. Without the lower
  // bound a reader who sees completed = 12 and one outcome of 10 knows the
  // hidden other is 2 (found by review).
  suppress.NoLess(ids.outcomes, {ids.completed});
  suppress.NoLess({ids.completed, ids.closed}, ids.outcomes);
  return ids;
}

// Table cells after suppression: a count as shown or hidden, and rates and
// times over shown counts only.
class ShownCells {
 public:
  ShownCells(const Suppression& suppress, const CellMaker& cells, int64_t threshold)
      : suppress_(suppress), cells_(cells), threshold_(threshold) {}

  StatCell Count(size_t cell) const {
    return suppress_.hidden(cell) ? CellMaker::Hidden() : cells_.Count(suppress_.value(cell));
  }
  bool AnyHidden(const RowCells& row) const {
    for (const std::optional<size_t>& cell : row) {
      if (cell && suppress_.hidden(*cell)) return true;
    }
    return false;
  }
  // Accepted as a percentage of the answered (accepted or declined).
  StatCell AcceptanceRate(const Tally& t, const RowCells& row) const {
    const int64_t answered = t.n[kAccepted] + t.n[kDeclined];
    return cells_.Number(answered == 0 ? 0 : 100.0 * static_cast<double>(t.n[kAccepted]) / answered, answered,
                         suppress_.hidden(*row[kAccepted]) || suppress_.hidden(*row[kDeclined]));
  }
  // A median or 90th percentile of the answer times: hidden without enough
  // answers around it (PercentileShown), and when `counts_hidden` (a count
  // of the group it describes is hidden: a time over a group whose size is
  // hidden describes that hidden group).
  StatCell AnswerTime(const std::vector<double>& hours, int percentile, bool counts_hidden) const {
    const int64_t n = static_cast<int64_t>(hours.size());
    if (n == 0) return cells_.Number(0, 0);
    if (counts_hidden || !PercentileShown(n, percentile, threshold_)) return CellMaker::Hidden();
    return cells_.Number(Percentile(hours, percentile), n);
  }
  StatCell Number(double value, int64_t basis) const { return cells_.Number(value, basis); }

 private:
  const Suppression& suppress_;
  CellMaker cells_;
  int64_t threshold_;
};

StatTable SummaryTable(const ReferralCounts& counts, const CountCells& ids, const ShownCells& shown) {
  StatTable summary{"summary", "Summary", {"measure", "value"}, {}, -1, {}, 1};
  auto add = [&](std::string name, StatCell value) {
    summary.rows.push_back({CellMaker::Text(std::move(name)), std::move(value)});
  };
  const auto& t = ids.total;
  add("referrals", shown.Count(*t[kReferrals]));
  add("vital-interests referrals", shown.Count(ids.vital));
  add("accepted", shown.Count(*t[kAccepted]));
  add("declined", shown.Count(*t[kDeclined]));
  add("acceptance rate (%)", shown.AcceptanceRate(counts.total, ids.total));
  add("withdrawn", shown.Count(*t[kWithdrawn]));
  add("expired", shown.Count(*t[kExpired]));
  add("awaiting an answer", shown.Count(ids.awaiting));
  add("overdue (past answer-by)", shown.Count(*t[kOverdue]));
  add("accepted, in progress", shown.Count(ids.in_progress));
  add("completed", shown.Count(ids.completed));
  add("closed", shown.Count(ids.closed));
  // Like a row's: no time over all referrals when a count it is computed
  // from (the referrals, and the answers: accepted and declined) is hidden.
  const bool total_hidden = shown.AnyHidden({t[kReferrals], t[kAccepted], t[kDeclined]});
  add("time to answer, median (hours)", shown.AnswerTime(counts.total.answer_hours, 50, total_hidden));
  add("time to answer, 90th percentile (hours)", shown.AnswerTime(counts.total.answer_hours, 90, total_hidden));
  return summary;
}

StatTable GroupedTable(const GroupTable& table, const std::map<std::string, RowCells>& ids, const ShownCells& shown) {
  StatTable out{table.id, table.title, table.key_columns, {}, static_cast<int>(table.key_columns.size()),
                table.trend_columns, static_cast<int>(table.key_columns.size())};
  for (Measure m : table.measures) out.columns.push_back(kMeasureColumn[m]);
  if (table.rate) out.columns.push_back("acceptance rate (%)");
  if (table.times) {
    out.columns.push_back("time to answer, median (hours)");
    out.columns.push_back("time to answer, 90th percentile (hours)");
  }
  for (const auto& [key, group] : table.rows) {
    const RowCells& row = ids.at(key);
    std::vector<StatCell> cells = group.key;
    for (Measure m : table.measures) cells.push_back(shown.Count(*row[m]));
    if (table.rate) cells.push_back(shown.AcceptanceRate(group.tally, row));
    if (table.times) {
      const bool hidden = shown.AnyHidden(row);
      cells.push_back(shown.AnswerTime(group.tally.answer_hours, 50, hidden));
      cells.push_back(shown.AnswerTime(group.tally.answer_hours, 90, hidden));
    }
    out.rows.push_back(std::move(cells));
  }
  return out;
}

StatTable CodeTable(std::string id, std::string title, std::string column, NamedEnum kind,
                    const std::map<uint8_t, int64_t>& counts, const std::vector<size_t>& ids, const ShownCells& shown) {
  StatTable table{std::move(id), std::move(title), {std::move(column), "referrals"}, {}, 1, {}, 1};
  size_t i = 0;
  for (const auto& [code, c] : counts) {
    table.rows.push_back({CellMaker::Text(CodeLabel(kind, code)), shown.Count(ids[i++])});
  }
  return table;
}

}  // namespace

std::string StatCell::Display() const {
  switch (type) {
    case Type::kText:
    case Type::kSuppressed:
      return text;
    case Type::kCount:
      return absl::StrCat(count);
    case Type::kNumber:
      return absl::StrFormat("%.1f", number);
  }
  return text;
}

StatisticsReport ComputeStatistics(absl::Span<const AuditEvent> events,
                                   const StatisticsOptions& options) {
  const int64_t threshold = std::max<int64_t>(1, options.threshold);
  StatisticsReport report;
  report.threshold = threshold;
  report.generated_at_ms = options.now_ms;
  report.entries_read = events.size();
  report.from_ms = options.from_ms;
  report.to_ms = options.to_ms;
  report.zone_name = options.zone.name();

  const ReferralCounts counts = CountReferrals(ReplayReferrals(events), ListedCategories(events), options);
  Suppression suppress(threshold);
  const CountCells ids = RelateCounts(counts, suppress);
  suppress.Protect();
  const ShownCells shown(suppress, CellMaker(threshold), threshold);

  report.tables.push_back(SummaryTable(counts, ids, shown));
  report.tables.push_back(GroupedTable(counts.pairs, ids.pairs, shown));
  report.tables.push_back(GroupedTable(counts.receivers, ids.receivers, shown));
  report.tables.push_back(GroupedTable(counts.services, ids.services, shown));
  report.tables.push_back(GroupedTable(counts.flow, ids.flow, shown));
  report.tables.push_back(GroupedTable(counts.months, ids.months, shown));
  report.tables.push_back(CodeTable("decline_reasons", "Decline reasons", "reason", NamedEnum::kDeclineReason,
                                    counts.declines, ids.declines, shown));
  report.tables.push_back(
      CodeTable("outcomes", "Outcomes", "outcome", NamedEnum::kOutcome, counts.outcomes, ids.outcomes, shown));
  return report;
}

}  // namespace trygg::audit
