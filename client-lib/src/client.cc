// SPDX-License-Identifier: Apache-2.0

#include "trygg/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <grpcpp/grpcpp.h>
#include <sodium.h>

#include "internal/audit_witness.h"
#include "internal/page_tokens.h"
#include "internal/wire.h"
#include "src/internal/client_state.pb.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/atomic_file.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"
#include "trygg/v1/session.grpc.pb.h"
#include "trygg/v1/trust.grpc.pb.h"

namespace trygg {

using internal::AsSpan;
using internal::FixedFromServer;
using internal::FromGrpc;
using internal::SignedFromServer;
using internal::SignedToProto;
using internal::ToMillis;
using internal::ToProto;

struct Client::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<trygg::v1::TrustService::Stub> trust;
  std::unique_ptr<trygg::v1::SessionService::Stub> session;
};

namespace {

constexpr auto kCallTimeout = std::chrono::seconds(30);

bool IsLoopback(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_root_certificates.empty()) {
    if (!IsLoopback(options.address)) {
      return absl::InvalidArgumentError("plaintext is only allowed to a loopback address; give TLS roots");
    }
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_certificates;
    credentials = grpc::SslCredentials(ssl);
  }
  auto stubs = std::make_unique<Stubs>();
  stubs->channel = grpc::CreateChannel(options.address, credentials);
  stubs->trust = trygg::v1::TrustService::NewStub(stubs->channel);
  stubs->session = trygg::v1::SessionService::NewStub(stubs->channel);
  std::unique_ptr<Client> client(new Client(options, std::move(stubs)));
  TRYGG_RETURN_IF_ERROR(client->LoadState());
  return client;
}

Client::Client(ClientOptions options, std::unique_ptr<Stubs> stubs)
    : options_(std::move(options)), stubs_(std::move(stubs)), audit_(std::make_unique<internal::AuditWitness>()) {}

Client::~Client() = default;

bool Client::logged_in() const {
  std::lock_guard<std::mutex> lock(session_mu_);
  return logged_in_;
}

std::optional<Session> Client::current_session() const {
  std::lock_guard<std::mutex> lock(session_mu_);
  return session_;
}

namespace {

// A context with a deadline and, when logged in, the bearer token.
std::unique_ptr<grpc::ClientContext> MakeContext(const SecretBytes<32>* token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  if (token != nullptr) context->AddMetadata("authorization", "Bearer " + HexEncode(token->span()));
  return context;
}

}  // namespace

#define TRYGG_CONTEXT() NewCallContext()

std::shared_ptr<grpc::Channel> Client::channel() const { return stubs_->channel; }

std::unique_ptr<grpc::ClientContext> Client::NewCallContext() const {
  // The token is read under the lock: a Login on another thread may be
  // replacing it.
  std::lock_guard<std::mutex> lock(session_mu_);
  return MakeContext(logged_in_ ? &token_ : nullptr);
}

absl::StatusOr<ServerInfo> Client::GetServerInfo() {
  auto context = TRYGG_CONTEXT();
  trygg::v1::GetServerInfoResponse response;
  TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->GetServerInfo(context.get(), {}, &response)));
  ServerInfo info;
  info.server_version = response.server_version();
  info.schema_version = response.schema_version();
  TRYGG_ASSIGN_OR_RETURN(info.server_instance_id,
                         FixedFromServer<Id128>(response.server_instance_id(), "server instance id"));
  TRYGG_ASSIGN_OR_RETURN(info.server_public_key,
                         FixedFromServer<SignPublicKey>(response.server_public_key(), "server key"));
  if (!response.platform_root_public_key().empty()) {
    TRYGG_ASSIGN_OR_RETURN(info.platform_root,
                           FixedFromServer<SignPublicKey>(response.platform_root_public_key(), "root key"));
  }
  if (response.has_server_certificate()) {
    TRYGG_ASSIGN_OR_RETURN(SignedObject cert, SignedFromServer(response.server_certificate()));
    TRYGG_ASSIGN_OR_RETURN(RootCertificate parsed,
                           VerifyRootCertificate(cert, options_.platform_root, CertificateKind::kServer));
    if (parsed.sign_key != info.server_public_key) {
      return absl::DataLossError("the server certificate certifies another key than the server presents");
    }
    info.server_certificate = parsed;
  }
  return info;
}

absl::StatusOr<Session> Client::Login(const Id128& device_id, const SigningKeyPair& device_key) {
  absl::StatusOr<Session> session = SignIn(device_id, device_key);
  if (!session.ok()) {
    // A failed login leaves the client logged out, whatever it was before.
    std::lock_guard<std::mutex> lock(session_mu_);
    logged_in_ = false;
    session_.reset();
  }
  return session;
}

