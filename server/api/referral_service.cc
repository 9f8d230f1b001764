// SPDX-License-Identifier: Apache-2.0

#include "server/api/referral_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/api/case_convert.h"
#include "server/api/convert.h"
#include "server/api/request_id.h"
#include "server/api/unary.h"
#include "trygg/status_macros.h"

namespace trygg::api {
namespace {

// Page tokens carry the (updated_at, referral_id) of the last row shown.
std::string ReferralPageToken(const domain::ReferralRow& last) {
  return absl::StrCat("r", last.updated_at_ms, ":", HexEncode(last.referral_id.span()));
}

absl::StatusOr<domain::ReferralCursor> CursorFromToken(const std::string& token) {
  domain::ReferralCursor cursor;
  if (token.empty()) return cursor;
  std::vector<std::string> parts = absl::StrSplit(token, ':');
  absl::StatusOr<std::vector<uint8_t>> id =
      parts.size() == 2 ? HexDecode(parts[1]) : absl::InvalidArgumentError("");
  if (parts.size() != 2 || parts[0].empty() || parts[0][0] != 'r' ||
      !absl::SimpleAtoi(absl::string_view(parts[0]).substr(1), &cursor.updated_at_ms) || !id.ok() ||
      !Id128::FromSpan(*id).ok()) {
    return absl::InvalidArgumentError("page_token is not one this server issued");
  }
  cursor.referral_id = *Id128::FromSpan(*id);
  cursor.start = false;
  return cursor;
}

absl::StatusOr<domain::ReferralFilter> FilterFromProto(const google::protobuf::RepeatedField<int>& states,
                                                       trygg::v1::ServiceCategory service) {
  domain::ReferralFilter filter;
  for (int state : states) {
    if (state < trygg::v1::REFERRAL_STATE_SENT || state > trygg::v1::REFERRAL_STATE_CLOSED) {
      return absl::InvalidArgumentError("states: unknown referral state");
    }
    filter.states.push_back(static_cast<domain::ReferralState>(state));
  }
  if (service < 0 || service > trygg::v1::SERVICE_CATEGORY_OTHER) {
    return absl::InvalidArgumentError("service: unknown service category");
  }
  filter.service = static_cast<uint8_t>(service);
  return filter;
}

}  // namespace

void ReferralToProto(const domain::ReferralRow& row, const std::vector<domain::StoredTransition>& transitions,
                     trygg::v1::Referral* out) {
  out->set_referral_id(BytesToProto(row.referral_id.span()));
  out->set_case_id(BytesToProto(row.case_id.span()));
  out->set_from_org_id(BytesToProto(row.from_org.span()));
  out->set_to_org_id(BytesToProto(row.to_org.span()));
  out->set_listing_id(BytesToProto(row.listing_id.span()));
  out->set_service(static_cast<trygg::v1::ServiceCategory>(row.service));
  out->set_urgency(static_cast<trygg::v1::Urgency>(row.urgency));
  out->set_basis(static_cast<trygg::v1::ReferralBasis>(row.basis));
  if (!row.consent_id.IsZero()) out->set_consent_id(BytesToProto(row.consent_id.span()));
  out->set_state(static_cast<trygg::v1::ReferralState>(row.state));
  if (row.state == domain::ReferralState::kDeclined) {
    out->set_decline_reason(static_cast<trygg::v1::DeclineReason>(row.code));
  } else if (row.code != 0) {
    out->set_outcome(static_cast<trygg::v1::Outcome>(row.code));
  }
  TimeToProto(row.created_at_ms, out->mutable_created_at());
  TimeToProto(row.updated_at_ms, out->mutable_updated_at());
  TimeToProto(row.answer_by_ms, out->mutable_answer_by());
  SignedToProto(row.signed_referral, row.sender_device.span(), out->mutable_signed_());
  for (const domain::StoredTransition& t : transitions) {
    // A move the server made itself (expiry) carries no device signature.
    if (t.transition.bytes.empty()) continue;
    SignedToProto(t.transition, t.actor_device.span(), out->add_transitions());
  }
}

void PublishReferral(ReferralWatch& watch, const domain::ReferralRow& row) {
  trygg::v1::WatchReferralsResponse notice;
  notice.set_referral_id(BytesToProto(row.referral_id.span()));
  notice.set_state(static_cast<trygg::v1::ReferralState>(row.state));
  TimeToProto(row.updated_at_ms, notice.mutable_at());
  notice.set_incoming(true);
  watch.Publish(row.to_org, notice);
  notice.set_incoming(false);
  watch.Publish(row.from_org, notice);
}

grpc::ServerUnaryReactor* ReferralService::CreateReferral(grpc::CallbackServerContext* context,
                                                          const trygg::v1::CreateReferralRequest* request,
                                                          trygg::v1::CreateReferralResponse* response) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  domain::NewReferral in;
  absl::Status parsed = [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(in.signed_referral, SignedFromProto(request->referral().signed_(), "referral.signed"));
    TRYGG_ASSIGN_OR_RETURN(in.packet, EnvelopeFromProto(request->packet(), "packet"));
    TRYGG_ASSIGN_OR_RETURN(in.grants, GrantsFromProto(request->grants()));
    in.justification.assign(request->vital_interests_justification().begin(),
                            request->vital_interests_justification().end());
    return absl::OkStatus();
  }();
  if (!parsed.ok()) return Finish(context, parsed);
  const domain::Caller checked = PrecheckEnvelope(
      domain::PrecheckSignature(*caller, domain::SignedKind::kReferralRecord, in.signed_referral), in.packet,
      in.grants);
  auto created = std::make_shared<domain::ReferralRow>();
  return FinishAfterWrite(
      context, store_,
      [this, caller = checked, in = std::move(in), created](domain::Transaction& txn) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(*created, referrals_.Create(txn, caller, in));
        return absl::OkStatus();
      },
      [this, created, response] {
        response->set_referral_id(BytesToProto(created->referral_id.span()));
        TimeToProto(created->answer_by_ms, response->mutable_answer_by());
        PublishReferral(watch_, *created);
      });
}

