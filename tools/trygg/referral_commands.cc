// SPDX-License-Identifier: Apache-2.0

#include "referral_commands.h"

#include <iostream>

#include "case_commands.h"
#include "cli_support.h"
#include "trygg/directory_client.h"
#include "trygg/names.h"
#include "trygg/referral_packet.h"
#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

// Flags of these commands; CLI11 writes them while parsing.
struct ReferralFlags {
  std::string case_id;
  std::string referral_id;
  std::string listing_id;
  std::string consent_id;
  std::string vital_interests;
  std::vector<std::string> share;
  std::string note;
  std::string urgency = "routine";
  std::vector<std::string> states;
  std::string service;
  int page_size = 0;
  std::string page_token;
  std::string reason;
  std::string outcome;
  int count = 0;
  int seconds = 0;
};
ReferralFlags g_referral_flags;

std::string CodeName(ReferralStatus state, uint8_t code) {
  if (state == ReferralStatus::kDeclined) return std::string(DeclineReasonName(code));
  if (state == ReferralStatus::kCompleted) return std::string(OutcomeName(code));
  return "";
}

nlohmann::ordered_json ReferralRecordJson(const ReferralRecord& r, ReferralStatus state, uint8_t code,
                                          int64_t updated_at_ms, int64_t answer_by_ms) {
  nlohmann::ordered_json out{
      {"referral_id", Hex(r.referral_id)},
      {"case_id", Hex(r.case_id)},
      {"from_org", Hex(r.from_org_id)},
      {"to_org", Hex(r.to_org_id)},
      {"listing_id", Hex(r.listing_id)},
      {"service", std::string(ServiceCategoryName(r.service))},
      {"urgency", std::string(UrgencyName(static_cast<uint8_t>(r.urgency)))},
      {"basis", std::string(ReferralBasisName(static_cast<uint8_t>(r.basis)))},
      {"state", std::string(ReferralStatusName(static_cast<uint8_t>(state)))},
      {"created_at", FormatTime(r.created_at_ms)},
      {"updated_at", FormatTime(updated_at_ms)},
      {"answer_by", FormatTime(answer_by_ms)},
  };
  if (r.basis == ReferralBasis::kConsent) out["consent_id"] = Hex(r.consent_id);
  if (const std::string c = CodeName(state, code); !c.empty()) {
    out[state == ReferralStatus::kDeclined ? "decline_reason" : "outcome"] = c;
  }
  return out;
}

std::string ReferralLine(const ReferralRecord& r, ReferralStatus state, uint8_t code, int64_t answer_by_ms) {
  std::string line = Hex(r.referral_id) + "  " + std::string(ReferralStatusName(static_cast<uint8_t>(state)));
  if (const std::string c = CodeName(state, code); !c.empty()) line += " (" + c + ")";
  line += "  " + std::string(ServiceCategoryName(r.service)) + "  " +
          std::string(UrgencyName(static_cast<uint8_t>(r.urgency))) + "  case " + Hex(r.case_id);
  if (state == ReferralStatus::kSent) line += "  answer by " + FormatLocalTime(answer_by_ms);
  if (r.basis == ReferralBasis::kVitalInterests) line += "  VITAL INTERESTS";
  return line + "\n";
}