// Calls on other threads keep the session they had until the new token is
// in place.
absl::StatusOr<Session> Client::SignIn(const Id128& device_id, const SigningKeyPair& device_key) {
  trygg::v1::GetChallengeRequest challenge_request;
  challenge_request.set_device_id(ToProto(device_id.span()));
  trygg::v1::GetChallengeResponse challenge;
  {
    auto context = MakeContext(nullptr);
    TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->session->GetChallenge(context.get(), challenge_request, &challenge)));
  }
  // Sign only what is a well-formed challenge for this device: the server
  // cannot make the device sign arbitrary bytes under the session context.
  std::vector<uint8_t> bytes(challenge.challenge().begin(), challenge.challenge().end());
  TRYGG_ASSIGN_OR_RETURN(SessionChallenge parsed, ParseSessionChallenge(bytes));
  if (parsed.device_id != device_id) return absl::DataLossError("the server's challenge names another device");
  if (std::optional<Id128> pinned = pinned_server_instance();
      pinned.has_value() && *pinned != parsed.server_instance_id) {
    return absl::FailedPreconditionError(
        "the server is another instance (" + HexEncode(parsed.server_instance_id.span()) +
        ") than the one this device first signed in to (" + HexEncode(pinned->span()) +
        "); nothing was signed. If the platform's operator moved it to a new database on purpose, "
        "forget the pinned instance (ForgetServerInstance)");
  }
  trygg::v1::CreateSessionRequest request;
  request.set_device_id(ToProto(device_id.span()));
  SignedToProto(SignedObject{bytes, Sign(device_key, SigningContext::kSession, bytes)},
                request.mutable_signed_challenge());
  trygg::v1::CreateSessionResponse response;
  const AuditWriteStart audit_start = BeginAuditedWrite();
  auto create_context = MakeContext(nullptr);
  TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->session->CreateSession(create_context.get(), request, &response)));
  absl::StatusOr<std::vector<uint8_t>> token = HexDecode(response.token());
  if (!token.ok() || token->size() != token_.size()) return absl::DataLossError("server sent a malformed token");
  {
    std::lock_guard<std::mutex> lock(session_mu_);
    std::copy(token->begin(), token->end(), token_.data());
    logged_in_ = true;
  }
  sodium_memzero(token->data(), token->size());
  TRYGG_ASSIGN_OR_RETURN(Session session, WhoAmI());
  if (session.device_id != device_id) return absl::DataLossError("the server opened a session for another device");
  {
    std::lock_guard<std::mutex> lock(session_mu_);
    session_ = session;
  }
  if (!pinned_server_instance().has_value()) {
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      server_instance_ = parsed.server_instance_id;
    }
    TRYGG_RETURN_IF_ERROR(SaveState());
  }
  // The organisation is the server's word here (WhoAmI); every other write's
  // expectation takes it from the device's own key store.
  ExpectAuditEntries(*create_context, audit_start, session.org_id,
                     internal::Expecting("session", {audit::AuditEventKind::kSessionCreated}));
  return session;
}

std::optional<Id128> Client::pinned_server_instance() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return server_instance_;
}

absl::Status Client::ForgetServerInstance() {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    server_instance_.reset();
  }
  return SaveState(StateSave::kReplace);
}

absl::StatusOr<Session> Client::WhoAmI() {
  auto context = TRYGG_CONTEXT();
  trygg::v1::WhoAmIResponse response;
  TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->session->WhoAmI(context.get(), {}, &response)));
  Session session;
  TRYGG_ASSIGN_OR_RETURN(session.device_id, FixedFromServer<Id128>(response.device_id(), "device id"));
  TRYGG_ASSIGN_OR_RETURN(session.org_id, FixedFromServer<Id128>(response.org_id(), "org id"));
  session.role = static_cast<Role>(response.role());
  session.expires_at_ms = ToMillis(response.expires_at());
  return session;
}

absl::Status Client::Logout() {
  if (!logged_in()) return absl::OkStatus();
  auto context = TRYGG_CONTEXT();
  trygg::v1::EndSessionResponse response;
  absl::Status status = FromGrpc(stubs_->session->EndSession(context.get(), {}, &response));
  std::lock_guard<std::mutex> lock(session_mu_);
  logged_in_ = false;
  session_.reset();
  return status;
}

absl::StatusOr<Id128> Client::UploadCertificate(CertificateKind kind, const SignedObject& certificate) {
  trygg::v1::UploadCertificateRequest request;
  request.set_kind(static_cast<trygg::v1::CertificateKind>(kind));
  SignedToProto(certificate, request.mutable_certificate());
  auto context = TRYGG_CONTEXT();
  trygg::v1::UploadCertificateResponse response;
  TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->UploadCertificate(context.get(), request, &response)));
  return FixedFromServer<Id128>(response.subject_id(), "subject id");
}