grpc::ServerUnaryReactor* ReferralService::GetReferral(grpc::CallbackServerContext* context,
                                                       const trygg::v1::GetReferralRequest* request,
                                                       trygg::v1::GetReferralResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(Id128 referral_id, IdFromProto(request->referral_id(), "referral_id"));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(domain::ReferralView view, referrals_.Get(txn, caller, referral_id));
      ReferralToProto(view.row, view.transitions, response->mutable_referral());
      if (view.packet_visible) {
        EnvelopeToProto(view.row.packet, response->mutable_packet());
        for (const domain::StoredGrant& g : view.grants) GrantToProto(g, response->add_grants());
        response->set_vital_interests_justification(BytesToProto(view.row.justification));
      }
      return absl::OkStatus();
    });
  }();
  return Finish(context, status);
}

grpc::ServerUnaryReactor* ReferralService::TransitionReferral(grpc::CallbackServerContext* context,
                                                              const trygg::v1::TransitionReferralRequest* request,
                                                              trygg::v1::TransitionReferralResponse* response) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<Id128> referral_id = IdFromProto(request->referral_id(), "referral_id");
  if (!referral_id.ok()) return Finish(context, referral_id.status());
  absl::StatusOr<SignedObject> transition = SignedFromProto(request->transition(), "transition");
  if (!transition.ok()) return Finish(context, transition.status());
  const domain::Caller checked =
      domain::PrecheckSignature(*caller, domain::SignedKind::kReferralTransition, *transition);
  auto moved = std::make_shared<domain::ReferralWithHistory>();
  return FinishAfterWrite(
      context, store_,
      [this, caller = checked, referral_id = *referral_id, transition = *std::move(transition),
       moved](domain::Transaction& txn) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(*moved, referrals_.TransitionWithHistory(txn, caller, referral_id, transition));
        return absl::OkStatus();
      },
      [this, moved, response] {
        ReferralToProto(moved->row, moved->transitions, response->mutable_referral());
        PublishReferral(watch_, moved->row);
      });
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* ReferralService::List(grpc::CallbackServerContext* context, const Request& request,
                                                Response* response, bool inbox) {
  absl::Status status = [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), kDefaultPage, kMaxPage));
    TRYGG_ASSIGN_OR_RETURN(domain::ReferralCursor cursor, CursorFromToken(request.page_token()));
    TRYGG_ASSIGN_OR_RETURN(domain::ReferralFilter filter, FilterFromProto(request.states(), request.service()));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(domain::ReferralListPage page,
                             referrals_.ListPage(txn, caller, inbox, filter, cursor, limit));
      for (const domain::ReferralWithHistory& referral : page.referrals) {
        ReferralToProto(referral.row, referral.transitions, response->add_referrals());
      }
      if (page.more) response->set_next_page_token(ReferralPageToken(page.referrals.back().row));
      return absl::OkStatus();
    });
  }();
  return Finish(context, status);
}

grpc::ServerUnaryReactor* ReferralService::ListInbox(grpc::CallbackServerContext* context,
                                                     const trygg::v1::ListInboxRequest* request,
                                                     trygg::v1::ListInboxResponse* response) {
  return List(context, *request, response, /*inbox=*/true);
}

grpc::ServerUnaryReactor* ReferralService::ListOutbox(grpc::CallbackServerContext* context,
                                                      const trygg::v1::ListOutboxRequest* request,
                                                      trygg::v1::ListOutboxResponse* response) {
  return List(context, *request, response, /*inbox=*/false);
}

grpc::ServerWriteReactor<trygg::v1::WatchReferralsResponse>* ReferralService::WatchReferrals(
    grpc::CallbackServerContext* context, const trygg::v1::WatchReferralsRequest*) {
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  absl::Status allowed = caller.ok() ? referrals_.AuthoriseWatch(*caller) : caller.status();
  absl::StatusOr<StreamSlot> slot = allowed.ok() ? auth_.TakeStreamSlot(*caller) : allowed;
  if (!slot.ok()) allowed = slot.status();
  if (!allowed.ok()) {
    class Refused final : public grpc::ServerWriteReactor<trygg::v1::WatchReferralsResponse> {
     public:
      explicit Refused(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
      void OnDone() override { delete this; }
    };
    return new Refused(allowed);
  }
  return watch_.Open(caller->org_id, *std::move(slot), auth_, *context);
}

}  // namespace trygg::api