Output ReferralOutput(const ReferralView& v) {
  Output out;
  out.json = ReferralRecordJson(v.record, v.state, v.code, v.updated_at_ms, v.answer_by_ms);
  out.json["incoming"] = v.incoming;
  out.json["from_org_name"] = v.from_org_name;
  out.json["to_org_name"] = v.to_org_name;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  for (const SignedTransitionView& t : v.transitions) {
    history.push_back({{"from", std::string(ReferralStatusName(t.transition.from_state))},
                       {"to", std::string(ReferralStatusName(t.transition.to_state))},
                       {"at", FormatTime(t.transition.at_ms)},
                       {"by_device", Hex(t.transition.actor_device_id)},
                       {"by_org", Hex(t.actor_org)}});
  }
  out.json["transitions"] = std::move(history);
  out.json["verified"] = true;
  out.text = ReferralLine(v.record, v.state, v.code, v.answer_by_ms);
  out.json["sent_by_device"] = Hex(v.record.sender_device_id);
  out.text += "from " + v.from_org_name + " (" + Hex(v.record.from_org_id) + ") to " + v.to_org_name + " (" +
              Hex(v.record.to_org_id) + "), listing " + Hex(v.record.listing_id) + "\n";
  out.text += "sent " + FormatLocalTime(v.record.created_at_ms) + " by device " + Hex(v.record.sender_device_id) +
              " of " + v.from_org_name + "\n";
  for (const SignedTransitionView& t : v.transitions) {
    out.text += "  " + FormatLocalTime(t.transition.at_ms) + "  " +
                std::string(ReferralStatusName(t.transition.from_state)) + " -> " +
                std::string(ReferralStatusName(t.transition.to_state)) + "  by device " +
                Hex(t.transition.actor_device_id) + "\n";
  }
  if (v.packet.has_value()) {
    out.json["packet"] = RecordContentJson(kContentReferralPacket, *v.packet);
    out.text += "packet:\n" + RecordContentText(kContentReferralPacket, *v.packet);
  } else {
    out.text += "packet: not visible to your organisation any more\n";
  }
  if (v.justification.has_value()) {
    const std::string text(v.justification->begin(), v.justification->end());
    out.json["vital_interests_justification"] = text;
    out.text += "vital-interests justification: " + text + "\n";
  }
  out.text += "signatures verified against the organisations' logs\n";
  return out;
}

absl::StatusOr<Output> Refer(const Settings& settings, const CommandFlags&) {
  ReferralRequest request;
  TRYGG_ASSIGN_OR_RETURN(request.case_id, ParseId(g_referral_flags.case_id, "case id"));
  TRYGG_ASSIGN_OR_RETURN(request.listing_id, ParseId(g_referral_flags.listing_id, "--listing"));
  if (g_referral_flags.consent_id.empty() == g_referral_flags.vital_interests.empty()) {
    return absl::InvalidArgumentError("give one of --consent CONSENT_ID and --vital-interests JUSTIFICATION");
  }
  if (!g_referral_flags.consent_id.empty()) {
    TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, ParseId(g_referral_flags.consent_id, "--consent"));
    request.consent_id = consent_id;
  }
  request.vital_interests = g_referral_flags.vital_interests;
  request.share = g_referral_flags.share;
  request.note = g_referral_flags.note;
  TRYGG_ASSIGN_OR_RETURN(uint8_t urgency, ParseNamed(NamedEnum::kUrgency, g_referral_flags.urgency, "urgency"));
  request.urgency = static_cast<ReferralUrgency>(urgency);

  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  DirectoryClient directory(*work->session->client, work->session->keys, work->session->clock, work->session->rng);
  TRYGG_ASSIGN_OR_RETURN(ReferralDraft draft, PrepareReferral(work->cases, directory, request));
  TRYGG_ASSIGN_OR_RETURN(Id128 referral_id, work->referrals.Refer(draft));
  TRYGG_ASSIGN_OR_RETURN(ReferralView view, work->referrals.Get(referral_id));
  Output out = ReferralOutput(view);
  out.text = "referral " + Hex(referral_id) + " sent to " + view.to_org_name + " for " +
             std::string(ServiceCategoryName(draft.service)) + "; answer by " + FormatLocalTime(view.answer_by_ms) + "\n";
  return out;
}