absl::StatusOr<std::vector<OrganisationSummary>> Client::ListOrganisations() {
  std::vector<OrganisationSummary> orgs;
  trygg::v1::ListOrganisationsRequest request;
  request.set_page_size(500);
  internal::PageTokens pages("organisations");
  do {
    auto context = TRYGG_CONTEXT();
    trygg::v1::ListOrganisationsResponse response;
    TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->ListOrganisations(context.get(), request, &response)));
    for (const trygg::v1::Organisation& org : response.organisations()) {
      // Names shown to people come from the root-signed certificate only.
      TRYGG_ASSIGN_OR_RETURN(SignedObject cert, SignedFromServer(org.certificate()));
      TRYGG_ASSIGN_OR_RETURN(RootCertificate parsed,
                             VerifyRootCertificate(cert, options_.platform_root, CertificateKind::kOrganisation));
      orgs.push_back({parsed.subject_id, parsed.name, org.log_head_seq()});
    }
    TRYGG_RETURN_IF_ERROR(pages.Advance(response.next_page_token()));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return orgs;
}

absl::StatusOr<OrgLogState> Client::FetchOrgLog(const Id128& org_id) {
  std::optional<OrgLogState> cached;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    auto it = org_logs_.find(org_id);
    if (it != org_logs_.end()) cached = it->second;
  }
  std::optional<OrgLogState> state;
  if (cached.has_value()) {
    absl::StatusOr<std::optional<OrgLogState>> extended = ExtendOrgLog(*cached);
    if (!extended.ok()) return extended.status();  // the server's or the network's error
    state = *std::move(extended);
  }
  if (!state.has_value()) {
    // No cache, or the server showed something the cache does not extend:
    // the whole log, verified from the root, decides.
    TRYGG_ASSIGN_OR_RETURN(OrgLogState full, FetchWholeOrgLog(org_id));
    state.emplace(std::move(full));
  }

  {
    std::lock_guard<std::mutex> lock(state_mu_);
    auto remembered = heads_.find(org_id);
    if (remembered != heads_.end()) TRYGG_RETURN_IF_ERROR(state->CheckContinues(remembered->second));
    heads_[org_id] = state->head();
    // Another thread may have cached a longer log meanwhile; `state`
    // continues it (CheckContinues above, against the head it remembered).
    auto it = org_logs_.find(org_id);
    if (it == org_logs_.end() || it->second.seq() <= state->seq()) org_logs_.insert_or_assign(org_id, *state);
  }
  TRYGG_RETURN_IF_ERROR(SaveState());
  return *std::move(state);
}

absl::StatusOr<OrgLogState> Client::FetchWholeOrgLog(const Id128& org_id) {
  trygg::v1::GetOrgLogRequest request;
  request.set_org_id(ToProto(org_id.span()));
  request.set_from_seq(1);
  std::optional<OrgLogState> state;
  internal::PageTokens pages("org log");
  do {
    auto context = TRYGG_CONTEXT();
    trygg::v1::GetOrgLogResponse response;
    TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->GetOrgLog(context.get(), request, &response)));
    if (!state.has_value()) {
      TRYGG_ASSIGN_OR_RETURN(SignedObject cert, SignedFromServer(response.certificate()));
      TRYGG_ASSIGN_OR_RETURN(OrgLogState verified, OrgLogState::FromCertificate(cert, options_.platform_root));
      if (verified.org_id() != org_id) {
        return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kWrongKind,
                               "org log: the server sent another organisation's certificate");
      }
      state.emplace(std::move(verified));
    }
    for (const trygg::v1::SignedBlob& blob : response.links()) {
      TRYGG_ASSIGN_OR_RETURN(SignedObject link, SignedFromServer(blob));
      TRYGG_RETURN_IF_ERROR(state->Apply(link));
    }
    TRYGG_RETURN_IF_ERROR(pages.Advance(response.next_page_token()));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return *std::move(state);
}

absl::StatusOr<std::optional<OrgLogState>> Client::ExtendOrgLog(const OrgLogState& cached) {
  // From the cached head link itself (the certificate's position when the
  // log has no links), so that a log without it shows.
  const uint64_t head_seq = cached.seq();
  trygg::v1::GetOrgLogRequest request;
  request.set_org_id(ToProto(cached.org_id().span()));
  request.set_from_seq(std::max<uint64_t>(head_seq, 1));
  OrgLogState state = cached;
  bool head_shown = head_seq == 0;
  internal::PageTokens pages("org log");
  do {
    auto context = TRYGG_CONTEXT();
    trygg::v1::GetOrgLogResponse response;
    TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->GetOrgLog(context.get(), request, &response)));
    // Nothing from the server is trusted here: what it resends must be
    // byte for byte what was verified before, and what is new is verified
    // link by link from the cached state. The first difference hands over
    // to the full fetch.
    absl::StatusOr<SignedObject> cert = SignedFromServer(response.certificate());
    if (!cert.ok() || !cached.CheckContinues(OrgLogHead{0, SignedObjectHash(*cert)}).ok()) return std::nullopt;
    for (const trygg::v1::SignedBlob& blob : response.links()) {
      absl::StatusOr<SignedObject> link = SignedFromServer(blob);
      if (!link.ok()) return std::nullopt;
      absl::StatusOr<OrgLogLink> parsed = ParseOrgLogLink(link->bytes);
      if (!parsed.ok()) return std::nullopt;
      if (parsed->seq <= head_seq) {
        if (!cached.CheckContinues(OrgLogHead{parsed->seq, SignedObjectHash(*link)}).ok()) return std::nullopt;
        head_shown = head_shown || parsed->seq == head_seq;
        continue;
      }
      if (!head_shown || !state.Apply(*link).ok()) return std::nullopt;
    }
    TRYGG_RETURN_IF_ERROR(pages.Advance(response.next_page_token()));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  if (!head_shown) return std::nullopt;
  return std::optional<OrgLogState>(std::move(state));
}

absl::StatusOr<uint64_t> Client::AppendOrgLogLink(const Id128& org_id, const SignedObject& link) {
  trygg::v1::AppendOrgLogLinkRequest request;
  request.set_org_id(ToProto(org_id.span()));
  SignedToProto(link, request.mutable_link());
  // What the link's audit entry must say: its action, role or generation.
  TRYGG_ASSIGN_OR_RETURN(const OrgLogLink parsed, ParseOrgLogLink(link.bytes));
  AuditExpectation expected;
  switch (parsed.action) {
    case OrgLogAction::kAddDevice:
      expected = internal::Expecting("device enrolment", {audit::AuditEventKind::kDeviceAdded});
      expected.code = static_cast<uint8_t>(parsed.role);
      break;
    case OrgLogAction::kRevokeDevice:
      expected = internal::Expecting("device revocation", {audit::AuditEventKind::kDeviceRevoked});
      break;
    case OrgLogAction::kRotateOrgKey:
      expected = internal::Expecting("key rotation", {audit::AuditEventKind::kOrgKeyRotated});
      expected.number = parsed.generation;
      break;
    case OrgLogAction::kChangeRole:
      expected = internal::Expecting("role change", {audit::AuditEventKind::kRoleChanged});
      expected.code = static_cast<uint8_t>(parsed.role);
      break;
  }
  const AuditWriteStart audit_start = BeginAuditedWrite();
  auto context = TRYGG_CONTEXT();
  trygg::v1::AppendOrgLogLinkResponse response;
  TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->AppendOrgLogLink(context.get(), request, &response)));
  ExpectAuditEntries(*context, audit_start, org_id, std::move(expected));
  return response.seq();
}

absl::StatusOr<Id128> Client::SubmitEnrolment(const SignedObject& request_object) {
  TRYGG_ASSIGN_OR_RETURN(EnrolmentRequest parsed, ParseEnrolmentRequest(request_object.bytes));
  trygg::v1::SubmitEnrolmentRequestRequest request;
  request.set_org_id(ToProto(parsed.org_id.span()));
  SignedToProto(request_object, request.mutable_request());
  auto context = MakeContext(nullptr);
  trygg::v1::SubmitEnrolmentRequestResponse response;
  TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->SubmitEnrolmentRequest(context.get(), request, &response)));
  return FixedFromServer<Id128>(response.enrolment_id(), "enrolment id");
}

absl::StatusOr<std::vector<PendingEnrolment>> Client::ListEnrolments() {
  std::vector<PendingEnrolment> pending;
  trygg::v1::ListEnrolmentRequestsRequest request;
  request.set_page_size(500);
  internal::PageTokens pages("enrolment requests");
  do {
    auto context = TRYGG_CONTEXT();
    trygg::v1::ListEnrolmentRequestsResponse response;
    TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->ListEnrolmentRequests(context.get(), request, &response)));
    for (const trygg::v1::EnrolmentRequest& in : response.requests()) {
      PendingEnrolment e;
      TRYGG_ASSIGN_OR_RETURN(e.enrolment_id, FixedFromServer<Id128>(in.enrolment_id(), "enrolment id"));
      TRYGG_ASSIGN_OR_RETURN(SignedObject signed_request, SignedFromServer(in.request()));
      TRYGG_ASSIGN_OR_RETURN(e.request, VerifyEnrolmentRequest(signed_request));
      e.submitted_at_ms = ToMillis(in.submitted_at());
      pending.push_back(std::move(e));
    }
    TRYGG_RETURN_IF_ERROR(pages.Advance(response.next_page_token()));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return pending;
}