absl::StatusOr<Output> ListBox(const Settings& settings, bool inbox) {
  ReferralQuery query;
  for (const std::string& name : g_referral_flags.states) {
    TRYGG_ASSIGN_OR_RETURN(uint8_t s, ParseNamed(NamedEnum::kReferralState, name, "state"));
    query.states.push_back(static_cast<ReferralStatus>(s));
  }
  if (!g_referral_flags.service.empty()) {
    TRYGG_ASSIGN_OR_RETURN(query.service, ParseNamed(NamedEnum::kServiceCategory, g_referral_flags.service, "service"));
  }
  query.page_size = g_referral_flags.page_size;
  query.page_token = g_referral_flags.page_token;
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  TRYGG_ASSIGN_OR_RETURN(ReferralPage page, inbox ? work->referrals.Inbox(query) : work->referrals.Outbox(query));
  Output out;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const ReferralSummary& r : page.referrals) {
    nlohmann::ordered_json row = ReferralRecordJson(r.record, r.state, r.code, r.updated_at_ms, r.answer_by_ms);
    row["from_org_name"] = r.from_org_name;
    row["to_org_name"] = r.to_org_name;
    rows.push_back(std::move(row));
    std::string line = ReferralLine(r.record, r.state, r.code, r.answer_by_ms);
    line.insert(line.size() - 1, inbox ? "  from " + r.from_org_name : "  to " + r.to_org_name);
    out.text += line;
  }
  if (page.referrals.empty()) out.text = inbox ? "inbox empty\n" : "outbox empty\n";
  if (!page.next_page_token.empty()) out.text += "more: --page-token " + page.next_page_token + "\n";
  out.json = {{"referrals", std::move(rows)}, {"next_page_token", page.next_page_token}};
  return out;
}

absl::StatusOr<Output> Inbox(const Settings& settings, const CommandFlags&) { return ListBox(settings, true); }
absl::StatusOr<Output> Outbox(const Settings& settings, const CommandFlags&) { return ListBox(settings, false); }

template <typename Fn>
absl::StatusOr<Output> OnReferral(const Settings& settings, Fn fn) {
  TRYGG_ASSIGN_OR_RETURN(Id128 id, ParseId(g_referral_flags.referral_id, "referral id"));
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  TRYGG_ASSIGN_OR_RETURN(ReferralView view, fn(work->referrals, id));
  return ReferralOutput(view);
}

absl::StatusOr<Output> ReferralShow(const Settings& settings, const CommandFlags&) {
  return OnReferral(settings, [](ReferralClient& r, const Id128& id) { return r.Get(id); });
}
absl::StatusOr<Output> ReferralAccept(const Settings& settings, const CommandFlags&) {
  return OnReferral(settings, [](ReferralClient& r, const Id128& id) { return r.Accept(id); });
}
absl::StatusOr<Output> ReferralWithdraw(const Settings& settings, const CommandFlags&) {
  return OnReferral(settings, [](ReferralClient& r, const Id128& id) { return r.Withdraw(id); });
}
absl::StatusOr<Output> ReferralClose(const Settings& settings, const CommandFlags&) {
  return OnReferral(settings, [](ReferralClient& r, const Id128& id) { return r.Close(id); });
}
absl::StatusOr<Output> ReferralDecline(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(uint8_t reason,
                         ParseNamed(NamedEnum::kDeclineReason, g_referral_flags.reason, "decline reason"));
  return OnReferral(settings, [reason](ReferralClient& r, const Id128& id) {
    return r.Decline(id, static_cast<DeclineReason>(reason));
  });
}
absl::StatusOr<Output> ReferralComplete(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(uint8_t outcome, ParseNamed(NamedEnum::kOutcome, g_referral_flags.outcome, "outcome"));
  return OnReferral(settings, [outcome](ReferralClient& r, const Id128& id) {
    return r.Complete(id, static_cast<ReferralOutcome>(outcome));
  });
}

absl::StatusOr<Output> Watch(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  const int64_t deadline = g_referral_flags.seconds > 0
                               ? work->session->clock.NowUnixMillis() + int64_t{g_referral_flags.seconds} * 1000
                               : 0;
  int seen = 0;
  if (!settings.given.json) {
    std::cout << "watching referrals to and from your organisation (Ctrl-C to stop)" << std::endl;
  }
  TRYGG_RETURN_IF_ERROR(work->referrals.Watch(
      [&](const ReferralNotice& n) {
        ++seen;
        const std::string state(ReferralStatusName(static_cast<uint8_t>(n.state)));
        if (settings.given.json) {
          std::cout << nlohmann::ordered_json{{"referral_id", Hex(n.referral_id)},
                                              {"state", state},
                                              {"incoming", n.incoming},
                                              {"at", FormatTime(n.at_ms)}}
                           .dump()
                    << std::endl;
        } else {
          std::cout << FormatLocalTime(n.at_ms) << "  " << (n.incoming ? "inbox " : "outbox") << "  " << Hex(n.referral_id)
                    << "  " << state << std::endl;
        }
        return g_referral_flags.count == 0 || seen < g_referral_flags.count;
      },
      deadline));
  Output out;
  out.json = {{"notices", seen}};
  out.text = std::to_string(seen) + " notice(s)\n";
  return out;
}

}  // namespace