absl::Status Client::PutKeyEnvelopes(const std::vector<KeyEnvelope>& envelopes) {
  trygg::v1::PutKeyEnvelopesRequest request;
  for (const KeyEnvelope& envelope : envelopes) {
    trygg::v1::KeyEnvelope* out = request.add_envelopes();
    out->set_device_id(ToProto(envelope.device_id.span()));
    out->set_generation(envelope.generation);
    std::vector<uint8_t> bytes = envelope.grant.header;
    bytes.insert(bytes.end(), envelope.grant.sealed.begin(), envelope.grant.sealed.end());
    SignedToProto(SignedObject{bytes, envelope.grant.signature}, out->mutable_sealed_seed());
    out->mutable_sealed_seed()->set_signer_id(ToProto(envelope.signer_device.span()));
  }
  const AuditWriteStart audit_start = BeginAuditedWrite();
  auto context = TRYGG_CONTEXT();
  trygg::v1::PutKeyEnvelopesResponse response;
  TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->PutKeyEnvelopes(context.get(), request, &response)));
  // One grant entry per envelope, each sealing a generation of this
  // device's own organisation key.
  if (const std::optional<Session> session = current_session(); session.has_value() && !envelopes.empty()) {
    AuditExpectation expected = internal::Expecting("organisation key envelopes", {audit::AuditEventKind::kGrant});
    expected.counterpart_org = session->org_id;
    expected.number = envelopes.front().generation;
    ExpectAuditEntries(*context, audit_start, session->org_id, std::move(expected));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KeyEnvelope>> Client::GetKeyEnvelopes(std::optional<Id128> enrolment_id,
                                                                 uint32_t min_generation) {
  trygg::v1::GetKeyEnvelopesRequest request;
  if (enrolment_id.has_value()) request.set_enrolment_id(ToProto(enrolment_id->span()));
  request.set_min_generation(min_generation);
  auto context = enrolment_id.has_value() ? MakeContext(nullptr) : TRYGG_CONTEXT();
  trygg::v1::GetKeyEnvelopesResponse response;
  TRYGG_RETURN_IF_ERROR(FromGrpc(stubs_->trust->GetKeyEnvelopes(context.get(), request, &response)));
  std::vector<KeyEnvelope> envelopes;
  for (const trygg::v1::KeyEnvelope& in : response.envelopes()) {
    KeyEnvelope e;
    TRYGG_ASSIGN_OR_RETURN(e.device_id, FixedFromServer<Id128>(in.device_id(), "device id"));
    e.generation = in.generation();
    const std::string& bytes = in.sealed_seed().bytes();
    if (bytes.size() != kGrantHeaderSize + kGrantSealedSize) {
      return absl::DataLossError("server sent a malformed key envelope");
    }
    e.grant.header.assign(bytes.begin(), bytes.begin() + kGrantHeaderSize);
    e.grant.sealed.assign(bytes.begin() + kGrantHeaderSize, bytes.end());
    TRYGG_ASSIGN_OR_RETURN(e.grant.signature, FixedFromServer<Signature>(in.sealed_seed().signature(), "signature"));
    TRYGG_ASSIGN_OR_RETURN(e.signer_device, FixedFromServer<Id128>(in.sealed_seed().signer_id(), "signer id"));
    envelopes.push_back(std::move(e));
  }
  return envelopes;
}

namespace {

// The state file's format (docs/protocol.md section 14). Format 1 had no
// "format" field and no histories; format 2 wrote 64-bit numbers as JSON
// numbers, which protobuf's JSON mapping (format 3) writes as strings and
// reads either way. Both are read as they are. Format 3 is a new number, not
// a new shape, so that a libtrygg that reads format 2 only refuses the file
// as newer instead of replacing it as damaged.
constexpr uint64_t kStateFormat = 3;

constexpr HistoryKind kHistoryKinds[] = {HistoryKind::kCase, HistoryKind::kReferral,
                                         HistoryKind::kConsentWithdrawal};

std::string HistoryName(HistoryKind kind, const Id128& id) {
  const std::string hex = HexEncode(id.span());
  switch (kind) {
    case HistoryKind::kCase: return "case " + hex;
    case HistoryKind::kReferral: return "referral " + hex;
    case HistoryKind::kConsentWithdrawal: return "consent " + hex;
  }
  return hex;
}

// "version 3", "2 signed moves", "a withdrawal": what a length means.
std::string Describe(HistoryKind kind, uint64_t length) {
  switch (kind) {
    case HistoryKind::kCase: return length == 0 ? "no version" : "version " + std::to_string(length);
    case HistoryKind::kReferral:
      return length == 0 ? "no referral record" : std::to_string(length - 1) + " signed move(s)";
    case HistoryKind::kConsentWithdrawal: return length == 0 ? "no withdrawal" : "a withdrawal";
  }
  return std::to_string(length);
}

// The head `known` moves to when the server shows `hashes` from
// `first_length` on (Client::RememberHistory): nullopt when nothing changes,
// DATA_LOSS (kRollback, kFork) when it goes back on what was seen.
absl::StatusOr<std::optional<HistoryHead>> NextHead(HistoryKind kind, const Id128& id, const HistoryHead* known,
                                                    std::span<const Hash256> hashes, uint64_t first_length,
                                                    bool ended_by_server) {
  TRYGG_CHECK(first_length >= 1);
  const uint64_t length = first_length + hashes.size() - 1;
  if (length == 0) {
    if (known == nullptr) return std::optional<HistoryHead>();  // nothing seen, nothing shown
  } else if (known == nullptr) {
    return std::optional<HistoryHead>(HistoryHead{length, hashes.back(), ended_by_server});
  }
  const std::string name = HistoryName(kind, id);
  if (length < known->length) {
    return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kRollback,
                           name + ": the server shows " + Describe(kind, length) + ", but this device has seen " +
                               Describe(kind, known->length) + " (rollback)");
  }
  if (known->length >= first_length && known->hash != hashes[known->length - first_length]) {
    return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kFork,
                           name + ": the server shows another history than this device has seen, up to " +
                               Describe(kind, known->length) + " (fork)");
  }
  if (known->ended_by_server && (length != known->length || !ended_by_server)) {
    return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kRollback,
                           name + ": the server reopened a referral it had ended (rollback)");
  }
  const HistoryHead next{length, hashes.back(), ended_by_server};
  if (next == *known) return std::optional<HistoryHead>();  // a re-read: nothing to write
  return std::optional<HistoryHead>(next);
}

}  // namespace

absl::Status Client::RememberHistory(HistoryKind kind, const Id128& id, std::span<const Hash256> hashes,
                                     uint64_t first_length, bool ended_by_server) {
  const HistoryUpdate update{kind, id, std::vector<Hash256>(hashes.begin(), hashes.end()), first_length,
                             ended_by_server};
  return RememberHistories(std::span(&update, 1));
}

absl::Status Client::RememberHistories(std::span<const HistoryUpdate> updates) {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    // All or nothing: every update is checked before any is remembered.
    std::map<std::pair<HistoryKind, Id128>, HistoryHead> staged;
    for (const HistoryUpdate& u : updates) {
      const std::pair<HistoryKind, Id128> key{u.kind, u.id};
      auto in_batch = staged.find(key);
      auto seen = histories_.find(key);
      const HistoryHead* known = in_batch != staged.end() ? &in_batch->second
                                 : seen != histories_.end() ? &seen->second
                                                            : nullptr;
      TRYGG_ASSIGN_OR_RETURN(std::optional<HistoryHead> next,
                             NextHead(u.kind, u.id, known, u.hashes, u.first_length, u.ended_by_server));
      if (next.has_value()) staged.insert_or_assign(key, *next);
    }
    if (staged.empty()) return absl::OkStatus();
    for (auto& [key, head] : staged) histories_.insert_or_assign(key, head);
  }
  return SaveState();
}

std::optional<HistoryHead> Client::remembered_history(HistoryKind kind, const Id128& id) const {
  std::lock_guard<std::mutex> lock(state_mu_);
  auto it = histories_.find({kind, id});
  if (it == histories_.end()) return std::nullopt;
  return it->second;
}