void AddReferralCommands(CLI::App& app, Command& selected) {
  CommandTree tree(app, selected);
  auto case_arg = [](CLI::App* sub) {
    sub->add_option("CASE_ID", g_referral_flags.case_id, "Case id (32 hex digits)")->required();
  };
  auto referral_arg = [](CLI::App* sub) {
    sub->add_option("REFERRAL_ID", g_referral_flags.referral_id, "Referral id (32 hex digits)")->required();
  };

  CLI::App* refer = tree.Leaf(&app, "refer", "Refer a case to another organisation's service listing", Refer);
  case_arg(refer);
  refer->add_option("--listing", g_referral_flags.listing_id, "The receiving service's listing id")->required();
  refer->add_option("--consent", g_referral_flags.consent_id, "The consent that covers this receiver and service");
  refer->add_option("--vital-interests", g_referral_flags.vital_interests,
                    "No consent: why the survivor's vital interests require it (sealed; flagged to coordinators)");
  refer->add_option("--share", g_referral_flags.share,
                    "Case sections the receiver needs (repeat): person, exploitation, needs, contacts, "
                    "support_plan, comments");
  refer->add_option("--note", g_referral_flags.note, "A note for the receiver (sealed in the packet)");
  refer->add_option("--urgency", g_referral_flags.urgency, NameChoices(NamedEnum::kUrgency))->default_val("routine");

  for (bool inbox : {true, false}) {
    CLI::App* box =
        tree.Leaf(&app, inbox ? "inbox" : "outbox",
             inbox ? "Referrals to your organisation, newest first" : "Referrals your organisation sent, newest first",
             inbox ? Inbox : Outbox);
    box->add_option("--state", g_referral_flags.states,
                    "Only this state (repeat): sent, accepted, declined, withdrawn, expired, completed, closed");
    box->add_option("--service", g_referral_flags.service,
                    "Only this service: " + NameChoices(NamedEnum::kServiceCategory));
    box->add_option("--page-size", g_referral_flags.page_size, "Referrals per page (default 50, at most 500)");
    box->add_option("--page-token", g_referral_flags.page_token, "Continue where the previous page ended");
  }

  CLI::App* referral = tree.Group("referral", "One referral: show it, answer it, follow it to its outcome");
  referral_arg(tree.Leaf(referral, "show", "A referral with its history and packet, verified", ReferralShow));
  referral_arg(tree.Leaf(referral, "accept", "Accept a referral sent to your organisation", ReferralAccept));
  CLI::App* decline = tree.Leaf(referral, "decline", "Decline a referral sent to your organisation", ReferralDecline);
  referral_arg(decline);
  decline->add_option("--reason", g_referral_flags.reason, NameChoices(NamedEnum::kDeclineReason))->required();
  referral_arg(tree.Leaf(referral, "withdraw", "Withdraw a referral your organisation sent", ReferralWithdraw));
  CLI::App* complete = tree.Leaf(referral, "complete", "Record the outcome of an accepted referral", ReferralComplete);
  referral_arg(complete);
  complete->add_option("--outcome", g_referral_flags.outcome, NameChoices(NamedEnum::kOutcome))->required();
  referral_arg(tree.Leaf(referral, "close", "Close an accepted referral without an outcome", ReferralClose));

  CLI::App* watch = tree.Leaf(&app, "watch", "Print a line for each new or changed referral (no personal data)", Watch);
  watch->add_option("--count", g_referral_flags.count, "Stop after this many notices");
  watch->add_option("--seconds", g_referral_flags.seconds, "Stop after this many seconds");
}

}  // namespace trygg::cli