namespace {

// What a state file holds, parsed.
struct SavedState {
  std::map<Id128, OrgLogHead> heads;
  std::map<std::pair<HistoryKind, Id128>, HistoryHead> histories;
  std::optional<Id128> server_instance;
  std::optional<internal::SavedAudit> audit;  // absent when the file has none
  bool audit_unreadable = false;              // there, but not even JSON of the right shape
};

const google::protobuf::Map<std::string, internal::SavedHistoryHead>& SavedHistories(
    const internal::ClientStateFile& file, HistoryKind kind) {
  switch (kind) {
    case HistoryKind::kCase: return file.cases();
    case HistoryKind::kReferral: return file.referrals();
    case HistoryKind::kConsentWithdrawal: break;
  }
  return file.consent_withdrawals();
}

google::protobuf::Map<std::string, internal::SavedHistoryHead>& MutableSavedHistories(
    internal::ClientStateFile& file, HistoryKind kind) {
  switch (kind) {
    case HistoryKind::kCase: return *file.mutable_cases();
    case HistoryKind::kReferral: return *file.mutable_referrals();
    case HistoryKind::kConsentWithdrawal: break;
  }
  return *file.mutable_consent_withdrawals();
}

// Unknown fields are skipped, as they always were: a field a later format
// adds comes with a higher "format", which is refused before this matters.
google::protobuf::util::JsonParseOptions StateJsonOptions() {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return options;
}

// The state file at `path`, or nullopt when there is none yet.
absl::StatusOr<std::optional<SavedState>> ReadSavedState(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;  // first use on this device
  std::stringstream read;
  read << in.rdbuf();
  const std::string text = read.str();
  const absl::Status damaged = absl::DataLossError("client state file " + path.string() + " is damaged");
  // First the shape and the format alone, so that a newer format is refused
  // as newer whatever else it holds.
  internal::ClientStateShape shape;
  if (!google::protobuf::util::JsonStringToMessage(text, &shape, StateJsonOptions()).ok() ||
      shape.org_log_heads().kind_case() != google::protobuf::Value::kStructValue) {
    return damaged;
  }
  if (shape.has_format()) {
    if (shape.format() < 2) return damaged;
    if (shape.format() > kStateFormat) {
      return absl::FailedPreconditionError("client state file " + path.string() +
                                           " was written by a newer libtrygg (format " +
                                           std::to_string(shape.format()) + ")");
    }
  }
  internal::ClientStateFile file;
  bool audit_unreadable = false;
  if (!google::protobuf::util::JsonStringToMessage(text, &file, StateJsonOptions()).ok()) {
    // Perhaps only the audit part: then the heads stay usable.
    internal::ClientStateHeads heads;
    if (!google::protobuf::util::JsonStringToMessage(text, &heads, StateJsonOptions()).ok()) return damaged;
    // The same fields under the same numbers: its encoding is a ClientStateFile's.
    file.Clear();
    TRYGG_CHECK(file.ParseFromString(heads.SerializeAsString()));
    audit_unreadable = true;
  }
  SavedState saved;
  for (const auto& [org_hex, head] : file.org_log_heads()) {
    absl::StatusOr<Id128> org_id = Id128::FromHex(org_hex);
    absl::StatusOr<Hash256> head_hash = Hash256::FromHex(head.hash());
    if (!org_id.ok() || !head_hash.ok() || !head.has_seq()) return damaged;
    saved.heads[*org_id] = OrgLogHead{head.seq(), *head_hash};
  }
  for (HistoryKind kind : kHistoryKinds) {
    for (const auto& [id_hex, head] : SavedHistories(file, kind)) {
      absl::StatusOr<Id128> id = Id128::FromHex(id_hex);
      absl::StatusOr<Hash256> hash = Hash256::FromHex(head.hash());
      if (!id.ok() || !hash.ok() || !head.has_length() || head.length() == 0) return damaged;
      saved.histories[{kind, *id}] = HistoryHead{head.length(), *hash, head.ended_by_server()};
    }
  }
  if (file.has_server_instance_id()) {
    absl::StatusOr<Id128> instance = Id128::FromHex(file.server_instance_id());
    if (!instance.ok()) return damaged;
    saved.server_instance = *instance;
  }
  if (file.has_audit()) saved.audit = file.audit();
  saved.audit_unreadable = audit_unreadable;
  return saved;
}

// `file` as indented JSON, map entries in key order (a file that is kept as
// evidence reads the same each time).
absl::StatusOr<std::string> StateFileText(const internal::ClientStateFile& file) {
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!file.SerializeToCodedStream(&coded)) return absl::InternalError("cannot encode the client state");
  }
  static constexpr char kTypeUrlPrefix[] = "type.googleapis.com";
  static google::protobuf::util::TypeResolver* const resolver = google::protobuf::util::NewTypeResolverForDescriptorPool(
      kTypeUrlPrefix, google::protobuf::DescriptorPool::generated_pool());
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;  // empty maps and lists are written, as before
  std::string text;
  if (!google::protobuf::util::BinaryToJsonString(resolver,
                                                  std::string(kTypeUrlPrefix) + "/" +
                                                      file.GetDescriptor()->full_name(),
                                                  binary, &text, options)
           .ok()) {
    return absl::InternalError("cannot write the client state as JSON");
  }
  return text;
}

// An exclusive lock on <state file>.lock, held while a Client reads what
// other sessions saved and writes the file: two Clients of one device (the
// CLI beside trygg-app, a partner app's threads with a session each) then
// never write over each other's heads.
class StateFileLock {
 public:
  static absl::StatusOr<StateFileLock> Take(const std::filesystem::path& state_file) {
    const std::string path = state_file.string() + ".lock";
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return absl::UnavailableError("cannot open " + path + ": " + std::strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      close(fd);
      return absl::UnavailableError("cannot lock " + path + ": " + std::strerror(error));
    }
    return StateFileLock(fd);
  }
  StateFileLock(StateFileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  StateFileLock& operator=(StateFileLock&&) = delete;
  ~StateFileLock() {
    if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the lock
  }

 private:
  explicit StateFileLock(int fd) : fd_(fd) {}
  int fd_;
};

absl::Status SessionsDisagree(const std::string& what) {
  return absl::DataLossError("two sessions of this device were shown different " + what +
                             ": the server forked its history between them; keep the state file as evidence");
}

}  // namespace

absl::Status Client::LoadState() {
  if (options_.state_file.empty()) return absl::OkStatus();
  TRYGG_ASSIGN_OR_RETURN(std::optional<SavedState> saved, ReadSavedState(options_.state_file));
  if (!saved.has_value()) return absl::OkStatus();
  heads_ = std::move(saved->heads);
  histories_ = std::move(saved->histories);
  server_instance_ = saved->server_instance;
  if (saved->audit_unreadable) {
    audit_->Load(nullptr);
  } else if (saved->audit.has_value()) {
    audit_->Load(&*saved->audit);
  }
  return absl::OkStatus();
}

absl::Status Client::MergeSavedStateLocked() {
  absl::StatusOr<std::optional<SavedState>> read = ReadSavedState(options_.state_file);
  // A newer format is not this library's to rewrite; a damaged file is
  // replaced by what this session knows, as before.
  if (read.status().code() == absl::StatusCode::kFailedPrecondition) return read.status();
  if (!read.ok() || !read->has_value()) return absl::OkStatus();
  SavedState& saved = **read;
  for (const auto& [org_id, theirs] : saved.heads) {
    auto mine = heads_.find(org_id);
    if (mine == heads_.end() || theirs.seq > mine->second.seq) {
      heads_[org_id] = theirs;
    } else if (theirs.seq == mine->second.seq && theirs.hash != mine->second.hash) {
      return SessionsDisagree("organisation logs of " + HexEncode(org_id.span()) + " at seq " +
                              std::to_string(theirs.seq));
    }
  }
  for (const auto& [key, theirs] : saved.histories) {
    auto mine = histories_.find(key);
    if (mine == histories_.end() || theirs.length > mine->second.length) {
      histories_[key] = theirs;
    } else if (theirs.length == mine->second.length && theirs.hash != mine->second.hash) {
      return SessionsDisagree("histories of " + HistoryName(key.first, key.second) + " at length " +
                              std::to_string(theirs.length));
    }
  }
  if (!server_instance_.has_value()) server_instance_ = saved.server_instance;
  if (saved.audit.has_value()) audit_->MergeFrom(*saved.audit);
  return absl::OkStatus();
}

absl::Status Client::SaveState(StateSave how) {
  if (options_.state_file.empty()) return absl::OkStatus();
  // One save at a time: heads_, histories_ and the audit witness are read
  // under it.
  std::lock_guard<std::mutex> lock(state_mu_);
  // And one save at a time among every session of this device: what another
  // saved since is folded in first, so a save never forgets it.
  TRYGG_ASSIGN_OR_RETURN(StateFileLock file_lock, StateFileLock::Take(options_.state_file));
  if (how == StateSave::kMerge) TRYGG_RETURN_IF_ERROR(MergeSavedStateLocked());
  internal::ClientStateFile file;
  file.set_format(kStateFormat);
  if (server_instance_.has_value()) file.set_server_instance_id(HexEncode(server_instance_->span()));
  for (const auto& [org_id, head] : heads_) {
    internal::SavedOrgLogHead& saved = (*file.mutable_org_log_heads())[HexEncode(org_id.span())];
    saved.set_seq(head.seq);
    saved.set_hash(HexEncode(head.hash.span()));
  }
  audit_->ToSaved(*file.mutable_audit());
  for (const auto& [key, head] : histories_) {
    internal::SavedHistoryHead& saved = MutableSavedHistories(file, key.first)[HexEncode(key.second.span())];
    saved.set_length(head.length);
    saved.set_hash(HexEncode(head.hash.span()));
    if (head.ended_by_server) saved.set_ended_by_server(true);
  }
  TRYGG_ASSIGN_OR_RETURN(std::string text, StateFileText(file));
  text += "\n";
  // Written atomically so a crash never loses what this device has seen.
  return WriteFileAtomically(options_.state_file,
                             std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                             IfExists::kReplace);
}

}  // namespace trygg
